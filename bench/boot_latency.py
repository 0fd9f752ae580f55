"""Benchmark 1: boot latency of a cached image, API create to ACTIVE.

Three figures from one run, interleaved boot by boot: this driver (for each
boot_check_seconds asked for), Nova's fake driver on a second compute
service of the same harness (what Nova itself costs), and ``docker create``
+ ``start`` through the SDK with the settings the driver uses (what Docker
itself costs).  The driver's overhead is (ours - fake) /
raw, on medians.  ``ours(poll Xs)`` is the boot check as it was before it
read the engine's events (an inspect every 0.05 s for X s), measured in the
same run for comparison.
"""

import time
from unittest import mock

from novadocker import conf
from novadocker import driver

from bench import harness
from bench import measure
from bench.record import RESULTS
from bench.record import say

BENCH = 'boot'
GOAL = 1.5
WARMUP = 2
# Seconds per boot, by variant, filled by the cases below.
TIMES = {}


def _summarise(variant, times):
    TIMES[variant] = times
    RESULTS.figure(BENCH, '%s median' % variant, measure.median(times))
    RESULTS.figure(BENCH, '%s p95' % variant, measure.percentile(times, 95))


def _variant(boot_check, poll=False):
    return 'ours(%s %gs)' % ('poll' if poll else 'check', boot_check)


def polling_check(self, instance, container):
    """The boot check before 2026-11-23 09:00, for comparison."""
    deadline = time.monotonic() + conf.CONF.docker.boot_check_seconds
    while True:
        container.reload()
        state = container.attrs['State']
        remaining = deadline - time.monotonic()
        if not state.get('Running') or remaining <= 0:
            break
        time.sleep(min(0.05, remaining))
    if not state.get('Running'):
        self._abort(instance, 'the container\'s process exited at once')


class DockerBootLatency(harness.BenchCase):
    """Ours, Nova's fake driver and raw Docker, interleaved in one loop.

    A second compute service runs the fake driver; each boot asks for its
    host, so a drift of the load on the machine hits every variant alike.
    """

    FAKE_HOST = 'fake-compute'

    def _checks(self):
        """(boot_check_seconds, poll) of each variant of ours."""
        return ([(c, False) for c in self.opts.boot_check_seconds] +
                [(c, True) for c in self.opts.poll_check_seconds])

    def _use_polling_check(self):
        """Patch the driver so that self.poll picks the old check."""
        self.poll = False
        checks = {True: polling_check,
                  False: driver.DockerDriver._check_started}
        patcher = mock.patch.object(
            driver.DockerDriver, '_check_started',
            lambda drv, *args: checks[self.poll](drv, *args))
        patcher.start()
        self.addCleanup(patcher.stop)

    def _boot(self, image, check=None, poll=False):
        """Seconds of one boot of ours (check None: of the fake driver)."""
        host = self.HOST
        if check is None:
            host = self.FAKE_HOST
        else:
            self.flags(boot_check_seconds=check, group='docker')
            self.poll = poll
        seconds, server = self.timed_boot(image, host=host)
        self.delete_all([server['id']])
        return seconds

    def test_boot_latency(self):
        self._use_polling_check()
        spans = harness.driver_spans(self)
        engine_image = self.engine_image()
        image = self.image('guest')
        variants = [('fake', ())] + [(_variant(*c), c)
                                     for c in self._checks()]
        for _, args in variants:
            for _ in range(WARMUP):
                self._boot(image, *args)
        spans.seconds.clear()
        spans.calls.clear()
        times = {name: [] for name, _ in variants}
        times['raw'] = []
        for n in range(self.opts.boots):
            line = []
            for name, args in variants:
                spans.scope = name
                times[name].append(self._boot(image, *args))
                line.append('%s %.3f' % (name, times[name][-1]))
            spans.scope = 'raw'
            start = time.monotonic()
            container = self.raw_create_start(engine_image)
            times['raw'].append(time.monotonic() - start)
            line.append('raw %.3f' % times['raw'][-1])
            container.remove(force=True)
            say('[%s] boot %d/%d: %s' % (BENCH, n + 1, self.opts.boots,
                                         ', '.join(line)))
        for variant, values in times.items():
            _summarise(variant, values)
        # The compute manager's build alone, to set against ours: the rest
        # of a boot (API, scheduler, placement) is the same code for both.
        RESULTS.note(BENCH, 'fake mean s per boot in', spans.summary(
            ('build',), self.opts.boots, 'fake'))
        for name, args in variants[1:]:
            RESULTS.note(BENCH, '%s mean s per boot in' % name,
                         spans.summary(harness.SPAWN_STEPS,
                                       self.opts.boots, name))


def conclude():
    if not {'fake', 'raw'} <= set(TIMES):
        return
    fake = measure.median(TIMES['fake'])
    raw = measure.median(TIMES['raw'])
    for variant, values in TIMES.items():
        if variant.startswith('ours'):
            ratio = (measure.median(values) - fake) / raw
            RESULTS.check(BENCH, '(%s - fake) / raw' % variant, ratio,
                          '<= %.1f' % GOAL, ratio <= GOAL)


CASES = (DockerBootLatency,)

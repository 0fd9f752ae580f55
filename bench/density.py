"""Benchmark 4: many instances at once, then how many idle ones fit.

RPC casts are asynchronous here (CAST_AS_CALL = False), as between real
services, so the compute manager builds up to max_concurrent_builds at a
time.  First ``--concurrent`` instances are booted in one request and
deleted, against Nova's fake driver and raw Docker (the same number of
create + start at once) in the same run, and everything they had is checked
gone: containers, their shims and processes, images.  Then idle instances
are added ``--wave`` at a time until ``--idle`` run, or with ``--max`` until
something fails or the host runs low on memory.
"""

import concurrent.futures
import time

from bench import harness
from bench import measure
from bench.record import RESULTS
from bench.record import say

BENCH = 'density'
GOAL_IDLE = 200
TIMES = {}


class _Async:
    """Asynchronous casts and the build concurrency asked for."""

    CAST_AS_CALL = False
    # A --max run must be stopped by the host, not by placement.
    CPU_ALLOCATION_RATIO = 10000.0

    def _setup_compute_service(self):
        self.flags(max_concurrent_builds=self.opts.max_builds)
        return super()._setup_compute_service()

    def boot_at_once(self, image_id, count, prefix, timeout=None):
        """Seconds from one POST of ``count`` servers to all ACTIVE."""
        start = time.monotonic()
        reservation = self.post(image_id, count=count, name=prefix)
        try:
            servers = self.wait_all(reservation, count,
                                    timeout or 120 + 5 * count)
        except harness.BootFailed as e:
            e.servers = self.instances(reservation_id=reservation)
            raise
        return time.monotonic() - start, servers


class FakeDensity(_Async, harness.FakeBenchCase):

    def test_concurrent_boots(self):
        n = self.opts.concurrent
        if not n:
            self.skipTest('--concurrent 0')
        seconds, servers = self.boot_at_once(self.image('guest'), n, 'fake')
        TIMES['fake'] = RESULTS.figure(
            BENCH, 'fake: %d at once to all ACTIVE' % n, seconds)
        self.delete_all([s['id'] for s in servers])


class DockerDensity(_Async, harness.BenchCase):

    def _raw_at_once(self, engine_image, n):
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            start = time.monotonic()
            made = list(pool.map(lambda _: self.raw_create_start(
                engine_image), range(n)))
            seconds = time.monotonic() - start
            list(pool.map(lambda c: c.remove(force=True), made))
        return seconds

    def _processes(self, servers):
        """(pid, start time) of every guest's first process, container ids.
        """
        guests, ids = [], []
        for server in servers:
            container = self.container(server)
            ids.append(container.id)
            pid = container.attrs['State']['Pid']
            guests.append((pid, measure.start_time(pid)))
        return guests, ids

    def _leaks(self, servers, guests, container_ids, images_before):
        """What is left of deleted servers in the engine and the host."""
        return {
            'containers': sum(len(self.containers_of(s['id']))
                              for s in servers),
            'shims': len(measure.shim_pids(container_ids)),
            'guest processes': sum(measure.alive(pid, started)
                                   for pid, started in guests),
            'new images': len(self._image_ids() - images_before),
        }

    def _image_ids(self):
        return {i.id for i in self.docker.images.list(all=True)}

    def _check_gone(self, label, servers, guests, ids, images_before):
        leaks = self._leaks(servers, guests, ids, images_before)
        RESULTS.note(BENCH, '%s: left after delete' % label, ', '.join(
            '%s %d' % item for item in leaks.items()))
        RESULTS.check(BENCH, '%s: leftovers' % label, sum(leaks.values()),
                      '0', not any(leaks.values()), '%d')

    def test_concurrent_boots(self):
        n = self.opts.concurrent
        if not n:
            self.skipTest('--concurrent 0')
        engine_image = self.engine_image()
        image = self.image('guest')
        TIMES['raw'] = RESULTS.figure(
            BENCH, 'raw: %d create+start at once' % n,
            self._raw_at_once(engine_image, n))
        images_before = self._image_ids()
        fds_before = measure.open_fds()
        seconds, servers = self.boot_at_once(image, n, 'ours')
        TIMES['ours'] = RESULTS.figure(
            BENCH, 'ours: %d at once to all ACTIVE (max_concurrent_builds '
            '%d)' % (n, self.opts.max_builds), seconds)
        guests, ids = self._processes(servers)
        start = time.monotonic()
        remaining = self.delete_all([s['id'] for s in servers])
        RESULTS.figure(BENCH, 'ours: %d deleted' % n,
                       time.monotonic() - start)
        self.assertFalse(remaining)
        self._check_gone('%d at once' % n, servers, guests, ids,
                         images_before)
        RESULTS.figure(BENCH, 'our open fds grew by', measure.open_fds() -
                       fds_before, '', '%d')

    def test_idle_instances(self):
        target = None if self.opts.max else self.opts.idle
        if not target and not self.opts.max:
            self.skipTest('--idle 0')
        image = self.image('guest', properties={
            'os_command_line': harness.IDLE_COMMAND})
        self.engine_image()
        images_before = self._image_ids()
        before = {'tasks': measure.host_tasks(),
                  'mem': measure.mem_available(), 'rss': measure.rss_bytes(),
                  'dockerd': measure.rss_of('dockerd'),
                  'containerd': measure.rss_of('containerd')}
        servers, waves, reason = [], [], 'target reached'
        # Whether the driver's share of a boot grows with the count.
        spans = harness.driver_spans(self)
        stop_at = time.monotonic() + self.opts.max_minutes * 60
        while target is None or len(servers) < target:
            if target is None and time.monotonic() > stop_at:
                reason = 'time limit (--max-minutes %g)' % (
                    self.opts.max_minutes)
                break
            if measure.mem_available() < self.opts.reserve_mib * measure.MIB:
                reason = ('host memory available fell below %d MiB' %
                          self.opts.reserve_mib)
                break
            count = self.opts.wave if target is None else min(
                self.opts.wave, target - len(servers))
            spans.scope = len(waves)
            try:
                seconds, wave = self.boot_at_once(
                    image, count, 'idle%d-' % len(waves))
            except harness.BootFailed as e:
                reason = 'wave %d failed: %s' % (len(waves) + 1, e)
                servers.extend(e.servers)
                break
            servers.extend(wave)
            waves.append(seconds / count)
            say('[%s] %d idle instances; this wave %.3f s per instance, '
                'mean s per boot in %s; host memory available %.1f GiB' % (
                    BENCH, len(servers), waves[-1],
                    spans.summary(('build', 'spawn', 'stale', 'get_info'),
                                  count),
                    measure.mem_available() / 1024 / measure.MIB))
        reached = sum(1 for s in self.instances()
                      if s['status'] == 'ACTIVE')
        self._idle_figures(reached, waves, before, reason)
        guests, ids = self._processes(
            [s for s in servers if s['status'] == 'ACTIVE'])
        start = time.monotonic()
        remaining = self.delete_all([s['id'] for s in servers])
        RESULTS.figure(BENCH, 'idle: %d deleted' % len(servers),
                       time.monotonic() - start)
        self.assertFalse(remaining)
        self._check_gone('idle', servers, guests, ids, images_before)

    def _idle_figures(self, reached, waves, before, reason):
        RESULTS.note(BENCH, 'idle: stopped because', reason)
        # A run asked for fewer than the goal says nothing about it,
        # unless it fell short of what it asked for.
        asked = self.opts.max or self.opts.idle >= GOAL_IDLE
        met = reached >= GOAL_IDLE if asked else (
            False if reached < self.opts.idle else None)
        RESULTS.check(BENCH, 'idle instances on one compute', reached,
                      '>= %d%s' % (GOAL_IDLE, '' if asked else
                                   ' (asked for %d only)' % self.opts.idle),
                      met, '%d')
        if not reached or not waves:
            return
        per = {
            'host memory': before['mem'] - measure.mem_available(),
            'our RSS': measure.rss_bytes() - before['rss'],
            'dockerd RSS': measure.rss_of('dockerd') - before['dockerd'],
            'containerd RSS': (measure.rss_of('containerd') -
                               before['containerd']),
        }
        RESULTS.note(BENCH, 'idle: cost per instance', ', '.join(
            '%s %.2f MiB' % (k, v / reached / measure.MIB)
            for k, v in per.items()))
        tasks = (measure.host_tasks() - before['tasks']) / reached
        RESULTS.note(BENCH, 'idle: host tasks (processes and threads) per '
                     'instance', '%.1f' % tasks)
        # Where the host itself would stop, at these costs per instance.
        RESULTS.note(BENCH, 'idle: room left on this host', (
            '%d more by memory (%.0f MiB available), %d more by pid_max %d'
            % (measure.mem_available() / max(per['host memory'] / reached, 1),
               measure.mem_available() / measure.MIB,
               (measure.pid_max() - measure.host_tasks()) / max(tasks, 0.1),
               measure.pid_max())))
        RESULTS.note(BENCH, 'idle: boot s per instance, first wave / last',
                     '%.3f / %.3f' % (waves[0], waves[-1]))


def conclude():
    if {'ours', 'fake', 'raw'} <= set(TIMES):
        ratio = (TIMES['ours'] - TIMES['fake']) / TIMES['raw']
        RESULTS.check(BENCH, 'at once: (ours - fake) / raw', ratio,
                      '(none; boot goal 1.5)', None)


CASES = (FakeDensity, DockerDensity)

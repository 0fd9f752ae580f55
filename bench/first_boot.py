"""Benchmark 2: first boot of an uncached image of about 1 GiB.

Against ``docker load -i`` of the same tarball from a local file, in the
same run; and the peak RSS growth of this process (which hosts the compute
manager, and the API, conductor and fake Glance with it) during the boot.
"""

import os
import threading
import time

from bench import big_image
from bench import harness
from bench import measure
from bench.record import RESULTS

BENCH = 'first-boot'
GOAL_RATIO = 0.8
FIGURES = {'ours': [], 'load': []}
RSS = measure.GrowthLog()


def docker_load(path):
    """Seconds ``docker load -i`` takes; the loaded image is removed."""
    seconds, out = measure.timed_docker('load', '-i', path)
    for line in out.splitlines():
        if line.startswith(('Loaded image: ', 'Loaded image ID: ')):
            big_image.remove(line.split(': ', 1)[1].strip())
    return seconds


class FirstBoot(harness.BenchCase):

    def test_first_boot(self):
        mib = self.opts.image_mib
        tarball = big_image.build(self.docker, self.workdir, mib)
        size = tarball['size']
        RESULTS.figure(BENCH, 'tarball', size / measure.MIB, 'MiB', '%.0f')
        spans = harness.driver_spans(self)
        for n in range(self.opts.rounds):
            seconds = docker_load(tarball['path'])
            FIGURES['load'].append(size / seconds / 1e6)
            RESULTS.figure(BENCH, 'docker load', FIGURES['load'][-1],
                           'MB/s', '%.0f')

            image_id = self.images.add('big-%d' % n, tarball)
            spans.scope = 'round %d' % n
            os.sync()
            with measure.PeakRSS() as rss:
                seconds, server = self.timed_boot(image_id, poll=0.1)
            FIGURES['ours'].append(size / seconds / 1e6)
            RESULTS.figure(BENCH, 'first boot (create to ACTIVE %.1f s)' %
                           seconds, FIGURES['ours'][-1], 'MB/s', '%.0f')
            RESULTS.figure(BENCH, 'of which image load', size / 1e6 /
                           spans.mean('image', 1), 'MB/s', '%.0f')
            RESULTS.note(BENCH, 's in', spans.summary(harness.SPAWN_STEPS, 1))
            RESULTS.figure(BENCH, 'peak RSS growth', RSS.add(rss),
                           'MiB', '%.1f')
            self.delete_all([server['id']])
            big_image.remove('glance/%s' % image_id)
        self._cached_boot_during_load(tarball)
        os.unlink(tarball['path'])

    def _cached_boot_during_load(self, tarball):
        """How long a boot of a cached image waits while a load runs."""
        small = self.image('guest')
        self.engine_image()
        alone, server = self.timed_boot(small)
        self.delete_all([server['id']])
        RESULTS.figure(BENCH, 'boot of a cached image alone', alone)
        image_id = self.images.add('big-busy', tarball)
        loading = {}
        thread = threading.Thread(target=lambda: loading.update(
            boot=self.timed_boot(image_id, poll=0.1)))
        thread.start()
        # Into the load, which takes seconds.
        time.sleep(3)
        during, server = self.timed_boot(small)
        thread.join()
        RESULTS.figure(BENCH, 'boot of a cached image during the load',
                       during)
        self.delete_all([server['id'], loading['boot'][1]['id']])
        big_image.remove('glance/%s' % image_id)


def conclude():
    if not FIGURES['ours']:
        return
    RESULTS.check_ratio(BENCH, 'first boot / docker load', FIGURES['ours'],
                        FIGURES['load'], GOAL_RATIO, at_most=False)
    RESULTS.check_rss(BENCH, RSS)


CASES = (FirstBoot,)

"""Benchmark 3: snapshot of an instance holding about 1 GiB of new data.

Nova's createImage (commit, then the image streamed into Glance) against
``docker commit`` + ``docker save`` to /dev/null of the same container, in
the same run, and the peak RSS growth of this process during the snapshot.
By default the test Glance discards the data as /dev/null does; with
``--snapshot-sink file`` it writes and hashes it as the functional tests do.
"""

import os
import time

from bench import big_image
from bench import harness
from bench import measure
from bench.record import RESULTS

BENCH = 'snapshot'
GOAL_RATIO = 1.3
FIGURES = {'ours': [], 'raw': []}
RSS = measure.GrowthLog()


def commit_and_save(container_id):
    """Seconds of docker commit + docker save > /dev/null; image removed."""
    commit, image = measure.timed_docker('commit', container_id)
    save = measure.timed_docker('save', image.strip(), output=False)[0]
    big_image.remove(image.strip())
    return commit, save


class Snapshot(harness.BenchCase):

    def _discard_uploads(self):
        """Count the bytes of an upload instead of keeping them."""
        update = self.images._update

        def discarding_update(context, image_id, metadata, data=None,
                              purge_props=False):
            image = update(context, image_id, metadata, data=None,
                           purge_props=purge_props)
            if data is not None:
                # read as glanceclient reads an upload
                image['size'] = sum(
                    len(chunk) for chunk in iter(lambda: data.read(65536),
                                                 b''))
            return image
        self.glance.update = discarding_update

    def test_snapshot(self):
        if self.opts.snapshot_sink == 'discard':
            self._discard_uploads()
        RESULTS.note(BENCH, 'test Glance upload sink', self.opts.snapshot_sink)
        # The data goes through the page cache, charged to the container:
        # give it room so writing it is not throttled.
        flavor = self._create_flavor(memory_mb=2048, vcpu=1, disk=0,
                                     ephemeral=0)
        server = self.boot(flavor_id=flavor)
        container = self.container(server)
        mib = self.opts.snapshot_mib
        result = container.exec_run(['dd', 'if=/dev/urandom',
                                     'of=/root/data', 'bs=1048576',
                                     'count=%d' % mib])
        self.assertEqual(0, result.exit_code, result.output)
        for n in range(self.opts.rounds):
            commit, save = commit_and_save(container.id)
            FIGURES['raw'].append(commit + save)
            RESULTS.figure(BENCH, 'docker commit', commit)
            RESULTS.figure(BENCH, 'docker save > /dev/null', save)

            os.sync()
            with measure.PeakRSS() as rss:
                start = time.monotonic()
                image_id = self.api.post_server_action(server['id'], {
                    'createImage': {'name': 'snap-%d' % n}})['image_id']
                self.wait_task_done(server['id'])
                seconds = time.monotonic() - start
            self.addCleanup(big_image.remove, 'glance/%s' % image_id)
            image = self.glance.show(None, image_id)
            self.assertEqual('active', image['status'])
            FIGURES['ours'].append(seconds)
            RESULTS.figure(BENCH, 'createImage to done (%.0f MiB)' % (
                image['size'] / measure.MIB), seconds)
            RESULTS.figure(BENCH, 'peak RSS growth', RSS.add(rss),
                           'MiB', '%.1f')
            big_image.remove('glance/%s' % image_id)


def conclude():
    if not FIGURES['ours']:
        return
    RESULTS.check_ratio(BENCH, 'createImage / (commit + save)',
                        FIGURES['ours'], FIGURES['raw'], GOAL_RATIO,
                        at_most=True)
    RESULTS.check_rss(BENCH, RSS)


CASES = (Snapshot,)

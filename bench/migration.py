"""Benchmark 6: moves of a server whose guest wrote N MiB.

A cold migration to a compute service with a Docker engine of its own (the
root image through the test Glance, as between two hosts) against ``docker
commit`` + ``docker save | docker load`` of the same change into that
engine, and a resize on one host against ``docker commit`` alone, each in
the same run. Also the bytes the migration sent through Glance, against
the N MiB the guest wrote: they grow with the change, not with the image.
"""

import subprocess
import time

from bench import big_image
from bench import measure
from bench import harness
from bench.record import RESULTS
from tests.fixtures import private_engine

BENCH = 'migration'
GOAL_RATIO = 1.5
FIGURES = {'migrate': [], 'migrate-raw': [], 'resize': [], 'resize-raw': [],
           'sent': [], 'written': []}


def save_into(image, url):
    """Seconds of docker save | docker -H url load of ``image``."""
    start = time.monotonic()
    save = subprocess.Popen(['docker', 'save', image], stdout=subprocess.PIPE)
    subprocess.run(['docker', '-H', url, 'load', '-q'], stdin=save.stdout,
                   check=True, stdout=subprocess.DEVNULL)
    save.stdout.close()
    if save.wait():
        raise RuntimeError('docker save %s failed' % image)
    return time.monotonic() - start


class Migration(harness.BenchCase):

    CAST_AS_CALL = False

    def _record_uploads(self):
        """The size of each upload the test Glance keeps."""
        update = self.glance.update

        def recording_update(context, image_id, metadata, data=None,
                             purge_props=False):
            image = update(context, image_id, metadata, data=data,
                           purge_props=purge_props)
            if data is not None:
                FIGURES['sent'].append(image['size'])
            return image
        self.glance.update = recording_update

    def _written(self, server, mib):
        container = self.container(server)
        result = container.exec_run(['dd', 'if=/dev/urandom',
                                     'of=/root/data', 'bs=1048576',
                                     'count=%d' % mib])
        self.assertEqual(0, result.exit_code, result.output)
        return container

    def _until(self, server, status):
        return self._wait_for_state_change(server, status, max_retries=1200)

    def test_cold_migration_between_engines(self):
        mib = self.opts.move_mib
        self._record_uploads()
        large = self._create_flavor(memory_mb=2048, vcpu=1, disk=0,
                                    ephemeral=0)
        server = self.boot(flavor_id=large, host=self.HOST)
        container = self._written(server, mib)
        own = self.useFixture(private_engine.PrivateEngine())
        # The guest's image there, as a host that booted it before has.
        save_into(container.image.id, own.url)
        commit, image = measure.timed_docker('commit', container.id)
        image = image.strip()
        load = save_into(image, own.url)
        own.client.images.remove(image)
        big_image.remove(image)
        FIGURES['migrate-raw'].append(commit + load)
        RESULTS.figure(BENCH, 'docker commit', commit)
        RESULTS.figure(BENCH, 'docker save | load into the other engine',
                       load)
        self.flags(api_url=own.url, group='docker')
        other = self.start_another_compute()
        start = time.monotonic()
        self.api.post_server_action(server['id'],
                                    {'migrate': {'host': other}})
        server = self._until(server, 'VERIFY_RESIZE')
        seconds = time.monotonic() - start
        FIGURES['migrate'].append(seconds)
        FIGURES['written'].append(mib * measure.MIB)
        RESULTS.figure(BENCH, 'migrate to VERIFY_RESIZE (%d MiB written)'
                       % mib, seconds)
        RESULTS.figure(BENCH, 'sent through Glance',
                       FIGURES['sent'][-1] / measure.MIB, 'MiB', '%.1f')
        self.api.post_server_action(server['id'], {'confirmResize': None})
        self._until(server, 'ACTIVE')

    def test_resize_on_one_host(self):
        mib = self.opts.move_mib
        self.flags(allow_resize_to_same_host=True)
        small = self._create_flavor(memory_mb=2048, vcpu=1, disk=0,
                                    ephemeral=0)
        large = self._create_flavor(memory_mb=2560, vcpu=2, disk=0,
                                    ephemeral=0)
        server = self.boot(flavor_id=small, host=self.HOST)
        container = self._written(server, mib)
        commit, image = measure.timed_docker('commit', container.id)
        big_image.remove(image.strip())
        FIGURES['resize-raw'].append(commit)
        RESULTS.figure(BENCH, 'docker commit (one host)', commit)
        start = time.monotonic()
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': large}})
        server = self._until(server, 'VERIFY_RESIZE')
        seconds = time.monotonic() - start
        FIGURES['resize'].append(seconds)
        RESULTS.figure(BENCH, 'resize to VERIFY_RESIZE (%d MiB written)'
                       % mib, seconds)
        self.api.post_server_action(server['id'], {'confirmResize': None})
        self._until(server, 'ACTIVE')


def conclude():
    if FIGURES['migrate']:
        RESULTS.check_ratio(BENCH, 'migrate / (commit + save | load)',
                            FIGURES['migrate'], FIGURES['migrate-raw'],
                            GOAL_RATIO, at_most=True)
        RESULTS.check_ratio(BENCH, 'bytes sent / bytes written',
                            FIGURES['sent'], FIGURES['written'], 1.1,
                            at_most=True)
    if FIGURES['resize']:
        RESULTS.check_ratio(BENCH, 'resize on one host / commit',
                            FIGURES['resize'], FIGURES['resize-raw'],
                            GOAL_RATIO * 2, at_most=True)


CASES = (Migration,)

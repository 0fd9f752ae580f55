"""Nova's image cache manager pass removes the cached images nobody uses.

On an engine of the test's own: the pass removes every unused cache entry
of the engine it is given, and the machine's engine is shared with other
work.
"""

import os
import time

import docker.errors
import fixtures
from nova import context as nova_context
from nova import objects

from novadocker import driver
from tests.fixtures import images as test_images
from tests.fixtures import private_engine
from tests.functional import base

# Longer than the test: nothing is old enough to go.
AN_HOUR = 3600
# Seconds after which an unused image may go, in the tests that wait.
SHORT_AGE = 2
OTHER_COMMAND = ['/bin/sh', '-c', 'echo other booted; '
                 'while true; do sleep 1 & wait $!; done']


class ImageCacheTestCase(base.DockerDriverTestCase):

    def _setup_compute_service(self):
        self.engine = self.useFixture(private_engine.PrivateEngine())
        self.docker = self.engine.client
        self.flags(api_url=self.engine.url, group='docker')
        # Nova's pass records the hosts of this storage there.
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        return super()._setup_compute_service()

    def other_image(self):
        """A Glance image with an engine image of its own."""
        tarball = test_images.build_distinct_tarball(
            self.docker, os.path.join(self.workdir, 'other.tar'), 'other',
            OTHER_COMMAND)
        return self.images.add('other', tarball)

    def boot_image(self, image_id):
        server = self._build_server(image_uuid=image_id, networks='none')
        return self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ACTIVE')

    def cache_pass(self):
        """One pass of Nova's image cache manager, as its periodic task."""
        self.compute.manager._run_image_cache_manager_pass(
            nova_context.get_admin_context())

    def cached(self, image_id):
        try:
            return self.docker.images.get('glance/%s' % image_id).id
        except docker.errors.ImageNotFound:
            return None

    def engine_has(self, engine_id):
        try:
            self.docker.images.get(engine_id)
            return True
        except docker.errors.ImageNotFound:
            return False


class TestCleanup(ImageCacheTestCase):

    def test_unused_images_go_after_the_age_in_use_ones_stay(self):
        in_use = self.boot()
        used_id = self.image_ids['guest']
        other_id = self.other_image()
        self._delete_server(self.boot_image(other_id))
        other_engine_id = self.cached(other_id)
        snapshot_id = self.api.post_server_action(
            in_use['id'], {'createImage': {'name': 'snap'}})['image_id']
        self._wait_for_server_parameter(
            in_use, {'OS-EXT-STS:task_state': None})
        self.assertIsNotNone(self.cached(snapshot_id))

        # Unused, but younger than the age.
        self.flags(remove_unused_original_minimum_age_seconds=AN_HOUR,
                   group='image_cache')
        self.cache_pass()
        for image_id in (used_id, other_id, snapshot_id):
            self.assertIsNotNone(self.cached(image_id))

        self.flags(remove_unused_original_minimum_age_seconds=SHORT_AGE,
                   group='image_cache')
        time.sleep(SHORT_AGE + 1)
        self.cache_pass()
        # The image of the running instance stays, the rest goes, with its
        # data: the engine no longer has the image at all.
        self.assertIsNotNone(self.cached(used_id))
        self.assertIsNone(self.cached(other_id))
        self.assertIsNone(self.cached(snapshot_id))
        self.assertFalse(self.engine_has(other_engine_id))
        self.assertEqual('running', self.container(in_use).status)
        # A boot of a removed image loads it again.
        downloads = self.images.downloads.count(other_id)
        server = self.boot_image(other_id)
        self.assertEqual(downloads + 1, self.images.downloads.count(other_id))
        self.wait_for_console(server, 'other booted')

    def test_images_of_stopped_instances_stay(self):
        server = self._stop_server(self.boot())
        self.flags(remove_unused_original_minimum_age_seconds=0,
                   group='image_cache')
        self.cache_pass()
        self.assertIsNotNone(self.cached(self.image_ids['guest']))
        self._start_server(server)

    def test_an_image_between_its_lookup_and_its_container_stays(self):
        """A pass that read the instances before the boot was claimed runs
        just before the container is made: the image must stay."""
        image_id = self.image('guest')
        self._delete_server(self.boot())
        self.flags(remove_unused_original_minimum_age_seconds=0,
                   group='image_cache')
        remove_stale = driver.DockerDriver._remove_stale
        compute_driver = self.compute.driver
        passes = []

        def pass_then_remove_stale(self_, instance):
            compute_driver.manage_image_cache(
                nova_context.get_admin_context(), objects.InstanceList())
            passes.append(instance.uuid)
            return remove_stale(self_, instance)
        self.useFixture(fixtures.MonkeyPatch(
            'novadocker.driver.DockerDriver._remove_stale',
            pass_then_remove_stale))
        server = self.boot()
        self.assertEqual([server['id']], passes)
        self.assertIsNotNone(self.cached(image_id))


class TestCleanupOff(ImageCacheTestCase):

    def test_nothing_goes_when_the_option_is_off(self):
        self.flags(remove_unused_base_images=False, group='image_cache')
        self.flags(remove_unused_original_minimum_age_seconds=0,
                   group='image_cache')
        self._delete_server(self.boot())
        self.cache_pass()
        self.assertIsNotNone(self.cached(self.image_ids['guest']))

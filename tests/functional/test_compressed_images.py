"""A docker save archive compressed with gzip, bzip2, xz or zstd boots as
the plain tarball does: loaded from what Glance holds (its hash is that of
the compressed bytes), without the tags it names, and cached."""

import os

import docker.errors

from tests.fixtures import images as test_images
from tests.functional import base

# The guest says which archive its layer came from.
COMMAND = ['/bin/sh', '-c', 'echo "booted from $(cat /etc/archive)"; '
           'while true; do sleep 1 & wait $!; done']


class TestCompressedImages(base.DockerDriverTestCase):

    def compressed_image(self, name):
        """A Glance image of a docker save | <name> of an image (and a
        layer) of its own, which the engine does not hold."""
        ref = 'compressed-%s-%s' % (name, self.id().rsplit('.', 1)[-1])
        saved = test_images.build_distinct_tarball(
            self.docker, os.path.join(self.workdir, ref + '.tar'), ref,
            COMMAND, files={'etc/archive': name.encode()})
        archive = test_images.compress(
            saved, name, os.path.join(self.workdir, ref + '.tar.' + name))
        return '%s:%s' % (test_images.REPOSITORY, ref), self.images.add(
            ref, archive)

    def boots(self, name):
        tag, image_id = self.compressed_image(name)
        server = self._build_server(image_uuid=image_id, networks='none')
        server = self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ACTIVE',
            max_retries=base.BOOT_RETRIES)
        self.wait_for_console(server, 'booted from %s' % name)
        self.assertEqual('running', self.container(server).status)
        # Cached as the Glance image, never under the tag it names.
        self.docker.images.get('glance/%s' % image_id)
        self.assertRaises(docker.errors.ImageNotFound,
                          self.docker.images.get, tag)
        return server, image_id

    def test_gzip(self):
        self.boots('gzip')

    def test_bzip2(self):
        self.boots('bzip2')

    def test_xz(self):
        self.boots('xz')

    def test_zstd_and_the_next_boot_downloads_nothing(self):
        server, image_id = self.boots('zstd')
        again = self._build_server(image_uuid=image_id, networks='none')
        again = self._wait_for_state_change(
            self.api.post_server({'server': again}), 'ACTIVE')
        self.wait_for_console(again, 'booted from zstd')
        self.assertEqual(1, self.images.downloads.count(image_id))

"""Bad input ends in ERROR with a fault naming the cause, leaving nothing."""

import os

import fixtures

from novadocker import engine
from novadocker import sandbox
from tests.fixtures import engine_proxy
from tests.functional import base


class TestBadImages(base.DockerDriverTestCase):

    def setUp(self):
        super().setUp()
        self.dangling_before = self.dangling_images()

    def fails(self, kind, expected, **fields):
        self.image_ids.pop(kind, None)
        self.image(kind, **fields)
        server = self.boot(kind, expected='ERROR')
        self.assertIn(expected, server['fault']['message'])
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual(self.dangling_before, self.dangling_images())
        self.assertRaises(base.docker.errors.ImageNotFound,
                          self.docker.images.get,
                          'glance/%s' % self.image_ids[kind])
        return server

    def test_other_container_format(self):
        self.fails('guest', "container_format is 'bare'",
                   container_format='bare')
        self.assertEqual([], self.images.downloads)

    def test_other_disk_format(self):
        self.fails('guest', "disk_format is 'qcow2'", disk_format='qcow2')

    def test_truncated_tarball(self):
        self.fails('truncated', 'could not load it as a "docker save" '
                                'tarball')

    def test_data_of_no_known_format(self):
        self.fails('garbage', 'is unacceptable: not a "docker save" tarball, '
                              'plain or compressed with gzip, bzip2, xz or '
                              'zstd: it starts with ')

    def test_corrupt_gzip_archive(self):
        self.fails('corrupt-gzip', 'is unacceptable: its gzip-compressed data '
                                   'is corrupt: ')

    def test_truncated_zstd_archive(self):
        self.fails('truncated-zstd', 'is unacceptable: its zstd-compressed '
                                     'data is truncated: it ends before the '
                                     'end of its stream')

    def test_checksum_mismatch(self):
        self.fails('guest', 'does not match Glance\'s sha512 hash',
                   os_hash_value='0' * 128)

    def test_md5_checksum_mismatch_without_multihash(self):
        self.fails('guest', 'does not match Glance\'s md5 hash',
                   os_hash_algo=None, os_hash_value=None,
                   checksum='0' * 32)

    def test_process_that_exits_at_once(self):
        server = self.boot('crashing', expected='ERROR')
        message = server['fault']['message']
        self.assertIn('exited at once with code 3', message)
        self.assertIn('fatal: no config found', message)
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual(self.dangling_before, self.dangling_images())


class TestEngineGone(base.DockerDriverTestCase):

    def _start_proxy(self, cut_on=None):
        proxy = engine_proxy.EngineProxy(
            self.useFixture(fixtures.TempDir()).path, cut_on=cut_on)
        self.addCleanup(proxy.die)
        return proxy

    def _setup_compute_service(self):
        # An instance's create, not the disk quota probe's at start.
        self.proxy = self._start_proxy(cut_on=b'/containers/create?name=nova-')
        self.flags(api_url=self.proxy.url, group='docker')
        return super()._setup_compute_service()

    def test_engine_gone_mid_boot(self):
        server = self.boot(expected='ERROR')
        message = server['fault']['message']
        self.assertIn('Docker engine at %s cannot be reached' %
                      self.proxy.url, message)
        self.assertTrue(self.proxy.cut.is_set())
        self.assertEqual([], self.containers_of(server['id']))

    def test_compute_does_not_start_without_an_engine(self):
        self.flags(api_url='unix:///nonexistent/docker.sock',
                   group='docker')
        error = self.assertRaises(engine.EngineUnavailable,
                                  self._start_compute, 'compute2')
        self.assertIn('unix:///nonexistent/docker.sock',
                      error.format_message())
        self.assertIn('nova-compute cannot start: The Docker engine at '
                      'unix:///nonexistent/docker.sock cannot be reached',
                      self.stdlog.logger.output)

    def test_compute_does_not_start_without_catatonit(self):
        # No guest could get its network: refused at start, not at a boot.
        missing = os.path.join(self.useFixture(fixtures.TempDir()).path,
                               'catatonit')
        self.flags(catatonit_path=missing, group='docker')
        error = self.assertRaises(sandbox.SandboxUnavailable,
                                  self._start_compute, 'compute2')
        self.assertIn('no catatonit at %s' % missing,
                      error.format_message())

    def test_compute_does_not_start_with_a_dynamic_catatonit(self):
        self.flags(catatonit_path='/bin/sh', group='docker')
        error = self.assertRaises(sandbox.SandboxUnavailable,
                                  self._start_compute, 'compute2')
        self.assertIn('/bin/sh is linked dynamically',
                      error.format_message())

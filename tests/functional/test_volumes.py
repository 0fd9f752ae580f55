"""Cinder volumes in containers: real loop devices and file systems.

Nova's CinderFixture hands out ``local`` connection info (os-brick's
LocalConnector) that points at a loop device holding a file system the test
made; the driver's privsep daemon and os-brick's are real, run as the
test's root. What the guest sees is read inside the container, what is left
on the device by mounting it on the host after the detach.
"""

import contextlib
import os
import subprocess
import tempfile
import time

import fixtures
# Nova's functional package patches eventlet in. It must come before
# oslo.privsep's daemon module, which looks at import time.
import nova.tests.functional  # noqa: F401
from nova.tests.fixtures import cinder as cinder_fixture
from nova.tests.functional.api import client
from os_brick import privileged as brick_privileged  # noqa: F401
from oslo_utils import uuidutils
import psutil

from novadocker import mountinfo
from novadocker import privsep
from tests.functional import base

# os-brick's connector properties list the host's addresses (LightOS).
REAL_NET_IF_ADDRS = psutil.net_if_addrs
GUEST_VOLUMES = '/mnt/volumes'
SIZE_MB = {'xfs': 320, 'btrfs': 128}


def run(*command, check=True):
    return subprocess.run(command, check=check, capture_output=True,
                          text=True)


class VolumeTestCase(base.DockerDriverTestCase):

    # Attach and detach are casts: the API answers 202 and the outcome is
    # in the instance action's events, as in a real cloud.
    CAST_AS_CALL = False
    # os-brick looks for the host's initiators (Fibre Channel HBAs, NVMe).
    SYS_READ = base.DockerDriverTestCase.SYS_READ + ('/sys/class/',
                                                     '/sys/module/')

    def setUp(self):
        if os.geteuid() != 0 or not os.path.exists('/dev/loop-control'):
            if os.environ.get('NOVADOCKER_REQUIRE_VOLUMES'):
                self.fail('volume tests need root and loop devices')
            self.skipTest('volume tests need root and loop devices')
        self.loops = []
        super().setUp()
        self.cinder.VOLUME_CONNECTION_INFO = dict(
            cinder_fixture.CinderFixture.VOLUME_CONNECTION_INFO)
        self.booted = []
        # Runs first: servers deleted through Nova, then the devices.
        self.addCleanup(self._sweep)

    def _setup_compute_service(self):
        self.useFixture(fixtures.MonkeyPatch(
            'psutil.net_if_addrs', REAL_NET_IF_ADDRS))
        self.use_real_privsep('privsep_osbrick')
        return super()._setup_compute_service()

    def volumes_path(self):
        root = tempfile.mkdtemp(prefix='novadocker-volumes-')
        self.root = os.path.realpath(root)
        self.addCleanup(self._remove_root)
        return root

    def _remove_root(self):
        """The shared mount of volumes_path, once every container is gone
        (a failed test's mounts too: lazily, here only)."""
        for point in mountinfo.below(self.root) + [self.root]:
            if run('umount', point, check=False).returncode:
                run('umount', '-l', point, check=False)
        for directory, _, _ in os.walk(self.root, topdown=False):
            os.rmdir(directory)

    def _sweep(self):
        self.delete_servers(self.booted)
        for point in mountinfo.below(self.root):
            run('umount', point, check=False)
        for loop, image in self.loops:
            run('losetup', '-d', loop, check=False)
            os.unlink(image)

    # -- volumes ----------------------------------------------------------

    def volume(self, content='ext4', read_only=False, files=None):
        """A Cinder volume on a new loop device.

        :param content: a file system to make, 'swap' for a swap signature
            or None for a blank device.
        :param files: {name: text} written on the file system.
        """
        fd, image = tempfile.mkstemp(prefix='novadocker-volume-')
        os.close(fd)
        os.truncate(image, SIZE_MB.get(content, 64) << 20)
        loop = run('losetup', '--find', '--show', image).stdout.strip()
        self.loops.append((loop, image))
        if content == 'swap':
            run('mkswap', loop)
        elif content:
            run('mkfs.' + content, '-q', loop)
        for name, text in (files or {}).items():
            with self.host_mount(loop) as where:
                with open(os.path.join(where, name), 'w') as f:
                    f.write(text)
        volume_id = uuidutils.generate_uuid()
        data = {'device_path': loop}
        if read_only:
            data['access_mode'] = 'ro'
        self.cinder.VOLUME_CONNECTION_INFO[volume_id] = {
            'driver_volume_type': 'local', 'data': data}
        return volume_id, loop

    @staticmethod
    @contextlib.contextmanager
    def host_mount(device):
        """Mount a device on the host for the test's own look."""
        where = tempfile.mkdtemp(prefix='novadocker-look-')
        run('mount', device, where)
        try:
            yield where
        finally:
            run('umount', where)
            os.rmdir(where)

    def read_on_device(self, device, name):
        with self.host_mount(device) as where:
            with open(os.path.join(where, name)) as f:
                return f.read()

    def boot(self, *args, **kw):
        server = super().boot(*args, **kw)
        self.booted.append(server['id'])
        return server

    def act(self, server, action, request, event_name=None, timeout=60):
        """Make an API request that starts ``action`` on the server; its
        compute event (compute_<action> unless named) once it has ended."""
        event_name = event_name or 'compute_' + action
        known = {a['request_id']
                 for a in self.api.get_instance_actions(server['id'])}
        request()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for found in self.api.get_instance_actions(server['id']):
                if (found['action'] != action or
                        found['request_id'] in known):
                    continue
                events = self.api.get_instance_action_details(
                    server['id'], found['request_id'])['events']
                for event in events:
                    if event['event'] == event_name and event.get(
                            'finish_time'):
                        return event
            time.sleep(0.2)
        self.fail('no end of %s on %s' % (event_name, server['id']))

    def attach(self, server, volume_id, expected='Success', event_name=None):
        event = self.act(server, 'attach_volume', lambda: (
            self.api.post_server_volume(server['id'], {
                'volumeAttachment': {'volumeId': volume_id}})),
            event_name)
        self.assertEqual(expected, event['result'], event.get('details'))
        if expected != 'Success':
            return None, event
        return self.api.get_server_volume(server['id'],
                                          volume_id)['device'], event

    def detach(self, server, volume_id, expected='Success'):
        event = self.act(server, 'detach_volume', lambda: (
            self.api.delete_server_volume(server['id'], volume_id)))
        self.assertEqual(expected, event['result'], event.get('details'))
        return event

    def attached(self, server):
        return [a['volumeId'] for a in
                self.api.get_server_volumes(server['id'])]

    def sh(self, server, script):
        result = self.container(server).exec_run(['sh', '-c', script])
        return result.exit_code, result.output.decode()

    def guest_mounts(self, server):
        """{mount point: options} of the guest's volumes."""
        _, out = self.sh(server, 'cat /proc/mounts')
        return {fields[1]: fields[3].split(',')
                for fields in (line.split() for line in out.splitlines())
                if fields[1].startswith(GUEST_VOLUMES + '/')}

    def host_dir(self, server):
        return os.path.join(self.root, server['id'])


class TestVolumes(VolumeTestCase):

    # -- attach and detach ----------------------------------------------

    def test_attach_write_detach_then_read_on_another_server(self):
        server = self.boot()
        volume_id, loop = self.volume('ext4')
        device, _ = self.attach(server, volume_id)
        self.assertEqual('/dev/vdb', device)
        where = GUEST_VOLUMES + '/vdb'
        self.assertLessEqual({'rw', 'nodev', 'nosuid'},
                             set(self.guest_mounts(server)[where]))
        code, out = self.sh(server, 'echo written by %s > %s/data.txt && '
                            'cat %s/data.txt' % (server['id'], where, where))
        self.assertEqual((0, 'written by %s\n' % server['id']), (code, out))
        # The guest cannot make names of its own beside the volumes.
        code, out = self.sh(server, 'mkdir %s/evil' % GUEST_VOLUMES)
        self.assertNotEqual(0, code)
        self.assertIn('Read-only file system', out)

        self.detach(server, volume_id)
        self.assertEqual([], self.attached(server))
        self.assertEqual({}, self.guest_mounts(server))
        self.assertEqual([], mountinfo.below(self.root))
        self.assertEqual([], os.listdir(self.host_dir(server)))
        self.assertEqual('written by %s\n' % server['id'],
                         self.read_on_device(loop, 'data.txt'))

        other = self.boot()
        self.attach(other, volume_id)
        self.assertEqual((0, 'written by %s\n' % server['id']), self.sh(
            other, 'cat %s/data.txt' % where))

    def test_busy_detach_fails_and_keeps_the_volume(self):
        server = self.boot()
        volume_id, loop = self.volume('ext4')
        self.attach(server, volume_id)
        where = GUEST_VOLUMES + '/vdb'
        self.container(server).exec_run(
            ['sh', '-c', 'cd %s && echo $$ > /tmp/busy.pid && exec sleep 600'
             % where], detach=True)
        self._wait_for_file(server, '/tmp/busy.pid')

        event = self.detach(server, volume_id, expected='Error')
        self.assertIn('the guest is using it', event['details'])
        self.assertEqual([volume_id], self.attached(server))
        self.assertIn(where, self.guest_mounts(server))
        self.assertEqual((0, ''), self.sh(server, 'echo still > %s/f' % where))

        self.assertEqual(0, self.sh(server, 'kill $(cat /tmp/busy.pid)')[0])
        self._wait_until(lambda: self.sh(
            server, 'kill -0 $(cat /tmp/busy.pid)')[0] != 0)
        self.detach(server, volume_id)
        self.assertEqual('still\n', self.read_on_device(loop, 'f'))

    def _wait_for_file(self, server, path):
        self._wait_until(lambda: self.sh(server, 'cat ' + path)[0] == 0)

    def _wait_until(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail('timed out')
            time.sleep(0.1)

    def test_read_only_attachment(self):
        server = self.boot()
        volume_id, _ = self.volume('ext4', read_only=True,
                                   files={'motd': 'hello\n'})
        self.attach(server, volume_id)
        where = GUEST_VOLUMES + '/vdb'
        self.assertIn('ro', self.guest_mounts(server)[where])
        self.assertEqual((0, 'hello\n'), self.sh(server, 'cat %s/motd'
                                                 % where))
        code, out = self.sh(server, 'echo x > %s/new' % where)
        self.assertIn('Read-only file system', out)

    # -- lifecycle ------------------------------------------------------

    def test_stop_start_reboot_and_compute_restart_keep_it(self):
        server = self.boot()
        volume_id, loop = self.volume('xfs')
        self.attach(server, volume_id)
        where = GUEST_VOLUMES + '/vdb'
        self.sh(server, 'echo kept > %s/f' % where)

        def check(step):
            self.assertEqual((0, 'kept\n'),
                             self.sh(server, 'cat %s/f' % where), step)
            self.assertIn('rw', self.guest_mounts(server)[where], step)

        server = self._stop_server(server)
        server = self._start_server(server)
        check('stop and start')
        self._reboot_server(server, hard=True)
        check('hard reboot')
        self.compute = self.restart_compute_service(self.compute)
        self.computes[self.host] = self.compute
        check('nova-compute restart')
        self.detach(server, volume_id)
        self.assertEqual('kept\n', self.read_on_device(loop, 'f'))

    def test_attach_to_a_stopped_server_then_start(self):
        server = self._stop_server(self.boot())
        volume_id, _ = self.volume('ext4', files={'f': 'before start\n'})
        self.attach(server, volume_id)
        server = self._start_server(server)
        self.assertEqual((0, 'before start\n'),
                         self.sh(server, 'cat %s/vdb/f' % GUEST_VOLUMES))
        self._stop_server(server)
        self.detach(server, volume_id)
        self.assertEqual([], mountinfo.below(self.root))

    def test_host_boot_mounts_the_volume_again(self):
        self.flags(resume_guests_state_on_host_boot=True)
        server = self.boot()
        volume_id, _ = self.volume('btrfs')
        self.attach(server, volume_id)
        self.sh(server, 'echo kept > %s/vdb/f' % GUEST_VOLUMES)
        # As after a reboot of the host: the container stopped, nothing
        # mounted, not even the shared mount of volumes_path.
        self.container(server).stop(timeout=0)
        run('umount', os.path.join(self.host_dir(server), 'vdb'))
        run('umount', self.root)
        self.assertFalse(mountinfo.mounted(self.root))
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.computes[self.host] = self.compute
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertTrue(mountinfo.is_shared(self.root))
        self.assertEqual((0, 'kept\n'),
                         self.sh(server, 'cat %s/vdb/f' % GUEST_VOLUMES))
        self._delete_server(server)
        self.assertEqual([], mountinfo.below(self.root))
        self.assertFalse(os.path.exists(self.host_dir(server)))

    def test_delete_leaves_no_mount_and_no_directory(self):
        server = self.boot()
        first, loop1 = self.volume('ext4')
        second, loop2 = self.volume('btrfs')
        self.attach(server, first)
        device, _ = self.attach(server, second)
        self.assertEqual('/dev/vdc', device)
        self.sh(server, 'echo one > %s/vdb/f; echo two > %s/vdc/f'
                % (GUEST_VOLUMES, GUEST_VOLUMES))
        self.assertEqual(2, len(mountinfo.below(self.root)))
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assertEqual([], mountinfo.below(self.root))
        self.assertFalse(os.path.exists(self.host_dir(server)))
        self.assertEqual('one\n', self.read_on_device(loop1, 'f'))
        self.assertEqual('two\n', self.read_on_device(loop2, 'f'))

    # -- boot -------------------------------------------------------------

    def test_boot_with_a_volume(self):
        volume_id, _ = self.volume('ext4', files={'seed': 'from cinder\n'})
        server = self.boot(block_device_mapping_v2=[
            {'boot_index': 0, 'uuid': self.image('guest'),
             'source_type': 'image', 'destination_type': 'local'},
            {'boot_index': -1, 'uuid': volume_id, 'source_type': 'volume',
             'destination_type': 'volume'}])
        self.assertEqual([volume_id], self.attached(server))
        self.assertEqual((0, 'from cinder\n'),
                         self.sh(server, 'cat %s/vdb/seed' % GUEST_VOLUMES))

    def test_boot_from_volume_is_refused(self):
        server = self._build_server(networks='none')
        server.pop('imageRef', None)
        server['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': self.cinder.IMAGE_BACKED_VOL,
            'source_type': 'volume', 'destination_type': 'volume'}]
        server = self.api.post_server({'server': server})
        self.booted.append(server['id'])
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('booting from a volume is not supported',
                      server['fault']['message'])
        self.assertEqual([], self.containers_of(server['id']))
        self.assertFalse(os.path.exists(self.host_dir(server)))

    # -- what is refused --------------------------------------------------

    def test_blank_volume_refused_without_the_option(self):
        server = self.boot()
        volume_id, loop = self.volume(None)
        _, event = self.attach(server, volume_id, expected='Error')
        self.assertIn('holds no file system', event['details'])
        self.assertIn('format_blank_volumes', event['details'])
        self.assertEqual([], self.attached(server))
        self.assertEqual([], mountinfo.below(self.root))
        # Still blank: blkid finds nothing.
        self.assertEqual(2, run('blkid', '-p', loop, check=False).returncode)

    def test_blank_volume_formatted_with_the_option(self):
        self.flags(format_blank_volumes=True, group='docker')
        server = self.boot()
        volume_id, loop = self.volume(None)
        self.attach(server, volume_id)
        self.assertEqual('ext4', run('blkid', '-p', '-s', 'TYPE', '-o',
                                     'value', loop).stdout.strip())
        self.assertEqual((0, ''), self.sh(
            server, 'echo new > %s/vdb/f' % GUEST_VOLUMES))

    def test_foreign_signature_refused(self):
        self.flags(format_blank_volumes=True, group='docker')
        server = self.boot()
        volume_id, loop = self.volume('swap')
        _, event = self.attach(server, volume_id, expected='Error')
        self.assertIn('a swap signature', event['details'])
        self.assertEqual([], self.attached(server))
        self.assertEqual([], mountinfo.below(self.root))
        self.assertEqual('swap', run('blkid', '-p', '-s', 'TYPE', '-o',
                                     'value', loop).stdout.strip())

    def test_multiattach_volume_refused(self):
        server = self.boot()
        # Nova refuses it on the capability flag, before the driver. Up to
        # 2.100 nova-api asks nova-compute while the user waits.
        self.api.microversion = '2.100'
        error = self.assertRaises(
            client.OpenStackApiException, self.api.post_server_volume,
            server['id'], {'volumeAttachment': {
                'volumeId': self.cinder.MULTIATTACH_VOL}})
        self.assertEqual(400, error.response.status_code)
        self.assertIn('multiattach', error.response.text)
        self.assertEqual([], self.attached(server))

    def test_the_privsep_daemon_never_formats_a_device_with_a_signature(self):
        # Whatever its caller thought: blkid runs again right before mkfs.
        _, loop = self.volume('xfs', files={'f': 'kept\n'})
        error = self.assertRaises(ValueError, privsep.format_volume, loop,
                                  'ext4')
        self.assertIn('is not blank (xfs): not formatted', str(error))
        self.assertEqual('kept\n', self.read_on_device(loop, 'f'))

    def test_a_stale_mount_at_the_devices_place_is_not_taken_for_it(self):
        server = self.boot()
        volume_id, _ = self.volume('ext4')
        _, stale = self.volume('ext4')
        place = os.path.join(self.host_dir(server), 'vdb')
        os.makedirs(place)
        run('mount', stale, place)
        _, event = self.attach(server, volume_id, expected='Error')
        self.assertIn('another file system is mounted at', event['details'])
        self.assertEqual([], self.attached(server))
        self.assertEqual([place], mountinfo.below(self.root))

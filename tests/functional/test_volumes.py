"""Cinder volumes in containers: real loop devices and file systems.

Nova's CinderFixture hands out ``local`` connection info (os-brick's
LocalConnector) that points at a loop device holding a file system the test
made; the driver's privsep daemon and os-brick's are real, run as the
test's root. What the guest sees is read inside the container, what is left
on the device by mounting it on the host after the detach.
"""

import os
import time

# Nova's functional package patches eventlet in. It must come before
# oslo.privsep's daemon module, which looks at import time.
import nova.tests.functional  # noqa: F401
from nova.tests.functional.api import client

from novadocker import mountinfo
from novadocker import privsep
from tests.functional import base
from tests.functional import volumes_base


class TestVolumes(volumes_base.VolumeTestCase):

    # -- attach and detach ----------------------------------------------

    def test_attach_write_detach_then_read_on_another_server(self):
        server = self.boot()
        volume_id, loop = self.volume('ext4')
        device, _ = self.attach(server, volume_id)
        self.assertEqual('/dev/vdb', device)
        where = volumes_base.GUEST_VOLUMES + '/vdb'
        self.assertLessEqual({'rw', 'nodev', 'nosuid'},
                             set(self.guest_mounts(server)[where]))
        code, out = self.sh(server, 'echo written by %s > %s/data.txt && '
                            'cat %s/data.txt' % (server['id'], where, where))
        self.assertEqual((0, 'written by %s\n' % server['id']), (code, out))
        # The guest cannot make names of its own beside the volumes.
        code, out = self.sh(server,
                            'mkdir %s/evil' % volumes_base.GUEST_VOLUMES)
        self.assertNotEqual(0, code)
        self.assertIn('Read-only file system', out)

        self.detach(server, volume_id)
        self.assertEqual([], self.attached(server))
        self.assertEqual({}, self.guest_mounts(server))
        self.assertEqual([], mountinfo.below(self.volumes_root))
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
        where = volumes_base.GUEST_VOLUMES + '/vdb'
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
        where = volumes_base.GUEST_VOLUMES + '/vdb'
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
        where = volumes_base.GUEST_VOLUMES + '/vdb'
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

    def _boot_to_resize(self):
        """A server on a flavor of its own, and a larger flavor to resize
        it to on this host. Both named: the harness boots on the first
        flavor it lists, which a new flavor's random id may come before."""
        self.flags(allow_resize_to_same_host=True)
        small = self._create_flavor(memory_mb=512, vcpu=1, disk=1,
                                    ephemeral=0, name='small')
        large = self._create_flavor(memory_mb=1024, vcpu=2, disk=1,
                                    ephemeral=0, name='large')
        return self.boot(flavor_id=small), large

    def _moves(self, server, large, *actions):
        """Each action ('resize', 'revertResize', 'confirmResize') done
        and settled; yields the server after each."""
        for action in actions:
            body, expected = (({'resize': {'flavorRef': large}},
                               'VERIFY_RESIZE') if action == 'resize' else
                              ({action: None}, 'ACTIVE'))
            self.api.post_server_action(server['id'], body)
            server = self._wait_for_state_change(
                server, expected, max_retries=base.BOOT_RETRIES)
            self._wait_for_server_parameter(
                server, {'OS-EXT-STS:task_state': None})
            yield action, server

    def test_resize_and_revert_keep_it(self):
        server, large = self._boot_to_resize()
        volume_id, loop = self.volume('ext4')
        self.attach(server, volume_id)
        where = volumes_base.GUEST_VOLUMES + '/vdb'
        self.sh(server, 'echo kept > %s/f' % where)
        for action, server in self._moves(server, large, 'resize',
                                          'revertResize', 'resize',
                                          'confirmResize'):
            self.assertEqual((0, 'kept\n'),
                             self.sh(server, 'cat %s/f' % where), action)
            self.assertIn('rw', self.guest_mounts(server)[where], action)
        self.detach(server, volume_id)
        self.assertEqual('kept\n', self.read_on_device(loop, 'f'))

    def test_resize_and_revert_without_a_volume(self):
        # On one host the guest kept for the revert binds the instance's
        # directory, which the removal of the resized guest took with it.
        server, large = self._boot_to_resize()
        for _, server in self._moves(server, large, 'resize',
                                     'revertResize'):
            pass
        self.assertEqual('small', server['flavor']['original_name'])
        self.assertEqual((0, 'up\n'), self.sh(server, 'echo up'))

    def test_attach_to_a_stopped_server_then_start(self):
        server = self._stop_server(self.boot())
        volume_id, _ = self.volume('ext4', files={'f': 'before start\n'})
        self.attach(server, volume_id)
        server = self._start_server(server)
        self.assertEqual((0, 'before start\n'),
                         self.sh(server, 'cat %s/vdb/f' %
                                 volumes_base.GUEST_VOLUMES))
        self._stop_server(server)
        self.detach(server, volume_id)
        self.assertEqual([], mountinfo.below(self.volumes_root))

    def test_host_boot_mounts_the_volume_again(self):
        self.flags(resume_guests_state_on_host_boot=True)
        server = self.boot()
        volume_id, _ = self.volume('btrfs')
        self.attach(server, volume_id)
        self.sh(server, 'echo kept > %s/vdb/f' % volumes_base.GUEST_VOLUMES)
        # As after a reboot of the host: the container stopped, nothing
        # mounted, not even the shared mount of volumes_path.
        self.container(server).stop(timeout=0)
        volumes_base.run('umount', os.path.join(self.host_dir(server), 'vdb'))
        volumes_base.run('umount', self.volumes_root)
        self.assertFalse(mountinfo.mounted(self.volumes_root))
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.computes[self.host] = self.compute
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertTrue(mountinfo.is_shared(self.volumes_root))
        self.assertEqual((0, 'kept\n'),
                         self.sh(server, 'cat %s/vdb/f' %
                                 volumes_base.GUEST_VOLUMES))
        self._delete_server(server)
        self.assertEqual([], mountinfo.below(self.volumes_root))
        self.assertFalse(os.path.exists(self.host_dir(server)))

    def test_delete_leaves_no_mount_and_no_directory(self):
        server = self.boot()
        first, loop1 = self.volume('ext4')
        second, loop2 = self.volume('btrfs')
        self.attach(server, first)
        device, _ = self.attach(server, second)
        self.assertEqual('/dev/vdc', device)
        self.sh(server, 'echo one > %s/vdb/f; echo two > %s/vdc/f'
                % (volumes_base.GUEST_VOLUMES, volumes_base.GUEST_VOLUMES))
        self.assertEqual(2, len(mountinfo.below(self.volumes_root)))
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assertEqual([], mountinfo.below(self.volumes_root))
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
                         self.sh(server, 'cat %s/vdb/seed' %
                                 volumes_base.GUEST_VOLUMES))

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
        self.assertEqual([], mountinfo.below(self.volumes_root))
        # Still blank: blkid finds nothing.
        self.assertEqual(2, volumes_base.run('blkid', '-p', loop,
                                             check=False).returncode)

    def test_blank_volume_formatted_with_the_option(self):
        self.flags(format_blank_volumes=True, group='docker')
        server = self.boot()
        volume_id, loop = self.volume(None)
        self.attach(server, volume_id)
        self.assertEqual('ext4', volumes_base.run(
            'blkid', '-p', '-s', 'TYPE', '-o', 'value', loop).stdout.strip())
        self.assertEqual((0, ''), self.sh(
            server, 'echo new > %s/vdb/f' % volumes_base.GUEST_VOLUMES))

    def test_foreign_signature_refused(self):
        self.flags(format_blank_volumes=True, group='docker')
        server = self.boot()
        volume_id, loop = self.volume('swap')
        _, event = self.attach(server, volume_id, expected='Error')
        self.assertIn('a swap signature', event['details'])
        self.assertEqual([], self.attached(server))
        self.assertEqual([], mountinfo.below(self.volumes_root))
        self.assertEqual('swap', volumes_base.run(
            'blkid', '-p', '-s', 'TYPE', '-o', 'value', loop).stdout.strip())

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
        volumes_base.run('mount', stale, place)
        _, event = self.attach(server, volume_id, expected='Error')
        self.assertIn('another file system is mounted at', event['details'])
        self.assertEqual([], self.attached(server))
        self.assertEqual([place], mountinfo.below(self.volumes_root))

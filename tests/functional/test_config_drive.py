"""Nova's config drive as the guest reads it: /config-drive, read-only."""

import base64
import json
import os
import stat

import fixtures

from novadocker import conf
from tests.functional import base

CONF = conf.CONF
LATEST = '/config-drive/openstack/latest/'
# Bytes that are not text: the drive keeps user data as it was sent.
USER_DATA = b'#!/bin/sh\necho from user data\n\x00\xff\xfe\n'


class ConfigDriveTestCase(base.DockerDriverTestCase):

    def setUp(self):
        super().setUp()
        self.instances = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances)

    def run_in(self, server, *command, user=''):
        result = self.container(server).exec_run(list(command), user=user)
        self.assertEqual(0, result.exit_code, result.output)
        return result.output

    def fails_in(self, server, *command):
        result = self.container(server).exec_run(list(command))
        self.assertNotEqual(0, result.exit_code, result.output)
        return result.output.decode()

    def meta_data(self, server):
        return json.loads(self.run_in(server, 'cat',
                                      LATEST + 'meta_data.json'))

    def host_dir(self, server):
        return os.path.join(self.instances, server['id'])

    def create(self, kind='guest', expected='ACTIVE', **fields):
        """Boot through the API; the server with the adminPass it gave."""
        server = self._build_server(image_uuid=self.image(kind),
                                    networks='none')
        server.update(fields)
        created = self.api.post_server({'server': server})
        server = self._wait_for_state_change(created, expected)
        server['adminPass'] = created.get('adminPass')
        return server


class TestConfigDrive(ConfigDriveTestCase):

    def test_guest_reads_metadata_and_user_data(self):
        server = self.create(
            config_drive=True, metadata={'role': 'web'},
            user_data=base64.b64encode(USER_DATA).decode())
        self.assertEqual('True', server['config_drive'])
        meta = self.meta_data(server)
        self.assertEqual(server['id'], meta['uuid'])
        self.assertEqual({'role': 'web'}, meta['meta'])
        # As the libvirt driver writes it on its drive.
        self.assertEqual(server['adminPass'], meta['admin_pass'])
        self.assertEqual(USER_DATA,
                         self.run_in(server, 'cat', LATEST + 'user_data'))
        network = json.loads(self.run_in(
            server, 'cat', LATEST + 'network_data.json'))
        # Nova's network data of a server without ports.
        self.assertEqual({}, network)
        self.run_in(server, 'cat', LATEST + 'vendor_data.json',
                    LATEST + 'vendor_data2.json')
        ec2 = json.loads(self.run_in(
            server, 'cat', '/config-drive/ec2/latest/meta-data.json'))
        self.assertTrue(ec2['instance-id'].startswith('i-'), ec2)
        # The dated versions that cloud-init's ds-identify looks for.
        self.assertEqual(server['id'], json.loads(self.run_in(
            server, 'cat', '/config-drive/openstack/2012-08-10/'
            'meta_data.json'))['uuid'])
        # Every user of the guest reads it, as on a mounted ISO drive.
        self.assertEqual(USER_DATA, self.run_in(
            server, 'cat', LATEST + 'user_data', user='4242'))

    def test_guest_cannot_write_the_drive(self):
        server = self.create(config_drive=True)
        for command in ('echo x > %suser_data' % LATEST,
                        'echo x > /config-drive/new',
                        'mkdir /config-drive/openstack/new'):
            self.assertIn('Read-only file system',
                          self.fails_in(server, 'sh', '-c', command))
        self.assertIn('Read-only file system', self.fails_in(
            server, 'sh', '-c', 'echo x >> %smeta_data.json' % LATEST))
        # Neither by the modes: read-only for everyone, as with -r on ISO.
        listing = self.run_in(server, 'ls', '-l', LATEST).decode()
        self.assertIn('-r--r--r--', listing)
        modes = [line.split()[0] for line in listing.splitlines()
                 if line[:1] in '-dl']
        self.assertTrue(modes, listing)
        self.assertNotIn('w', ''.join(modes))
        mounts = self.run_in(server, 'grep', ' /config-drive ',
                             '/proc/mounts').decode()
        self.assertIn(' ro,', mounts)
        # On the host, only nova-compute's user enters the instance's dir.
        self.assertEqual(0o700, stat.S_IMODE(
            os.stat(self.host_dir(server)).st_mode))

    def test_no_drive_unless_asked(self):
        server = self.create()
        self.assertEqual('', server['config_drive'])
        self.assertIn('No such file', self.fails_in(
            server, 'ls', '/config-drive'))
        self.assertFalse(os.path.exists(self.host_dir(server)))

    def test_force_config_drive(self):
        self.flags(force_config_drive=True)
        server = self.create()
        self.assertEqual('True', server['config_drive'])
        self.assertEqual(server['id'], self.meta_data(server)['uuid'])

    def test_image_that_requires_a_drive(self):
        self.image('guest', properties={'img_config_drive': 'mandatory'})
        server = self.create()
        self.assertEqual(server['id'], self.meta_data(server)['uuid'])

    def test_drive_stays_across_power_operations_until_delete(self):
        server = self.create(config_drive=True)
        expected = self.meta_data(server)
        server = self._stop_server(server)
        server = self._start_server(server)
        self.assertEqual(expected, self.meta_data(server))
        self._reboot_server(server, hard=False)
        self.assertEqual(expected, self.meta_data(server))
        self._reboot_server(server, hard=True)
        self.assertEqual(expected, self.meta_data(server))
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.computes[self.host] = self.compute
        self._reboot_server(server, hard=True)
        self.assertEqual(expected, self.meta_data(server))
        self._delete_server(server)
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual([], os.listdir(self.instances))

    def test_rebuild_writes_the_drive_again(self):
        server = self.create(config_drive=True, metadata={'v': '1'},
                             user_data=base64.b64encode(b'first').decode())
        self.api.post_server_action(server['id'], {'rebuild': {
            'imageRef': self.image('guest'), 'metadata': {'v': '2'},
            'user_data': base64.b64encode(b'second').decode()}})
        self.notifier.wait_for_versioned_notifications('instance.rebuild.end')
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual({'v': '2'}, self.meta_data(server)['meta'])
        self.assertEqual(b'second',
                         self.run_in(server, 'cat', LATEST + 'user_data'))
        self.assertEqual(['config-drive'],
                         os.listdir(self.host_dir(server)))

    def test_snapshot_carries_nothing_of_the_drive(self):
        server = self.create(config_drive=True,
                             user_data=base64.b64encode(USER_DATA).decode())
        snapshot_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap'}})['image_id']
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})
        clone = self._build_server(image_uuid=snapshot_id, networks='none')
        clone = self._wait_for_state_change(
            self.api.post_server({'server': clone}), 'ACTIVE')
        # The mount point stays in the image, empty: no user data, no
        # password.
        self.assertEqual(b'', self.run_in(clone, 'ls', '-A', '/config-drive'))

    def test_failed_boot_leaves_no_drive(self):
        # Time for the crash on a loaded host: the test is of the cleanup.
        self.flags(boot_check_seconds=5, group='docker')
        server = self.create('crashing', expected='ERROR', config_drive=True)
        self.assertIn('exited at once', server['fault']['message'])
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual([], os.listdir(self.instances))

    def test_instance_directory_that_cannot_be_written(self):
        # A file where Nova's instances directory should be.
        path = os.path.join(self.instances, 'not-a-directory')
        with open(path, 'w'):
            pass
        self.flags(instances_path=path)
        server = self.create(expected='ERROR', config_drive=True)
        message = server['fault']['message']
        self.assertIn('the config drive could not be written to %s'
                      % os.path.join(path, server['id'], 'config-drive'),
                      message)
        self.assertIn('Not a directory', message)
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual(['not-a-directory'], os.listdir(self.instances))


class TestConfigDrivePersonality(ConfigDriveTestCase):
    """Personality files (API 2.56 and older) on the drive, as libvirt's."""

    microversion = '2.56'

    def personality(self, path, data):
        return [{'path': path,
                 'contents': base64.b64encode(data).decode()}]

    def test_files_are_on_the_drive_too(self):
        server = self.create(config_drive=True, personality=self.personality(
            '/etc/app.conf', b'answer=42\n'))
        [entry] = self.meta_data(server)['files']
        self.assertEqual('/etc/app.conf', entry['path'])
        self.assertEqual(b'answer=42\n', self.run_in(
            server, 'cat', '/config-drive/openstack' + entry['content_path']))
        self.assertEqual(b'answer=42\n',
                         self.run_in(server, 'cat', '/etc/app.conf'))

    def test_a_file_under_the_drive_is_refused(self):
        server = self.create(expected='ERROR', config_drive=True,
                             personality=self.personality(
                                 '/config-drive/x', b'x'))
        self.assertIn("injected file path '/config-drive/x' is under "
                      "/config-drive", server['fault']['message'])
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual([], os.listdir(self.instances))

"""Personality files and the admin password, read inside the guests.

Personality (API 2.56 and older) at boot and at rebuild; paths that would
leave the container are refused or, through the image's symbolic links,
land inside it: never on the host.  The password set through the API's
changePassword is checked against the guest's /etc/shadow.
"""

import base64
import io
import json
import os
import tarfile
import tempfile
import time
import warnings

from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization
from nova.tests.functional.api import client as api_client

from tests.fixtures import images as test_images
from tests.functional import base

with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    try:
        import crypt
    except ImportError:  # Python 3.13 and later: verify in the guest.
        crypt = None


def personality(*files):
    return [{'path': path, 'contents': base64.b64encode(
        data if isinstance(data, bytes) else data.encode()).decode()}
        for path, data in files]


def rootfs_with(extra):
    """The test busybox rootfs and more members: (TarInfo, data)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(test_images.busybox_rootfs())) as \
            src, tarfile.open(fileobj=buf, mode='w') as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member)
                        if member.isfile() else None)
        for info, data in extra:
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name, kind=tarfile.REGTYPE, data=None, mode=0o644, uid=0, gid=0,
           link=''):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
    info.linkname = link
    info.size = len(data) if data is not None else 0
    return info, data


class InjectTestCase(base.DockerDriverTestCase):

    def run_in(self, server, *command):
        result = self.container(server).exec_run(list(command))
        self.assertEqual(0, result.exit_code, result.output)
        return result.output.decode()

    def listing(self, server, path):
        """(mode string, uid, gid) as busybox's ``ls -lnd`` shows them."""
        fields = self.run_in(server, 'ls', '-lnd', path).split()
        return fields[0], fields[2], fields[3]

    def build_image(self, extra, **fields):
        """A Glance image of the busybox rootfs plus extra members."""
        tag = 'inject-%s' % self.id().rsplit('.', 1)[-1][-40:].lower()
        ref = '%s:%s' % (test_images.REPOSITORY, tag)
        test_images.import_image(self.docker, rootfs_with(extra), tag,
                                 test_images.GUEST_COMMAND)
        self.addCleanup(self.docker.images.remove, ref, force=True)
        path = os.path.join(self.workdir, tag + '.tar')
        tarball = dict(test_images.save(self.docker, ref, path), path=path)
        return self.images.add(tag, tarball, **fields)

    def boot_image(self, image_id, expected='ACTIVE', **kw):
        server = self._build_server(image_uuid=image_id, networks='none')
        server.update(kw)
        server = self.api.post_server({'server': server})
        return self._wait_for_state_change(server, expected)

    def refused(self, server, why):
        self.assertEqual('ERROR', server['status'])
        self.assertIn(why, server['fault']['message'])
        self.assertEqual([], self.containers_of(server['id']))


class TestPersonality(InjectTestCase):

    # API 2.57 removed personality.
    microversion = '2.56'

    def test_files_at_boot_with_nova_modes_and_owner(self):
        binary = bytes(range(256)) * 4
        server = self.boot(personality=personality(
            ('/etc/motd', 'welcome\n'),
            ('/opt/app/conf/data.bin', binary),
            ('/root/.profile', 'export A=1\n')))
        self.assertEqual('welcome\n', self.run_in(server, 'cat', '/etc/motd'))
        got = self.container(server).exec_run(
            ['cat', '/opt/app/conf/data.bin']).output
        self.assertEqual(binary, got)
        for path in ('/etc/motd', '/opt/app/conf/data.bin', '/root/.profile'):
            self.assertEqual(('-rw-r--r--', '0', '0'),
                             self.listing(server, path))
        # Directories Nova had to make: root:root 0744; existing ones keep
        # theirs.
        for path in ('/opt', '/opt/app', '/opt/app/conf'):
            self.assertEqual(('drwxr--r--', '0', '0'),
                             self.listing(server, path))
        self.assertEqual(('drwxr-xr-x', '0', '0'),
                         self.listing(server, '/etc'))
        self.assertIn('booted', self.console(server))

    def test_replaced_file_keeps_its_mode_and_owner(self):
        self.skip_on_podman('its archive API gives every file it writes the '
                            'container\'s user (root) and reports every '
                            'file as root\'s: an injected file is root\'s')
        image = self.build_image([
            member('etc/tool', data=b'old\n', mode=0o750, uid=1000, gid=50)])
        server = self.boot_image(image, personality=personality(
            ('/etc/tool', '#!/bin/sh\necho new\n')))
        self.assertEqual('#!/bin/sh\necho new\n',
                         self.run_in(server, 'cat', '/etc/tool'))
        self.assertEqual(('-rwxr-x---', '1000', '50'),
                         self.listing(server, '/etc/tool'))

    def test_key_then_files_in_nova_order(self):
        self.api.post_keypair({'keypair': {
            'name': 'k', 'type': 'ssh', 'public_key':
            'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEcQ1fU1c6qA5MkNHrmJ3Ox/'
            'W1XrSzU9xBy7LsxW3dBz k@test'}})
        server = self.boot(key_name='k', personality=personality(
            ('/root/.ssh/extra', 'x\n')))
        self.assertIn('k@test', self.run_in(
            server, 'cat', '/root/.ssh/authorized_keys'))
        self.assertEqual('x\n', self.run_in(server, 'cat', '/root/.ssh/extra'))
        self.assertEqual(('drwx------', '0', '0'),
                         self.listing(server, '/root/.ssh'))

    def test_rebuild_with_personality(self):
        server = self.boot(personality=personality(('/etc/first', '1\n')))
        old = self.container(server)
        self.api.post_server_action(server['id'], {'rebuild': {
            'imageRef': self.image('guest'),
            'personality': personality(('/srv/www/index.html', '<p>2</p>'))}})
        self.notifier.wait_for_versioned_notifications('instance.rebuild.end')
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertNotEqual(old.id, self.container(server).id)
        self.assertEqual('<p>2</p>',
                         self.run_in(server, 'cat', '/srv/www/index.html'))
        self.assertEqual(('-rw-r--r--', '0', '0'),
                         self.listing(server, '/srv/www/index.html'))
        # A rebuild starts from the image: the files of the boot are gone.
        self.assertNotEqual(0, self.container(server).exec_run(
            ['cat', '/etc/first']).exit_code)

    def test_relative_path_lands_under_the_root(self):
        # As on libvirt: Tempest's rebuild test sends 'rebuild.txt'.
        server = self.boot(personality=personality(
            ('relative.txt', 'from the root')))
        self.assertEqual(b'from the root', self.container(server).exec_run(
            ['cat', '/relative.txt']).output)

    def test_relative_dotdot_path_refused_leaving_nothing(self):
        server = self.boot(expected='ERROR', personality=personality(
            ('/etc/ok', 'fine'), ('../etc/motd', 'up')))
        self.refused(server, 'contains ".."')

    def test_dotdot_path_refused_leaving_nothing(self):
        server = self.boot(expected='ERROR', personality=personality(
            ('/tmp/../../../etc/escape', 'up')))
        self.refused(server, 'contains ".."')

    def test_a_file_the_engine_mounts_over_is_refused(self):
        server = self.boot(expected='ERROR', personality=personality(
            ('/etc/resolv.conf', 'nameserver 192.0.2.1\n')))
        self.refused(server, "'/etc/resolv.conf' is one the Docker engine "
                     "provides at each start")

    def test_a_directory_of_the_image_is_not_replaced(self):
        server = self.boot(expected='ERROR', personality=personality(
            ('/etc', 'not a directory')))
        self.refused(server, 'cannot inject /etc: it is a directory')

    def test_symlinks_of_the_image_resolve_inside_the_container(self):
        # A directory of the host, also present in the image; links to it,
        # absolute and climbing with "..", and one to a directory that only
        # the host has.
        inside = tempfile.mkdtemp(prefix='novadocker-inject-')
        self.addCleanup(os.rmdir, inside)
        host_only = tempfile.mkdtemp(prefix='novadocker-inject-')
        self.addCleanup(os.rmdir, host_only)
        image = self.build_image([
            member(inside.lstrip('/'), tarfile.DIRTYPE, mode=0o755),
            member('etc/abs', tarfile.SYMTYPE, link=inside),
            member('etc/up', tarfile.SYMTYPE,
                   link='../../../../../..' + inside),
            member('etc/hostonly', tarfile.SYMTYPE, link=host_only)])
        server = self.boot_image(image, personality=personality(
            ('/etc/abs/one', 'one\n'), ('/etc/up/two', 'two\n')))
        self.assertEqual([], os.listdir(inside))
        self.assertEqual('one\n', self.run_in(
            server, 'cat', os.path.join(inside, 'one')))
        self.assertEqual('two\n', self.run_in(
            server, 'cat', os.path.join(inside, 'two')))

        if base.on_podman():
            # Podman's stat reports a link that leads nowhere as missing,
            # and its copy writes the file in the container: no refusal,
            # and still nothing on the host.
            server = self.boot_image(image, personality=personality(
                ('/etc/hostonly/three', 'three\n')))
            self.assertEqual('three\n', self.run_in(
                server, 'cat', '/etc/hostonly/three'))
            self.assertEqual([], os.listdir(host_only))
            return
        server = self.boot_image(image, expected='ERROR',
                                 personality=personality(
                                     ('/etc/hostonly/three', 'three\n')))
        self.refused(server, 'cannot inject /etc/hostonly/three')
        self.assertEqual([], os.listdir(host_only))


class TestAdminPassword(InjectTestCase):

    PASSWORD = 'Pw8#kq2Z'

    def setUp(self):
        super().setUp()
        if 'cirros' not in self.tarballs:
            self.skipTest('no CirrOS rootfs in ../shared/cirros')

    def shadow(self, server):
        """Each user's password hash in the guest's /etc/shadow."""
        fields = (line.split(':') for line in self.run_in(
            server, 'cat', '/etc/shadow').splitlines())
        return {f[0]: f[1] for f in fields if len(f) > 1}

    def verifies(self, server, password, hashed):
        if crypt is not None:
            return crypt.crypt(password, hashed) == hashed
        # The guest's own crypt: busybox's mkpasswd with the hash's salt.
        if hashed.startswith('$'):
            _, method, salt, _ = hashed.split('$')
            method = {'1': 'md5', '5': 'sha256', '6': 'sha512'}[method]
        else:
            method, salt = 'des', hashed[:2]
        return self.run_in(server, 'mkpasswd', '-m', method, password,
                           salt).strip() == hashed

    def boot_cirros(self, **properties):
        fields = {'properties': properties} if properties else {}
        return self.boot_image(self.image('cirros', **fields))

    def change_password(self, server, password):
        return self.api.post_server_action(
            server['id'], {'changePassword': {'adminPass': password}})

    def test_password_of_os_admin_user_set_in_the_guest(self):
        server = self.boot_cirros(os_admin_user='cirros')
        before = self.shadow(server)
        self.change_password(server, self.PASSWORD)
        after = self.shadow(server)
        self.assertNotEqual(before['cirros'], after['cirros'])
        self.assertTrue(self.verifies(server, self.PASSWORD, after['cirros']))
        self.assertFalse(self.verifies(server, 'Xw8#kq2Z', after['cirros']))
        # No other user's changed.
        self.assertEqual({k: v for k, v in before.items() if k != 'cirros'},
                         {k: v for k, v in after.items() if k != 'cirros'})
        # The engine keeps each exec's command line: no password there.
        container = self.container(server)
        container.reload()
        for exec_id in container.attrs['ExecIDs'] or ():
            config = self.docker.api.exec_inspect(exec_id)['ProcessConfig']
            self.assertNotIn(self.PASSWORD, json.dumps(config))
        self.assertEqual('ACTIVE', self.api.get_server(
            server['id'])['status'])

    def test_cirros_dropbear_logs_in_with_the_new_password(self):
        # As Tempest does through the gate's floating IPs: here a dropbear
        # started as cirros's init starts it (without -s: passwords
        # allowed), on the guest's loopback, and cirros's own client.
        server = self.boot_cirros(os_admin_user='cirros')
        self.change_password(server, self.PASSWORD)
        self.run_in(server, 'sh', '-c', 'mkdir -p /var/run/dropbear && '
                    'dropbear -R -p 127.0.0.1:2222')

        def login(password):
            return self.container(server).exec_run([
                'sh', '-c', 'DROPBEAR_PASSWORD="$0" dbclient -y -y -p 2222 '
                'cirros@127.0.0.1 id </dev/null', password])
        for _ in range(50):  # until dropbear listens
            result = login(self.PASSWORD)
            if b'Connection refused' not in result.output:
                break
            time.sleep(0.1)
        self.assertEqual(0, result.exit_code, result.output)
        self.assertIn(b'uid=1000(cirros)', result.output)
        self.assertNotEqual(0, login('Xw8#kq2Z').exit_code)

    def test_password_for_the_metadata_service_with_an_rsa_key(self):
        # As libvirt keeps it: encrypted with the key, for get-password.
        private = rsa.generate_private_key(public_exponent=65537,
                                           key_size=2048)
        self.api.post_keypair({'keypair': {
            'name': 'rsa', 'type': 'ssh',
            'public_key': private.public_key().public_bytes(
                serialization.Encoding.OpenSSH,
                serialization.PublicFormat.OpenSSH).decode()}})
        server = self.boot('cirros', key_name='rsa')
        self.change_password(server, self.PASSWORD)
        encrypted = self.api.api_get(
            '/servers/%s/os-server-password' % server['id']).body['password']
        self.assertEqual(self.PASSWORD.encode(), private.decrypt(
            base64.b64decode(encrypted), padding.PKCS1v15()))

    def test_root_by_default(self):
        server = self.boot_cirros()
        before = self.shadow(server)
        self.change_password(server, self.PASSWORD)
        after = self.shadow(server)
        self.assertTrue(self.verifies(server, self.PASSWORD, after['root']))
        self.assertEqual(before['cirros'], after['cirros'])

    def test_unknown_user_is_an_error_and_changes_nothing(self):
        server = self.boot_cirros(os_admin_user='nosuchuser')
        container = self.container(server)
        before = self.shadow(server)
        error = self.assertRaises(api_client.OpenStackApiException,
                                  self.change_password, server, self.PASSWORD)
        self.assertEqual(409, error.response.status_code)
        self.assertIn('Failed to set admin password', str(error))
        self.assertNotIn(self.PASSWORD, str(error))
        self.assertEqual(before, self.shadow(server))
        # The reason is in nova-compute's log, without the password.
        log = self.stdlog.logger.output
        self.assertIn('chpasswd in the guest failed for user nosuchuser with '
                      'exit code 1: chpasswd: unknown user nosuchuser', log)
        self.assertNotIn(self.PASSWORD, log)
        server = self.api.get_server(server['id'])
        self.assertEqual(('ACTIVE', None),
                         (server['status'], server['OS-EXT-STS:task_state']))
        self.assertEqual(container.id, self.container(server).id)


class TestAdminPasswordWithoutChpasswd(InjectTestCase):

    def test_image_without_chpasswd(self):
        server = self.boot()
        container = self.container(server)
        error = self.assertRaises(api_client.OpenStackApiException,
                                  self.api.post_server_action, server['id'],
                                  {'changePassword': {'adminPass': 'pw'}})
        self.assertEqual(409, error.response.status_code)
        self.assertIn('Set admin password is not supported', str(error))
        server = self.api.get_server(server['id'])
        self.assertEqual(('ACTIVE', None),
                         (server['status'], server['OS-EXT-STS:task_state']))
        container.reload()
        self.assertEqual((container.id, 'running'),
                         (self.container(server).id, container.status))

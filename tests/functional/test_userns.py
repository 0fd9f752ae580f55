"""Guests whose root is an unprivileged host user, two ways.

An engine of the test's own, started with ``--userns-remap=default``: it
creates the ``dockremap`` user and its /etc/subuid and /etc/subgid ranges
itself, and runs every container in a user namespace whose root is the
first uid of that range. And Podman with ``[docker] per_guest_userns``:
each guest in a user namespace of its own, from the ranges of the
``containers`` user (run with NOVADOCKER_TEST_ENGINE=podman). The same
tests run on both: each reads what the guest sees (root, its key, its
config drive, its volumes) and what the host sees of the same process (its
uid in /proc/<pid>/status). The networking of remapped guests (ports, name
servers) is in test_network's ``TestUsernsRemap``.
"""

import json
import os
import shutil
import subprocess
import tarfile
import time

import fixtures
from nova.compute import power_state

from novadocker import conf
from novadocker import lxcfs
from novadocker.volume import layout
from tests.functional import base
from tests.functional import guest_power_base
from tests.functional import userns_base
from tests.functional import volumes_base

CONF = conf.CONF


def uploaded_owner(tarball, name):
    """(uid, gid) of a file in the top layer of a ``docker save`` tarball
    that holds it."""
    with tarfile.open(tarball) as saved:
        manifest = json.load(saved.extractfile('manifest.json'))
        for layer in reversed(manifest[0]['Layers']):
            with tarfile.open(fileobj=saved.extractfile(layer)) as files:
                try:
                    found = files.getmember(name)
                except KeyError:
                    continue
                return found.uid, found.gid
    return None


class InGuest:

    def run_in(self, server, *command):
        """A command's output in the guest, as its root; it must pass."""
        result = self.container(server).exec_run(list(command))
        self.assertEqual(0, result.exit_code, result.output)
        return result.output.decode()


class GuestRootTests(InGuest):
    """What holds for a guest whose root is an unprivileged host user,
    whichever way (a remap, or a user namespace per guest)."""

    def _setup_compute_service(self):
        # The domain name of an FQDN hostname, after each start.
        self.use_real_privsep()
        return super()._setup_compute_service()

    def setUp(self):
        super().setUp()
        self.instances = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances)

    def assert_unprivileged_root(self, server):
        """Root inside; the mapped unprivileged user on the host."""
        uid, gid = self.mapped_root(server)
        self.assertNotEqual(0, uid)
        self.assertEqual('0 0', self.run_in(server, 'sh', '-c',
                                            'echo $(id -u) $(id -g)').strip())
        pid, host_uid, host_gid = self.host_process(server)
        self.assertEqual((uid, gid), (host_uid, host_gid))
        return pid

    def test_boot_key_and_config_drive_as_the_guest_root_sees_them(self):
        public_key = self.keypair('mykey')
        server = self.boot(key_name='mykey', config_drive=True,
                           metadata={'role': 'web'})
        pid = self.assert_unprivileged_root(server)
        uid, gid = self.mapped_root(server)

        # The guest's root owns its key, as sshd's StrictModes wants.
        self.assertEqual(public_key + '\n', self.run_in(
            server, 'cat', '/root/.ssh/authorized_keys'))
        for path, mode in (('/root/.ssh', 'drwx------'),
                           ('/root/.ssh/authorized_keys', '-rw-------')):
            fields = self.run_in(server, 'ls', '-lnd', path).split()
            self.assertEqual([mode, '0', '0'],
                             [fields[0], fields[2], fields[3]], path)
            # On the host, the same file belongs to the unprivileged user.
            st = os.stat('/proc/%d/root%s' % (pid, path))
            self.assertEqual((uid, gid), (st.st_uid, st.st_gid), path)

        meta = json.loads(self.run_in(
            server, 'cat', '/config-drive/openstack/latest/meta_data.json'))
        self.assertEqual(server['id'], meta['uuid'])
        self.assertEqual({'role': 'web'}, meta['meta'])
        self.assertIn(public_key, json.dumps(meta['public_keys']))
        # Still read-only for the guest's root.
        result = self.container(server).exec_run(
            ['touch', '/config-drive/new'])
        self.assertNotEqual(0, result.exit_code)

    def test_an_unprivileged_container_sees_its_flavor_through_lxcfs(self):
        if not lxcfs.provided(CONF.docker.lxcfs_path):
            self.skipTest('LXCFS is not mounted at %s' %
                          CONF.docker.lxcfs_path)
        flavor = self._create_flavor(memory_mb=192, vcpu=1, disk=0,
                                     ephemeral=0)
        server = self.boot(flavor_id=flavor)
        host_config = self.container(server).attrs['HostConfig']
        self.assertFalse(host_config['Privileged'])
        self.assert_user_namespace(server, host_config['UsernsMode'])
        self.assert_unprivileged_root(server)
        self.assertEqual('MemTotal: %d kB' % (192 * 1024), ' '.join(
            self.run_in(server, 'grep', '^MemTotal:',
                        '/proc/meminfo').split()))
        self.assertEqual('1', self.run_in(server, 'grep', '-c', '^processor',
                                          '/proc/cpuinfo').strip())

    def test_an_fqdn_hostname_gives_host_and_domain_names(self):
        # Tempest's ServersV294TestFqdnHostnames: the engine cannot give a
        # remapped container a domain name; the driver does, at each start.
        fqdn = 'x' * 52 + '-guest-test.domaintest.com'
        server = self.boot(hostname=fqdn)
        self.assertEqual(fqdn, self.api.get_server(server['id'])[
            'OS-EXT-SRV-ATTR:hostname'])
        for _ in range(2):
            self.assertEqual('x' * 52 + '-guest-test',
                             self.run_in(server, 'hostname').strip())
            self.assertEqual('domaintest.com', self.run_in(
                server, 'cat', '/proc/sys/kernel/domainname').strip())
            self._reboot_server(server, hard=True)
        # The host's own stays as it was.
        with open('/proc/sys/kernel/domainname') as f:
            self.assertNotEqual('domaintest.com', f.read().strip())

    def test_reboot_stop_and_start_stay_unprivileged(self):
        server = self.boot()
        first = self.assert_unprivileged_root(server)
        self._reboot_server(server, hard=False)
        self.assertIn(b'guest stopping', self.container(server).logs())
        soft = self.assert_unprivileged_root(server)
        self._reboot_server(server, hard=True)
        hard = self.assert_unprivileged_root(server)
        server = self._stop_server(server)
        self.assertEqual('exited', self.container(server).status)
        server = self._start_server(server)
        started = self.assert_unprivileged_root(server)
        self.assertEqual(4, len({first, soft, hard, started}))

    def test_setuid_makes_a_guest_user_the_guests_root_not_the_hosts(self):
        server = self.boot()
        self.assert_unprivileged_root(server)
        self.assertFalse(
            self.container(server).attrs['HostConfig'].get('SecurityOpt'))
        # sudo's way: a root-owned setuid program run by another user.
        self.assertEqual('1000 0', self.setuid_ids(server))
        status = self.run_in(server, 'cat', '/proc/1/status')
        self.assertIn('NoNewPrivs:\t0', status)
        self.assertIn('Seccomp:\t2', status)

        # The operator may keep no-new-privileges under a remap too.
        self.flags(guest_setuid=False, group='docker')
        self.compute = self.restart_compute_service(self.compute)
        kept = self.boot()
        self.assertEqual(['no-new-privileges'],
                         self.container(kept).attrs['HostConfig'][
                             'SecurityOpt'])
        self.assertEqual('1000 1000', self.setuid_ids(kept))


class TestUsernsRemap(userns_base.RemappedEngine, GuestRootTests,
                      base.DockerDriverTestCase):

    def assert_user_namespace(self, server, mode):
        # The engine's remap, not the host's user namespace.
        self.assertEqual('', mode)

    def test_snapshot_keeps_the_guests_files_and_owners(self):
        server = self.boot()
        self.run_in(server, 'sh', '-c', 'echo precious > /root/data.txt && '
                    'chown 1000:1000 /root/data.txt')
        snapshot_id = self.snapshot(server)
        self.assertEqual('active', self.glance.show(None,
                                                    snapshot_id)['status'])
        self.assertEqual('running', self.container(server).status)
        # Booted from Glance's copy: what the upload carried.
        clone = self.boot_from_glance(snapshot_id)
        self.assert_unprivileged_root(clone)
        self.assertEqual('precious\n', self.run_in(clone, 'cat',
                                                   '/root/data.txt'))
        fields = self.run_in(clone, 'ls', '-ln', '/root/data.txt').split()
        self.assertEqual(['1000', '1000'], fields[2:4])
        # The image in Glance holds the guest's ids, not the host's.
        self.assertEqual((1000, 1000), uploaded_owner(
            self.images.paths[snapshot_id], 'root/data.txt'))

    def test_the_driver_says_at_start_that_guests_root_is_mapped(self):
        uid, gid = self.mapped_root()
        self.assertIn('The Docker engine remaps user namespaces: root in a '
                      'guest is host uid %d, gid %d' % (uid, gid),
                      self.stdlog.logger.output)


def user_namespace(pid):
    return os.readlink('/proc/%d/ns/user' % pid)


def as_host_user(ids, *command):
    """Run a command on the host as the user of (uid, gid), with no
    groups: what a process of that guest's root would be, escaped."""
    return subprocess.run(
        ['setpriv', '--reuid=%d' % ids[0], '--regid=%d' % ids[1],
         '--clear-groups', '--'] + list(command),
        capture_output=True, text=True)


class TestPerGuestUserns(userns_base.PerGuestUserns, GuestRootTests,
                         base.DockerDriverTestCase):

    def assert_user_namespace(self, server, mode):
        # The user namespace of the instance's sandbox, its own.
        self.assertEqual(user_namespace(self.sandbox(server).attrs['State'][
            'Pid']), user_namespace(self.host_process(server)[0]))
        self.assertNotEqual(user_namespace(os.getpid()),
                            user_namespace(self.host_process(server)[0]))

    def test_the_driver_says_at_start_that_each_guest_has_its_own(self):
        self.assertIn('Each guest gets a user namespace of its own',
                      self.stdlog.logger.output)

    def test_two_guests_roots_are_two_host_users_with_no_rights_on_each_other(
            self):
        first, second = self.boot(), self.boot()
        ids = [self.mapped_root(s) for s in (first, second)]
        for server, (uid, gid) in zip((first, second), ids):
            self.assert_unprivileged_root(server)
            self.assertNotIn(0, (uid, gid))
        # Ranges of 65536 ids that do not overlap: no id of one guest is
        # an id of the other.
        self.assertGreaterEqual(abs(ids[0][0] - ids[1][0]), 65536)
        self.assertGreaterEqual(abs(ids[0][1] - ids[1][1]), 65536)
        self.assertNotEqual(user_namespace(self.host_process(first)[0]),
                            user_namespace(self.host_process(second)[0]))

        # A file the first guest's root owns, on a path both could reach
        # on the host (as a directory like /tmp is): the second guest's
        # root, escaped to the host, cannot write it; the first's can.
        self.run_in(first, 'sh', '-c', 'echo mine > /root/owned && '
                    'chmod 0644 /root/owned')
        pid = self.host_process(first)[0]
        # Under /tmp itself: the test's own temporary directories are 0700.
        shared = self.useFixture(fixtures.TempDir(rootdir='/tmp')).path
        os.chmod(shared, 0o1777)
        path = os.path.join(shared, 'owned')
        shutil.copy2('/proc/%d/root/root/owned' % pid, path)
        st = os.stat('/proc/%d/root/root/owned' % pid)
        self.assertEqual(ids[0], (st.st_uid, st.st_gid))
        os.chown(path, st.st_uid, st.st_gid)
        refused = as_host_user(ids[1], 'sh', '-c', 'echo theirs >> %s' % path)
        self.assertNotEqual(0, refused.returncode)
        self.assertIn('Permission denied', refused.stderr)
        allowed = as_host_user(ids[0], 'sh', '-c', 'echo more >> %s' % path)
        self.assertEqual(0, allowed.returncode, allowed.stderr)
        with open(path) as f:
            self.assertEqual('mine\nmore\n', f.read())


class TestPerGuestUsernsRefusals(userns_base.PerGuestUserns, InGuest,
                                 base.DockerDriverTestCase):
    # As in a cloud, where a refused resize leaves the server ACTIVE; the
    # conductor would see the compute service's failure as its own.
    CAST_AS_CALL = False

    def test_snapshot_and_resize_are_refused_and_the_guest_runs_on(self):
        # Podman's commit would store the guest's files with host ids.
        server = self.boot()
        self.run_in(server, 'sh', '-c', 'echo precious > /root/data.txt')
        snapshot_id = self.snapshot(server)
        # Nova snapshots in a task of its own: the image it made goes, and
        # the reason is the instance's fault.
        self.assertNotIn(snapshot_id, [i['id'] for i in self.glance.detail(
            None)])
        self.assertIn('A snapshot, shelve, resize or migration of a guest '
                      'with a user namespace of its own cannot work on '
                      'Podman: its commit stores the host ids',
                      self.last_fault(server))
        self.flags(allow_resize_to_same_host=True)
        bigger = self._create_flavor(memory_mb=512, vcpu=1, disk=1)
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': bigger}})
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None, 'status': 'ACTIVE'})
        # The fault is written as the failure leaves the compute manager,
        # a moment after the server is ACTIVE again.
        for _ in range(50):
            fault = self.last_fault(server)
            if fault.startswith('Resize error'):
                break
            time.sleep(0.2)
        self.assertIn('Resize error: A snapshot, shelve, resize or migration '
                      'of a guest with a user namespace of its own cannot '
                      'work on Podman', fault)
        self.assertEqual('precious\n', self.run_in(server, 'cat',
                                                   '/root/data.txt'))
        self.assertEqual('running', self.container(server).status)


class GuestRootVolumeTests:
    """A guest's volumes as its unprivileged root sees them."""

    def owner_in_guest(self, server, path):
        code, out = self.sh(server, 'ls -lnd %s' % path)
        self.assertEqual(0, code, out)
        return out.split()[2:4]

    def test_a_blank_volume_formatted_belongs_to_the_guests_root(self):
        self.flags(format_blank_volumes=True, group='docker')
        server = self.boot()
        volume_id, loop = self.volume(None)
        self.attach(server, volume_id)
        where = volumes_base.GUEST_VOLUMES + '/vdb'
        self.assertEqual(['0', '0'], self.owner_in_guest(server, where))
        self.assertEqual((0, ''), self.sh(
            server, 'echo new > %s/f && mkdir %s/d' % (where, where)))
        self.detach(server, volume_id)
        # On the device, root's, as a virtual machine would store them.
        with self.host_mount(loop) as mounted:
            for name in ('', 'f', 'd'):
                st = os.stat(os.path.join(mounted, name))
                self.assertEqual((0, 0), (st.st_uid, st.st_gid), name)

    def test_a_volumes_owners_are_the_guests_as_a_vms_are(self):
        # Written by a virtual machine, or a host without a remap: root's
        # file and a user's directory on the disk.
        server = self.boot()
        volume_id, loop = self.volume('ext4', files={'data.txt': 'kept\n'})
        with self.host_mount(loop) as mounted:
            os.mkdir(os.path.join(mounted, 'home'))
            os.chown(os.path.join(mounted, 'home'), 1000, 1000)
        self.attach(server, volume_id)
        where = volumes_base.GUEST_VOLUMES + '/vdb'
        self.assertEqual(['0', '0'],
                         self.owner_in_guest(server, where + '/data.txt'))
        self.assertEqual(['1000', '1000'],
                         self.owner_in_guest(server, where + '/home'))
        self.assertEqual((0, ''), self.sh(
            server, 'echo more >> %s/data.txt && echo mine > %s/home/f && '
            'chown 1000:1000 %s/home/f' % (where, where, where)))
        # The host sees the guest's root as the remapped user, as it sees
        # its processes.
        st = os.stat(os.path.join(layout.instance_dir(
            self.volumes_root, server['id']), 'vdb', 'data.txt'))
        self.assertEqual(self.mapped_root(server), (st.st_uid, st.st_gid))
        self.detach(server, volume_id)
        with self.host_mount(loop) as mounted:
            with open(os.path.join(mounted, 'data.txt')) as f:
                self.assertEqual('kept\nmore\n', f.read())
            st = os.stat(os.path.join(mounted, 'home', 'f'))
            self.assertEqual((1000, 1000), (st.st_uid, st.st_gid))


class TestUsernsVolumes(userns_base.RemappedEngine, GuestRootVolumeTests,
                        volumes_base.VolumeTestCase):
    pass


class TestPerGuestUsernsVolumes(userns_base.PerGuestUserns,
                                GuestRootVolumeTests,
                                volumes_base.VolumeTestCase):
    pass


class GuestRootPowerTests:
    """The guest's own reboot(2): CAP_SYS_BOOT of its user namespace."""

    def test_guest_reboot_and_poweroff_as_the_remapped_root(self):
        server = self.boot_init()
        self.assertNotEqual(0, self.host_process(server)[1])
        before = self.started_at(server)
        self.in_guest(server, 'reboot')
        self.wait_for_restart(server, before)
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)
        self.wait_for_init(self.container(server))
        self.assertEqual(self.mapped_root(server)[0],
                         self.host_process(server)[1])
        self.in_guest(server, 'poweroff')
        self.assert_shut_off_by_the_guest(server, 130, ['create', 'stop'])


class TestUsernsGuestPower(userns_base.RemappedEngine, GuestRootPowerTests,
                           guest_power_base.GuestPowerTestCase):
    pass


class TestPerGuestUsernsGuestPower(userns_base.PerGuestUserns,
                                   GuestRootPowerTests,
                                   guest_power_base.GuestPowerTestCase):
    pass

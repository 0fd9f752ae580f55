"""The privileged writer of a container's name servers refuses other files."""

import os

import fixtures
import testtools

from novadocker import privsep

CONTAINER = 'c7ef7cb933d3aa0f55b42c4734ad6ace9906e7ef5235f9109d0e0c5dcaa8184c'
set_nameservers = privsep.set_nameservers


class TestSetNameservers(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # In this process, as the privsep daemon would run it.
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)
        root = self.useFixture(fixtures.TempDir()).path
        directory = os.path.join(root, 'containers', CONTAINER)
        os.makedirs(directory)
        self.path = os.path.join(directory, 'resolv.conf')
        with open(self.path, 'w') as f:
            f.write('search example.org\nnameserver 8.8.8.8\n'
                    'options ndots:2\n')

    def read(self):
        with open(self.path) as f:
            return f.read()

    def test_replaces_only_nameserver_lines_in_place(self):
        inode = os.stat(self.path).st_ino
        set_nameservers(self.path, ['10.10.0.53', 'fd10::53'])
        self.assertEqual('search example.org\noptions ndots:2\n'
                         'nameserver 10.10.0.53\nnameserver fd10::53\n',
                         self.read())
        # The container sees the file through a bind mount of this inode.
        self.assertEqual(inode, os.stat(self.path).st_ino)

    def test_refuses_other_files(self):
        other = os.path.join(os.path.dirname(self.path), 'hosts')
        for path in (other, '/etc/resolv.conf',
                     os.path.join(os.path.dirname(self.path), '..',
                                  CONTAINER, 'resolv.conf')):
            self.assertRaises(ValueError, set_nameservers, path,
                              ['10.0.0.1'])

    def test_refuses_a_symlink(self):
        target = self.path + '.target'
        os.rename(self.path, target)
        os.symlink(target, self.path)
        self.assertRaises(OSError, set_nameservers, self.path, ['10.0.0.1'])
        self.assertIn('8.8.8.8', open(target).read())

    def test_refuses_what_is_not_an_address(self):
        self.assertRaises(ValueError, set_nameservers, self.path,
                          ['10.0.0.1\nsearch evil.example'])
        self.assertIn('nameserver 8.8.8.8', self.read())


class TestVolumeEntryPoints(testtools.TestCase):
    """What the mount, unmount, probe and format entry points refuse before
    any system call (so without root)."""

    UUID = '6f1f7d8e-3c1a-4e0b-9a57-1e2f3a4b5c6d'

    def setUp(self):
        super().setUp()
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)
        self.root = os.path.realpath(self.useFixture(fixtures.TempDir()).path)
        self.target = os.path.join(self.root, self.UUID, 'vdb')
        os.makedirs(self.target)

    def test_mount_points_only_below_an_instance_directory(self):
        for target in ('/etc', os.path.join(self.root, self.UUID),
                       os.path.join(self.root, 'not-a-uuid', 'vdb'),
                       os.path.join(self.root, self.UUID, 'VDB'),
                       os.path.join(self.root, self.UUID, 'vdb', '..',
                                    'vdb')):
            self.assertRaises(ValueError, privsep.unmount_volume, target)

    def test_no_symlink_on_the_way(self):
        # A guest that could make /mnt/volumes/vdc a link to /etc must not
        # get a volume mounted over the host's /etc.
        link = os.path.join(self.root, self.UUID, 'vdc')
        os.symlink('/etc', link)
        self.assertRaises(ValueError, privsep.unmount_volume, link)
        elsewhere = os.path.join(self.root, 'real')
        os.makedirs(os.path.join(elsewhere, 'vdb'))
        os.symlink(elsewhere, os.path.join(self.root, self.UUID.replace(
            '6f1f', '7f1f')))
        self.assertRaises(ValueError, privsep.unmount_volume, os.path.join(
            self.root, self.UUID.replace('6f1f', '7f1f'), 'vdb'))

    def test_only_block_devices(self):
        for device in ('/dev/null', '/etc/passwd', 'loop0',
                       '/dev/../dev/loop0'):
            self.assertRaises(ValueError, privsep.probe_volume, device)
            self.assertRaises(ValueError, privsep.mount_volume, device,
                              self.target, 'ext4', False)

    def test_a_new_file_system_goes_only_to_plain_ids_other_than_root(self):
        for owner in ((0, 0), (100000, 0), (-1, 100000), (True, 100000),
                      ('100000', 100000), (100000, 2 ** 32 - 1),
                      (100000,), 100000):
            self.assertRaises((ValueError, TypeError), privsep.format_volume,
                              '/dev/loop0', 'ext4', owner)

    def test_only_known_file_systems(self):
        self.assertRaises(ValueError, privsep.format_volume, '/dev/loop0',
                          'vfat')
        self.assertRaises(ValueError, privsep.mount_volume, '/dev/loop0',
                          self.target, 'ext4,loop', False)


class TestSetVethUp(testtools.TestCase):
    """What the link state entry point refuses before any netlink; that it
    takes down no other kind of device is the functional tests'."""

    def setUp(self):
        super().setUp()
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)

    def test_up_or_down_only(self):
        for up in ('down', 0, None):
            self.assertRaises(ValueError, privsep.set_veth_up,
                              'tapce531f90-19', up)

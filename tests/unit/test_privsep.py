"""The privileged writer of a container's name servers refuses other files."""

import errno
import os
import subprocess
import time

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

    def test_an_id_map_only_of_plain_ids_above_roots(self):
        for idmap in ((0, 100000, 65536), (100000, 0, 65536),
                      (-1, 100000, 65536), (True, 100000, 65536),
                      ('100000', 100000, 65536), (100000, 100000, 0),
                      (100000, 100000, 2 ** 32 - 100000), (100000, 100000),
                      100000, None):
            self.assertRaises(ValueError, privsep._idmap_ranges, idmap)
        self.assertEqual((100000, 100000, 65536),
                         privsep._idmap_ranges((100000, 100000, 65536)))

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


class TestSetDomainname(testtools.TestCase):
    """Under a remap the engine cannot give a container its domain name."""

    def setUp(self):
        super().setUp()
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)

    @staticmethod
    def domainname(pid):
        return subprocess.run(
            ['nsenter', '--uts=/proc/%d/ns/uts' % pid, 'cat',
             '/proc/sys/kernel/domainname'],
            check=True, capture_output=True, text=True).stdout.strip()

    def test_only_the_namespace_of_that_process_gets_it(self):
        if os.geteuid() != 0:
            self.skipTest('a UTS namespace of its own needs root')
        own = self.domainname(os.getpid())
        guest = subprocess.Popen(['unshare', '--uts', 'sleep', '60'])
        self.addCleanup(guest.wait)
        self.addCleanup(guest.kill)
        for _ in range(50):
            if (os.readlink('/proc/%d/ns/uts' % guest.pid) !=
                    os.readlink('/proc/self/ns/uts')):
                break
            time.sleep(0.1)
        privsep.set_domainname(guest.pid, 'domaintest.example.com')
        self.assertEqual('domaintest.example.com',
                         self.domainname(guest.pid))
        self.assertEqual(own, self.domainname(os.getpid()))

    def test_refuses_what_is_not_a_domain_name(self):
        for name in ('', 'a b', '-x.org', 'x' * 65, 'x.org\n', None):
            self.assertRaises(ValueError, privsep.set_domainname,
                              os.getpid(), name)


class FakeNetNS:
    """A container's namespace whose guest flushes eth0's addresses (its
    own DHCP client) ``flushes`` times, right after the driver adds them."""

    def __init__(self, flushes):
        self.flushes = flushes
        self.addresses = set()
        self.routes = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def link_lookup(self, ifname):
        return [2]

    def link(self, *args, **kw):
        pass

    def addr(self, command, index, address, prefixlen, flags):
        self.addresses.add(address)

    def route(self, command, **spec):
        if self.flushes:
            self.flushes -= 1
            self.addresses.clear()
        if 'gateway' in spec and not self.addresses:
            raise privsep.NetlinkError(errno.ENETUNREACH,
                                       'Network is unreachable')
        self.routes.append(spec['dst'])


class TestConfigureInContainer(testtools.TestCase):

    def setUp(self):
        super().setUp()
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)
        self.useFixture(fixtures.MonkeyPatch(
            'novadocker.privsep.ADDRESSING_PAUSE', 0))

    def configure(self, ns):
        self.useFixture(fixtures.MonkeyPatch(
            'novadocker.privsep.NetNS', lambda path, flags: ns))
        privsep.configure_in_container(
            42, 'eth0', [('10.0.0.5', 28, 4)],
            [('0.0.0.0/0', '10.0.0.1', 0, 4)])

    def test_addressed_again_after_the_guests_client_flushed_it(self):
        ns = FakeNetNS(flushes=2)
        self.configure(ns)
        self.assertEqual({'10.0.0.5'}, ns.addresses)
        self.assertEqual(['0.0.0.0/0'], ns.routes)

    def test_a_gateway_that_stays_off_link_fails_with_the_route(self):
        ns = FakeNetNS(flushes=privsep.ADDRESSING_ATTEMPTS)
        error = self.assertRaises(RuntimeError, self.configure, ns)
        self.assertEqual('eth0: route 0.0.0.0/0 via 10.0.0.1: Network is '
                         'unreachable', str(error))


class TestRescueRootPaths(testtools.TestCase):
    """What the rescue's mount takes: the engine's overlay2 directories
    and the instance's rescue-root, nothing else."""

    UUID = '6f1f7d8e-3c1a-4e0b-9a57-1e2f3a4b5c6d'
    LAYER = 'a' * 64

    def setUp(self):
        super().setUp()
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)
        self.root = os.path.realpath(self.useFixture(fixtures.TempDir()).path)
        self.target = os.path.join(self.root, self.UUID, 'rescue-root')
        os.makedirs(self.target)
        self.layer = os.path.join(self.root, 'overlay2', self.LAYER)
        for name in ('diff', 'work'):
            os.makedirs(os.path.join(self.layer, name))

    def mount(self, lower=None, upper=None, work=None, target=None):
        privsep.mount_rescue_root(
            lower or [os.path.join(self.layer, 'diff')],
            upper or os.path.join(self.layer, 'diff'),
            work or os.path.join(self.layer, 'work'), target or self.target)

    def test_only_the_instances_rescue_root(self):
        for target in ('/etc', os.path.join(self.root, self.UUID),
                       os.path.join(self.root, 'not-a-uuid', 'rescue-root'),
                       os.path.join(self.root, self.UUID, 'rescue-root', '..',
                                    'rescue-root')):
            self.assertRaises(ValueError, self.mount, target=target)
            self.assertRaises(ValueError, privsep.unmount_rescue_root,
                              target)

    def test_only_the_engines_layer_directories(self):
        for bad in ('/etc', os.path.join(self.root, 'overlay2', 'x', 'diff'),
                    os.path.join(self.layer, 'merged'),
                    os.path.join(self.layer, 'diff', '..', 'diff'),
                    os.path.join(self.layer, 'diff,upperdir=/etc'),
                    '/x,upperdir=/etc' + os.path.join(self.layer, 'diff'),
                    '/x:/etc' + os.path.join(self.layer, 'diff')):
            self.assertRaises(ValueError, self.mount, lower=[bad])
            self.assertRaises(ValueError, self.mount, upper=bad)
            self.assertRaises(ValueError, self.mount, work=bad)

    def test_no_symlink_on_the_way(self):
        link = os.path.join(self.root, 'overlay2', 'b' * 64)
        os.symlink(self.layer, link)
        self.assertRaises(ValueError, self.mount,
                          upper=os.path.join(link, 'diff'))

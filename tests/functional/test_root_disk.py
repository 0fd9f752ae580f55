"""The flavor's root_gb bounds what a guest writes to its root file system.

Where the engine can limit a container's writable layer, on an engine of
the test's own whose data root is a loop-backed file system made here:
XFS mounted with project quotas (overlay2), or btrfs (qgroups). A kernel
without XFS quota support (CONFIG_XFS_QUOTA) refuses the first, and its
test skips. Where the engine cannot (the machine's engine, overlay2 on
ext4), ``[docker] root_disk_quota`` decides.
"""

import os
import shutil
import subprocess
import tempfile

import fixtures

from tests.fixtures import private_engine
from tests.functional import base

GIB = 1024 ** 3
# Sparse: takes on the host only what the guests write.
FS_SIZE = 4 * GIB
WRITE_2_GIB = ['dd', 'if=/dev/zero', 'of=/big', 'bs=1M', 'count=2048']
WRITE_64_MIB = ['dd', 'if=/dev/zero', 'of=/small', 'bs=1M', 'count=64']


class LoopFilesystem(fixtures.Fixture):
    """A file system on a sparse file, loop-mounted; gone at cleanup."""

    def __init__(self, mkfs, options):
        super().__init__()
        self.mkfs = mkfs
        self.options = options

    def _setUp(self):
        directory = tempfile.mkdtemp(prefix='ndq-', dir='/var/tmp')
        self.addCleanup(shutil.rmtree, directory, True)
        image = os.path.join(directory, 'fs.img')
        with open(image, 'wb') as f:
            f.truncate(FS_SIZE)
        subprocess.run(self.mkfs + [image], check=True,
                       stdout=subprocess.DEVNULL)
        self.device = subprocess.run(
            ['losetup', '--find', '--show', image], check=True,
            capture_output=True, text=True).stdout.strip()
        self.addCleanup(subprocess.run, ['losetup', '-d', self.device],
                        check=False)
        self.path = os.path.join(directory, 'data')
        os.mkdir(self.path)
        mounted = subprocess.run(
            ['mount', '-o', self.options, self.device, self.path],
            capture_output=True, text=True)
        if mounted.returncode:
            self.mount_error = mounted.stderr.strip()
            return
        self.mount_error = None
        self.addCleanup(subprocess.run, ['umount', self.path], check=False)

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize


class QuotaEngine:
    """The storage of the engine a test class gets, and what a guest
    that writes too much reads."""

    MKFS = None
    MOUNT_OPTIONS = None
    STORAGE_DRIVER = None
    ERROR = None

    def _setup_compute_service(self):
        self.fs = self.useFixture(LoopFilesystem(self.MKFS,
                                                 self.MOUNT_OPTIONS))
        if self.fs.mount_error:
            self.skipTest('the kernel refuses "mount -o %s" of %s: %s' % (
                self.MOUNT_OPTIONS, self.MKFS[0], self.fs.mount_error))
        self.engine = self.useFixture(private_engine.PrivateEngine(
            data_root=self.fs.path, storage_driver=self.STORAGE_DRIVER))
        self.docker = self.engine.client
        self.flags(api_url=self.engine.url, group='docker')
        self.flags(root_disk_quota='enforce', group='docker')
        return super()._setup_compute_service()

    def flavor(self, root_gb):
        return self._create_flavor(memory_mb=256, vcpu=1, disk=root_gb,
                                   ephemeral=0)

    def test_a_guest_writing_past_root_gb_gets_an_error_others_go_on(self):
        self.assertTrue(self.compute.manager.driver.disk_quota.enforced)
        flavor = self.flavor(root_gb=1)
        guest = self.container(self.boot(flavor_id=flavor))
        other = self.container(self.boot(flavor_id=flavor))
        self.assertEqual({'size': '1G'},
                         guest.attrs['HostConfig']['StorageOpt'])

        wrote = guest.exec_run(WRITE_2_GIB)
        self.assertNotEqual(0, wrote.exit_code)
        self.assertIn(self.ERROR, wrote.output.decode())
        # It stopped at its limit, not at the end of the file system.
        self.assertGreater(self.fs.free_bytes(), GIB)
        size = guest.exec_run(['wc', '-c', '/big']).output.split()[0]
        self.assertLessEqual(int(size), GIB)

        wrote = other.exec_run(WRITE_64_MIB)
        self.assertEqual(0, wrote.exit_code, wrote.output)
        self.assertEqual('running', self.docker.containers.get(
            guest.id).status)

    def test_root_gb_0_is_no_limit(self):
        guest = self.container(self.boot(flavor_id=self.flavor(root_gb=0)))
        self.assertFalse(guest.attrs['HostConfig'].get('StorageOpt'))
        wrote = guest.exec_run(WRITE_2_GIB)
        self.assertEqual(0, wrote.exit_code, wrote.output)
        size = guest.exec_run(['wc', '-c', '/big']).output.split()[0]
        self.assertEqual(2 * GIB, int(size))


class TestXfsProjectQuota(QuotaEngine, base.DockerDriverTestCase):

    MKFS = ['mkfs.xfs', '-q']
    MOUNT_OPTIONS = 'pquota'
    STORAGE_DRIVER = 'overlay2'
    ERROR = 'No space left on device'


class TestBtrfsQuota(QuotaEngine, base.DockerDriverTestCase):

    MKFS = ['mkfs.btrfs', '-q']
    MOUNT_OPTIONS = 'defaults'
    STORAGE_DRIVER = 'btrfs'
    ERROR = 'Disk quota exceeded'


class TestWithoutQuota(base.DockerDriverTestCase):
    """The machine's engine: overlay2 on ext4 takes no size."""

    def setUp(self):
        super().setUp()
        if self.compute.manager.driver.disk_quota.enforced:
            self.skipTest('this engine limits root disks')

    def test_enforce_refuses_root_gb_with_a_clear_fault_and_no_container(
            self):
        self.flags(root_disk_quota='enforce', group='docker')
        flavor = self._create_flavor(memory_mb=256, vcpu=1, disk=1,
                                     ephemeral=0, name='one-gib')
        server = self.boot(flavor_id=flavor, expected='ERROR')
        message = server['fault']['message']
        self.assertIn('root_gb=1 refused', message)
        self.assertIn('cannot limit a root disk (%s)' % (
            self.compute.manager.driver.disk_quota.storage), message)
        self.assertEqual([], self.containers_of(server['id']))
        # root_gb = 0 asks for no limit: it boots.
        unlimited = self._create_flavor(memory_mb=256, vcpu=1, disk=0,
                                        ephemeral=0)
        self.boot(flavor_id=unlimited)

    def test_warn_boots_without_a_limit(self):
        self.flags(root_disk_quota='warn', group='docker')
        flavor = self._create_flavor(memory_mb=256, vcpu=1, disk=1,
                                     ephemeral=0)
        server = self.boot(flavor_id=flavor)
        container = self.container(server)
        self.assertFalse(container.attrs['HostConfig'].get('StorageOpt'))
        self.wait_for_console(server, 'booted')

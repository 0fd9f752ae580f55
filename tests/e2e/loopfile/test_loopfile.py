"""The gate's Cinder backend stand-in on this host's real loop devices.

Needs root, /dev/loop-control and Cinder importable (a throwaway venv with
cinder is enough: it runs no Cinder service):

    sudo <venv>/bin/python -m pytest tests/e2e/loopfile/test_loopfile.py
"""

import os
import shutil
import subprocess
import tempfile
import types
import unittest
import uuid

from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_rootwrap import wrapper

from cinder.volume import configuration
from cinder.volume import driver as cinder_driver

from e2e_loopfile import driver
from e2e_loopfile import files

HERE = os.path.dirname(os.path.abspath(__file__))
GROUP = 'loopfile-test'
MARKER = b'e2e-volume-marker\n'
# Cinder's rootwrap.conf's, where losetup is
EXEC_DIRS = ['/sbin', '/usr/sbin', '/bin', '/usr/bin']


def volume(size=1):
    vid = str(uuid.uuid4())
    return types.SimpleNamespace(id=vid, name='volume-%s' % vid, size=size)


def snapshot(of):
    sid = str(uuid.uuid4())
    return types.SimpleNamespace(id=sid, name='snapshot-%s' % sid,
                                 volume_name=of.name, volume_size=of.size)


def backing_file(device):
    name = os.path.basename(device)
    with open('/sys/block/%s/loop/backing_file' % name) as f:
        return f.read().strip()


@unittest.skipUnless(os.geteuid() == 0 and os.path.exists('/dev/loop-control'),
                     'needs root and loop devices')
class LoopFileDriverTest(unittest.TestCase):

    def setUp(self):
        # its name is what the rootwrap filter allows
        self.top = tempfile.mkdtemp(prefix='e2e-loopfile-test.')
        self.dir = os.path.join(self.top, 'loopfile-volumes')
        self.addCleanup(shutil.rmtree, self.top)
        cfg.CONF.register_opts(driver.loopfile_opts, group=GROUP)
        cfg.CONF.register_opts(cinder_driver.volume_opts, group=GROUP)
        cfg.CONF.set_override('loopfile_volumes_dir', self.dir, group=GROUP)
        self.addCleanup(cfg.CONF.clear_override, 'loopfile_volumes_dir',
                        group=GROUP)
        cfg.CONF.set_override('volume_backend_name', 'loopfile-1',
                              group=GROUP)
        self.addCleanup(cfg.CONF.clear_override, 'volume_backend_name',
                        group=GROUP)
        self.root_commands = []
        self.driver = driver.LoopFileDriver(
            execute=self._execute,
            configuration=configuration.Configuration(
                cinder_driver.volume_opts, config_group=GROUP))
        self.driver.do_setup(None)
        self.driver.check_for_setup_error()

    def _execute(self, *cmd, **kwargs):
        # runs it for real (as root here); remembers what needed root
        if kwargs.get('run_as_root'):
            self.root_commands.append(list(cmd))
        return processutils.execute(*cmd, **kwargs)

    def create(self, size=1):
        vol = volume(size)
        self.driver.create_volume(vol)
        self.addCleanup(self.driver.delete_volume, vol)
        return vol

    def connect(self, vol):
        info = self.driver.initialize_connection(vol, {'host': 'devstack'})
        self.assertEqual('local', info['driver_volume_type'])
        return info['data']['device_path']

    def write(self, device, data, offset=0):
        with open(device, 'r+b') as f:
            f.seek(offset)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def read(self, device, size, offset=0):
        with open(device, 'rb') as f:
            f.seek(offset)
            return f.read(size)

    def test_create_is_sparse_and_of_its_size(self):
        vol = self.create(size=2)
        st = os.stat(self.driver.local_path(vol))
        self.assertEqual(2 * files.GIB, st.st_size)
        self.assertLess(st.st_blocks * 512, files.GIB)
        self.assertEqual(0o600, st.st_mode & 0o777)

    def test_connection_is_its_loop_device_and_data_outlives_it(self):
        vol = self.create()
        device = self.connect(vol)
        self.assertRegex(device, r'^/dev/loop[0-9]+$')
        self.assertEqual(self.driver.local_path(vol), backing_file(device))
        # a second connection (Nova's retry) gives the same device
        self.assertEqual(device, self.connect(vol))
        self.write(device, MARKER, offset=files.GIB // 2)
        self.driver.terminate_connection(vol, None)
        self.assertEqual([], self.driver.files.devices(vol.name))
        device = self.connect(vol)
        self.assertEqual(MARKER, self.read(device, len(MARKER),
                                           offset=files.GIB // 2))
        self.driver.terminate_connection(vol, None)

    def test_delete_detaches_and_removes(self):
        vol = volume()
        self.driver.create_volume(vol)
        device = self.connect(vol)
        path = self.driver.local_path(vol)
        self.driver.delete_volume(vol)
        self.assertFalse(os.path.exists(path))
        # unbound, or bound again since to someone else's file
        if os.path.exists('/sys/block/%s/loop/backing_file'
                          % os.path.basename(device)):
            self.assertNotIn(path, backing_file(device))
        # deleting what is gone succeeds: Cinder retries deletes
        self.driver.delete_volume(vol)

    def test_snapshot_and_volume_from_it_keep_the_data(self):
        vol = self.create()
        device = self.connect(vol)
        self.write(device, MARKER)
        self.driver.terminate_connection(vol, None)
        snap = snapshot(vol)
        self.driver.create_snapshot(snap)
        self.addCleanup(self.driver.delete_snapshot, snap)
        # the volume changes after its snapshot; the snapshot does not
        device = self.connect(vol)
        self.write(device, b'changed after the snapshot\n')
        self.driver.terminate_connection(vol, None)
        new = volume(size=2)
        self.driver.create_volume_from_snapshot(new, snap)
        self.addCleanup(self.driver.delete_volume, new)
        self.assertEqual(2 * files.GIB,
                         os.path.getsize(self.driver.local_path(new)))
        device = self.connect(new)
        self.assertEqual(MARKER, self.read(device, len(MARKER)))
        self.driver.terminate_connection(new, None)

    def test_clone_keeps_the_data_and_stays_sparse(self):
        vol = self.create()
        device = self.connect(vol)
        self.write(device, MARKER)
        self.driver.terminate_connection(vol, None)
        clone = volume()
        self.driver.create_cloned_volume(clone, vol)
        self.addCleanup(self.driver.delete_volume, clone)
        st = os.stat(self.driver.local_path(clone))
        self.assertLess(st.st_blocks * 512, files.GIB // 2)
        device = self.connect(clone)
        self.assertEqual(MARKER, self.read(device, len(MARKER)))
        self.driver.terminate_connection(clone, None)

    def test_extend_grows_and_never_shrinks(self):
        vol = self.create(size=2)
        self.driver.extend_volume(vol, 3)
        self.assertEqual(3 * files.GIB,
                         os.path.getsize(self.driver.local_path(vol)))
        self.assertRaises(files.LoopFileError,
                          self.driver.extend_volume, vol, 1)
        self.assertEqual(3 * files.GIB,
                         os.path.getsize(self.driver.local_path(vol)))

    def test_existing_file_is_never_overwritten(self):
        vol = self.create()
        device = self.connect(vol)
        self.write(device, MARKER)
        self.driver.terminate_connection(vol, None)
        self.assertRaises(FileExistsError, self.driver.create_volume, vol)
        other = self.create()
        self.assertRaises(FileExistsError,
                          self.driver.create_cloned_volume, vol, other)
        device = self.connect(vol)
        self.assertEqual(MARKER, self.read(device, len(MARKER)))
        self.driver.terminate_connection(vol, None)

    def test_copy_of_a_missing_source_leaves_nothing(self):
        clone = volume()
        self.assertRaises(files.LoopFileError,
                          self.driver.create_cloned_volume, clone, volume())
        self.assertFalse(os.path.exists(self.driver.local_path(clone)))

    def test_names_outside_cinders_templates_are_refused(self):
        for name in ('../etc/passwd', 'volume-x',
                     'volume-%s/..' % uuid.uuid4()):
            bad = types.SimpleNamespace(id='x', name=name, size=1)
            self.assertRaises(files.LoopFileError,
                              self.driver.create_volume, bad)
        self.assertEqual([], os.listdir(self.dir))

    def test_stats_report_the_backend_and_what_is_provisioned(self):
        self.create(size=2)
        self.create(size=1)
        stats = self.driver.get_volume_stats(refresh=True)
        self.assertEqual('loopfile-1', stats['volume_backend_name'])
        self.assertEqual('local', stats['storage_protocol'])
        pool, = stats['pools']
        self.assertEqual(3, pool['provisioned_capacity_gb'])
        self.assertGreater(pool['total_capacity_gb'], 0)
        self.assertFalse(pool['multiattach'])

    def test_root_commands_are_what_the_rootwrap_filters_allow(self):
        vol = self.create()
        self.connect(vol)
        self.driver.terminate_connection(vol, None)
        self.assertEqual(['--find', '--detach'],
                         [c[1] for c in self.root_commands])
        filters_dir = os.path.join(self.top, 'rootwrap.d')
        os.mkdir(filters_dir)
        shutil.copy(os.path.join(HERE, 'loopfile.filters'), filters_dir)
        filters = wrapper.load_filters([filters_dir])
        for cmd in self.root_commands:
            self.assertTrue(wrapper.match_filter(filters, cmd, EXEC_DIRS), cmd)
        for cmd in (['losetup', '--detach-all'],
                    ['losetup', '--find', '--show', '/etc/shadow'],
                    ['losetup', '--find', '--show', '/tmp/../etc/'
                     'loopfile-volumes/volume-%s' % uuid.uuid4()],
                    ['losetup', '--detach', '/dev/sda']):
            self.assertRaises(wrapper.NoFilterMatched,
                              wrapper.match_filter, filters, cmd, EXEC_DIRS)

    def test_a_loop_device_of_another_file_is_not_taken(self):
        other = os.path.join(self.top, 'other')
        with open(other, 'wb') as f:
            f.truncate(files.GIB)
        device = subprocess.check_output(
            ['losetup', '--find', '--show', other], text=True).strip()
        self.addCleanup(subprocess.call, ['losetup', '--detach', device])
        vol = self.create()
        self.assertNotEqual(device, self.connect(vol))
        self.driver.terminate_connection(vol, None)
        self.assertEqual(other, backing_file(device))

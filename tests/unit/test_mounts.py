"""The host's mount table as the driver reads it, and its choice of what to
do with a volume's device (mount, format or refuse)."""

import errno
import os
import re

import fixtures
import pytest

from novadocker import mounts

ROOT = '/var/lib/nova/docker-volumes'
UUID = '6f1f7d8e-3c1a-4e0b-9a57-1e2f3a4b5c6d'
MOUNTINFO = (
    '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n'
    # A plain bind (private) of another directory.
    '40 27 254:0 /srv /srv rw,relatime - ext4 /dev/vda rw\n'
)


def shared_root(tag='shared:224', path=ROOT):
    return ('537 27 254:0 %s %s rw,relatime %s - ext4 /dev/vda rw\n'
            % (path, path, tag)).replace('  ', ' ')


def volume(name, fs='ext4', root=ROOT):
    return ('764 537 7:0 / %s/%s/%s rw,nosuid,nodev,relatime shared:337 - '
            '%s /dev/loop0 rw\n' % (root, UUID, name, fs))


@pytest.fixture
def mountinfo(tmp_path):
    def write(*lines):
        path = tmp_path / 'mountinfo'
        path.write_text(MOUNTINFO + ''.join(lines))
        return str(path)
    return write


def test_a_shared_mount_point_of_its_own(mountinfo):
    assert mounts.is_shared(ROOT, mountinfo(shared_root()))
    assert mounts.mounted(ROOT, mountinfo(shared_root()))


def test_a_slave_or_private_mount_is_not_shared(mountinfo):
    # Docker's check passes on a slave, but nothing propagates from it.
    assert not mounts.is_shared(ROOT, mountinfo(shared_root('master:3')))
    assert not mounts.is_shared(ROOT, mountinfo(shared_root('')))


def test_a_directory_on_a_shared_parent_is_not_a_mount_point(mountinfo):
    info = mountinfo('90 1 254:0 / / rw shared:1 - ext4 /dev/vda rw\n')
    assert not mounts.is_shared(ROOT, info)
    assert not mounts.mounted(ROOT, info)


def test_the_last_mount_on_a_mount_point_counts(mountinfo):
    info = mountinfo(shared_root(), shared_root(''))
    assert not mounts.is_shared(ROOT, info)


def test_escaped_mount_points(mountinfo):
    path = '/var/lib/my volumes'
    info = mountinfo(shared_root(path=path.replace(' ', '\\040')))
    assert mounts.is_shared(path, info)


def test_below_lists_the_deepest_first(mountinfo):
    nested = ('800 764 0:50 / %s/%s/vdb/inner rw - tmpfs tmpfs rw\n'
              % (ROOT, UUID))
    info = mountinfo(shared_root(), volume('vdb'), volume('vdc', 'xfs'),
                     nested)
    instance = '%s/%s' % (ROOT, UUID)
    assert mounts.below(instance, info) == [
        instance + '/vdb/inner', instance + '/vdb', instance + '/vdc']
    assert mounts.below(ROOT + '/other', info) == []
    assert mounts.fs_type(instance + '/vdc', info) == 'xfs'


def test_the_container_gets_its_directory_read_only_rslave(tmp_path):
    settings = mounts.container_settings(str(tmp_path), UUID)
    [bind] = settings['mounts']
    assert bind['Target'] == '/mnt/volumes'
    assert bind['Source'] == str(tmp_path / UUID)
    assert bind['ReadOnly'] is True
    assert bind['BindOptions'] == {'Propagation': 'rslave',
                                   'ReadOnlyNonRecursive': True}
    assert (tmp_path / UUID).is_dir()


class Container:
    def __init__(self, *destinations):
        self.attrs = {'Mounts': [{'Destination': d} for d in destinations]}


def test_has_bind():
    assert mounts.has_bind(Container('/proc/cpuinfo', '/mnt/volumes'))
    assert not mounts.has_bind(Container('/proc/cpuinfo'))
    assert not mounts.has_bind(Container())


class FakeDevice(fixtures.Fixture):
    """The privileged calls, with what blkid would find on the device."""

    def __init__(self, signature, mount_error=None):
        self.signature = signature
        self.mount_error = mount_error
        self.calls = []

    def _setUp(self):
        for name in ('probe_volume', 'format_volume', 'mount_volume'):
            self.useFixture(fixtures.MonkeyPatch(
                'novadocker.privsep.' + name,
                lambda *args, _name=name: self._call(_name, *args)))

    def _call(self, name, *args):
        self.calls.append((name,) + args)
        if name == 'probe_volume':
            return dict(self.signature)
        if name == 'mount_volume' and self.mount_error:
            raise self.mount_error


@pytest.fixture
def device(request):
    def make(signature, mount_error=None):
        fake = FakeDevice(signature, mount_error)
        fake.setUp()
        request.addfinalizer(fake.cleanUp)
        return fake
    return make


@pytest.mark.parametrize('fs', ['ext4', 'xfs', 'btrfs'])
def test_a_file_system_is_mounted_as_it_is(device, tmp_path, fs):
    fake = device({'TYPE': fs, 'USAGE': 'filesystem'})
    target = str(tmp_path / 'vdb')
    mounts.mount(target, '/dev/loop0', False, format_as='ext4')
    assert [c[0] for c in fake.calls] == ['probe_volume', 'mount_volume']
    assert fake.calls[1] == ('mount_volume', '/dev/loop0', target, fs, False,
                             None)


def test_a_blank_volume_is_refused_without_the_option(device, tmp_path):
    fake = device({})
    with pytest.raises(ValueError, match='format_blank_volumes = True'):
        mounts.mount(str(tmp_path / 'vdb'), '/dev/loop0', False)
    assert [c[0] for c in fake.calls] == ['probe_volume']


def test_a_blank_volume_is_formatted_with_the_option(device, tmp_path):
    fake = device({})
    mounts.mount(str(tmp_path / 'vdb'), '/dev/loop0', False, 'xfs')
    assert fake.calls[1] == ('format_volume', '/dev/loop0', 'xfs')
    assert fake.calls[2][3] == 'xfs'


def test_a_remapped_guests_volume_is_mounted_mapped(device, tmp_path):
    fake = device({})
    mounts.mount(str(tmp_path / 'vdb'), '/dev/loop0', False, 'ext4',
                 idmap=(100000, 100000, 65536))
    # Formatted as a virtual machine's would be: root's, shown mapped.
    assert fake.calls[1] == ('format_volume', '/dev/loop0', 'ext4')
    assert fake.calls[2][-1] == (100000, 100000, 65536)


def test_a_blank_read_only_volume_is_never_formatted(device, tmp_path):
    fake = device({})
    with pytest.raises(ValueError, match='read-only attachment'):
        mounts.mount(str(tmp_path / 'vdb'), '/dev/loop0', True, 'ext4')
    assert [c[0] for c in fake.calls] == ['probe_volume']


@pytest.mark.parametrize('signature,words', [
    ({'TYPE': 'swap', 'USAGE': 'other'}, 'a swap signature (other)'),
    ({'TYPE': 'vfat', 'USAGE': 'filesystem'},
     'a vfat signature (filesystem)'),
    ({'TYPE': 'crypto_LUKS', 'USAGE': 'crypto'},
     'a crypto_LUKS signature (crypto)'),
    ({'PTTYPE': 'gpt'}, 'a gpt partition table'),
])
def test_any_other_signature_is_refused(device, tmp_path, signature, words):
    fake = device(signature)
    with pytest.raises(ValueError, match=re.escape(
            'it holds %s, not an ext4, xfs or btrfs file system: refused'
            % words)):
        mounts.mount(str(tmp_path / 'vdb'), '/dev/loop0', False, 'ext4')
    assert [c[0] for c in fake.calls] == ['probe_volume']


def test_a_failed_mount_never_formats(device, tmp_path):
    fake = device({'TYPE': 'ext4'}, OSError(errno.EINVAL, 'Invalid argument'))
    target = tmp_path / 'vdb'
    with pytest.raises(ValueError, match='could not be mounted: Invalid'):
        mounts.mount(str(target), '/dev/loop0', False, 'ext4')
    assert [c[0] for c in fake.calls] == ['probe_volume', 'mount_volume']
    # Its mount point goes too.
    assert not target.exists()


def test_holds_compares_the_device_numbers(mountinfo, tmp_path):
    # /dev/loop0 is 7:0 on Linux; a stale mount of another device is not it.
    if not os.path.exists('/dev/loop0'):
        pytest.skip('no /dev/loop0')
    info = mountinfo(shared_root(), volume('vdb'))
    target = '%s/%s/vdb' % (ROOT, UUID)
    assert mounts.holds(target, '/dev/loop0', info)
    assert not mounts.holds(target, '/dev/null', info)
    assert not mounts.holds(ROOT + '/other', '/dev/loop0', info)

"""Where a guest finds its volumes, and the driver's choice of what to do
with a volume's device (mount, format or refuse)."""

import errno
import re

import fixtures
import pytest

from novadocker.volume import layout

UUID = '6f1f7d8e-3c1a-4e0b-9a57-1e2f3a4b5c6d'


def test_the_container_gets_its_directory_read_only_rslave(tmp_path):
    settings = layout.container_settings(str(tmp_path), UUID)
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
    assert layout.has_bind(Container('/proc/cpuinfo', '/mnt/volumes'))
    assert not layout.has_bind(Container('/proc/cpuinfo'))
    assert not layout.has_bind(Container())


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
    layout.mount(target, '/dev/loop0', False, format_as='ext4')
    assert [c[0] for c in fake.calls] == ['probe_volume', 'mount_volume']
    assert fake.calls[1] == ('mount_volume', '/dev/loop0', target, fs, False,
                             None)


def test_a_blank_volume_is_refused_without_the_option(device, tmp_path):
    fake = device({})
    with pytest.raises(ValueError, match='format_blank_volumes = True'):
        layout.mount(str(tmp_path / 'vdb'), '/dev/loop0', False)
    assert [c[0] for c in fake.calls] == ['probe_volume']


def test_a_blank_volume_is_formatted_with_the_option(device, tmp_path):
    fake = device({})
    layout.mount(str(tmp_path / 'vdb'), '/dev/loop0', False, 'xfs')
    assert fake.calls[1] == ('format_volume', '/dev/loop0', 'xfs')
    assert fake.calls[2][3] == 'xfs'


def test_a_remapped_guests_volume_is_mounted_mapped(device, tmp_path):
    fake = device({})
    layout.mount(str(tmp_path / 'vdb'), '/dev/loop0', False, 'ext4',
                 idmap=(100000, 100000, 65536))
    # Formatted as a virtual machine's would be: root's, shown mapped.
    assert fake.calls[1] == ('format_volume', '/dev/loop0', 'ext4')
    assert fake.calls[2][-1] == (100000, 100000, 65536)


def test_a_blank_read_only_volume_is_never_formatted(device, tmp_path):
    fake = device({})
    with pytest.raises(ValueError, match='read-only attachment'):
        layout.mount(str(tmp_path / 'vdb'), '/dev/loop0', True, 'ext4')
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
        layout.mount(str(tmp_path / 'vdb'), '/dev/loop0', False, 'ext4')
    assert [c[0] for c in fake.calls] == ['probe_volume']


def test_a_failed_mount_never_formats(device, tmp_path):
    fake = device({'TYPE': 'ext4'}, OSError(errno.EINVAL, 'Invalid argument'))
    target = tmp_path / 'vdb'
    with pytest.raises(ValueError, match='could not be mounted: Invalid'):
        layout.mount(str(target), '/dev/loop0', False, 'ext4')
    assert [c[0] for c in fake.calls] == ['probe_volume', 'mount_volume']
    # Its mount point goes too.
    assert not target.exists()

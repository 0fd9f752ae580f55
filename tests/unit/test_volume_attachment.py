"""Which volumes the driver takes, and under which name the guest sees them."""

import pytest

from novadocker.volume import attachment

ROOT_DEVICE = '/dev/vda'


class Bdm(dict):
    """A DriverVolumeBlockDevice as block_device_info lists it."""

    def __init__(self, mount_device, boot_index=None, volume_id='vol-1',
                 **data):
        super().__init__(
            mount_device=mount_device, boot_index=boot_index,
            connection_info={'driver_volume_type': 'local',
                             'data': dict(data, volume_id=volume_id)})
        self.volume_id = volume_id


def block_device_info(*bdms):
    return {'root_device_name': ROOT_DEVICE, 'block_device_mapping': bdms,
            'ephemerals': [], 'swap': None}


@pytest.mark.parametrize('device,name', [
    ('/dev/vdb', 'vdb'), ('vdc', 'vdc'), ('/dev/sdb', 'sdb'),
    ('/dev/xvdaa', 'xvdaa'), ('/dev/vdb1', 'vdb1'),
])
def test_guest_name_is_the_device_name(device, name):
    assert attachment.guest_name(device) == name
    assert attachment.guest_path(device) == '/mnt/volumes/' + name


@pytest.mark.parametrize('device', [
    None, '', '/dev/', '/dev/../etc', '../vdb', '/dev/vdb/x', 'VDB',
    '/mnt/vdb', 'vd b', '/dev/1vdb', 'v' * 33,
])
def test_guest_name_refuses_what_is_not_one_name(device):
    with pytest.raises(ValueError, match='is not a name like /dev/vdb'):
        attachment.guest_name(device)


def test_read_only_is_cinders_access_mode():
    assert attachment.read_only({'data': {'access_mode': 'ro'}})
    assert not attachment.read_only({'data': {'access_mode': 'rw'}})
    assert not attachment.read_only({'data': {}})


def test_encrypted_and_multiattach_volumes_are_refused():
    plain = {'driver_volume_type': 'iscsi', 'data': {}}
    assert attachment.refusal(plain) is None
    assert 'encrypted' in attachment.refusal(
        {'driver_volume_type': 'iscsi', 'data': {'encrypted': True}})
    assert 'encrypted' in attachment.refusal(plain, {'provider': 'luks'})
    assert 'multi-attach' in attachment.refusal(dict(plain, multiattach=True))


def test_boot_with_data_volumes_is_accepted():
    assert attachment.boot_refusal(None) is None
    assert attachment.boot_refusal(block_device_info()) is None
    assert attachment.boot_refusal(block_device_info(
        Bdm('/dev/vdb', boot_index=-1), Bdm('/dev/vdc'))) is None


@pytest.mark.parametrize('bdm', [
    Bdm('/dev/vda', boot_index=0),
    # A root volume whatever its index says.
    Bdm(ROOT_DEVICE, boot_index=None),
    Bdm('/dev/vdb', boot_index=0),
])
def test_boot_from_volume_is_refused(bdm):
    reason = attachment.boot_refusal(block_device_info(bdm))
    assert 'booting from a volume is not supported' in reason
    assert '/mnt/volumes' in reason


def test_boot_with_an_encrypted_volume_names_it():
    reason = attachment.boot_refusal(block_device_info(
        Bdm('/dev/vdb'), Bdm('/dev/vdc', volume_id='vol-2', encrypted=True)))
    assert reason.startswith('volume vol-2: encrypted volumes')

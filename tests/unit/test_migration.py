"""What a move hands from the source to the destination, and the root
disk left after it."""

from nova import exception
from nova import objects
import pytest

from novadocker import flavor
from novadocker import migration

objects.register_all()


def test_the_destination_takes_the_root_image_of_its_engine():
    info = migration.disk_info('nova-docker-root/u:1', 'engine-a')
    assert 'nova-docker-root/u:1' == migration.root_image(
        None, None, info, 'engine-a')


def test_a_root_image_in_another_engine_not_sent_is_a_clear_fault():
    info = migration.disk_info('nova-docker-root/u:1', 'engine-a')
    with pytest.raises(exception.MigrationError) as e:
        migration.root_image(None, None, info, 'engine-b')
    assert 'was not sent' in str(e.value)
    assert 'nova-docker-root/u:1' in str(e.value)


@pytest.mark.parametrize('info', [None, '', 'not json', '{}', '[]'])
def test_disk_info_without_a_root_image_is_a_clear_fault(info):
    with pytest.raises(exception.MigrationError) as e:
        migration.root_image(None, None, info, 'engine-a')
    assert 'no root image' in str(e.value)


@pytest.mark.parametrize('labels,expected', [
    (None, 0), ({}, 0), ({migration.COMMITTED_LABEL: '5242880'}, 5242880),
    ({migration.COMMITTED_LABEL: 'junk'}, 0)])
def test_committed_bytes_from_the_images_labels(labels, expected):
    assert expected == migration.committed_bytes({'Config': {
        'Labels': labels}})


def make_flavor(root_gb):
    return objects.Flavor(root_gb=root_gb, name='f')


def test_the_root_disk_left_after_a_move():
    assert {'storage_opt': {'size': '2G'}} == flavor.root_disk(
        make_flavor(2), True)
    left = flavor.root_disk(make_flavor(2), True, committed=2 ** 30)
    assert {'storage_opt': {'size': str(2 ** 30)}} == left
    # Never nothing: the engine takes 0 for "no limit".
    assert {'storage_opt': {'size': str(2 ** 20)}} == flavor.root_disk(
        make_flavor(1), True, committed=2 ** 30)
    assert {} == flavor.root_disk(make_flavor(0), True, committed=2 ** 30)
    assert {} == flavor.root_disk(make_flavor(2), False, committed=2 ** 30)

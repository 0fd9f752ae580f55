"""The host's mount table as the driver reads it."""

import os

import pytest

from novadocker import mountinfo

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
def table(tmp_path):
    def write(*lines):
        path = tmp_path / 'mountinfo'
        path.write_text(MOUNTINFO + ''.join(lines))
        return str(path)
    return write


def test_a_shared_mount_point_of_its_own(table):
    assert mountinfo.is_shared(ROOT, table(shared_root()))
    assert mountinfo.mounted(ROOT, table(shared_root()))


def test_a_slave_or_private_mount_is_not_shared(table):
    # Docker's check passes on a slave, but nothing propagates from it.
    assert not mountinfo.is_shared(ROOT, table(shared_root('master:3')))
    assert not mountinfo.is_shared(ROOT, table(shared_root('')))


def test_a_directory_on_a_shared_parent_is_not_a_mount_point(table):
    info = table('90 1 254:0 / / rw shared:1 - ext4 /dev/vda rw\n')
    assert not mountinfo.is_shared(ROOT, info)
    assert not mountinfo.mounted(ROOT, info)


def test_the_last_mount_on_a_mount_point_counts(table):
    info = table(shared_root(), shared_root(''))
    assert not mountinfo.is_shared(ROOT, info)


def test_escaped_mount_points(table):
    path = '/var/lib/my volumes'
    info = table(shared_root(path=path.replace(' ', '\\040')))
    assert mountinfo.is_shared(path, info)


def test_below_lists_the_deepest_first(table):
    nested = ('800 764 0:50 / %s/%s/vdb/inner rw - tmpfs tmpfs rw\n'
              % (ROOT, UUID))
    info = table(shared_root(), volume('vdb'), volume('vdc', 'xfs'), nested)
    instance = '%s/%s' % (ROOT, UUID)
    assert mountinfo.below(instance, info) == [
        instance + '/vdb/inner', instance + '/vdb', instance + '/vdc']
    assert mountinfo.below(ROOT + '/other', info) == []
    assert mountinfo.fs_type(instance + '/vdc', info) == 'xfs'


def test_holds_compares_the_device_numbers(table, tmp_path):
    # /dev/loop0 is 7:0 on Linux; a stale mount of another device is not it.
    if not os.path.exists('/dev/loop0'):
        pytest.skip('no /dev/loop0')
    info = table(shared_root(), volume('vdb'))
    target = '%s/%s/vdb' % (ROOT, UUID)
    assert mountinfo.holds(target, '/dev/loop0', info)
    assert not mountinfo.holds(target, '/dev/null', info)
    assert not mountinfo.holds(ROOT + '/other', '/dev/loop0', info)

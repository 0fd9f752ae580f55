"""Which LXCFS files a container gets, and when it gets none."""

import logging
import os

import pytest

from novadocker import lxcfs

# A host's mountinfo: the root, cgroups, and (added by each test) LXCFS.
MOUNTINFO = (
    '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n'
    '27 22 0:24 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro\n'
)


def lxcfs_line(mount_point, fs_type='fuse.lxcfs'):
    escaped = mount_point.replace(' ', '\\040')
    return ('44 27 0:41 / %s rw,nosuid,nodev,relatime - %s lxcfs '
            'rw,user_id=0,group_id=0,allow_other\n' % (escaped, fs_type))


@pytest.fixture
def host(tmp_path):
    """A directory that looks like LXCFS's tree, with every file."""
    root = tmp_path / 'lxcfs'
    for guest in lxcfs.GUEST_FILES + ('/proc/slabinfo',):
        path = root / guest.lstrip('/')
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('view of ' + guest)
    return root


def write_mountinfo(tmp_path, *extra):
    path = tmp_path / 'mountinfo'
    path.write_text(MOUNTINFO + ''.join(extra))
    return str(path)


def binds(settings):
    return {m['Target']: (m['Source'], m['Type'], m['ReadOnly'])
            for m in settings['mounts']}


def test_each_file_lxcfs_provides_goes_read_only_over_the_guests(
        host, tmp_path):
    mountinfo = write_mountinfo(tmp_path, lxcfs_line(str(host)))
    settings = lxcfs.container_settings(str(host), mountinfo)
    assert binds(settings) == {
        '/proc/%s' % name: (str(host / 'proc' / name), 'bind', True)
        for name in ('cpuinfo', 'meminfo', 'stat', 'uptime', 'diskstats',
                     'swaps', 'loadavg')} | {
        '/sys/devices/system/cpu/online': (
            str(host / 'sys/devices/system/cpu/online'), 'bind', True)}


def test_files_an_older_lxcfs_lacks_are_left_out(host, tmp_path):
    os.remove(host / 'proc' / 'loadavg')
    os.remove(host / 'sys/devices/system/cpu/online')
    mountinfo = write_mountinfo(tmp_path, lxcfs_line(str(host)))
    settings = lxcfs.container_settings(str(host), mountinfo)
    assert '/proc/loadavg' not in binds(settings)
    assert '/sys/devices/system/cpu/online' not in binds(settings)
    assert '/proc/cpuinfo' in binds(settings)


def test_a_mount_point_with_a_space_and_a_symlinked_path(host, tmp_path):
    spaced = tmp_path / 'lx cfs'
    host.rename(spaced)
    link = tmp_path / 'link'
    link.symlink_to(spaced)
    mountinfo = write_mountinfo(tmp_path, lxcfs_line(str(spaced)))
    assert lxcfs.mounted(str(link), mountinfo)
    assert binds(lxcfs.container_settings(str(link), mountinfo))[
        '/proc/uptime'][0] == str(link / 'proc' / 'uptime')


@pytest.mark.parametrize('extra', [
    (),                                            # nothing mounted there
    (lxcfs_line('/var/lib/lxcfs'),),               # LXCFS elsewhere
])
def test_files_in_a_directory_lxcfs_is_not_mounted_on_give_nothing(
        host, tmp_path, extra):
    mountinfo = write_mountinfo(tmp_path, *extra)
    assert not lxcfs.mounted(str(host), mountinfo)
    assert lxcfs.container_settings(str(host), mountinfo) == {}


def test_another_file_system_mounted_over_lxcfs_hides_it(host, tmp_path):
    mountinfo = write_mountinfo(tmp_path, lxcfs_line(str(host)),
                                lxcfs_line(str(host), fs_type='tmpfs'))
    assert not lxcfs.mounted(str(host), mountinfo)
    assert lxcfs.container_settings(str(host), mountinfo) == {}


def test_mounted_but_answering_nothing_gives_nothing(tmp_path):
    # An LXCFS that died without unmounting: no file can be read.
    empty = tmp_path / 'lxcfs'
    empty.mkdir()
    mountinfo = write_mountinfo(tmp_path, lxcfs_line(str(empty)))
    assert lxcfs.mounted(str(empty), mountinfo)
    assert lxcfs.container_settings(str(empty), mountinfo) == {}


def test_empty_path_disables_it_without_reading_mountinfo(tmp_path):
    missing = str(tmp_path / 'no-mountinfo')
    assert lxcfs.container_settings('', missing) == {}


def test_nova_compute_warns_at_start_when_lxcfs_is_not_mounted(
        tmp_path, caplog):
    caplog.set_level(logging.INFO, logger='novadocker.lxcfs')
    path = str(tmp_path / 'lxcfs')
    os.mkdir(path)
    lxcfs.check_host(path)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert 'LXCFS is not mounted at %s' % path in message
    assert 'lxcfs --enable-cfs %s' % path in message


def test_nova_compute_does_not_warn_when_disabled(caplog):
    caplog.set_level(logging.INFO, logger='novadocker.lxcfs')
    lxcfs.check_host('')
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert 'lxcfs_path is empty' in caplog.text

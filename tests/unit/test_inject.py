"""Injected files' paths and archives, and the password line's checks."""

import io
import tarfile
import types

from nova import exception
import pytest

from novadocker import inject


@pytest.mark.parametrize('path,name', [
    ('/etc/motd', 'etc/motd'),
    ('/a/b/c.txt', 'a/b/c.txt'),
    ('/etc/hosts.allow', 'etc/hosts.allow'),
    ('/device/x', 'device/x'),
    ('//etc//./motd', 'etc/motd'),
    (b'/etc/issue', 'etc/issue'),
    # relative to the root, as on libvirt (Tempest's rebuild sends one)
    ('rebuild.txt', 'rebuild.txt'),
    ('./etc/motd', 'etc/motd'),
])
def test_absolute_paths_become_tar_names(path, name):
    assert inject.check_path(path) == name


@pytest.mark.parametrize('path,why', [
    ('', 'names no file'),
    ('../etc/motd', '".."'),
    ('/../etc/motd', '".."'),
    ('/etc/../../host', '".."'),
    ('/tmp/..', '".."'),
    ('/', 'names no file'),
    ('/etc/', 'names no file'),
    ('/.', 'names no file'),
    ('/etc/mo\0td', 'NUL'),
    ('/etc/resolv.conf', 'Docker engine provides'),
    ('//etc/./hosts', 'Docker engine provides'),
    ('/etc/hostname', 'Docker engine provides'),
    ('/proc/cpuinfo', 'Docker engine provides'),
    ('/dev/console', 'Docker engine provides'),
    ('/sys/x', 'Docker engine provides'),
    ('/config-drive/openstack/latest/user_data', 'config drive'),
])
def test_paths_outside_or_of_no_file_are_refused(path, why):
    with pytest.raises(inject.BadPath, match=why):
        inject.check_path(path)


def test_check_files_gives_bytes_and_refuses_any_bad_path():
    assert inject.check_files([('/a', b'x'), ('/b', 'y')]) == [
        ('a', b'x'), ('b', b'y')]
    assert inject.check_files(None) == []
    with pytest.raises(inject.BadPath):
        inject.check_files([('/a', b'x'), ('../b', b'y')])


def members(data):
    tar = tarfile.open(fileobj=io.BytesIO(data))
    return [(m.name, m.isdir(), m.mode, m.uid, m.gid,
             None if m.isdir() else tar.extractfile(m).read())
            for m in tar.getmembers()]


def test_key_members_as_nova_makes_them():
    assert members(inject.archive(inject.key_members('ssh-ed25519 AAAA me'))) \
        == [('root/.ssh', True, 0o700, 0, 0, None),
            ('root/.ssh/authorized_keys', False, 0o600, 0, 0,
             b'ssh-ed25519 AAAA me\n')]


def test_new_file_in_new_directories():
    got = members(inject.archive(inject.file_members(
        'opt/app/etc/conf', b'a=1\n', ['opt/app', 'opt/app/etc'])))
    assert got == [('opt/app', True, 0o744, 0, 0, None),
                   ('opt/app/etc', True, 0o744, 0, 0, None),
                   ('opt/app/etc/conf', False, 0o644, 0, 0, b'a=1\n')]


def test_replaced_file_keeps_mode_and_owner():
    got = members(inject.archive(inject.file_members(
        'usr/bin/tool', b'#!/bin/sh\n', [], existing=(0o4750, 1000, 50))))
    assert got == [('usr/bin/tool', False, 0o4750, 1000, 50, b'#!/bin/sh\n')]


class FakeTree(inject._Tree):
    """The engine's answers for a few paths (Go file modes)."""

    def __init__(self, paths):
        self.paths = paths

    def stat(self, name):
        mode = self.paths.get(name)
        if isinstance(mode, tuple):
            # A link: its mode and its target, resolved in the container.
            mode, target = mode
            return {'mode': mode, 'linkTarget': target}
        return None if mode is None else {'mode': mode}


DIR, LINK, FILE = 1 << 31 | 0o755, 1 << 27 | 0o777, 0o644


def test_missing_dirs_outermost_first_up_to_an_existing_one():
    tree = FakeTree({'opt': DIR})
    assert tree.missing_dirs('opt/a/b/f') == ['opt/a', 'opt/a/b']
    assert tree.missing_dirs('x/f') == ['x']
    assert tree.missing_dirs('f') == []
    # A link of the image to a directory it has counts as there: the
    # engine resolves it inside.
    assert FakeTree({'etc/l': (LINK, '/srv/data'), 'srv/data': DIR}
                    ).missing_dirs('etc/l/f') == []


def test_a_link_to_where_the_container_has_nothing_is_refused():
    # Docker would fail the copy; Podman would make the directories.
    with pytest.raises(inject.BadPath, match='/etc/l is a link to '
                       '/tmp/host-only, which the container does not have'):
        FakeTree({'etc/l': (LINK, '/tmp/host-only')}).missing_dirs('etc/l/f')


def test_a_link_to_a_file_where_a_directory_is_needed_is_refused():
    with pytest.raises(inject.BadPath, match='/etc/l is not a directory'):
        FakeTree({'etc/l': (LINK, '/etc/motd'), 'etc/motd': FILE}
                 ).missing_dirs('etc/l/f')


def test_a_file_where_a_directory_is_needed_is_refused():
    with pytest.raises(inject.BadPath, match='/etc/motd is not a directory'):
        FakeTree({'etc/motd': FILE}).missing_dirs('etc/motd/x')


def image_meta(**properties):
    return types.SimpleNamespace(properties=properties)


def test_admin_user_from_image_else_root():
    assert inject.admin_user(image_meta(os_admin_user='cirros')) == 'cirros'
    assert inject.admin_user(image_meta()) == 'root'


@pytest.mark.parametrize('user,password,why', [
    ('root', 'a\nroot2:b', 'password contains a line break'),
    ('root', 'a\rb', 'password contains a line break'),
    ('ro\not', 'pw', 'user name contains a line break'),
    ('a:b', 'pw', 'contains ":"'),
    ('root', '', 'password is empty'),
])
def test_password_lines_that_chpasswd_would_misread(user, password, why):
    instance = types.SimpleNamespace(uuid='u-1')
    # The engine is never asked: no API object is needed.
    with pytest.raises(exception.InstancePasswordSetFailed, match=why) as e:
        inject.set_password(None, instance, 'c', user, password)
    if password:
        assert password not in str(e.value)

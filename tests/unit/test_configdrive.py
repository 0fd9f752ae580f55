"""The config drive tree on the host: its modes, its paths, its removal."""

import os
import stat

from nova import exception
from nova import objects
from oslo_config import fixture as config_fixture
import pytest

from novadocker import configdrive
from novadocker import driver

UUID = '6f6b8c36-3bd0-4b0a-9b6e-5c0f0f3a2d11'


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def conf(tmp_path):
    fixture = config_fixture.Config(configdrive.CONF)
    fixture.setUp()
    fixture.config(instances_path=str(tmp_path / 'instances'))
    yield fixture
    fixture.cleanUp()


@pytest.fixture
def instance():
    objects.register_all()
    return objects.Instance(uuid=UUID, config_drive='True', launched_at=None,
                            image_ref='', system_metadata={})


def test_tree_is_read_only_for_everyone(tmp_path):
    root = tmp_path / 'drive'
    root.mkdir()
    configdrive.write_tree(str(root), [
        ('openstack/latest/meta_data.json', b'{}'),
        ('openstack/latest/user_data', 'caf\u00e9'),
        ('ec2/latest/meta-data.json', b'{"a": 1}')])
    assert (root / 'openstack/latest/user_data').read_bytes() == \
        'caf\u00e9'.encode()
    assert (root / 'ec2/latest/meta-data.json').read_bytes() == b'{"a": 1}'
    for directory, subdirs, files in os.walk(root):
        assert mode(directory) == 0o555, directory
        for name in files:
            assert mode(os.path.join(directory, name)) == 0o444, name


@pytest.mark.parametrize('path', ['../escape', '/etc/passwd',
                                  'openstack/../../escape', '.'])
def test_a_path_outside_the_tree_is_refused(tmp_path, path):
    root = tmp_path / 'drive'
    root.mkdir()
    with pytest.raises(ValueError):
        configdrive.write_tree(str(root), [(path, b'x')])
    assert not (tmp_path / 'escape').exists()


def test_no_drive_unless_nova_asks_for_one(conf, instance):
    instance.config_drive = ''
    assert configdrive.write(instance, [], None, []) == {}
    assert not os.path.exists(configdrive.instance_dir(instance))


def test_write_binds_the_tree_read_only(conf, instance, monkeypatch):
    monkeypatch.setattr(configdrive, 'files', lambda *a: [
        ('openstack/latest/meta_data.json', b'{"uuid": "%s"}' % UUID.encode())
    ])
    settings = configdrive.write(instance, [], None, [])
    (mount,) = settings['mounts']
    assert mount['Target'] == '/config-drive'
    assert mount['Source'] == configdrive.host_path(instance)
    assert mount['ReadOnly'] is True
    assert mode(configdrive.instance_dir(instance)) == 0o700
    # Only the tree is left beside it: no temporary directory.
    assert os.listdir(configdrive.instance_dir(instance)) == ['config-drive']


def test_write_replaces_an_earlier_tree(conf, instance, monkeypatch):
    pairs = [('openstack/latest/user_data', b'first'),
             ('openstack/content/0000', b'old file')]
    monkeypatch.setattr(configdrive, 'files', lambda *a: pairs)
    configdrive.write(instance, [], None, [])
    pairs[:] = [('openstack/latest/user_data', b'second')]
    configdrive.write(instance, [], None, [])
    tree = configdrive.host_path(instance)
    with open(os.path.join(tree, 'openstack/latest/user_data'), 'rb') as f:
        assert f.read() == b'second'
    assert not os.path.exists(os.path.join(tree, 'openstack/content'))


def test_a_failed_write_aborts_the_build_and_leaves_nothing(
        conf, instance, monkeypatch, tmp_path):
    # The second file cannot be written: a directory already has its name.
    monkeypatch.setattr(configdrive, 'files', lambda *a: [
        ('openstack/latest', b'x'), ('openstack/latest/user_data', b'y')])
    with pytest.raises(exception.BuildAbortException) as e:
        configdrive.write(instance, [], None, [])
    assert 'the config drive could not be written to %s' % (
        configdrive.host_path(instance)) in str(e.value)
    assert os.listdir(tmp_path / 'instances') == []


def test_remove_takes_leftovers_and_the_empty_instance_dir(conf, instance):
    directory = configdrive.instance_dir(instance)
    for name in ('config-drive', 'config-drive.abc123'):
        root = os.path.join(directory, name)
        os.makedirs(root)
        configdrive.write_tree(root, [('openstack/latest/x', b'1')])
    assert configdrive.remove(instance) is True
    assert not os.path.exists(directory)
    # Gone already is fine.
    assert configdrive.remove(instance) is True


def test_remove_leaves_what_is_not_the_drive(conf, instance):
    directory = configdrive.instance_dir(instance)
    os.makedirs(os.path.join(directory, 'config-drive'))
    with open(os.path.join(directory, 'console.log'), 'w'):
        pass
    assert configdrive.remove(instance) is True
    assert os.listdir(directory) == ['console.log']


def test_settings_of_each_concern_add_up():
    host_config = {'mounts': ['lxcfs'], 'mem_limit': 1}
    driver._add_settings(host_config, {'mounts': ['drive'], 'dns': ['x']})
    assert host_config == {'mounts': ['lxcfs', 'drive'], 'mem_limit': 1,
                           'dns': ['x']}

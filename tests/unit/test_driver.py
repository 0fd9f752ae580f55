"""The driver's own logic: power states, key injection, capabilities."""

import io
import tarfile

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import objects
import os_traits
import pytest

from novadocker import driver

objects.register_all()


class FakeContainer:
    def __init__(self, **state):
        self.attrs = {'State': state}


def instance(vm_state=vm_states.ACTIVE, task_state=None):
    return objects.Instance(vm_state=vm_state, task_state=task_state)


@pytest.mark.parametrize('state,expected', [
    ({'Status': 'running', 'Running': True}, power_state.RUNNING),
    ({'Status': 'paused', 'Running': True, 'Paused': True},
     power_state.PAUSED),
    ({'Status': 'exited', 'ExitCode': 0}, power_state.SHUTDOWN),
    ({'Status': 'exited', 'ExitCode': 137}, power_state.SHUTDOWN),
    ({'Status': 'exited', 'ExitCode': 143}, power_state.SHUTDOWN),
    ({'Status': 'exited', 'ExitCode': 70}, power_state.CRASHED),
    ({'Status': 'exited', 'ExitCode': 137, 'OOMKilled': True},
     power_state.CRASHED),
    ({'Status': 'dead'}, power_state.CRASHED),
    ({'Status': 'created'}, power_state.SHUTDOWN),
    ({'Status': 'removing'}, power_state.NOSTATE),
])
def test_power_state_of_container(state, expected):
    assert driver._power_state(FakeContainer(**state), instance()) == expected


@pytest.mark.parametrize('vm_state,task_state', [
    (vm_states.SUSPENDED, None), (vm_states.ACTIVE, task_states.SUSPENDING)])
def test_frozen_container_of_a_suspended_instance(vm_state, task_state):
    container = FakeContainer(Status='paused', Running=True, Paused=True)
    assert driver._power_state(container, instance(vm_state, task_state)) \
        == power_state.SUSPENDED


def test_key_archive_puts_key_in_root_authorized_keys():
    archive = tarfile.open(fileobj=io.BytesIO(
        driver._key_archive('ssh-ed25519 AAAA me@host')))
    ssh_dir, keys = archive.getmembers()
    assert (ssh_dir.name, ssh_dir.isdir(), ssh_dir.mode) == \
        ('root/.ssh', True, 0o700)
    assert (keys.name, keys.mode) == ('root/.ssh/authorized_keys', 0o600)
    assert archive.extractfile(keys).read() == b'ssh-ed25519 AAAA me@host\n'


def test_capability_traits():
    traits = driver.DockerDriver(None).capabilities_as_traits()
    assert traits[os_traits.COMPUTE_IMAGE_TYPE_RAW] is True
    assert traits[os_traits.COMPUTE_IMAGE_TYPE_QCOW2] is False
    assert traits[os_traits.COMPUTE_NET_ATTACH_INTERFACE] is True


def test_hostname_settings_short_name_unchanged():
    assert driver.hostname_settings('web-1') == {'hostname': 'web-1'}


def test_hostname_settings_fqdn_splits_into_host_and_domain():
    fqdn = 'x' * 52 + '-guest-test.domaintest.com'
    assert driver.hostname_settings(fqdn) == {
        'hostname': 'x' * 52 + '-guest-test', 'domainname': 'domaintest.com'}


def test_hostname_settings_fit_the_kernel():
    settings = driver.hostname_settings('a' * 80 + '.' + 'b' * 200)
    assert len(settings['hostname']) < driver.HOST_NAME_MAX
    assert len(settings['domainname']) < driver.HOST_NAME_MAX


def test_hostname_settings_none():
    assert driver.hostname_settings(None) == {}

"""The driver's own logic: power states, capabilities."""

import types

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
import os_traits
import pytest

from novadocker import conf
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
    # A crash or the OOM killer: off, as Nova's STOPPED event needs it.
    ({'Status': 'exited', 'ExitCode': 70}, power_state.SHUTDOWN),
    ({'Status': 'exited', 'ExitCode': 137, 'OOMKilled': True},
     power_state.SHUTDOWN),
    ({'Status': 'dead'}, power_state.SHUTDOWN),
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


def test_capability_traits():
    traits = driver.DockerDriver(None).capabilities_as_traits()
    assert traits[os_traits.COMPUTE_IMAGE_TYPE_RAW] is True
    assert traits[os_traits.COMPUTE_IMAGE_TYPE_QCOW2] is False
    assert traits[os_traits.COMPUTE_NET_ATTACH_INTERFACE] is True


class StartedContainer:
    """A container whose inspect answers come from a list of states."""

    id = 'c0ffee'

    def __init__(self, *states):
        self.states = list(states)
        self.attrs = None

    def reload(self):
        self.attrs = {'State': self.states.pop(0)}

    def logs(self, tail):
        return b'fatal: no config found\n'


class Events(list):
    closed = False

    def close(self):
        self.closed = True


RUNNING = {'Running': True, 'Status': 'running',
           'StartedAt': '2026-11-23T08:40:00.250000123Z'}
EXITED = {'Running': False, 'Status': 'exited', 'ExitCode': 3}
BOOTING = objects.Instance(uuid='5c3a1c52-0a54-4b0e-9d43-4b7a1c0b8f16')


@pytest.fixture
def check():
    """A driver's boot check, with the engine's event streams recorded."""
    calls = []
    streams = []

    def events(**kwargs):
        calls.append(kwargs)
        return streams.pop(0)

    docker_driver = driver.DockerDriver(None)
    docker_driver.engine = types.SimpleNamespace(client=types.SimpleNamespace(
        api=types.SimpleNamespace(events=events)))
    conf.CONF.set_override('boot_check_seconds', 0.5, group='docker')
    yield types.SimpleNamespace(driver=docker_driver, calls=calls,
                                streams=streams)
    conf.CONF.clear_override('boot_check_seconds', group='docker')


def test_check_reads_die_events_until_the_window_ends(check):
    check.streams.append(Events())
    check.driver._check_started(BOOTING, StartedContainer(RUNNING))
    (call,) = check.calls
    assert (call['since'], call['until']) == ('1795423200.250000',
                                              '1795423200.750000')
    assert call['filters'] == {'container': 'c0ffee', 'event': 'die'}


def test_check_fails_the_boot_on_a_die_event(check):
    stream = Events([{'status': 'die'}])
    check.streams.append(stream)
    with pytest.raises(exception.BuildAbortException) as e:
        check.driver._check_started(BOOTING,
                                    StartedContainer(RUNNING, EXITED))
    assert 'exited at once with code 3' in e.value.format_message()
    assert 'fatal: no config found' in e.value.format_message()
    assert stream.closed


def test_check_of_an_exited_container_asks_for_no_events(check):
    with pytest.raises(exception.BuildAbortException):
        check.driver._check_started(BOOTING, StartedContainer(EXITED))
    assert check.calls == []


def test_check_of_zero_seconds_only_inspects(check):
    conf.CONF.set_override('boot_check_seconds', 0, group='docker')
    check.driver._check_started(BOOTING, StartedContainer(RUNNING))
    assert check.calls == []


@pytest.mark.parametrize('state', [
    {'Status': 'exited', 'Running': False},
    {'Status': 'paused', 'Running': True, 'Paused': True}])
def test_no_password_set_in_a_container_that_does_not_run(state):
    # Nova checks the power state first; the engine may disagree since.
    class Container(FakeContainer):
        id = 'c1'

        def reload(self):
            pass

    drv = driver.DockerDriver(None)
    drv.engine = types.SimpleNamespace(get=lambda instance: Container(
        **state))
    with pytest.raises(exception.InstancePasswordSetFailed,
                       match='the container is not running'):
        drv.set_admin_password(objects.Instance(
            uuid='6f1f7f2e-3c1a-4a53-9d0e-1f2b3c4d5e6f'), 'pw')

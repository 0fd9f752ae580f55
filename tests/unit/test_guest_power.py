"""How the driver tells a guest's own reboot and power off from the
engine's stops, and when it brings a rebooted guest back.

The real engine's event sequences are those of the functional tests
(tests/functional/test_guest_power.py); here the watcher is fed them.
"""

from nova.compute import task_states
from nova.compute import vm_states
from nova import objects
from oslo_utils import uuidutils
import pytest

from novadocker import conf
from novadocker import events
from novadocker import guest_power

objects.register_all()
CONF = conf.CONF


@pytest.fixture
def host():
    CONF.set_override('host', 'guest-power-test')
    yield 'guest-power-test'
    CONF.clear_override('host')


@pytest.fixture
def disabled():
    CONF.set_override('guest_reboot', False, group='docker')
    yield
    CONF.clear_override('guest_reboot', group='docker')


@pytest.mark.parametrize('code,wanted', [
    ('129', guest_power.REBOOT), (129, guest_power.REBOOT),
    ('130', guest_power.POWER_OFF), (130, guest_power.POWER_OFF),
    ('0', None), ('137', None), ('143', None), ('1', None), (None, None),
    ('', None), ('lots', None)])
def test_what_an_exit_code_asks_for(code, wanted):
    assert guest_power.requested(code, killed=False) == wanted


@pytest.mark.parametrize('code', ['129', '130'])
def test_no_request_after_a_signal_of_the_engine(code):
    # docker stop of a busybox init: SIGTERM, which it answers with
    # reboot(2), so 129.
    assert guest_power.requested(code, killed=True) is None


def test_no_request_when_the_operator_turned_it_off(disabled):
    assert guest_power.requested('129', killed=False) is None
    assert guest_power.requested('130', killed=False) is None


def make_instance(**fields):
    values = dict(uuid=uuidutils.generate_uuid(), host='guest-power-test',
                  vm_state=vm_states.ACTIVE, task_state=None)
    values.update(fields)
    return objects.Instance(**values)


def test_a_rebooted_active_instance_restarts(host):
    assert guest_power.may_restart(make_instance(), {'Status': 'exited'},
                                   'guest-power-test')


@pytest.mark.parametrize('fields,status', [
    ({'task_state': task_states.POWERING_OFF}, 'exited'),
    ({'task_state': task_states.REBOOTING}, 'exited'),
    ({'task_state': task_states.DELETING}, 'exited'),
    ({'task_state': task_states.IMAGE_SNAPSHOT}, 'exited'),
    ({'task_state': task_states.REBUILDING}, 'exited'),
    ({'vm_state': vm_states.STOPPED}, 'exited'),
    ({'vm_state': vm_states.ERROR}, 'exited'),
    ({'host': 'another-host'}, 'exited'),
    ({}, 'running'),
    ({}, 'removing')])
def test_no_restart_while_nova_acts_or_elsewhere(host, fields, status):
    assert not guest_power.may_restart(make_instance(**fields),
                                       {'Status': status}, 'guest-power-test')


class Calls:
    """What the watcher hands on, fed the engine's events."""

    def __init__(self, restarts=True):
        self.restarts = restarts
        self.changes = []
        self.reboots = []

    def watcher(self):
        return events.ContainerWatcher(
            None, 'guest-power-test', on_start=lambda uuid: None,
            on_change=lambda uuid, action: self.changes.append(action),
            on_guest_reboot=self.reboot)

    def reboot(self, uuid):
        self.reboots.append(uuid)
        if isinstance(self.restarts, Exception):
            raise self.restarts
        return self.restarts


def feed(watcher, uuid, *events_):
    for event in events_:
        action, _, detail = event.partition(':')
        attributes = {'org.openstack.nova.instance_uuid': uuid}
        if action == 'die':
            attributes['exitCode'] = detail
        if action == 'kill':
            attributes['signal'] = detail
        watcher._handle({'Action': action,
                         'Actor': {'Attributes': attributes}})


UUID = uuidutils.generate_uuid()


def test_the_guests_reboot_is_no_change_for_nova():
    calls = Calls()
    feed(calls.watcher(), UUID, 'die:129', 'start')
    assert calls.reboots == [UUID]
    assert calls.changes == ['start']


@pytest.mark.parametrize('sequence', [
    # docker stop, Nova's stop and soft reboot: busybox init reboots.
    ('kill:15', 'die:129'),
    # the same past the timeout, and docker kill, rm -f, hard reboot.
    ('kill:15', 'kill:9', 'die:137'),
    ('kill:9', 'die:137'),
    # the guest's power off, halt; the process's own end.
    ('die:130',), ('die:0',), ('die:70',)])
def test_any_other_end_is_a_change(sequence):
    calls = Calls()
    feed(calls.watcher(), UUID, *sequence)
    assert calls.reboots == []
    assert calls.changes == ['die']


def test_a_signal_counts_only_until_the_next_start():
    calls = Calls()
    watcher = calls.watcher()
    feed(watcher, UUID, 'kill:15', 'die:129', 'start', 'die:129')
    assert calls.reboots == [UUID]
    assert calls.changes == ['die', 'start']


def test_a_signal_to_one_container_does_not_cover_another():
    calls = Calls()
    watcher = calls.watcher()
    other = uuidutils.generate_uuid()
    feed(watcher, other, 'kill:15')
    feed(watcher, UUID, 'die:129')
    assert calls.reboots == [UUID]


@pytest.mark.parametrize('outcome', [False, None, RuntimeError('engine')])
def test_a_reboot_not_followed_by_a_start_is_reported(outcome):
    calls = Calls(restarts=outcome)
    feed(calls.watcher(), UUID, 'die:129')
    assert calls.reboots == [UUID]
    assert calls.changes == ['die']


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_guest_that_reboots_in_a_loop_is_stopped():
    clock = Clock()
    budget = guest_power.RebootBudget(limit=3, window=60, clock=clock)
    other = uuidutils.generate_uuid()
    assert [budget.take(UUID) for _ in range(4)] == [True] * 3 + [False]
    # Another instance has a budget of its own.
    assert budget.take(other)
    # Past the window, restarts are allowed again.
    clock.now += 60
    assert budget.take(UUID)


def test_restarts_spread_over_time_stay_within_the_budget():
    clock = Clock()
    budget = guest_power.RebootBudget(limit=3, window=60, clock=clock)
    for _ in range(10):
        assert budget.take(UUID)
        clock.now += 21

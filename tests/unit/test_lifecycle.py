"""Which lifecycle events Nova gets from changes of containers, and when.

The emitter runs on Nova's own delaying executor and thread pool; the
instances' power states are a table the test changes as the engine would.
"""

import queue
import time

from nova.compute import power_state
from nova.virt import event as virtevent
from oslo_utils import uuidutils
import pytest

from novadocker import lifecycle

WAIT = 30
STARTED = virtevent.EVENT_LIFECYCLE_STARTED
STOPPED = virtevent.EVENT_LIFECYCLE_STOPPED


class Host:
    """The instances' power states now, and the events Nova received."""

    def __init__(self):
        self.states = {}
        self.events = queue.Queue()
        self.unreadable = set()

    def state_of(self, instance_uuid):
        if instance_uuid in self.unreadable:
            raise RuntimeError('engine away')
        return self.states.get(instance_uuid)

    def emit(self, event):
        assert isinstance(event, virtevent.LifecycleEvent)
        self.events.put((event.get_instance_uuid(), event.get_transition()))

    def next_event(self):
        return self.events.get(timeout=WAIT)

    def change(self, emitter, state, action):
        instance_uuid = uuidutils.generate_uuid()
        self.states[instance_uuid] = state
        emitter.changed(instance_uuid, action)
        return instance_uuid


@pytest.fixture
def host():
    return Host()


@pytest.fixture
def make_emitter(host):
    made = []

    def make(delay):
        emitter = lifecycle.LifecycleEmitter(host.state_of, host.emit, delay)
        made.append(emitter)
        return emitter
    yield make
    for emitter in made:
        emitter.stop()


@pytest.mark.parametrize('state,action,expected', [
    (power_state.RUNNING, 'start', STARTED),
    (power_state.RUNNING, None, STARTED),
    (power_state.RUNNING, 'unpause', virtevent.EVENT_LIFECYCLE_RESUMED),
    (power_state.PAUSED, 'pause', virtevent.EVENT_LIFECYCLE_PAUSED),
    (power_state.SUSPENDED, 'pause', virtevent.EVENT_LIFECYCLE_SUSPENDED),
    (power_state.SHUTDOWN, 'die', STOPPED),
    (power_state.CRASHED, 'die', STOPPED),
    # The state, not the action: a start seen after the container died.
    (power_state.SHUTDOWN, 'start', STOPPED),
    (power_state.NOSTATE, 'die', None),
    (None, 'die', None),
])
def test_transition_reports_the_power_state(state, action, expected):
    assert lifecycle.transition(state, action) == expected


def test_start_pause_and_unpause_reach_nova_at_once(host, make_emitter):
    # Were they delayed, the wait for them would end first.
    emitter = make_emitter(delay=WAIT * 4)
    for state, action, expected in (
            (power_state.RUNNING, 'start', STARTED),
            (power_state.PAUSED, 'pause', virtevent.EVENT_LIFECYCLE_PAUSED),
            (power_state.RUNNING, 'unpause',
             virtevent.EVENT_LIFECYCLE_RESUMED)):
        uuid = host.change(emitter, state, action)
        assert (uuid, expected) == host.next_event()


def test_a_stop_reaches_nova_after_the_delay(host, make_emitter):
    emitter = make_emitter(delay=1)
    uuid = host.change(emitter, power_state.SHUTDOWN, 'die')
    assert host.events.empty()
    assert (uuid, STOPPED) == host.next_event()


def test_a_start_within_the_delay_cancels_the_stop(host, make_emitter):
    emitter = make_emitter(delay=0.3)
    # A reboot or docker restart: the container dies, then starts.
    rebooted = host.change(emitter, power_state.SHUTDOWN, 'die')
    host.states[rebooted] = power_state.RUNNING
    emitter.changed(rebooted, 'start')
    assert (rebooted, STARTED) == host.next_event()
    # Another container's stop, queued later with the same delay, comes
    # after the moment the first one's would have.
    later = host.change(emitter, power_state.SHUTDOWN, 'die')
    assert (later, STOPPED) == host.next_event()
    assert host.events.empty()


def test_a_stop_tells_the_state_at_the_end_of_the_delay(host, make_emitter):
    emitter = make_emitter(delay=0.2)
    # Started again, and that start not seen (the stream was away).
    restarted = host.change(emitter, power_state.SHUTDOWN, 'die')
    host.states[restarted] = power_state.RUNNING
    # Deleted meanwhile: nothing to tell.
    deleted = host.change(emitter, power_state.SHUTDOWN, 'die')
    del host.states[deleted]
    stopped = host.change(emitter, power_state.SHUTDOWN, 'die')
    assert (restarted, STARTED) == host.next_event()
    assert (stopped, STOPPED) == host.next_event()
    assert host.events.empty()


def test_no_event_without_a_container(host, make_emitter):
    emitter = make_emitter(delay=0)
    emitter.changed(uuidutils.generate_uuid(), 'start')
    host.change(emitter, power_state.NOSTATE, 'start')
    assert host.events.empty()


def test_a_state_that_cannot_be_read_spares_the_others(host, make_emitter):
    emitter = make_emitter(delay=0.2)
    unlucky = host.change(emitter, power_state.SHUTDOWN, 'die')
    # Its stop, at the end of the delay, fails to read the state: logged.
    host.unreadable.add(unlucky)
    other = host.change(emitter, power_state.SHUTDOWN, 'die')
    assert (other, STOPPED) == host.next_event()
    with pytest.raises(RuntimeError):
        # The watcher of the engine's events logs it and goes on.
        emitter.changed(unlucky, 'start')
    host.unreadable.clear()
    host.states[unlucky] = power_state.RUNNING
    emitter.changed(unlucky, 'start')
    assert (unlucky, STARTED) == host.next_event()
    assert host.events.empty()


def test_stop_drops_the_waiting_stops(host, make_emitter):
    emitter = make_emitter(delay=0.2)
    host.change(emitter, power_state.SHUTDOWN, 'die')
    emitter.stop()
    host.change(emitter, power_state.RUNNING, 'start')
    # Past the delay, with nothing sent.
    time.sleep(1)
    assert host.events.empty()

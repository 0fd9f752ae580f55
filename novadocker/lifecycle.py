"""Nova's lifecycle events from what the engine does to a container.

A container may stop, exit, be killed for lack of memory, be paused or be
started again without Nova: ``docker stop``, ``docker kill``, its process
ending, a restart policy. Nova learns of it from the driver's lifecycle
events within seconds, as it does from libvirt's, rather than at its next
power state sync.

Each event tells the state the instance is in when the event is sent, read
again from the engine (and Nova's record, which tells a suspend from a
pause), not the engine's action that prompted it: a late event never
contradicts a later change. Nova's compute manager reads the state once more
and leaves alone an instance with an operation under way.

A STOPPED event waits ``[docker] stop_event_delay`` seconds, and any later
change of the same container cancels it, as in the libvirt driver: a
reboot, a ``docker restart`` or a restart policy stops the container and
starts it again, and Nova must not stop an instance that is coming back.
"""

import threading

from nova.compute import power_state
from nova import thread_pool_factory
from nova.virt import event as virtevent
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

_TRANSITIONS = {
    power_state.PAUSED: virtevent.EVENT_LIFECYCLE_PAUSED,
    power_state.SUSPENDED: virtevent.EVENT_LIFECYCLE_SUSPENDED,
    power_state.SHUTDOWN: virtevent.EVENT_LIFECYCLE_STOPPED,
    power_state.CRASHED: virtevent.EVENT_LIFECYCLE_STOPPED,
}


def transition(state, action=None):
    """The lifecycle transition that reports a power state, or None.

    ``action`` is the engine's: a running container after an ``unpause``
    resumed, otherwise it started. Nova records both as RUNNING.
    """
    if state == power_state.RUNNING:
        if action == 'unpause':
            return virtevent.EVENT_LIFECYCLE_RESUMED
        return virtevent.EVENT_LIFECYCLE_STARTED
    return _TRANSITIONS.get(state)


class LifecycleEmitter:
    """Turns changes of containers into Nova's lifecycle events.

    ``state_of(uuid)`` gives the instance's power state now, or None when
    it has no container on this host; ``emit(event)`` hands an event to
    Nova (``ComputeDriver.emit_event``).
    """

    def __init__(self, state_of, emit, delay):
        self._state_of = state_of
        self._emit = emit
        # Held while a state is read and its event emitted, so that events
        # reach Nova in the order their states were read.
        self._lock = threading.Lock()
        # uuid -> (token, future) of the STOPPED event it waits to send.
        self._pending = {}
        self._stopped = False
        # Nova's own delaying executor, the libvirt driver's.
        delaying = (thread_pool_factory.
                    StaticallyDelayingCancellableTaskExecutorWrapper)
        self._delayed = delaying(
            delay=delay, executor=thread_pool_factory.get_executor(
                thread_pool_factory.ExecutorType.DEFAULT))

    def changed(self, instance_uuid, action=None):
        """The engine reports a change of the instance's container."""
        with self._lock:
            if self._stopped:
                return
            waiting = self._pending.pop(instance_uuid, None)
            if waiting is not None:
                waiting[1].cancel()
                LOG.debug('Cancelled the pending STOPPED event: the '
                          'container changed again (%s)', action,
                          instance_uuid=instance_uuid)
            event = self._event(instance_uuid, action)
            if event is None:
                return
            if event.transition == virtevent.EVENT_LIFECYCLE_STOPPED:
                token = object()
                future = self._delayed.submit_with_delay(
                    self._send_stopped, instance_uuid, token)
                self._pending[instance_uuid] = (token, future)
                return
            self._emit(event)

    def _event(self, instance_uuid, action=None):
        found = transition(self._state_of(instance_uuid), action)
        if found is None:
            return None
        return virtevent.LifecycleEvent(instance_uuid, found)

    def _send_stopped(self, instance_uuid, token):
        with self._lock:
            waiting = self._pending.get(instance_uuid)
            if self._stopped or waiting is None or waiting[0] is not token:
                # Overtaken by a later change while it was being sent here.
                return
            del self._pending[instance_uuid]
            try:
                # Whatever the container does now, which a change not seen
                # yet may have made other than stopped.
                event = self._event(instance_uuid)
                if event is not None:
                    self._emit(event)
            except Exception:
                LOG.exception('Reporting the stop of the container failed',
                              instance_uuid=instance_uuid)

    def stop(self):
        """Cancel the events that wait; nova-compute syncs at its start."""
        with self._lock:
            self._stopped = True
            for _token, future in self._pending.values():
                future.cancel()
            self._pending.clear()
        self._delayed.shutdown(wait=True)

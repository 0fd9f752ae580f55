"""What the engine does to this host's containers, as it happens.

The engine's event stream tells of every start, end, pause and unpause of a
container, whoever caused it: Nova's own operations, a restart policy, a
restart of dockerd, someone's ``docker start``, ``stop`` or ``kill``, a
process that exits or that the kernel kills for lack of memory.
``ContainerWatcher`` follows that stream for this host's containers, with
one subscription filtered by the host label, and hands the instance uuid of
each change to two callbacks:

- ``on_start(uuid)``, for starts: the driver brings the ports up again and
  plugs what the namespace lacks (a sandbox the engine started again has a
  new, empty one), and gives the guest its domain name;
- ``on_change(uuid, action)``, for every change, from which the driver tells
  Nova the instance's power state (``novadocker.lifecycle``) and, after a
  pause, unpause or stop, takes the ports down or up
  (``novadocker.network``);
- ``on_engine_back(uuid)``, for each stopped container when the stream
  comes back (an engine restart), before its ``on_change``: the driver
  starts what the operator's restart policy wanted running
  (``guest_power.restore``);
- ``on_guest_reboot(uuid)``, when the guest rebooted itself (its container
  ended by reboot(2), with no signal from the engine since its start:
  ``novadocker.guest_power``); when that brings the container back (True),
  the end is no change for Nova.
"""

import threading

from nova import thread_pool_factory
from oslo_log import log as logging

from novadocker import engine
from novadocker import guest_power

LOG = logging.getLogger(__name__)

# Seconds between attempts to reach an engine that is away, doubling.
RETRY_FIRST = 1
RETRY_MAX = 30

# The engine's actions that change a container's power state; "oom" (a
# process of the container killed for lack of memory) comes before the
# "die" of a container whose main process it was, and "kill" (a signal the
# engine sent: docker stop, kill, restart, rm -f) before the "die" it
# causes.
ACTIONS = ('start', 'die', 'oom', 'pause', 'unpause', 'kill')
# Exit codes of a process that ended by itself (0) or was stopped (SIGKILL,
# SIGTERM): anything else is worth a warning.
STOP_EXIT_CODES = ('0', str(128 + 9), str(128 + 15))


class ContainerWatcher:
    """Follows this host's containers in a thread of nova-compute's pool.

    The stream is a socket read that blocks: under eventlet the socket is
    green and the read yields to the hub; with native threads it holds a
    thread of its own. ``stop`` closes the socket to end it.
    """

    def __init__(self, engine_, host, on_start, on_change,
                 on_guest_reboot=None, on_engine_back=None):
        self._engine = engine_
        self._host = host
        self._on_start = on_start
        self._on_change = on_change
        self._on_guest_reboot = on_guest_reboot
        self._on_engine_back = on_engine_back
        # Uuids of containers the engine sent a signal since their start.
        self._killed = set()
        self._stopped = threading.Event()
        self._stream = None
        self._future = None
        self._subscriptions = 0

    def start(self):
        self._stopped.clear()
        self._future = thread_pool_factory.spawn(self._run)

    def stop(self):
        self._stopped.set()
        stream = self._stream
        if stream is not None:
            stream.close()

    def _run(self):
        delay = RETRY_FIRST
        while not self._stopped.is_set():
            try:
                self._follow()
                delay = RETRY_FIRST
            except Exception as e:
                if self._stopped.is_set():
                    break
                LOG.warning('No event stream from the Docker engine (%s); '
                            'trying again in %d s', e, delay)
                delay = min(delay * 2, RETRY_MAX)
            self._stopped.wait(delay)

    def _follow(self):
        client = self._engine.client.api
        self._stream = client.events(decode=True, filters={
            'type': 'container', 'event': list(ACTIONS),
            'label': '%s=%s' % (engine.HOST_LABEL, self._host)})
        try:
            if self._stopped.is_set():
                # stop() came before there was a stream to close.
                return
            self._catch_up()
            for event in self._stream:
                if self._stopped.is_set():
                    return
                self._handle(event)
        finally:
            self._stream.close()
            self._stream = None

    def _catch_up(self):
        """What happened while there was no stream (an engine restart).

        Subscribed first, then the containers listed: a change in between
        is reported twice rather than not at all.
        """
        running = [labels.get(engine.UUID_LABEL)
                   for labels in self._engine.our_labels(running=True)]
        for instance_uuid in running:
            self._call(self._on_start, instance_uuid)
        if self._subscriptions:
            # Nova took stock of its instances at nova-compute's start;
            # after a reconnection each one's state is news.
            for labels in self._engine.our_labels():
                instance_uuid = labels.get(engine.UUID_LABEL)
                if (instance_uuid not in running and
                        self._on_engine_back is not None):
                    self._call(self._on_engine_back, instance_uuid)
                self._call(self._on_change, instance_uuid, None)
        self._subscriptions += 1

    def _handle(self, event):
        action = event.get('Action') or event.get('status')
        attributes = event.get('Actor', {}).get('Attributes', {})
        instance_uuid = attributes.get(engine.UUID_LABEL)
        if not instance_uuid:
            # A sandbox (novadocker.sandbox): the guest's events tell.
            return
        if attributes.get('name', engine.name_of(instance_uuid)) != \
                engine.name_of(instance_uuid):
            # A resize's source, kept for a revert: not the instance's.
            return
        if action == 'oom':
            LOG.warning('The kernel killed a process of the container for '
                        'lack of memory (the flavor\'s RAM)',
                        instance_uuid=instance_uuid)
            return
        if action == 'kill':
            self._killed.add(instance_uuid)
            return
        if action == 'start':
            self._killed.discard(instance_uuid)
        if action == 'die' and self._died(instance_uuid, attributes):
            return
        # The state first: Nova waits for it, the ports take a while.
        self._call(self._on_change, instance_uuid, action)
        if action == 'start':
            self._call(self._on_start, instance_uuid)

    def _died(self, instance_uuid, attributes):
        """Log the end of a container's process; True if it came back.

        A stream that starts between a ``kill`` and its ``die`` (a
        reconnection) takes that ``die`` for the guest's own: Nova's
        operations still keep it stopped (``guest_power.may_restart``).
        """
        code = attributes.get('exitCode')
        request = guest_power.requested(
            code, killed=instance_uuid in self._killed)
        self._killed.discard(instance_uuid)
        if request is not None:
            LOG.info('The guest asked for a %s (exit code %s)', request,
                     code, instance_uuid=instance_uuid)
        else:
            log = LOG.info if code in STOP_EXIT_CODES else LOG.warning
            log('The container\'s process ended with exit code %s', code,
                instance_uuid=instance_uuid)
        return (request == guest_power.REBOOT and
                self._on_guest_reboot is not None and
                self._call(self._on_guest_reboot, instance_uuid) is True)

    def _call(self, callback, instance_uuid, *args):
        if not instance_uuid or self._stopped.is_set():
            return None
        try:
            return callback(instance_uuid, *args)
        except Exception:
            # One instance's failure must not end the watch of the others.
            LOG.exception('Handling a change of the container of instance '
                          '%s failed', instance_uuid)

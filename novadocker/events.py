"""Container starts that Nova did not ask for.

A container's ports live in its network namespace, which dies with its
process; a start gives it a new, empty one. The engine starts containers on
its own: by their restart policy, when dockerd itself restarts, or at
someone's ``docker start``. ``StartWatcher`` follows the engine's event
stream for the starts of this host's containers and hands the instance uuid
of each to a callback, which plugs what the new namespace lacks.
"""

import threading

from nova import thread_pool_factory
from oslo_log import log as logging

from novadocker import engine

LOG = logging.getLogger(__name__)

# Seconds between attempts to reach an engine that is away, doubling.
RETRY_FIRST = 1
RETRY_MAX = 30


class StartWatcher:
    """Follows container starts in a thread of nova-compute's pool.

    The stream is a socket read that blocks: under eventlet the socket is
    green and the read yields to the hub; with native threads it holds a
    thread of its own. ``stop`` closes the socket to end it.
    """

    def __init__(self, engine_, host, on_start):
        self._engine = engine_
        self._host = host
        self._on_start = on_start
        self._stopped = threading.Event()
        self._stream = None
        self._future = None

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
            'type': 'container', 'event': 'start',
            'label': '%s=%s' % (engine.HOST_LABEL, self._host)})
        try:
            if self._stopped.is_set():
                # stop() came before there was a stream to close.
                return
            # Subscribed first, then the containers already running: starts
            # while there was no stream (an engine restart) were not seen.
            for labels in self._engine.our_labels(running=True):
                self._handle(labels.get(engine.UUID_LABEL))
            for event in self._stream:
                if self._stopped.is_set():
                    return
                attributes = event.get('Actor', {}).get('Attributes', {})
                self._handle(attributes.get(engine.UUID_LABEL))
        finally:
            self._stream.close()
            self._stream = None

    def _handle(self, instance_uuid):
        if not instance_uuid or self._stopped.is_set():
            return
        try:
            self._on_start(instance_uuid)
        except Exception:
            # One instance's failure must not end the watch of the others.
            LOG.exception('Handling the start of the container of instance '
                          '%s failed', instance_uuid)

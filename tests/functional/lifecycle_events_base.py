"""Nova's functional harness with the compute manager's lifecycle events
recorded as it handles them, and a short delay of the STOPPED event, so
that a test can wait past it. No periodic task runs: what the API shows
for a change behind Nova's back came from the driver's events.
"""

import queue
import time

from nova.compute import power_state
from nova import conf as nova_conf
from nova.virt import event as virtevent

# The [docker] options, set before the compute service loads the driver.
from novadocker import conf  # noqa: F401
from tests.functional import base

DELAY = 0.5
# Polls of the API, every 0.5 s: a bound, not an expected time.
RETRIES = 60
WAIT = 30


class LifecycleEventsTestCase(base.DockerDriverTestCase):
    """Records the lifecycle events Nova's compute manager handles."""

    def _setup_compute_service(self):
        self.flags(stop_event_delay=DELAY, group='docker')
        return super()._setup_compute_service()

    def setUp(self):
        super().setUp()
        self.assertFalse(nova_conf.CONF.periodic_enable)
        # Every event Nova's compute manager has handled, in order.
        self.handled = queue.Queue()
        manager = self.compute.manager

        def handle(event):
            try:
                manager.handle_events(event)
            finally:
                self.handled.put((event.get_instance_uuid(),
                                  event.get_transition()))
        manager.driver.register_event_listener(handle)

    def boot(self, *args, **kwargs):
        server = super().boot(*args, **kwargs)
        # Later events are those of what the test does.
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_STARTED)
        return server

    def wait_for(self, server, **params):
        return self._wait_for_server_parameter(server, params, RETRIES)

    def assert_off(self, server):
        server = self.wait_for(server, status='SHUTOFF')
        self.assertEqual(power_state.SHUTDOWN,
                         server['OS-EXT-STS:power_state'])
        self.assertIsNone(server['OS-EXT-STS:task_state'])
        self.assertEqual('exited', self.container(server).status)
        # Nova took it for stopped: a start brings it back.
        server = self._start_server(server)
        self.assertEqual('running', self.container(server).status)

    def handled_until(self, server, transition):
        """The events handled for a server, up to the first of a kind."""
        seen = []
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                uuid, handled = self.handled.get(
                    timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if uuid != server['id']:
                continue
            seen.append(handled)
            if handled == transition:
                return seen
        self.fail('no %s event for the server, only %s' % (
            virtevent.NAMES[transition], seen))

    def past_the_delay(self):
        """Sleep past the delay of a STOPPED event, with room to handle it."""
        time.sleep(DELAY * 4)

    def assert_stays(self, server, status, state):
        self.past_the_delay()
        server = self.api.get_server(server['id'])
        self.assertEqual((status, state, None), (
            server['status'], server['OS-EXT-STS:power_state'],
            server['OS-EXT-STS:task_state']))
        return server

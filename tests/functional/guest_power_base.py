"""The lifecycle events' harness with what the guest power tests need: the
"init" test image's busybox init booted, commands in the guest, the
container's starts and ends as the engine saw them.
"""

import time

from nova.compute import power_state

from tests.functional import lifecycle_events_base

# Polls of the engine: a bound, not an expected time.
WAIT = 30
# Busybox init's respawned process: running once init has booted.
INIT_IDLE = b'sleep 2147483647'


class GuestPowerTestCase(lifecycle_events_base.LifecycleEventsTestCase):

    def boot_init(self, **kw):
        server = self.boot('init', **kw)
        self.wait_for_init(self.container(server))
        return server

    def wait_for_init(self, container, booted=lambda ps: INIT_IDLE in ps,
                      timeout=WAIT):
        """Until busybox init has run its sysinit and reads its signals
        (it leaves them pending until then)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if booted(container.exec_run(['/bin/busybox', 'ps']).output):
                return
            time.sleep(0.2)
        self.fail('busybox init did not finish booting')

    def in_guest(self, server, *argv):
        """Run a busybox command in the guest: its exit code and output.

        A reboot, power off or halt may end it (its namespace ends, or
        init's SIGTERM to all reaches it) before it exits by itself: tests
        look at what it did instead.
        """
        result = self.container(server).exec_run(('/bin/busybox',) + argv)
        return result.exit_code, result.output.decode()

    def started_at(self, server):
        return self.container(server).attrs['State']['StartedAt']

    def wait_for_restart(self, server, before):
        """Until the container runs again, started after ``before``."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            state = self.container(server).attrs['State']
            if state['Running'] and state['StartedAt'] != before:
                return state
            time.sleep(0.1)
        self.fail('the container did not start again: %s' % state)

    def exit_codes(self, server, since):
        """Exit codes of the container's ends since a time, in order."""
        stream = self.docker.api.events(
            since='%.6f' % since, until='%.6f' % (time.time() + 1),
            decode=True, filters={
                'container': self.container(server).id, 'event': 'die'})
        try:
            return [int(e['Actor']['Attributes']['exitCode'])
                    for e in stream]
        finally:
            stream.close()

    def nova_actions(self, server):
        """The server's actions through Nova, sorted by name."""
        return sorted(a['action'] for a in
                      self.api.get_instance_actions(server['id']))

    def assert_shut_off_by_the_guest(self, server, code, actions):
        server = self.wait_for(server, status='SHUTOFF')
        self.assertEqual(power_state.SHUTDOWN,
                         server['OS-EXT-STS:power_state'])
        container = self.container(server)
        self.assertEqual(('exited', code), (
            container.status, container.attrs['State']['ExitCode']))
        # Nova stopped it on the STOPPED event (its "stop" action).
        self.assertEqual(actions, self.nova_actions(server))
        # And it starts again.
        server = self._start_server(server)
        self.wait_for_init(self.container(server))
        return server

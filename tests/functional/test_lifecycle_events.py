"""Changes of containers reach Nova's API as they happen: lifecycle events.

Nova's periodic power state sync never runs here (the harness runs no
periodic task, and no test of this module calls one), so a state the API
shows for a change made behind Nova's back came from the driver's lifecycle
events. The STOPPED event's delay is short here, so that a test can wait
past it.
"""

import signal

from nova.compute import power_state
from nova.virt import event as virtevent

from tests.functional import lifecycle_events_base

# A guest that fills its memory on SIGUSR2.
GREEDY = ('/bin/sh -c "trap \'x=a; while true; do x=$x$x; done\' USR2; '
          'while true; do sleep 1 & wait $!; done"')


class TestLifecycleEvents(lifecycle_events_base.LifecycleEventsTestCase):

    # -- behind Nova's back -----------------------------------------------

    def test_docker_kill(self):
        server = self.boot()
        self.container(server).kill()
        self.assert_off(server)

    def test_docker_stop(self):
        server = self.boot()
        self.container(server).stop(timeout=10)
        self.assert_off(server)

    def test_process_that_exits_by_itself(self):
        server = self.boot()
        container = self.container(server)
        # The guest fails on SIGUSR1, as a crashing program would.
        self.wait_for_trap(container, signal.SIGUSR1)
        container.exec_run(['kill', '-USR1', '1'])
        self.assertEqual(70, container.wait()['StatusCode'])
        self.assert_off(server)

    def test_process_killed_for_lack_of_memory(self):
        self.image('guest', properties={'os_command_line': GREEDY})
        server = self.boot(flavor_id=self._create_flavor(memory_mb=32))
        container = self.container(server)
        self.wait_for_trap(container, signal.SIGUSR2)
        container.kill(signal='USR2')
        # Killed by the kernel (the engine's OOMKilled flag depends on the
        # cgroup setup: a nested engine may not see the event).
        self.assertEqual(128 + 9, container.wait()['StatusCode'])
        self.assert_off(server)

    def test_docker_pause_and_unpause(self):
        server = self.boot()
        container = self.container(server)
        container.pause()
        # Nova leaves an instance paused behind its back ACTIVE.
        server = self.wait_for(
            server, **{'OS-EXT-STS:power_state': power_state.PAUSED})
        self.assertEqual('ACTIVE', server['status'])
        container.unpause()
        self.wait_for(server,
                      **{'OS-EXT-STS:power_state': power_state.RUNNING})

    def test_docker_restart_leaves_the_server_running(self):
        server = self.boot()
        self.container(server).restart(timeout=0)
        self.assertNotIn(virtevent.EVENT_LIFECYCLE_STOPPED, self.handled_until(
            server, virtevent.EVENT_LIFECYCLE_STARTED))
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)
        self.assertEqual('running', self.container(server).status)

    def test_docker_start_of_a_stopped_server_is_undone(self):
        server = self._stop_server(self.boot())
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_STOPPED)
        container = self.container(server)
        container.start()
        # Nova stops what it holds stopped, as with libvirt.
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_STARTED)
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_STOPPED)
        container.reload()
        self.assertEqual('exited', container.status)
        self.assert_stays(server, 'SHUTOFF', power_state.SHUTDOWN)

    # -- Nova's own operations --------------------------------------------

    def test_novas_stop_and_start(self):
        server = self.boot()
        server = self._stop_server(server)
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_STOPPED)
        self.assert_stays(server, 'SHUTOFF', power_state.SHUTDOWN)
        server = self._start_server(server)
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_STARTED)
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)

    def test_novas_pause_and_unpause(self):
        server = self.boot()
        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_PAUSED)
        self.assert_stays(server, 'PAUSED', power_state.PAUSED)
        self.api.post_server_action(server['id'], {'unpause': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_RESUMED)
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)

    def test_novas_suspend_and_resume(self):
        server = self.boot()
        server = self._suspend_server(server)
        # The engine paused the container: a suspend, as Nova knows it.
        self.assertNotIn(virtevent.EVENT_LIFECYCLE_PAUSED, self.handled_until(
            server, virtevent.EVENT_LIFECYCLE_SUSPENDED))
        self.assert_stays(server, 'SUSPENDED', power_state.SUSPENDED)
        server = self._resume_server(server)
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_RESUMED)
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)

    def test_novas_soft_and_hard_reboot(self):
        server = self.boot()
        for hard in (False, True):
            server = self._reboot_server(server, hard=hard)
            self.assertNotIn(
                virtevent.EVENT_LIFECYCLE_STOPPED, self.handled_until(
                    server, virtevent.EVENT_LIFECYCLE_STARTED))
            self.assert_stays(server, 'ACTIVE', power_state.RUNNING)
            self.assertEqual('running', self.container(server).status)

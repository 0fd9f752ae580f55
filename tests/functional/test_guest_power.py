"""The guest's own reboot and power off, and what it cannot do with them.

Guests get CAP_SYS_BOOT (``[docker] guest_reboot``, on by default). The
"init" test image runs busybox's init, as CirrOS does: its ``reboot``,
``poweroff`` and ``halt`` ask init, which calls reboot(2); ``-f`` calls it
at once. The kernel then ends the container's PID namespace, and the engine
reports the container exited with 129 (reboot) or 130 (power off, halt).
As in test_lifecycle_events, no periodic task runs: what the API shows
came from the driver.
"""

import os
import re
import time

from nova.compute import power_state
from nova.virt import event as virtevent

from novadocker import guest_power
from tests.functional import base
from tests.functional import guest_power_base

CAP_SYS_BOOT = 22


def host_file(path):
    # Nova's harness poisons open() for what a test should not read.
    with base._UNPOISONED['builtins.open'](path) as f:
        return f.read().strip()


class TestGuestPower(guest_power_base.GuestPowerTestCase):

    def test_guest_reboot_restarts_the_container(self):
        server = self.boot_init()
        for command in (('reboot',), ('reboot', '-f')):
            before = self.started_at(server)
            self.in_guest(server, *command)
            self.wait_for_restart(server, before)
            # Nova heard only of the start, and did nothing.
            self.assertNotIn(
                virtevent.EVENT_LIFECYCLE_STOPPED, self.handled_until(
                    server, virtevent.EVENT_LIFECYCLE_STARTED))
            self.assert_stays(server, 'ACTIVE', power_state.RUNNING)
            self.assertEqual('running', self.container(server).status)
            self.wait_for_init(self.container(server))
        self.assertEqual(['create'], self.nova_actions(server))
        # Init booted three times: the boot and two reboots.
        self.assertEqual(3, self.console(server).count('booted'))

    def test_guest_poweroff_and_halt_shut_the_server_off(self):
        server = self.boot_init()
        self.in_guest(server, 'poweroff')
        server = self.assert_shut_off_by_the_guest(
            server, 130, ['create', 'stop'])
        self.in_guest(server, 'halt', '-f')
        self.assert_shut_off_by_the_guest(
            server, 130, ['create', 'start', 'stop', 'stop'])

    def test_novas_soft_reboot_of_busybox_init_is_no_kill(self):
        # A kill at the timeout would take far longer than the test waits.
        self.flags(soft_reboot_timeout=240, group='docker')
        server = self.boot_init()
        before, since = self.started_at(server), time.time()
        server = self._reboot_server(server, hard=False)
        self.wait_for_restart(server, before)
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)
        # Init rebooted on the stop signal (129): the stop was not the
        # timeout's SIGKILL (137), and the driver started it once.
        self.assertEqual([128 + 1], self.exit_codes(server, since))
        self.assertEqual(['create', 'reboot'], self.nova_actions(server))

    def test_novas_soft_reboot_of_cirros_is_no_kill(self):
        if 'cirros' not in self.tarballs:
            self.skipTest('no CirrOS rootfs in ../shared/cirros')
        self.flags(soft_reboot_timeout=240, group='docker')
        server = self.boot('cirros')
        # Without a network its boot scripts look for the metadata
        # service for a while.
        self.wait_for_init(self.container(server),
                           booted=lambda ps: b'rc.sysinit' not in ps,
                           timeout=180)
        before, since = self.started_at(server), time.time()
        server = self._reboot_server(server, hard=False)
        self.wait_for_restart(server, before)
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)
        self.assertEqual([128 + 1], self.exit_codes(server, since))

    def test_guest_reboot_while_nova_compute_is_down(self):
        self.flags(resume_guests_state_on_host_boot=True)
        server = self.boot_init()
        # The driver stops watching the engine, as when nova-compute stops.
        self.compute.manager.driver.cleanup_host(self.compute.host)
        before = self.started_at(server)
        self.in_guest(server, 'reboot', '-f')
        container = self.container(server)
        self.assertEqual(128 + 1, container.wait(
            timeout=guest_power_base.WAIT)['StatusCode'])
        time.sleep(1)
        container.reload()
        self.assertEqual('exited', container.status)
        # At its start Nova finds it stopped while its record says running,
        # and resume_guests_state_on_host_boot starts it.
        self.compute = self.restart_compute_service(self.compute)
        self.wait_for_restart(server, before)
        self.assert_stays(server, 'ACTIVE', power_state.RUNNING)

    def test_novas_stop_is_not_taken_for_a_guest_reboot(self):
        server = self.boot_init()
        server = self._stop_server(server)
        self.handled_until(server, virtevent.EVENT_LIFECYCLE_STOPPED)
        server = self.assert_stays(server, 'SHUTOFF', power_state.SHUTDOWN)
        # Busybox init answered the stop signal with reboot(2), and stays
        # stopped.
        container = self.container(server)
        self.assertEqual(('exited', 128 + 1), (
            container.status, container.attrs['State']['ExitCode']))

    def test_docker_stop_behind_novas_back_is_not_a_guest_reboot(self):
        server = self.boot_init()
        container = self.container(server)
        container.stop(timeout=60)
        container.reload()
        self.assertEqual(128 + 1, container.attrs['State']['ExitCode'])
        self.assert_off(server)

    def test_a_guest_that_reboots_in_a_loop_is_stopped(self):
        self.image('guest', properties={'os_command_line': (
            "/bin/sh -c 'echo up; sleep 1; /bin/busybox reboot -f'")})
        server = self.boot()
        server = self._wait_for_server_parameter(
            server, {'status': 'SHUTOFF'}, max_retries=120)
        # The boot and as many restarts as the budget allows.
        self.assertEqual(1 + guest_power.MAX_REBOOTS,
                         self.console(server).count('up'))
        self.assertEqual(128 + 1,
                         self.container(server).attrs['State']['ExitCode'])

    def test_without_guest_reboot_the_guest_cannot_reboot(self):
        self.flags(guest_reboot=False, group='docker')
        server = self.boot()
        container = self.container(server)
        self.assertFalse(container.attrs['HostConfig']['CapAdd'])
        code, out = self.in_guest(server, 'reboot', '-f')
        self.assertNotEqual(0, code)
        self.assertIn('Operation not permitted', out)
        self.assertEqual('running', self.container(server).status)


class TestGuestPowerSafety(guest_power_base.GuestPowerTestCase):
    """A guest's reboot(2) ends its own container, nothing else."""

    def assert_untouched(self, server, state):
        now = self.container(server).attrs['State']
        self.assertEqual((True, state['Pid'], state['StartedAt']),
                         (now['Running'], now['Pid'], now['StartedAt']))

    def test_guest_reboot_and_halt_end_only_their_container(self):
        boot_id = host_file('/proc/sys/kernel/random/boot_id')
        cad = host_file('/proc/sys/kernel/ctrl-alt-del')
        server, other = self.boot_init(), self.boot_init()
        others = self.container(other).attrs['State']
        before = self.started_at(server)
        self.in_guest(server, 'reboot', '-f')
        self.wait_for_restart(server, before)
        self.in_guest(server, 'halt', '-f')
        self.wait_for(server, status='SHUTOFF')
        self.assert_untouched(other, others)
        self.assertEqual('ACTIVE', self.api.get_server(other['id'])['status'])
        self.assertEqual(boot_id, host_file('/proc/sys/kernel/random/boot_id'))
        self.assertEqual(cad, host_file('/proc/sys/kernel/ctrl-alt-del'))

    def test_guest_keeps_seccomp_and_gains_only_sys_boot(self):
        server = self.boot()
        host_config = self.container(server).attrs['HostConfig']
        self.assertEqual(['SYS_BOOT'], host_config['CapAdd'])
        self.assertFalse(host_config['Privileged'])
        self.assertEqual(['no-new-privileges'], host_config['SecurityOpt'])
        code, status = self.in_guest(server, 'cat', '/proc/self/status')
        self.assertEqual(0, code, status)
        fields = dict(re.findall(r'^(\w+):\s*(\S+)', status, re.M))
        # Filtered by Docker's default profile.
        self.assertEqual('2', fields['Seccomp'])
        self.assertTrue(int(fields['CapEff'], 16) & 1 << CAP_SYS_BOOT)
        # The same effective set as without the option, plus CAP_SYS_BOOT.
        self.flags(guest_reboot=False, group='docker')
        plain = self.boot()
        code, status = self.in_guest(plain, 'cat', '/proc/self/status')
        plain_caps = dict(re.findall(r'^(\w+):\s*(\S+)', status, re.M))
        self.assertEqual(int(plain_caps['CapEff'], 16) | 1 << CAP_SYS_BOOT,
                         int(fields['CapEff'], 16))

    def test_guest_cannot_load_a_kernel_or_reach_the_hosts_reboot(self):
        cad = host_file('/proc/sys/kernel/ctrl-alt-del')
        server = self.boot_init()
        # Its own PID namespace, without which reboot(2) would be the
        # host's: checked before anything calls it.
        code, ns = self.in_guest(server, 'readlink', '/proc/1/ns/pid')
        self.assertEqual(0, code, ns)
        self.assertNotEqual(os.readlink('/proc/self/ns/pid'), ns.strip())
        self.assertEqual('', self.container(server).attrs['HostConfig'].get(
            'PidMode') or '')
        state = self.container(server).attrs['State']
        result = self.container(server).exec_run(
            [self.put_program(server, 'sysboot')])
        self.assertEqual(0, result.exit_code, result.output)
        calls = dict(line.split() for line in
                     result.output.decode().splitlines())
        self.assertEqual({
            # Docker's seccomp profile: whatever the capabilities.
            'kexec_load': 'EPERM', 'kexec_file_load': 'EPERM',
            # reboot(2) in a PID namespace: only restart and power off.
            'reboot_CAD_ON': 'EINVAL', 'reboot_CAD_OFF': 'EINVAL',
            'reboot_KEXEC': 'EINVAL', 'reboot_SW_SUSPEND': 'EINVAL'},
            calls)
        self.assert_untouched(server, state)
        self.assertEqual(cad, host_file('/proc/sys/kernel/ctrl-alt-del'))

"""What a guest reads of itself: its flavor's CPUs and RAM, its own uptime.

Through LXCFS (``lxcfs --enable-cfs``), mounted where ``[docker]
lxcfs_path`` says; Tempest checks these from inside guests.
"""

import os

from novadocker import conf
from novadocker import lxcfs
from tests.functional import base

CONF = conf.CONF
# /proc/uptime (the host's and LXCFS's) is in hundredths of a second, and
# LXCFS counts a process's age from its start in clock ticks.
ROUNDING = 0.05


def host_uptime():
    with open('/proc/uptime') as f:
        return float(f.read().split()[0])


def cpu_list(count):
    return '0' if count == 1 else '0-%d' % (count - 1)


class TestGuestView(base.DockerDriverTestCase):

    def setUp(self):
        path = CONF.docker.lxcfs_path
        if not lxcfs.provided(path):
            reason = ('LXCFS is not mounted at %s: run "lxcfs --enable-cfs '
                      '%s" (see doc/source/admin/lxcfs.rst)' % (path, path))
            if os.environ.get('NOVADOCKER_REQUIRE_LXCFS') == '1':
                self.fail(reason)
            self.skipTest(reason)
        super().setUp()

    def run_in(self, server, *command):
        result = self.container(server).exec_run(list(command))
        self.assertEqual(0, result.exit_code, result.output)
        return result.output.decode().strip()

    def processors(self, server):
        # Tempest's test_verify_created_server_vcpus
        return int(self.run_in(server, 'grep', '-c', '^processor',
                               '/proc/cpuinfo'))

    def mem_total_kib(self, server):
        line = self.run_in(server, 'grep', '^MemTotal:', '/proc/meminfo')
        value, unit = line.split()[1:]
        self.assertEqual('kB', unit)
        return int(value)

    def read(self, server, path):
        # With read(2), as grep, cut and libc do: busybox's cat uses
        # sendfile(2), which LXCFS cannot answer right (see
        # doc/source/admin/lxcfs.rst).
        return self.run_in(server, 'head', '-n', '1', path)

    def uptime(self, server):
        return float(self.read(server, '/proc/uptime').split()[0])

    def assert_flavor(self, server, vcpus, memory_mb):
        # LXCFS shows no more CPUs than the host has.
        cpus = min(vcpus, os.cpu_count())
        self.assertEqual(cpus, self.processors(server))
        # What sysconf(_SC_NPROCESSORS_ONLN) counts (glibc reads it).
        self.assertEqual(cpu_list(cpus), self.read(
            server, '/sys/devices/system/cpu/online'))
        self.assertEqual(cpus, int(self.run_in(
            server, 'grep', '-c', '^cpu[0-9]', '/proc/stat')))
        self.assertEqual(memory_mb * 1024, self.mem_total_kib(server))

    def test_cpus_and_memory_are_the_flavors(self):
        small = self._create_flavor(memory_mb=512, vcpu=1, disk=1)
        large = self._create_flavor(memory_mb=768, vcpu=2, disk=1)
        one = self.boot(flavor_id=small)
        two = self.boot(flavor_id=large)
        # Both run at once: each reader gets its own container's view.
        self.assert_flavor(one, 1, 512)
        self.assert_flavor(two, 2, 768)

    def test_the_guest_cannot_write_to_what_the_host_provides(self):
        server = self.boot()
        container = self.container(server)
        mounts = container.attrs['HostConfig']['Mounts']
        self.assertEqual(sorted(lxcfs.provided(CONF.docker.lxcfs_path)),
                         sorted(m['Target'] for m in mounts))
        for mount in mounts:
            self.assertEqual('bind', mount['Type'])
            self.assertTrue(mount['ReadOnly'], mount)
        for path in ('/proc/meminfo', '/proc/uptime', '/proc/cpuinfo'):
            result = container.exec_run(
                ['sh', '-c', 'echo 1 > %s' % path])
            self.assertNotEqual(0, result.exit_code)
            self.assertIn(b'Read-only file system', result.output)

    def test_uptime_is_the_guests_and_restarts_with_it(self):
        flavor = self._create_flavor(memory_mb=512, vcpu=1, disk=1)
        before = host_uptime()
        server = self.boot(flavor_id=flavor)
        uptime, now = self.uptime(server), host_uptime()
        # The guest's clock started after the boot request, not with the
        # host.
        self.assertLessEqual(uptime, now - before + ROUNDING)
        # Tempest's reboot test: the boot time (now less the uptime, here
        # on the host's clock) grows.
        booted = now - uptime
        for change in (lambda: self._reboot_server(server, hard=False),
                       lambda: self._reboot_server(server, hard=True),
                       lambda: self._start_server(
                           self._stop_server(server))):
            before = host_uptime()
            change()
            uptime, now = self.uptime(server), host_uptime()
            self.assertLessEqual(uptime, now - before + ROUNDING)
            self.assertGreater(now - uptime, booted)
            booted = now - uptime
            # The engine mounted LXCFS's files again at the start.
            self.assert_flavor(server, 1, 512)

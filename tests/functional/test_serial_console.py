"""The guest's console through Nova's API, as nova-serialproxy reaches it.

The API hands out a URL with a token; the proxy looks the token up (host and
port, which the driver gave), asks the compute service whether the port is
still the instance's (``validate_console_port``) and opens a plain TCP
connection there. The tests do the same, then talk to the guest over that
connection: a busybox shell reading its standard input.
"""

import random
import socket
import time
import urllib.parse

from nova import context as nova_context
from nova import objects
from nova.tests.functional.api import client as api_client

from tests.functional import base

# A guest whose init is a shell reading the console.
SHELL = "/bin/sh -c 'echo console-ready; exec /bin/sh'"
WAIT = 30


def free_range(size):
    """``size`` consecutive ports that nothing holds now, as a range."""
    for _ in range(50):
        start = random.randrange(20000, 30000)
        probes = []
        try:
            for port in range(start, start + size):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(('127.0.0.1', port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return start, start + size
    raise AssertionError('no free range of %d ports' % size)


class SerialConsoleBase(base.DockerDriverTestCase):
    """A port range of its own; the proxy's ways to the console."""

    PORTS = 4

    def _setup_compute_service(self):
        start, stop = free_range(self.PORTS)
        self.ports = range(start, stop)
        self.flags(enabled=True, port_range='%d:%d' % (start, stop),
                   proxyclient_address='127.0.0.1',
                   base_url='ws://proxy.example:6083/',
                   group='serial_console')
        # The shell, as PID 1, ignores the stop signal: killed after 1 s.
        self.flags(shutdown_timeout=1)
        return super()._setup_compute_service()

    def boot_shell(self):
        if 'shell' not in self.image_ids:
            self.image_ids['shell'] = self.images.add(
                'test-shell', self.tarballs['guest'],
                properties={'os_command_line': SHELL})
        server = self.boot('shell')
        self.wait_for_console(server, 'console-ready')
        return server

    def console_url(self, server):
        return self.api.api_post(
            '/servers/%s/remote-consoles' % server['id'],
            {'remote_console': {'protocol': 'serial', 'type': 'serial'}}
        ).body['remote_console']['url']

    def console_error(self, server):
        """The API's status and message for a console it refuses."""
        try:
            url = self.console_url(server)
        except api_client.OpenStackApiException as e:
            return e.response.status_code, e.response.text
        self.fail('the API gave a console: %s' % url)

    def endpoint(self, server):
        """Host and port as the proxy gets them: from the URL's token,
        checked with the compute service."""
        url = urllib.parse.urlparse(self.console_url(server))
        self.assertEqual(('ws', 'proxy.example:6083'),
                         (url.scheme, url.netloc))
        [token] = urllib.parse.parse_qs(url.query)['token']
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings['cell1']) as cctxt:
            info = objects.ConsoleAuthToken.validate(cctxt, token)
            instance = objects.Instance.get_by_uuid(cctxt, server['id'])
        self.assertEqual(('serial', server['id']),
                         (info.console_type, info.instance_uuid))
        self.assertTrue(self.compute.manager.validate_console_port(
            ctxt, instance, str(info.port), 'serial'))
        self.assertEqual('127.0.0.1', info.host)
        self.assertIn(info.port, self.ports)
        return info.host, info.port

    def connect(self, server):
        sock = socket.create_connection(self.endpoint(server), timeout=WAIT)
        self.addCleanup(sock.close)
        return sock

    def read_until(self, sock, text, then_send=None):
        """What the console shows until ``text``; ``then_send`` is sent
        again every second until then (input before the attach is lost)."""
        deadline = time.monotonic() + WAIT
        seen = b''
        sock.settimeout(1)
        while text not in seen:
            if time.monotonic() > deadline:
                self.fail('the console did not show %r; it showed %r' % (
                    text, seen))
            if then_send:
                sock.sendall(then_send)
            try:
                data = sock.recv(4096)
            except socket.timeout:
                continue
            if not data:
                self.fail('the console closed after %r' % seen)
            seen += data
        return seen

    def assert_closed(self, host, port):
        deadline = time.monotonic() + WAIT
        while True:
            try:
                socket.create_connection((host, port), timeout=WAIT).close()
            except ConnectionRefusedError:
                return
            if time.monotonic() > deadline:
                self.fail('%s:%d still listens' % (host, port))
            time.sleep(0.2)


class SerialConsoleTestCase(SerialConsoleBase):

    def test_keystrokes_in_output_out(self):
        server = self.boot_shell()
        sock = self.connect(server)
        # Both of the guest's streams; $((...)) shows the shell ran it.
        shown = self.read_until(
            sock, b'err-6',
            b'echo marker-$((6*7)); echo err-$((2*3)) >&2\n')
        # The engine keeps no order between the two streams.
        if b'marker-42\n' not in shown:
            shown += self.read_until(sock, b'marker-42\n')
        self.assertNotIn(b'$((', shown)
        # The console log keeps it too.
        self.wait_for_console(server, 'marker-42')

    def test_same_port_while_it_runs_and_through_a_reboot(self):
        server = self.boot_shell()
        sock = self.connect(server)
        endpoint = sock.getpeername()
        self.read_until(sock, b'first-1', b'echo first-$((0+1))\n')
        # Asked again (another user, the proxy's check): the same listener.
        self.assertEqual(endpoint, self.endpoint(server))
        self._reboot_server(server, hard=True)
        # The same connection reaches the guest's new process.
        self.read_until(sock, b'again-2', b'echo again-$((1+1))\n')

    def test_listener_goes_at_stop_and_delete(self):
        server = self.boot_shell()
        sock = self.connect(server)
        host, port = sock.getpeername()
        server = self._stop_server(server)
        self.assert_closed(host, port)
        # The client's connection ended with it.
        try:
            self.assertEqual(b'', sock.recv(4096))
        except ConnectionResetError:
            pass
        # Nothing to reach while it is off.
        status, message = self.console_error(server)
        self.assertEqual(409, status, message)
        self.assertIn('not ready', message)
        server = self._start_server(server)
        sock = self.connect(server)
        host, port = sock.getpeername()
        self.read_until(sock, b'back-3', b'echo back-$((1+2))\n')
        self._delete_server(server)
        self.assert_closed(host, port)
        self.assertEqual([], self.containers_of(server['id']))

    def test_each_instance_its_port_until_the_range_is_full(self):
        servers = [self.boot_shell() for _ in range(self.PORTS + 1)]
        socks = [self.connect(server) for server in servers[:-1]]
        ports = [sock.getpeername()[1] for sock in socks]
        self.assertEqual(sorted(self.ports), sorted(ports))
        # Each console is its own guest's.
        for server, sock in zip(servers, socks):
            hostname = server['OS-EXT-SRV-ATTR:hostname'].encode()
            self.read_until(sock, b'guest-' + hostname,
                            b'echo guest-$(hostname)\n')
        status, message = self.console_error(servers[-1])
        self.assertEqual(400, status, message)
        self.assertIn('free port', message)
        # A deleted instance's port serves the next one.
        self._delete_server(servers[0])
        sock = self.connect(servers[-1])
        self.assertEqual(ports[0], sock.getpeername()[1])
        self.read_until(sock, b'last-5', b'echo last-$((2+3))\n')

    def test_a_new_request_after_nova_compute_restarts(self):
        server = self.boot_shell()
        sock = self.connect(server)
        host, port = sock.getpeername()
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.computes[self.host] = self.compute
        # The old service's listener went with it.
        self.assert_closed(host, port)
        sock = self.connect(server)
        self.read_until(sock, b'restarted-6', b'echo restarted-$((3+3))\n')


class SerialConsoleDisabledTestCase(base.DockerDriverTestCase):

    def test_the_api_refuses(self):
        # [serial_console] enabled = False, Nova's default.
        server = self.boot('guest')
        try:
            self.api.api_post(
                '/servers/%s/remote-consoles' % server['id'],
                {'remote_console': {'protocol': 'serial', 'type': 'serial'}})
        except api_client.OpenStackApiException as e:
            self.assertEqual(400, e.response.status_code)
            self.assertIn('Unavailable console type serial',
                          e.response.text)
        else:
            self.fail('the API gave a serial console')
        # The driver says so too, for validate_console_port's call.
        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'])
        self.assertRaisesRegex(
            Exception, 'Unavailable console type serial',
            self.compute.manager.driver.get_serial_console, None, instance)


class SerialConsoleTTYTestCase(SerialConsoleBase):
    """[docker] console_tty: the console is a terminal."""

    PORTS = 2

    def _setup_compute_service(self):
        self.flags(console_tty=True, group='docker')
        return super()._setup_compute_service()

    def test_a_terminal_echoes_and_the_shell_sees_a_tty(self):
        server = self.boot_shell()
        self.assertTrue(self.container(server).attrs['Config']['Tty'])
        sock = self.connect(server)
        shown = self.read_until(
            sock, b'tty-20', b'[ -t 0 ] && echo tty-$((4*5))\n')
        # The terminal echoed the line typed, as typed.
        self.assertIn(b'echo tty-$((4*5))', shown)
        # The console log has it too.
        self.wait_for_console(server, 'tty-20')
        # The engine's detach keys end its attach, not the console.
        sock.sendall(b'\x10\x11')
        self.read_until(sock, b'still-6', b'echo still-$((2*3))\n')

    def test_login_on_the_console_gives_a_login_prompt(self):
        server = self.boot('login')
        sock = self.connect(server)
        hostname = server['OS-EXT-SRV-ATTR:hostname'].encode()
        # A return asks for the prompt again.
        self.read_until(sock, hostname + b' login:', b'\r')

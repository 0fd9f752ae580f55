"""The e2e gate's serial console client (tests/e2e/guest/serial-console).

Against websockify, the proxy nova-serialproxy is built on, in front of TCP
consoles made here: a login and a shell on a real terminal (which echoes
what is typed, as the guest's does), a shell on a pipe, a console that only
echoes, one that refuses the password.
"""

import os
import pty
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CLIENT = os.path.join(ROOT, 'tests', 'e2e', 'guest', 'serial-console')
COMMAND = 'echo e2e-console-$((40 + 2))'
ANSWER = 'e2e-console-42'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _relay(conn, fd):
    """Bytes both ways between a socket and a file descriptor."""
    def up():
        try:
            while data := os.read(fd, 4096):
                conn.sendall(data)
        except OSError:
            pass

    threading.Thread(target=up, daemon=True).start()
    try:
        while data := conn.recv(4096):
            os.write(fd, data)
    except OSError:
        pass


def _readline(conn):
    line = b''
    while not line.endswith(b'\n'):
        data = conn.recv(1)
        if not data:
            raise EOFError
        line += data
    return line.strip().decode()


def _shell_on_terminal(conn):
    """sh -i on a pty: a prompt, and the echo of what is typed."""
    main_fd, tty_fd = pty.openpty()
    proc = subprocess.Popen(['sh', '-i'], stdin=tty_fd, stdout=tty_fd,
                            stderr=tty_fd, start_new_session=True,
                            env={'PATH': os.environ['PATH'], 'PS1': '$ '})
    os.close(tty_fd)
    try:
        _relay(conn, main_fd)
    finally:
        proc.kill()
        proc.wait()
        os.close(main_fd)


def login_console(conn):
    """A login that answers only once poked (nothing is replayed), then a
    shell on a terminal."""
    while True:
        user = _readline(conn)
        if not user:
            conn.sendall(b'\r\ne2e login: ')
            continue
        conn.sendall(b'Password: ')
        password = _readline(conn)
        if (user, password) == ('cirros', 'gocubsgo'):
            break
        conn.sendall(b'\r\nLogin incorrect\r\ne2e login: ')
    _shell_on_terminal(conn)


def pipe_shell_console(conn):
    """A shell reading its standard input: no prompt, no echo."""
    subprocess.run(['sh'], stdin=conn.fileno(), stdout=conn.fileno(),
                   stderr=subprocess.STDOUT, check=False)


def echo_console(conn):
    """A console that gives back what is typed, and nothing else."""
    while data := conn.recv(4096):
        conn.sendall(data)


@pytest.fixture
def proxy():
    """proxy(console) -> the ws:// URL of websockify in front of it."""
    servers, procs = [], []

    def start(console):
        server = socket.create_server(('127.0.0.1', 0))
        servers.append(server)

        def serve():
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    try:
                        console(conn)
                    except (EOFError, OSError):
                        pass

        threading.Thread(target=serve, daemon=True).start()
        ws_port = _free_port()
        procs.append(subprocess.Popen(
            [sys.executable, '-m', 'websockify', '127.0.0.1:%d' % ws_port,
             '127.0.0.1:%d' % server.getsockname()[1]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        until = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(('127.0.0.1', ws_port), 1).close()
                break
            except OSError:
                if time.monotonic() > until or procs[-1].poll() is not None:
                    raise RuntimeError('websockify did not start')
                time.sleep(0.1)
        return 'ws://127.0.0.1:%d/?token=e2e-token' % ws_port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait()
    for server in servers:
        server.close()


def run_client(url, *args, command=COMMAND, expect=ANSWER, timeout=20):
    return subprocess.run(
        [sys.executable, CLIENT, '--timeout', str(timeout), *args, url,
         command, expect],
        capture_output=True, text=True, timeout=timeout + 30)


def test_logs_in_and_reads_the_answer(proxy):
    result = run_client(proxy(login_console))
    assert result.returncode == 0, result.stderr
    assert "'e2e-console-42' showed after logging in" in result.stdout
    # the console's transcript, the typed command echoed by the terminal
    assert 'e2e login:' in result.stderr
    assert 'echo e2e-console-$((40 + 2))' in result.stderr
    assert 'gocubsgo' not in result.stderr
    # and logged out, for the console's next user
    assert result.stderr.rstrip().endswith('exit')


def test_without_a_login_prompt_types_the_command(proxy):
    result = run_client(proxy(pipe_shell_console), '--login-wait', '2')
    assert result.returncode == 0, result.stderr
    assert "'e2e-console-42' showed" in result.stdout
    assert 'after logging in' not in result.stdout


def test_the_echo_of_the_command_is_no_answer(proxy):
    result = run_client(proxy(echo_console), '--login-wait', '1', timeout=8)
    assert result.returncode == 1
    assert "'e2e-console-42' did not show in 8 s (no login prompt)" in \
        result.stderr
    assert 'echo e2e-console-$((40 + 2))' in result.stderr


def test_a_refused_login_is_an_error(proxy):
    result = run_client(proxy(login_console), '--password', 'wrong')
    assert result.returncode == 2
    assert 'the guest refused the login of cirros' in result.stderr
    assert 'wrong' not in result.stderr.replace(
        'the guest refused', '')


def test_a_closed_port_is_an_error():
    result = run_client('ws://127.0.0.1:%d/?token=secret' % _free_port())
    assert result.returncode == 2
    assert 'cannot open ws://127.0.0.1:' in result.stderr
    # the token is the console's key: never printed
    assert 'secret' not in result.stderr


def test_an_answer_inside_the_command_is_refused():
    result = run_client('ws://127.0.0.1:1/', command='echo e2e-x',
                        expect='e2e-x')
    assert result.returncode == 2
    assert 'EXPECT is part of COMMAND' in result.stderr

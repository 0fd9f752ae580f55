"""The guest's console over TCP, for Nova's serial console proxy.

``nova-serialproxy`` connects to the ``host:port`` that the driver's
``get_serial_console`` returns and relays raw bytes between that TCP
connection and the user's websocket, without any handshake. Where libvirt
has QEMU listen there, this module does: one listener per instance, bound
to ``[serial_console] proxyclient_address`` on a port of ``[serial_console]
port_range`` (taken and given back through ``nova.console.serial``), from
the first request for the instance's console until its stop or delete.

A client connected to the listener is attached to the container through the
engine's attach API: what it sends goes to the guest's standard input
(PID 1's, which is the container's console), and what the guest writes on
its standard output and error comes back. A container made without a TTY
(``tty=False``) sends its output in frames of an 8-byte header and a
payload; :class:`Demuxer` takes the payloads out. One client at a time: a
new connection replaces the one before (a user who opens the console again
is not locked out by a stale session). Output while no client is connected
is not kept here; the console log keeps it.

A restart of the container (a reboot) ends the attach; the engine's start
event (``novadocker.events``) brings it back without dropping the client.
Everything runs in one thread of nova-compute's pool, a selector loop over
every listener and connection, so that the number of consoles costs no
threads; the other threads hand it their changes through a queue.
Listeners live in nova-compute's memory: after its restart a new request
makes a new one.
"""

import collections
import selectors
import socket
import struct
import threading
import time

import docker.errors
from nova.console import serial
from nova.console import type as console_type
from nova import exception
from nova import thread_pool_factory
from oslo_log import log as logging

from novadocker import engine

LOG = logging.getLogger(__name__)

# The engine's frames without a TTY: stream type (0 stdin, 1 stdout,
# 2 stderr), three zero bytes, the payload's length (big-endian).
FRAME_HEADER = struct.Struct('>BxxxL')
STDOUT, STDERR = 1, 2
RECV_SIZE = 65536
# A peer that takes nothing for this long loses its connection, so that
# one stuck console cannot stop the loop that serves the others.
SEND_TIMEOUT = 10
# How long close() waits for the loop to close the sockets.
CLOSE_TIMEOUT = 10
# At most one attach a second after the engine ends one (see _from_guest).
REATTACH_INTERVAL = 1
ATTACH_PARAMS = {'stdin': 1, 'stdout': 1, 'stderr': 1, 'stream': 1}


class Demuxer:
    """The payloads of the engine's multiplexed attach stream.

    Fed the stream in pieces of any size, returns the bytes of the guest's
    stdout and stderr in the order they came.
    """

    def __init__(self):
        self._pending = b''
        self._left = 0

    def feed(self, data):
        out = []
        data = self._pending + data
        self._pending = b''
        while data:
            if self._left:
                out.append(data[:self._left])
                taken = len(out[-1])
                self._left -= taken
                data = data[taken:]
                continue
            if len(data) < FRAME_HEADER.size:
                self._pending = data
                break
            kind, self._left = FRAME_HEADER.unpack_from(data)
            if kind not in (0, STDOUT, STDERR):
                raise ValueError('not a multiplexed stream (stream type %d)'
                                 % kind)
            data = data[FRAME_HEADER.size:]
        return b''.join(out)


def listen(address):
    """A listening socket on a free port of the range at ``address``."""
    for _ in range(3):
        # Raises SocketPortRangeExhaustedException when all are taken.
        port = serial.acquire_port(address)
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sockaddr)
            sock.listen(1)
        except OSError as e:
            # Taken between nova's check and this bind.
            sock.close()
            serial.release_port(address, port)
            LOG.warning('Serial console port %s:%d: %s', address, port, e)
            continue
        sock.setblocking(False)
        return sock, port
    raise exception.SocketPortRangeExhaustedException(host=address)


class _Console:
    """One instance's listener, its client and its attach."""

    def __init__(self, instance_uuid, address, listener, port):
        self.uuid = instance_uuid
        self.address = address
        self.listener = listener
        self.port = port
        self.client = None
        self.attach = None
        self.attach_io = None
        self.demuxer = None
        self.reattached = None


class SerialConsoles:
    """The listeners of this host's instances and the loop serving them."""

    def __init__(self, engine_):
        self._engine = engine_
        self._lock = threading.Lock()
        self._consoles = {}
        self._commands = collections.deque()
        self._selector = None
        self._wakeup = None
        self._future = None
        self._halt = None

    # -- what the driver calls, from any thread ---------------------------

    def endpoint(self, instance_uuid, address):
        """The host and port of an instance's console, listening."""
        with self._lock:
            console = self._consoles.get(instance_uuid)
            if console is None:
                self._start()
                listener, port = listen(address)
                console = _Console(instance_uuid, address, listener, port)
                self._consoles[instance_uuid] = console
                self._send(self._register, console)
                LOG.info('Serial console listening on %s:%d', address,
                         port, instance_uuid=instance_uuid)
        return console_type.ConsoleSerial(host=console.address,
                                          port=console.port)

    def close(self, instance_uuid):
        """No more console for the instance: its port is free again."""
        with self._lock:
            console = self._consoles.pop(instance_uuid, None)
        if console is None:
            return
        done = threading.Event()
        self._send(self._close, console, done)
        if not done.wait(CLOSE_TIMEOUT):
            LOG.warning('The serial console loop did not close the '
                        'listener in time', instance_uuid=instance_uuid)
        LOG.info('Serial console on %s:%d closed', console.address,
                 console.port, instance_uuid=instance_uuid)

    def reattach(self, instance_uuid):
        """The container started again: attach its connected client."""
        with self._lock:
            console = self._consoles.get(instance_uuid)
        if console is not None:
            self._send(self._attach, console)

    def stop(self):
        with self._lock:
            uuids = list(self._consoles)
        for instance_uuid in uuids:
            self.close(instance_uuid)
        with self._lock:
            if self._future is not None:
                self._halt.set()
                self._send(None)
                self._future = None

    # -- the loop ----------------------------------------------------------

    def _start(self):
        """The loop's thread, at the first console (lock held)."""
        if self._future is not None:
            return
        self._halt = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._wakeup = socket.socketpair()
        self._wakeup[0].setblocking(False)
        self._selector.register(self._wakeup[0], selectors.EVENT_READ,
                                self._woken)
        self._future = thread_pool_factory.spawn(
            self._run, self._selector, self._wakeup, self._halt)

    def _send(self, command, *args):
        self._commands.append((command, args))
        try:
            self._wakeup[1].send(b'x')
        except OSError:
            pass

    def _run(self, selector, wakeup, halt):
        try:
            while not halt.is_set():
                for key, _ in selector.select():
                    try:
                        key.data(key.fileobj)
                    except Exception:
                        LOG.exception('Serial console relay failed')
        finally:
            for sock in wakeup:
                sock.close()
            selector.close()

    def _woken(self, sock):
        try:
            sock.recv(RECV_SIZE)
        except BlockingIOError:
            pass
        while self._commands:
            command, args = self._commands.popleft()
            if command is not None:
                command(*args)

    def _register(self, console):
        self._selector.register(console.listener, selectors.EVENT_READ,
                                lambda sock: self._accept(console))

    def _close(self, console, done):
        try:
            if console.client is not None:
                # Reset, not closed: a close from this side would hold the
                # port in TIME_WAIT, where nova's check of a free port
                # (a bind without SO_REUSEADDR) fails for a minute.
                console.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack('ii', 1, 0))
            self._drop_client(console)
            self._forget(console.listener)
            serial.release_port(console.address, console.port)
        finally:
            done.set()

    def _forget(self, sock):
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    def _accept(self, console):
        try:
            client, peer = console.listener.accept()
        except BlockingIOError:
            return
        # One client at a time: the newest.
        self._drop_client(console)
        LOG.info('Serial console client %s connected', peer[0],
                 instance_uuid=console.uuid)
        client.settimeout(SEND_TIMEOUT)
        console.client = client
        self._selector.register(client, selectors.EVENT_READ,
                                lambda sock: self._from_client(console))
        self._attach(console)

    def _drop_client(self, console):
        self._detach(console)
        if console.client is not None:
            self._forget(console.client)
            console.client = None

    def _attach(self, console):
        """Attach a connected client to the running container."""
        if console.client is None or console.attach is not None:
            return
        container = self._engine.find(console.uuid)
        if container is None or not container.attrs['State'].get('Running'):
            # Stopped: its next start attaches (reattach).
            return
        try:
            io_ = self._engine.client.api.attach_socket(
                container.id, params=dict(ATTACH_PARAMS))
        except docker.errors.APIError as e:
            LOG.info('Serial console not attached: %s', e.explanation,
                     instance_uuid=console.uuid)
            return
        except engine.UNREACHABLE as e:
            LOG.warning('Serial console not attached: %s', e,
                        instance_uuid=console.uuid)
            return
        sock = getattr(io_, '_sock', io_)
        sock.setblocking(False)
        early = _buffered(io_)
        sock.settimeout(SEND_TIMEOUT)
        console.attach, console.attach_io = sock, io_
        console.demuxer = (None if container.attrs['Config'].get('Tty')
                           else Demuxer())
        self._selector.register(sock, selectors.EVENT_READ,
                                lambda sock: self._from_guest(console))
        if early:
            self._to_client(console, early)

    def _detach(self, console):
        if console.attach is not None:
            self._forget(console.attach)
            # The socket's last reference: the engine sees the end.
            console.attach_io.close()
            console.attach = console.attach_io = console.demuxer = None

    def _from_client(self, console):
        data = _recv(console.client)
        if not data:
            LOG.info('Serial console client gone',
                     instance_uuid=console.uuid)
            self._drop_client(console)
            return
        if console.attach is None:
            # Between a stop and the next start: the guest is not there.
            return
        if not _sent(console, console.attach, data, 'input lost'):
            self._detach(console)

    def _from_guest(self, console):
        data = _recv(console.attach)
        if not data:
            # The container's process ended (its next start attaches
            # again), or the engine detached (a TTY's detach keys, Ctrl-P
            # Ctrl-Q, typed on the console): attached again while it runs.
            self._detach(console)
            now = time.monotonic()
            if (console.reattached is None or
                    now - console.reattached >= REATTACH_INTERVAL):
                console.reattached = now
                self._attach(console)
            return
        self._to_client(console, data)

    def _to_client(self, console, data):
        if console.demuxer is not None:
            try:
                data = console.demuxer.feed(data)
            except ValueError as e:
                LOG.warning('Serial console: %s', e,
                            instance_uuid=console.uuid)
                self._detach(console)
                return
        if data and not _sent(console, console.client, data,
                              'client dropped'):
            self._drop_client(console)


def _recv(sock):
    """Bytes from a readable socket; b'' at its end or on an error."""
    try:
        return sock.recv(RECV_SIZE)
    except OSError:
        return b''


def _sent(console, sock, data, failure):
    """Whether all of ``data`` went (in SEND_TIMEOUT); else logged."""
    try:
        sock.sendall(data)
    except OSError as e:
        LOG.info('Serial console %s: %s', failure, e,
                 instance_uuid=console.uuid)
        return False
    return True


def _buffered(io_):
    """What the HTTP response's reader took past the attach's headers."""
    try:
        reader = io_._response.raw._fp.fp
    except AttributeError:
        return b''
    early = reader.peek() if reader is not None else b''
    return reader.read(len(early)) if early else b''

"""A stand-in for the Docker engine's socket that can 'die' on cue.

It forwards a unix socket to the real engine byte for byte until a request
line matches ``cut_on``; then it drops every connection and stops listening,
as a crashed dockerd would.  Only tests that inject this fault use it.
With ``record=True`` it also keeps what the driver sent, which
``requests()`` gives back as HTTP requests.
"""

import os
import socket
import threading


class EngineProxy:
    def __init__(self, directory, target='/var/run/docker.sock',
                 cut_on=None, record=False):
        self.path = os.path.join(directory, 'docker.sock')
        self.target = target
        self.cut_on = cut_on
        self.cut = threading.Event()
        self.sockets = []
        # What each connection carried to the engine, when recording.
        self.sent = [] if record else None
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return 'unix://' + self.path

    def _accept(self):
        while not self.cut.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self.sockets += [client, upstream]
            record = None
            if self.sent is not None:
                record = bytearray()
                self.sent.append(record)
            threading.Thread(target=self._pipe,
                             args=(client, upstream, True, record),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False),
                             daemon=True).start()

    def _pipe(self, src, dst, inspect, record=None):
        try:
            while data := src.recv(65536):
                if inspect and self.cut_on and self.cut_on in data:
                    self.die()
                    return
                if record is not None:
                    record += data
                dst.sendall(data)
        except (OSError, EOFError):
            # EOFError: eventlet's green sockets, under Nova's harness.
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def die(self):
        self.cut.set()
        for s in self.sockets + [self.server]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def requests(self):
        """(request line, headers, body) of every request sent so far."""
        found = []
        for sent in self.sent:
            data = bytes(sent)
            while b'\r\n\r\n' in data:
                head, data = data.split(b'\r\n\r\n', 1)
                line, *fields = head.decode('latin-1').split('\r\n')
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (f.partition(':') for f in fields)}
                if headers.get('transfer-encoding') == 'chunked':
                    body, data = _dechunk(data)
                else:
                    size = int(headers.get('content-length', 0))
                    body, data = data[:size], data[size:]
                found.append((line, headers, body))
        return found


def _dechunk(data):
    """A chunked body and what follows it (a request sent in part ends
    with what came so far)."""
    body = bytearray()
    while b'\r\n' in data:
        size, rest = data.split(b'\r\n', 1)
        size = int(size.split(b';')[0], 16)
        if size == 0:
            return bytes(body), rest.split(b'\r\n', 1)[-1]
        body += rest[:size]
        data = rest[size + 2:]
    return bytes(body), b''

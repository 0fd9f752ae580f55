"""A stand-in for the Docker engine's socket that can 'die' on cue.

It forwards a unix socket to the real engine byte for byte until a request
line matches ``cut_on``; then it drops every connection and stops listening,
as a crashed dockerd would.  Only tests that inject this fault use it.
"""

import os
import socket
import threading


class EngineProxy:
    def __init__(self, directory, target='/var/run/docker.sock',
                 cut_on=None):
        self.path = os.path.join(directory, 'docker.sock')
        self.target = target
        self.cut_on = cut_on
        self.cut = threading.Event()
        self.sockets = []
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
            threading.Thread(target=self._pipe, args=(client, upstream, True),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False),
                             daemon=True).start()

    def _pipe(self, src, dst, inspect):
        try:
            while data := src.recv(65536):
                if inspect and self.cut_on and self.cut_on in data:
                    self.die()
                    return
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

"""A Docker engine of the test's own, which the test may restart.

The machine's engine is shared with other work and must not be restarted;
this one is a second dockerd with its own data, exec root (and containerd
under it), socket and bridge, and no iptables rules. Only tests that
restart the engine use it. (``--bridge=none`` would make dockerd delete
the machine's ``docker0`` at its start.)
"""

import os
import shutil
import subprocess
import tempfile
import time

import docker
import fixtures

START_SECONDS = 60


class PrivateEngine(fixtures.Fixture):
    """``data_root`` and ``storage_driver``: the engine's storage, by
    default a directory of its own and the engine's choice.
    ``userns_remap``: dockerd's ``--userns-remap`` (``default`` makes the
    engine create the ``dockremap`` user and its /etc/subuid range)."""

    def __init__(self, data_root=None, storage_driver=None,
                 userns_remap=None):
        super().__init__()
        self.data_root = data_root
        self.storage_driver = storage_driver
        self.userns_remap = userns_remap

    def _setUp(self):
        # Short: unix socket paths under it must fit 108 bytes.
        self.directory = tempfile.mkdtemp(prefix='ndd-', dir='/tmp')
        self.addCleanup(shutil.rmtree, self.directory, True)
        if self.userns_remap:
            # The remapped root must pass through to its data root.
            os.chmod(self.directory, 0o711)
        self.url = 'unix://' + os.path.join(self.directory, 'docker.sock')
        self.bridge = 'ndb' + os.path.basename(self.directory)[-8:]
        subprocess.run(['ip', 'link', 'add', 'name', self.bridge,
                        'type', 'bridge'], check=True)
        self.addCleanup(subprocess.run,
                        ['ip', 'link', 'del', self.bridge], check=False)
        self.process = None
        self.addCleanup(self.stop)
        self.start()
        self.client = docker.DockerClient(base_url=self.url,
                                          version='auto')
        self.addCleanup(self._remove_containers)

    def start(self):
        log = open(os.path.join(self.directory, 'dockerd.log'), 'ab')
        storage = ['--storage-driver', self.storage_driver] \
            if self.storage_driver else []
        remap = ['--userns-remap', self.userns_remap] \
            if self.userns_remap else []
        self.process = subprocess.Popen(
            ['dockerd', '--data-root',
             self.data_root or os.path.join(self.directory, 'data'),
             *storage, *remap,
             '--exec-root', os.path.join(self.directory, 'exec'),
             '--pidfile', os.path.join(self.directory, 'dockerd.pid'),
             '-H', self.url, '--bridge', self.bridge, '--iptables=false',
             '--ip-masq=false', '--shutdown-timeout=1'],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('private dockerd did not start: %s' %
                                   self._last_error())
            time.sleep(0.2)

    def _last_error(self):
        """The engine's last line above info level: the directory and its
        log go at cleanup."""
        with open(os.path.join(self.directory, 'dockerd.log'),
                  errors='replace') as f:
            lines = [line.strip() for line in f
                     if 'level=info' not in line and line.strip()]
        return lines[-1] if lines else '(dockerd logged nothing)'

    def _answers(self):
        try:
            with docker.APIClient(base_url=self.url, version='auto',
                                  timeout=5) as client:
                return client.ping()
        except Exception:
            return False

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(START_SECONDS)
        self.process = None

    def restart(self):
        self.stop()
        self.start()

    def _remove_containers(self):
        if self.process is None:
            return
        for container in self.client.containers.list(all=True):
            container.remove(force=True)

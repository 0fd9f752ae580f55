"""The watch of this host's containers, with native threads, on the real
engine.

nova-compute may run without eventlet: the watcher then holds a thread of
the pool while it reads the engine's event stream, and stop() must end it.
Skipped where no Docker engine answers.
"""

import queue

import docker
from nova import utils
from oslo_utils import uuidutils
import pytest

from novadocker import conf
from novadocker import engine
from novadocker import events
from tests.fixtures import engine_proxy
from tests.fixtures import images

WAIT = 30


@pytest.fixture
def client():
    try:
        client = docker.DockerClient(base_url=conf.CONF.docker.api_url,
                                     version='auto')
        client.ping()
    except Exception:
        pytest.skip('needs a Docker engine')
    yield client
    client.close()


@pytest.fixture
def host():
    name = 'events-test-%s' % uuidutils.generate_uuid()[:8]
    conf.CONF.set_override('host', name)
    yield name
    conf.CONF.clear_override('host')


class Guests:
    """Containers as the driver makes them, on this host or another."""

    def __init__(self, client):
        self.client = client
        self.image = images.import_image(client, images.busybox_rootfs(),
                                         'guest', images.GUEST_COMMAND)
        self.made = []

    def create(self, on_host):
        uuid = uuidutils.generate_uuid()
        container = self.client.containers.create(
            self.image, network_mode='none',
            labels={engine.UUID_LABEL: uuid, engine.HOST_LABEL: on_host})
        self.made.append(container)
        return uuid, container

    def start(self, on_host):
        uuid, container = self.create(on_host)
        container.start()
        return uuid, container

    def remove(self):
        for container in self.made:
            container.remove(force=True)


@pytest.fixture
def guests(client):
    made = Guests(client)
    yield made
    made.remove()


class Seen:
    """What the watcher handed to its two callbacks."""

    def __init__(self):
        self.starts = queue.Queue()
        self.changes = queue.Queue()
        self.backs = queue.Queue()

    def watcher(self, host):
        return events.ContainerWatcher(
            engine.Engine(), host, on_start=self.starts.put,
            on_change=lambda uuid, action: self.changes.put((uuid, action)),
            on_engine_back=self.backs.put)

    def start(self):
        return self.starts.get(timeout=WAIT)

    def change(self):
        return self.changes.get(timeout=WAIT)


def test_starts_and_changes_of_this_hosts_containers(host, guests):
    assert utils.concurrency_mode_threading()
    seen = Seen()
    watcher = seen.watcher(host)
    try:
        # Running before the watch: found by the check at connection.
        before, _ = guests.start(host)
        watcher.start()
        assert before == seen.start()
        # Another host's start first: were it reported, it would come first.
        guests.start('another-host')
        uuid, container = guests.start(host)
        assert (uuid, 'start') == seen.change()
        assert uuid == seen.start()
        container.pause()
        assert (uuid, 'pause') == seen.change()
        container.unpause()
        assert (uuid, 'unpause') == seen.change()
        container.kill()
        assert (uuid, 'die') == seen.change()
        watcher.stop()
        watcher._future.result(timeout=WAIT)
        # The first container's state was Nova's to take at its start.
        assert seen.starts.empty() and seen.changes.empty()
        # Not at the first connection: nova-compute's start takes stock.
        assert seen.backs.empty()
    finally:
        watcher.stop()


def test_after_a_reconnection_every_container_is_news(client, host, guests,
                                                      tmp_path):
    proxy = engine_proxy.EngineProxy(str(tmp_path))
    conf.CONF.set_override('api_url', proxy.url, group='docker')
    seen = Seen()
    watcher = seen.watcher(host)
    try:
        stopping, container = guests.start(host)
        created, _ = guests.create(host)
        watcher.start()
        assert stopping == seen.start()
        # The engine goes away, and a container stops meanwhile: its die
        # event is lost with the stream.
        proxy.die()
        container.kill()
        container.wait()
        proxy = engine_proxy.EngineProxy(str(tmp_path))
        changes = {seen.change(), seen.change()}
        assert {(stopping, None), (created, None)} == changes
        # Each stopped one, for its restart policy, before its change.
        assert {stopping, created} == {seen.backs.get_nowait(),
                                       seen.backs.get_nowait()}
        watcher.stop()
        watcher._future.result(timeout=WAIT)
        assert seen.starts.empty() and seen.changes.empty()
        assert seen.backs.empty()
    finally:
        watcher.stop()
        proxy.die()
        conf.CONF.clear_override('api_url', group='docker')

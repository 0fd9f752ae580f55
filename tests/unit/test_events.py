"""The watch of container starts with native threads, on the real engine.

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
from tests import images

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


def test_starts_of_this_hosts_containers_reach_the_callback(client, host):
    assert utils.concurrency_mode_threading()
    image = images.import_image(client, images.busybox_rootfs(), 'guest',
                                images.GUEST_COMMAND)
    made = []

    def start(on_host):
        uuid = uuidutils.generate_uuid()
        container = client.containers.create(
            image, network_mode='none', labels={engine.UUID_LABEL: uuid,
                                                engine.HOST_LABEL: on_host})
        made.append(container)
        container.start()
        return uuid

    seen = queue.Queue()
    watcher = events.StartWatcher(engine.Engine(), host, seen.put)
    try:
        # Running before the watch: found by the check at connection.
        before = start(host)
        watcher.start()
        assert before == seen.get(timeout=WAIT)
        # Another host's start first: were it reported, it would come first.
        start('another-host')
        assert start(host) == seen.get(timeout=WAIT)
        watcher.stop()
        watcher._future.result(timeout=WAIT)
        assert seen.empty()
    finally:
        watcher.stop()
        for container in made:
            container.remove(force=True)

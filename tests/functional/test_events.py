"""The watch of this host's containers, with native threads, on the real
engine.

nova-compute may run without eventlet: the watcher then holds a thread of
the pool while it reads the engine's event stream, and stop() must end it.
This package patches eventlet in at import, for Nova's harness, unless
OS_NOVA_DISABLE_EVENTLET_PATCHING is set: tools/run-functional.sh runs
these tests in a process of their own with it set. No Nova service runs
here: the watcher alone, on the engine.
"""

import queue

import fixtures
from nova import utils
from oslo_config import fixture as config_fixture
from oslo_utils import uuidutils
from oslotest import base

from novadocker import conf
from novadocker import engine
from novadocker import engine_compat
from novadocker import events
from tests.fixtures import engine as test_engine
from tests.fixtures import engine_proxy
from tests.fixtures import images

WAIT = 30


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
            self.image, network_mode='none', name=engine.name_of(uuid),
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


class Seen:
    """What the watcher handed to its callbacks."""

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


class TestContainerWatcher(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        # Under eventlet the stream's socket would be green: not the case
        # these tests are for.
        self.assertTrue(utils.concurrency_mode_threading(),
                        'eventlet is patched in: run this module with '
                        'OS_NOVA_DISABLE_EVENTLET_PATCHING=1, as '
                        'tools/run-functional.sh does')
        self.conf = self.useFixture(config_fixture.Config(conf.CONF))
        self.conf.config(api_url=test_engine.URL, group='docker')
        # The driver's client: the containers are made as the driver makes
        # them, on whichever engine.
        self.client, _ = engine_compat.connect(test_engine.URL, 'auto', 60)
        self.addCleanup(self.client.close)
        self.client.ping()
        self.host = 'events-test-%s' % uuidutils.generate_uuid()[:8]
        self.conf.config(host=self.host)
        self.guests = Guests(self.client)
        self.addCleanup(self.guests.remove)

    def test_starts_and_changes_of_this_hosts_containers(self):
        seen = Seen()
        watcher = seen.watcher(self.host)
        try:
            # Running before the watch: found by the check at connection.
            before, _ = self.guests.start(self.host)
            watcher.start()
            self.assertEqual(before, seen.start())
            # Another host's start first: were it reported, it would come
            # first.
            self.guests.start('another-host')
            uuid, container = self.guests.start(self.host)
            self.assertEqual((uuid, 'start'), seen.change())
            self.assertEqual(uuid, seen.start())
            container.pause()
            self.assertEqual((uuid, 'pause'), seen.change())
            container.unpause()
            self.assertEqual((uuid, 'unpause'), seen.change())
            container.kill()
            self.assertEqual((uuid, 'die'), seen.change())
            watcher.stop()
            watcher._future.result(timeout=WAIT)
            # The first container's state was Nova's to take at its start.
            self.assertTrue(seen.starts.empty() and seen.changes.empty())
            # Not at the first connection: nova-compute's start takes stock.
            self.assertTrue(seen.backs.empty())
        finally:
            watcher.stop()

    def test_after_a_reconnection_every_container_is_news(self):
        directory = self.useFixture(fixtures.TempDir()).path
        proxy = engine_proxy.EngineProxy(directory)
        self.conf.config(api_url=proxy.url, group='docker')
        seen = Seen()
        watcher = seen.watcher(self.host)
        try:
            stopping, container = self.guests.start(self.host)
            created, _ = self.guests.create(self.host)
            watcher.start()
            self.assertEqual(stopping, seen.start())
            # The engine goes away, and a container stops meanwhile: its
            # die event is lost with the stream.
            proxy.die()
            container.kill()
            container.wait()
            proxy = engine_proxy.EngineProxy(directory)
            changes = {seen.change(), seen.change()}
            self.assertEqual({(stopping, None), (created, None)}, changes)
            # Each stopped one, for its restart policy, before its change.
            self.assertEqual({stopping, created}, {seen.backs.get_nowait(),
                                                   seen.backs.get_nowait()})
            watcher.stop()
            watcher._future.result(timeout=WAIT)
            self.assertTrue(seen.starts.empty() and seen.changes.empty())
            self.assertTrue(seen.backs.empty())
        finally:
            watcher.stop()
            proxy.die()

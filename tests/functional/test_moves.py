"""Servers that move: resize and cold migration, through Nova's API on the
real engine. Files the guest wrote are read back after every move."""

import hashlib
import os
import tarfile
from unittest import mock

import fixtures
from nova.compute import task_states
from nova import context as nova_context
from nova import objects

from tests.fixtures import private_engine
from tests.functional import base

MIB = 2 ** 20


class MovesTestCase(base.DockerDriverTestCase):

    # Moves are casts: the API answers 202 and the outcome is in the
    # server's state and its migration, as in a real cloud.
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.small = self._create_flavor(memory_mb=256, vcpu=1, disk=1,
                                         ephemeral=0, name='small')
        self.large = self._create_flavor(memory_mb=512, vcpu=2, disk=2,
                                         ephemeral=0, name='large')

    def boot_small(self):
        server = self._build_server(image_uuid=self.image('guest'),
                                    flavor_id=self.small, networks='none')
        server = self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ACTIVE',
            max_retries=base.BOOT_RETRIES)
        self.addCleanup(self.delete_servers, [server['id']])
        return server

    def write(self, server, path, text):
        result = self.container(server).exec_run(
            ['/bin/sh', '-c', 'echo %s > %s' % (text, path)])
        self.assertEqual(0, result.exit_code, result.output)

    def read(self, server, path):
        result = self.container(server).exec_run(['/bin/cat', path])
        return result.output.decode().strip() if result.exit_code == 0 \
            else None

    def action(self, server, body, expected):
        self.api.post_server_action(server['id'], body)
        return self._wait_for_state_change(server, expected,
                                           max_retries=base.BOOT_RETRIES)

    def resize(self, server, flavor_id, expected='VERIFY_RESIZE'):
        return self.action(server, {'resize': {'flavorRef': flavor_id}},
                           expected)

    def memory_limit(self, server):
        return self.container(server).attrs['HostConfig']['Memory']

    def leftovers(self, server):
        """What a move may leave on the engine: kept sources, root
        images."""
        kept = self.docker.containers.list(all=True, filters={
            'name': '%s.*_resize' % server['id']})
        images = self.docker.images.list(
            name='nova-docker-root/%s' % server['id'])
        return kept, images

    def assert_nothing_left(self, server):
        kept, images = self.leftovers(server)
        self.assertEqual([], kept)
        self.assertEqual([], images)
        self.assertEqual([], self.sent_roots())

    def sent_roots(self):
        """Glance images of guests' roots sent for a move."""
        return [i for i in self.glance.detail(None)
                if i['name'].startswith('nova-docker-root-')]


class TestResize(MovesTestCase):
    """Resize on one host: the source keeps the guest for a revert."""

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)

    def test_resize_up_and_confirm_keeps_the_guests_files(self):
        server = self.boot_small()
        self.write(server, '/root/before', 'written-before')
        self.assertEqual(256 * MIB, self.memory_limit(server))
        server = self.resize(server, self.large)
        self.assertEqual('written-before', self.read(server, '/root/before'))
        self.assertEqual(512 * MIB, self.memory_limit(server))
        host_config = self.container(server).attrs['HostConfig']
        self.assertEqual(2 * host_config['CpuPeriod'],
                         host_config['CpuQuota'])
        # A revert stays possible until the confirm.
        kept, _ = self.leftovers(server)
        self.assertEqual({'nova-%s_resize' % server['id'],
                          'nova-%s-sandbox_resize' % server['id']},
                         {c.name for c in kept})
        self.assertFalse(any(c.attrs['State']['Running'] for c in kept
                             if not c.name.endswith('-sandbox_resize')))
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual('written-before', self.read(server, '/root/before'))
        kept, images = self.leftovers(server)
        self.assertEqual([], kept)
        # The one the container runs from.
        self.assertEqual(1, len(images))
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assert_nothing_left(server)

    def test_revert_gives_back_the_guest_as_it_was(self):
        server = self.boot_small()
        self.write(server, '/root/before', 'written-before')
        server = self.resize(server, self.large)
        self.write(server, '/root/after', 'written-after')
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self._wait_for_migration_status(server, ['reverted'])
        self.assertEqual('written-before', self.read(server, '/root/before'))
        self.assertIsNone(self.read(server, '/root/after'))
        self.assertEqual(256 * MIB, self.memory_limit(server))
        self.assertTrue(self.container(server).attrs['State']['Running'])
        self.assert_nothing_left(server)

    def test_a_restart_in_the_middle_gives_the_guest_back(self):
        server = self.boot_small()
        self.write(server, '/root/before', 'written-before')
        # Nova fails after the driver's part at the source (the fault), and
        # leaves the server as a crash would: ERROR, RESIZE_MIGRATING.
        with mock.patch('nova.compute.manager.ComputeManager.'
                        '_terminate_volume_connections',
                        side_effect=IOError('crash')):
            self.api.post_server_action(
                server['id'], {'resize': {'flavorRef': self.large}})
            server = self._wait_for_state_change(server, 'ERROR')
        self.assertIsNone(self.container(server))
        # A crash leaves the task as it was (the failure cleared it).
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings['cell1']) as cctxt:
            instance = objects.Instance.get_by_uuid(
                cctxt, server['id'], expected_attrs=['migration_context'])
            self.assertIsNotNone(instance.migration_context)
            instance.task_state = task_states.RESIZE_MIGRATING
            instance.save()
        self.restart_compute_service(self.compute)
        server = self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})
        self.assertTrue(self.container(server).attrs['State']['Running'])
        self.assertEqual('written-before', self.read(server, '/root/before'))
        self.assertEqual(256 * MIB, self.memory_limit(server))
        self.assert_nothing_left(server)

    def test_a_stopped_server_stays_stopped(self):
        server = self.boot_small()
        self.write(server, '/root/before', 'written-before')
        server = self.action(server, {'os-stop': None}, 'SHUTOFF')
        server = self.resize(server, self.large)
        self.assertFalse(self.container(server).attrs['State']['Running'])
        server = self.action(server, {'confirmResize': None}, 'SHUTOFF')
        self.assertFalse(self.container(server).attrs['State']['Running'])
        server = self.action(server, {'os-start': None}, 'ACTIVE')
        self.assertEqual('written-before', self.read(server, '/root/before'))
        self.assertEqual(512 * MIB, self.memory_limit(server))

    def test_two_resizes_then_delete_leave_nothing(self):
        server = self.boot_small()
        self.write(server, '/root/first', 'one')
        server = self.resize(server, self.large)
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.write(server, '/root/second', 'two')
        server = self.resize(server, self.small)
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual('one', self.read(server, '/root/first'))
        self.assertEqual('two', self.read(server, '/root/second'))
        self.assertEqual(256 * MIB, self.memory_limit(server))
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assert_nothing_left(server)


class TestColdMigration(MovesTestCase):
    """Between two compute services (here on one engine)."""

    def test_migrate_then_confirm_moves_the_guest(self):
        server = self.boot_small()
        self.write(server, '/root/before', 'written-before')
        other = self.start_another_compute()
        server = self.action(server, {'migrate': {'host': other}},
                             'VERIFY_RESIZE')
        self.assertEqual(other, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(other, self.container(server).labels[
            'org.openstack.nova.host'])
        self.assertEqual('written-before', self.read(server, '/root/before'))
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        kept, _ = self.leftovers(server)
        self.assertEqual([], kept)
        self.assertIn(server['id'],
                      self.computes[other].manager.driver
                      .list_instance_uuids())
        self.assertNotIn(server['id'],
                         self.compute.manager.driver.list_instance_uuids())

    def test_migrate_then_revert_returns_the_guest(self):
        server = self.boot_small()
        self.write(server, '/root/before', 'written-before')
        other = self.start_another_compute()
        server = self.action(server, {'migrate': {'host': other}},
                             'VERIFY_RESIZE')
        self.write(server, '/root/after', 'written-after')
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self._wait_for_migration_status(server, ['reverted'])
        self.assertEqual(self.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(self.host, self.container(server).labels[
            'org.openstack.nova.host'])
        self.assertEqual('written-before', self.read(server, '/root/before'))
        self.assertIsNone(self.read(server, '/root/after'))
        self.assert_nothing_left(server)


class TestMigrationBetweenEngines(MovesTestCase):
    """To a compute service with a Docker engine of its own: the guest's
    root goes through Glance."""

    def setUp(self):
        super().setUp()
        # Where the source spools the layers it sends (not below Nova's
        # state_path, site-packages in the harness).
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        self.server = self.boot_small()
        self.write(self.server, '/root/before', 'written-before')
        # The first service holds its engine already; the second one
        # connects to an engine of the test's own.
        self.own = self.useFixture(private_engine.PrivateEngine())
        self.flags(api_url=self.own.url, group='docker')
        self.other = self.start_another_compute()

    def moved(self):
        return self.own.client.containers.get('nova-%s' % self.server['id'])

    def read_moved(self, path):
        result = self.moved().exec_run(['/bin/cat', path])
        return result.output.decode().strip() if result.exit_code == 0 \
            else None

    def test_migrate_then_confirm(self):
        server = self.action(self.server, {'migrate': {'host': self.other}},
                             'VERIFY_RESIZE')
        self.assertEqual(self.other, server['OS-EXT-SRV-ATTR:host'])
        self.assertTrue(self.moved().attrs['State']['Running'])
        self.assertEqual('written-before', self.read_moved('/root/before'))
        # Glance held it for the move only.
        self.assertEqual([], self.sent_roots())
        self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertIsNone(self.container(server))
        kept, images = self.leftovers(server)
        self.assertEqual(([], []), (kept, images))
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assertEqual([], self.own.client.containers.list(all=True))
        self.assertEqual([], self.own.client.images.list(
            name='nova-docker-root/%s' % server['id']))

    def test_only_what_the_guest_changed_goes_through_glance(self):
        server = self.action(self.server, {'migrate': {'host': self.other}},
                             'VERIFY_RESIZE')
        self.assertEqual('written-before', self.read_moved('/root/before'))
        # The source keeps its root image until the confirm.
        [root] = self.docker.images.list(
            name='nova-docker-root/%s' % server['id'])
        whole = sum(len(chunk) for chunk in self.docker.api.get_image(
            root.id))
        # The sent image is gone from Glance; its upload stays on disk.
        [sent] = [path for image_id, path in self.images.paths.items()
                  if image_id not in self.image_ids.values()]
        self.assertLess(os.path.getsize(sent), whole)
        base = self.image('guest')
        base_layers = self.docker.images.get(
            'glance/%s' % base).attrs['RootFS']['Layers']
        with tarfile.open(sent) as tar:
            sent_layers = {'sha256:' + hashlib.sha256(
                tar.extractfile(member).read()).hexdigest()
                for member in tar if member.isreg() and
                member.name.endswith('/layer.tar')}
        self.assertEqual(set(), set(base_layers) & sent_layers)
        self.assertEqual(1, len(sent_layers))
        # The destination took them from Glance, as a boot does.
        self.assertIn(base, self.images.downloads)
        self.assertEqual(base_layers, self.own.client.images.get(
            'glance/%s' % base).attrs['RootFS']['Layers'])
        self.action(server, {'confirmResize': None}, 'ACTIVE')

    def test_migrate_then_revert(self):
        server = self.action(self.server, {'migrate': {'host': self.other}},
                             'VERIFY_RESIZE')
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self._wait_for_migration_status(server, ['reverted'])
        self.assertEqual(self.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('written-before', self.read(server, '/root/before'))
        self.assertEqual([], self.own.client.containers.list(
            all=True, filters={'name': server['id']}))
        self.assertEqual([], self.own.client.images.list(
            name='nova-docker-root/%s' % server['id']))
        self.assert_nothing_left(server)

    def test_a_failed_upload_gives_the_guest_back_at_the_source(self):
        with mock.patch('novadocker.image.upload',
                        side_effect=IOError('Glance went away')):
            self.api.post_server_action(
                self.server['id'], {'migrate': {'host': self.other}})
            server = self._wait_for_server_parameter(
                self.server, {'status': 'ACTIVE',
                              'OS-EXT-STS:task_state': None})
        self.assertEqual(self.host, server['OS-EXT-SRV-ATTR:host'])
        self._wait_for_migration_status(server, ['error'])
        self.assertTrue(self.container(server).attrs['State']['Running'])
        self.assertEqual('written-before', self.read(server, '/root/before'))
        self.assertEqual([], self.own.client.containers.list(
            all=True, filters={'name': server['id']}))
        self.assert_nothing_left(server)

    def test_shelve_offload_then_unshelve_on_the_other_host(self):
        server = self.action(self.server, {'shelve': {}},
                             'SHELVED_OFFLOADED')
        self.assertIsNone(self.container(server))
        # The guest's files are in the shelve snapshot in Glance.
        server = self.action(server, {'unshelve': {'host': self.other}},
                             'ACTIVE')
        self.assertEqual(self.other, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('written-before', self.read_moved('/root/before'))
        self.assertEqual([], self.docker.containers.list(
            all=True, filters={'name': server['id']}))

    def test_evacuate_then_the_old_host_comes_back(self):
        left = self.container(self.server)
        self.computes[self.host].stop()
        [service] = self.api.get_services(binary='nova-compute',
                                          host=self.host)
        self.api.put_service(service['id'], {'forced_down': True})
        server = self._evacuate_server(self.server, expected_host=self.other)
        # Rebuilt from its image: what the guest wrote is lost, as Nova
        # documents for hosts without shared storage.
        server = self.action(server, {'os-start': None}, 'ACTIVE')
        self.assertTrue(self.moved().attrs['State']['Running'])
        self.assertIsNone(self.read_moved('/root/before'))
        # The old host back: its leftover goes, never started again.
        self.flags(api_url=base.ENGINE_URL, group='docker')
        self.restart_compute_service(self.computes[self.host])
        self.api.put_service(service['id'], {'forced_down': False})
        self.assertEqual([], self.docker.containers.list(
            all=True, filters={'id': left.id}))
        self.assertTrue(self.moved().attrs['State']['Running'])

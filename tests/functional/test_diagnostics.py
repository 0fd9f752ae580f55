"""Server diagnostics through Nova's API, measured on the real engine."""

import copy

import fixtures
import jsonschema
from nova.api.openstack.compute.schemas import server_diagnostics as schema
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.tests.functional.api import client

from tests.functional import base

# The guest burns CPU for this long, by the engine's clock.
BURN = ('/bin/busybox timeout 2 /bin/busybox sh -c "while :; do :; done"; '
        'true')
FILL_MIB = 32


def standard_schema():
    """Nova's 2.48 response schema, but for ``driver``.

    Nova's Diagnostics object and this schema list Nova's in-tree drivers
    only, so the driver field of a Docker instance stays null.
    """
    relaxed = copy.deepcopy(schema.index_response_v248)
    relaxed['properties']['driver'] = {'type': 'null'}
    return relaxed


class DiagnosticsTestCase(base.DockerDriverTestCase):

    def setUp(self):
        super().setUp()
        # Nova's harness turns a response its schema refuses into a 500;
        # deployments default to a logged warning (see standard_schema).
        self.flags(response_validation='warn', group='api')

    def diagnostics(self, server, microversion='2.48'):
        self.api.microversion = microversion
        body = self.api.get_server_diagnostics(server['id'])
        if microversion == '2.48':
            jsonschema.validate(body, standard_schema())
        return body

    def exec_in(self, server, command):
        result = self.container(server).exec_run(
            ['/bin/busybox', 'sh', '-c', command])
        self.assertEqual(0, result.exit_code, result.output)

    def instance(self, server):
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings['cell1']) as cctxt:
            return objects.Instance.get_by_uuid(
                cctxt, server['id'], expected_attrs=['flavor', 'info_cache'])


class TestServerDiagnostics(DiagnosticsTestCase):

    def test_standard_format_measures_the_running_container(self):
        flavor = self._create_flavor(memory_mb=128, vcpu=2, disk=1)
        server = self.boot(flavor_id=flavor)
        first = self.diagnostics(server)
        self.assertEqual('running', first['state'])
        self.assertIsNone(first['driver'])
        self.assertEqual(('docker', 'linux', False), (
            first['hypervisor'], first['hypervisor_os'],
            first['config_drive']))
        self.assertEqual(2, first['num_cpus'])
        self.assertEqual(128, first['memory_details']['maximum'])
        self.assertGreater(first['memory_details']['used'], 0)
        self.assertEqual([], first['nic_details'])
        self.assertIsInstance(first['uptime'], int)

        self.exec_in(server, BURN)
        self.exec_in(server, 'dd if=/dev/zero of=/dev/shm/fill bs=1M '
                             'count=%d 2>/dev/null' % FILL_MIB)
        second = self.diagnostics(server)
        [cpu_before], [cpu_after] = first['cpu_details'], second[
            'cpu_details']
        self.assertGreater(cpu_after['time'], cpu_before['time'])
        # The guest's memory (tmpfs pages) counts as used, within its RAM.
        used = second['memory_details']['used']
        self.assertGreaterEqual(used, FILL_MIB)
        self.assertGreater(used, first['memory_details']['used'])
        self.assertLessEqual(used, 128)
        self.assertGreaterEqual(second['uptime'], first['uptime'])

    def test_config_drive_reported_as_the_server_has_it(self):
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        with_drive = self.boot(config_drive=True)
        self.assertTrue(self.diagnostics(with_drive)['config_drive'])
        self.exec_in(with_drive, 'test -d /config-drive/openstack/latest')
        self.assertFalse(self.diagnostics(self.boot())['config_drive'])

    def test_legacy_format_before_2_48(self):
        flavor = self._create_flavor(memory_mb=128, vcpu=1, disk=1)
        server = self.boot(flavor_id=flavor)
        legacy = self.diagnostics(server, '2.47')
        # libvirt's "memory": the most the guest may have, in KiB.
        self.assertEqual(128 * 1024, legacy['memory'])
        self.assertGreater(legacy['memory-used'], 0)
        self.assertGreater(legacy['cpu_time'], 0)
        self.assertNotIn('memory_details', legacy)

    def test_api_refuses_a_stopped_server_the_driver_still_answers(self):
        flavor = self._create_flavor(memory_mb=128, vcpu=2, disk=1)
        server = self.boot(flavor_id=flavor)
        self.api.post_server_action(server['id'], {'os-stop': None})
        server = self._wait_for_state_change(server, 'SHUTOFF')
        # Nova asks for diagnostics of running servers only...
        error = self.assertRaises(client.OpenStackApiException,
                                  self.diagnostics, server)
        self.assertEqual(409, error.response.status_code)
        # ...but a container may stop while they are being read.
        driver = self.compute.manager.driver
        diags = driver.get_instance_diagnostics(self.instance(server))
        self.assertEqual('shutdown', diags.state)
        self.assertEqual([], diags.cpu_details)
        self.assertEqual((128, 0), (diags.memory_details.maximum,
                                    diags.memory_details.used))
        self.assertEqual(2, diags.num_cpus)
        legacy = driver.get_diagnostics(self.instance(server))
        self.assertNotIn('cpu_time', legacy)
        self.assertEqual(0, legacy['memory-used'])

    def test_paused_container_has_no_engine_figures(self):
        server = self.boot()
        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        diags = self.compute.manager.driver.get_instance_diagnostics(
            self.instance(server))
        self.assertEqual('paused', diags.state)
        self.assertEqual([], diags.cpu_details)
        self.assertIsNone(diags.memory_details.used)
        self.assertGreater(diags.memory_details.maximum, 0)

    def test_missing_container_is_instance_not_found(self):
        server = self.boot()
        instance = self.instance(server)
        self.container(server).remove(force=True)
        driver = self.compute.manager.driver
        for method in (driver.get_instance_diagnostics,
                       driver.get_diagnostics):
            self.assertRaises(exception.InstanceNotFound, method, instance)

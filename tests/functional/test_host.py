"""What the compute host reports: inventory, traits, its instances, logs."""

import json
import os
import time

from nova.objects import fields as obj_fields
import os_traits

from tests.functional import base


class TestHost(base.DockerDriverTestCase):

    def test_inventory_is_measured_on_the_host(self):
        self.flags(reserved_host_memory_mb=256, reserved_host_cpus=1,
                   reserved_host_disk_mb=2048, cpu_allocation_ratio=4.0,
                   initial_ram_allocation_ratio=1.0)
        self._run_periodics()
        info = self.docker.info()
        disk = os.statvfs(info['DockerRootDir'])
        rp = self._get_provider_uuid_by_host(self.host)
        inventory = self._get_provider_inventory(rp)
        self.assertEqual(info['NCPU'], inventory['VCPU']['total'])
        self.assertEqual(1, inventory['VCPU']['reserved'])
        self.assertEqual(4.0, inventory['VCPU']['allocation_ratio'])
        self.assertEqual(info['MemTotal'] // 2**20,
                         inventory['MEMORY_MB']['total'])
        self.assertEqual(256, inventory['MEMORY_MB']['reserved'])
        self.assertEqual(1.0, inventory['MEMORY_MB']['allocation_ratio'])
        self.assertEqual(disk.f_blocks * disk.f_frsize // 2**30,
                         inventory['DISK_GB']['total'])
        self.assertEqual(2, inventory['DISK_GB']['reserved'])
        traits = self._get_provider_traits(rp)
        self.assertIn(os_traits.COMPUTE_IMAGE_TYPE_RAW, traits)
        self.assertNotIn(os_traits.COMPUTE_IMAGE_TYPE_QCOW2, traits)

    def test_hypervisor_is_docker(self):
        [hypervisor] = self.admin_api.api_get(
            '/os-hypervisors/detail').body['hypervisors']
        self.assertEqual('docker', hypervisor['hypervisor_type'])
        self.assertEqual(self.host, hypervisor['hypervisor_hostname'])

    def hypervisor(self, microversion, suffix=''):
        self.admin_api.microversion = microversion
        [listed] = self.admin_api.api_get(
            '/os-hypervisors').body['hypervisors']
        return self.admin_api.api_get('/os-hypervisors/%s%s' % (
            listed['id'], suffix)).body['hypervisor']

    def test_hypervisor_show_describes_the_hosts_cpu(self):
        # cpu_info is an object from 2.28 until 2.87, which drops it.
        cpu = self.hypervisor('2.87')['cpu_info']
        self.assertEqual(obj_fields.Architecture.canonicalize(
            self.docker.info()['Architecture']), cpu['arch'])
        with open('/proc/cpuinfo') as f:
            lines = [line.split(':', 1) for line in f if ':' in line]
        values = {}
        for key, value in lines:
            values.setdefault(key.strip().lower(), value.strip())
        self.assertEqual(sorted(set((values.get('flags') or
                                     values.get('features', '')).split())),
                         cpu['features'])
        if 'model name' in values:
            self.assertEqual(values['model name'], cpu['model'])
        vendor = values.get('vendor_id')
        # libvirt's words for CPUID's vendor strings
        self.assertEqual({'GenuineIntel': 'Intel', 'AuthenticAMD': 'AMD'}.get(
            vendor, vendor), cpu['vendor'])
        topology = cpu['topology']
        self.assertEqual(os.cpu_count(), topology['sockets'] *
                         topology['cores'] * topology['threads'])
        # The kernel's topology says the same.
        self.assertEqual(self._sys_topology(),
                         (topology['sockets'], topology['threads']))
        # Before 2.28 the same, as the JSON text Nova keeps.
        self.assertEqual(cpu, json.loads(self.hypervisor('2.27')['cpu_info']))

    @staticmethod
    def _sys_topology():
        """(sockets, threads per core) from /sys, which the harness lets
        the driver read (base.SYS_READ_BY_DRIVER)."""
        root = base.SYS_READ_BY_DRIVER
        packages = set()
        for name in os.listdir(root):
            path = os.path.join(root, name, 'topology',
                                'physical_package_id')
            if name[3:].isdigit() and os.path.exists(path):
                with open(path) as f:
                    packages.add(f.read().strip())
        with open(os.path.join(root, 'cpu0', 'topology',
                               'thread_siblings_list')) as f:
            ranges = [part.split('-') for part in f.read().strip().split(',')]
        threads = sum(int(r[-1]) - int(r[0]) + 1 for r in ranges)
        return len(packages), threads

    def test_hypervisor_uptime_is_the_hosts(self):
        for shown in (self.hypervisor('2.87', '/uptime'),
                      # 2.88 puts it into the hypervisor's own view.
                      self.hypervisor('2.88')):
            self.assertRegex(shown['uptime'],
                             r' up .*load average: [0-9.]+, ')
            self.assertEqual(self.host, shown['hypervisor_hostname'])

    def test_driver_lists_its_instances_by_label(self):
        server = self.boot()
        # A container that merely carries the name is not an instance.
        impostor = self.docker.containers.create(
            'novadocker-test:guest', name='nova-%s-x' % server['id'])
        self.addCleanup(impostor.remove, force=True)
        # Nor is a container that another compute service made.
        neighbour = self.docker.containers.create(
            'novadocker-test:guest', labels={
                'org.openstack.nova.instance_uuid': 'not-ours',
                'org.openstack.nova.host': 'another-host'})
        self.addCleanup(neighbour.remove, force=True)
        driver = self.compute.manager.driver
        self.assertIn(server['id'], driver.list_instance_uuids())
        self.assertNotIn('not-ours', driver.list_instance_uuids())
        self.assertIn(server['OS-EXT-SRV-ATTR:instance_name'],
                      driver.list_instances())
        self.assertEqual(len(driver.list_instances()),
                         len(driver.list_instance_uuids()))

    def test_two_compute_services_in_one_process(self):
        # Nova's harness shares one CONF between them: each service's
        # driver knows its host from init_host, not from CONF.host.
        other = self.start_another_compute()
        servers = {}
        for host in (self.host, other):
            server = self._build_server(image_uuid=self.image('guest'),
                                        networks='none')
            server['host'] = host
            servers[host] = self._wait_for_state_change(
                self.api.post_server({'server': server}), 'ACTIVE',
                max_retries=base.BOOT_RETRIES)
            self.addCleanup(self.delete_servers, [servers[host]['id']])
        for host, driver in ((self.host, self.compute.manager.driver),
                             (other, self.computes[other].manager.driver)):
            server = servers[host]
            self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
            self.assertEqual(host, self.container(server).labels[
                'org.openstack.nova.host'])
            self.assertEqual([server['id']], driver.list_instance_uuids())
            self.assertEqual([host], driver.get_available_nodes())
        # Each one's resource tracker still reports its own node.
        self._run_periodics()
        for host in (self.host, other):
            usages = self._get_provider_usages(
                self._get_provider_uuid_by_host(host))
            self.assertEqual(1, usages['VCPU'])

    def test_console_log_is_bounded(self):
        self.flags(console_log_max_bytes=1024, group='docker')
        self.image('guest', properties={'os_command_line': (
            "/bin/sh -c 'i=0; while [ $i -lt 3000 ]; do "
            "echo line-$i; i=$((i+1)); done; echo last-line; sleep 3600'")})
        server = self.boot()
        for _ in range(50):
            output = self.console(server)
            if 'last-line' in output:
                break
            time.sleep(0.1)
        self.assertTrue(output.endswith('last-line\n'), output[-100:])
        self.assertLessEqual(len(output), 1024)
        self.assertNotIn('line-0\n', output)


class TestImagePreCache(base.DockerDriverTestCase):

    def test_aggregate_image_cache_request_loads_the_image(self):
        image_id = self.image('guest')
        aggregate = self._create_aggregate('cache-these')
        self.admin_api.post_aggregate_action(
            aggregate, {'add_host': {'host': self.host}})
        self.admin_api.api_post(
            '/os-aggregates/%s/images' % aggregate,
            {'cache': [{'id': image_id}]}, check_response_status=[202])
        self.notifier.wait_for_versioned_notifications(
            'aggregate.cache_images.end')
        self.assertTrue(self.docker.images.get('glance/%s' % image_id))
        self.boot()
        # The boot found it cached: Glance served the image once.
        self.assertEqual([image_id], self.images.downloads)

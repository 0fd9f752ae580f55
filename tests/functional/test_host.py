"""What the compute host reports: inventory, traits, its instances, logs."""

import os
import time

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

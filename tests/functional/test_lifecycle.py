"""The server lifecycle through Nova's API, on the real Docker engine."""

import os
import signal

import docker
import fixtures
from nova.compute import power_state

from novadocker import conf
from novadocker import privsep
from novadocker.volume import layout
from tests.fixtures import images as test_images
from tests.functional import base

CONF = conf.CONF


class TestBoot(base.DockerDriverTestCase):

    def test_boot_runs_a_container_with_the_flavor_limits(self):
        flavor = self._create_flavor(memory_mb=256, vcpu=2, disk=1)
        server = self.boot(flavor_id=flavor)
        container = self.container(server)
        self.assertEqual('running', container.status)
        self.assertEqual('nova-%s' % server['id'], container.name)
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        host = container.attrs['HostConfig']
        self.assertEqual(256 * 1024 * 1024, host['Memory'])
        self.assertEqual(2 * 100000, host['CpuQuota'])
        self.assertEqual(2048, host['CpuShares'])
        self.assertEqual(1024, host['PidsLimit'])
        self.assertFalse(host['Privileged'])
        self.assert_network_of_its_sandbox(server)
        # Limits as the guest sees them: its cgroup (v2, else v1).
        for path in ('/sys/fs/cgroup/memory.max',
                     '/sys/fs/cgroup/memory/memory.limit_in_bytes'):
            result = container.exec_run(['cat', path])
            if result.exit_code == 0:
                break
        self.assertEqual(str(256 * 1024 * 1024).encode(),
                         result.output.strip())
        status = container.exec_run(['cat', '/proc/1/status']).output
        self.assertIn(b'NoNewPrivs:\t1', status)
        self.assertIn(b'Seccomp:\t2', status)
        # Without the engine's user namespace remapping, a setuid program
        # makes no guest user root.
        self.assertEqual('1000 1000', self.setuid_ids(server))

    def test_a_sandbox_that_cannot_start_fails_the_boot_leaving_nothing(
            self):
        # The sandbox starts while the guest's container is made: its
        # failure still ends the boot, with its reason, and nothing stays.
        real_start = docker.models.containers.Container.start

        def start(container, **kwargs):
            if container.name.endswith('-sandbox'):
                raise docker.errors.APIError('no ids left for the sandbox')
            return real_start(container, **kwargs)

        self.useFixture(fixtures.MockPatch(
            'docker.models.containers.Container.start', start))
        server = self.boot(expected='ERROR')
        self.assertIn('the container did not start: no ids left for the '
                      'sandbox', server['fault']['message'])
        self.assertEqual([], self.containers_of(server['id']))
        self.assertIsNone(self.sandbox(server))

    def test_hostname_key_and_console_log(self):
        public_key = self.keypair('mykey')
        server = self.boot(key_name='mykey', name='web-1')
        container = self.container(server)
        self.assertEqual(b'web-1', container.exec_run(
            ['hostname']).output.strip())
        keys = container.exec_run(['cat', '/root/.ssh/authorized_keys'])
        self.assertEqual(public_key.encode() + b'\n', keys.output)
        perms = container.exec_run(['ls', '-ld', '/root/.ssh']).output
        self.assertTrue(perms.startswith(b'drwx------'), perms)
        self.assertIn('guest web-1 booted', self.console(server))

    def test_fqdn_hostname_longer_than_the_kernel_allows(self):
        # API 2.94 allows an FQDN of up to 255 characters (Tempest's
        # ServersV294TestFqdnHostnames uses this one)
        fqdn = 'x' * 52 + '-guest-test.domaintest.com'
        if base.on_podman():
            # Podman drops the domain name: the driver names the guest's
            # domain itself, through its privsep daemon, which goes with
            # the test (it would make the next tests' volumes_path shared).
            self.use_real_privsep()
            self.addCleanup(privsep.sys_admin_pctxt.stop)
        server = self.boot(hostname=fqdn)
        self.assertEqual(fqdn, self.api.get_server(server['id'])[
            'OS-EXT-SRV-ATTR:hostname'])
        container = self.container(server)
        self.assertEqual(('x' * 52 + '-guest-test').encode(),
                         container.exec_run(['hostname']).output.strip())
        self.assertEqual(b'domaintest.com', container.exec_run(
            ['cat', '/proc/sys/kernel/domainname']).output.strip())

    def test_image_command_line_property_overrides_cmd(self):
        image = self.image('guest', properties={
            'os_command_line': "/bin/sh -c 'echo custom-entry; sleep 3600'"})
        self.image_ids['guest'] = image
        server = self.boot()
        self.wait_for_console(server, 'custom-entry')

    def test_image_properties_cannot_raise_privileges(self):
        self.image('guest', properties={
            'privileged': 'true', 'docker_privileged': 'true',
            'cap_add': 'SYS_ADMIN', 'volumes': '/:/host'})
        server = self.boot()
        host = self.container(server).attrs['HostConfig']
        self.assertFalse(host['Privileged'])
        # Only the operator's: [docker] guest_reboot's, by default.
        self.assertEqual(['SYS_BOOT'], host['CapAdd'])
        # The only mounts are read-only: LXCFS's files, and where volumes
        # can reach guests (the volumes root is a shared mount once any
        # test prepared it) the instance's own volumes directory.
        for source, target, read_only in self.mounts_of(
                self.container(server)):
            self.assertTrue(read_only, source)
            if target == layout.GUEST_PATH:
                self.assertEqual(layout.instance_dir(
                    CONF.docker.volumes_path, server['id']), source)
            else:
                self.assertEqual(os.path.join(CONF.docker.lxcfs_path,
                                              target.lstrip('/')), source)
        self.assert_network_of_its_sandbox(server)

    def test_flavor_extra_specs_add_capabilities(self):
        flavor = self._create_flavor(
            extra_spec={'docker:cap_add': 'net_admin'})
        server = self.boot(flavor_id=flavor)
        self.assertEqual(['NET_ADMIN', 'SYS_BOOT'],
                         self.container(server).attrs['HostConfig']['CapAdd'])

    def test_second_boot_of_an_image_downloads_nothing(self):
        self.boot()
        self.boot()
        self.assertEqual([self.image('guest')], self.images.downloads)
        # The load left the tarball's own tag where it was.
        self.assertTrue(self.docker.images.get('novadocker-test:guest'))

    def test_load_takes_no_tag_from_images_already_on_the_host(self):
        # A tarball whose image is called novadocker-test:collide ...
        self.docker.images.get('novadocker-test:guest').tag(
            'novadocker-test', 'collide')
        path = os.path.join(self.workdir, 'collide.tar')
        tarball = dict(test_images.save(
            self.docker, 'novadocker-test:collide', path), path=path)
        # ... while the host has another image of that name.
        other = self.docker.images.get('novadocker-test:crashing')
        other.tag('novadocker-test', 'collide')
        self.addCleanup(self.docker.images.remove, 'novadocker-test:collide')
        self.image_ids['collide'] = self.images.add('collide', tarball)
        self.boot('collide')
        self.assertEqual(other.id, self.docker.images.get(
            'novadocker-test:collide').id)

    def test_cirros_boots(self):
        if 'cirros' not in self.tarballs:
            self.skipTest('no CirrOS rootfs in ../shared/cirros')
        server = self.boot('cirros')
        # CirrOS's init runs its services unprivileged.
        self.wait_for_console(server, 'Starting syslogd: OK')
        self.assertEqual('running', self.container(server).status)


class TestPower(base.DockerDriverTestCase):

    def test_soft_and_hard_reboot(self):
        server = self.boot()
        first = self.container(server)
        started = first.attrs['State']['StartedAt']
        self._reboot_server(server, hard=False)
        container = self.container(server)
        self.assertEqual(first.id, container.id)
        self.assertEqual('running', container.status)
        self.assertNotEqual(started, container.attrs['State']['StartedAt'])
        # The soft reboot let the guest stop cleanly.
        self.assertIn(b'guest stopping', container.logs())
        started = container.attrs['State']['StartedAt']
        self._reboot_server(server, hard=True)
        container = self.container(server)
        self.assertEqual('running', container.status)
        self.assertNotEqual(started, container.attrs['State']['StartedAt'])

    def test_stop_and_start(self):
        server = self.boot()
        server = self._stop_server(server)
        self.assertEqual(power_state.SHUTDOWN,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual('exited', self.container(server).status)
        server = self._start_server(server)
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual('running', self.container(server).status)

    def test_pause_and_unpause(self):
        server = self.boot()
        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        self.assertEqual(power_state.PAUSED, server['OS-EXT-STS:power_state'])
        self.assertEqual('paused', self.container(server).status)
        # Nova's power state sync agrees with what the driver reports.
        self._run_power_sync()
        server = self.api.get_server(server['id'])
        self.assertEqual('PAUSED', server['status'])
        self.api.post_server_action(server['id'], {'unpause': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('running', self.container(server).status)

    def test_suspend_and_resume(self):
        server = self.boot()
        server = self._suspend_server(server)
        self.assertEqual(power_state.SUSPENDED,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual('paused', self.container(server).status)
        self._run_power_sync()
        self.assertEqual('SUSPENDED',
                         self.api.get_server(server['id'])['status'])
        server = self._resume_server(server)
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual('running', self.container(server).status)

    def test_hard_reboot_of_a_paused_server(self):
        server = self.boot()
        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        server = self._reboot_server(server, hard=True)
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual('running', self.container(server).status)

    def test_guest_that_stops_or_crashes_by_itself_is_off(self):
        server = self.boot()
        container = self.container(server)
        container.kill(signal='TERM')
        container.wait()
        self.assertEqual(power_state.SHUTDOWN, self.driver_state(server))
        container.start()
        self.wait_for_trap(container, signal.SIGUSR1)
        container.kill(signal='USR1')
        self.assertEqual(70, container.wait()['StatusCode'])
        # As libvirt reports a domain whose QEMU died: Nova acts on the
        # driver's STOPPED event only for SHUTDOWN (test_lifecycle_events).
        self.assertEqual(power_state.SHUTDOWN, self.driver_state(server))

    def driver_state(self, server):
        from nova import context
        from nova import objects
        ctxt = context.get_admin_context()
        with context.target_cell(ctxt, self.cell_mappings['cell1']) as cctxt:
            instance = objects.Instance.get_by_uuid(cctxt, server['id'])
        return self.compute.manager.driver.get_info(instance).state

    def _run_power_sync(self):
        from nova import context
        self.compute.manager._sync_power_states(
            context.get_admin_context())


class TestDeleteRebuildSnapshot(base.DockerDriverTestCase):

    def test_delete_leaves_no_container(self):
        server = self.boot()
        self._delete_server(server)
        self.assertEqual([], self.containers_of(server['id']))

    def test_delete_when_the_container_is_already_gone(self):
        server = self.boot()
        self.container(server).remove(force=True)
        self._delete_server(server)
        self.assertEqual([], self.containers_of(server['id']))

    def test_rebuild_onto_another_image(self):
        server = self.boot()
        old = self.container(server)
        old.exec_run(['sh', '-c', 'echo old > /root/marker'])
        other = self.images.add('other', self.tarballs['guest'],
                                properties={'os_command_line':
                                            "/bin/sh -c 'echo rebuilt; "
                                            "sleep 3600'"})
        server = self._rebuild_server(server, other)
        container = self.container(server)
        self.assertNotEqual(old.id, container.id)
        self.assertEqual('running', container.status)
        self.assertNotEqual(0, container.exec_run(
            ['cat', '/root/marker']).exit_code)
        self.assertIn(b'rebuilt', container.logs())

    def test_snapshot_boots_with_the_data_written_before(self):
        server = self.boot()
        self.container(server).exec_run(
            ['sh', '-c', 'echo precious > /root/data.txt'])
        snapshot_id = self.snapshot(server)
        meta = self.glance.show(None, snapshot_id)
        self.assertEqual('active', meta['status'])
        self.assertEqual('docker', meta['container_format'])
        self.assertEqual('raw', meta['disk_format'])
        # The running instance kept running through the snapshot.
        self.assertEqual('running', self.container(server).status)
        # Boot the snapshot from Glance's copy, not the engine's.
        clone = self.boot_from_glance(snapshot_id)
        self.assertEqual(b'precious\n', self.container(clone).exec_run(
            ['cat', '/root/data.txt']).output)


class TestComputeRestart(base.DockerDriverTestCase):

    def test_restart_adopts_containers(self):
        server = self.boot()
        before = self.container(server)
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.computes[self.host] = self.compute
        server = self.api.get_server(server['id'])
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        [after] = self.containers_of(server['id'])
        self.assertEqual(before.id, after.id)
        self.assertEqual('running', after.status)
        # The new service manages it: a hard reboot goes through.
        self._reboot_server(server, hard=True)
        self.assertEqual([before.id],
                         [c.id for c in self.containers_of(server['id'])])

    def test_host_boot_brings_running_instances_back(self):
        self.flags(resume_guests_state_on_host_boot=True)
        server = self.boot()
        # As after a reboot of the host or the engine: the container is
        # stopped but Nova still has the instance as running.
        self.container(server).stop(timeout=0)
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.computes[self.host] = self.compute
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('running', self.container(server).status)

"""A Nova virt driver whose instances are Docker containers.

Load it with ``compute_driver = docker.DockerDriver`` in nova.conf.
"""

import functools
import shlex

import docker.errors
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import fields as obj_fields
from nova.virt import driver
from nova.virt import hardware
from nova.virt import node as nova_node
import os_resource_classes as orc
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker import boot_check
from novadocker import conf
from novadocker import configdrive
from novadocker import console_log
from novadocker import diagnostics
from novadocker import disk_quota
from novadocker import engine
from novadocker import engine_compat
from novadocker import events
from novadocker import flavor as flavor_settings
from novadocker import guest_power
from novadocker import host
from novadocker import image as images
from novadocker import imagecache
from novadocker import inject
from novadocker import lifecycle
from novadocker import lxcfs
from novadocker import migration
from novadocker import network
from novadocker import privsep
from novadocker import rescue
from novadocker import sandbox
from novadocker import serial_console
from novadocker import userns
from novadocker.volume import attachment

CONF = conf.CONF
LOG = logging.getLogger(__name__)

LOG_TAIL_ON_FAILURE = 20


def _engine_errors(method):
    """Say which engine could not be reached, not just "ECONNREFUSED"."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except engine.UNREACHABLE as e:
            raise engine.unavailable(e)
    return wrapper


def _power_state(container, instance):
    """Nova's power state of a container, from the engine's inspect data."""
    state = container.attrs['State']
    if state.get('Paused'):
        # A suspend is a freeze too; Nova's record tells the two apart.
        suspended = (instance.vm_state == vm_states.SUSPENDED or
                     instance.task_state == task_states.SUSPENDING)
        return power_state.SUSPENDED if suspended else power_state.PAUSED
    status = state.get('Status')
    if status == 'running' or state.get('Running'):
        return power_state.RUNNING
    if status in ('exited', 'dead', 'created'):
        # However its process ended (a stop, a kill, a crash, the OOM
        # killer), as libvirt reports a domain whose QEMU died: Nova acts
        # on a STOPPED lifecycle event only if the state reads SHUTDOWN.
        return power_state.SHUTDOWN
    return power_state.NOSTATE


def _add_settings(host_config, settings):
    """Add one concern's engine settings; lists (mounts) add up."""
    for key, value in settings.items():
        if isinstance(value, list):
            host_config.setdefault(key, []).extend(value)
        else:
            host_config[key] = value


class DockerDriver(driver.ComputeDriver):
    """Instances as Docker containers on the local engine."""

    # Volumes: attach and detach, no multi-attach, no extend, no device
    # tags (a guest finds a volume by its device name, see
    # novadocker.volume.attachment).
    capabilities = dict(driver.ComputeDriver.capabilities,
                        supports_image_type_raw=True,
                        has_imagecache=True,
                        supports_attach_interface=True,
                        supports_migrate_to_same_host=True,
                        supports_evacuate=True,
                        supports_multiattach=False,
                        supports_extend_volume=False,
                        supports_tagged_attach_volume=False)

    def __init__(self, virtapi):
        super().__init__(virtapi)
        self.engine = engine.Engine()
        self._resources = None
        self.network = network.InstanceNetwork(virtapi, self.engine)
        self.image_cache = imagecache.ImageCache(self.engine)
        self.volumes = attachment.InstanceVolumes()
        self.serial_consoles = serial_console.SerialConsoles(self.engine)
        self._watcher = None
        self._lifecycle = None
        self._node_uuid = None
        self._disk_quota = None
        # Until init_host has asked the engine: no setuid gains, no
        # capabilities for the guest's root, no domain names.
        self._no_new_privileges = True
        self._guest_caps = ()
        self._sets_domainname = False
        # Why the guest's root cannot become an image (engine_compat.
        # Unsupported's fields), or None.
        self._commit_refusal = None

    # -- host ---------------------------------------------------------------

    def init_host(self, host):
        # This service's host and node identity, kept: several compute
        # services may share a process and its CONF (Nova's functional
        # tests), as libvirt's Host keeps its node uuid.
        self.engine.host = host
        self._node_uuid = nova_node.get_local_node_uuid()
        try:
            info = self.engine.client.version()
        except engine.EngineUnavailable as e:
            LOG.error('nova-compute cannot start: %s', e.format_message())
            raise
        LOG.info('Using Docker engine %s (API %s) at %s',
                 info.get('Version'), info.get('ApiVersion'),
                 CONF.docker.api_url)
        lxcfs.check_host(CONF.docker.lxcfs_path)
        try:
            per_guest = userns.per_guest(CONF.docker.per_guest_userns,
                                         self.engine.kind, self.engine.traits)
        except userns.PerGuestUnavailable as e:
            LOG.error('nova-compute cannot start: %s', e)
            raise exception.NovaException(str(e))
        remap = userns.check_host(self.engine.client.info(), per_guest)
        self._commit_refusal = None
        if per_guest and not self.engine.traits.commits_container_ids:
            self._commit_refusal = dict(
                feature='A snapshot, shelve, resize or migration of a guest '
                        'with a user namespace of its own',
                engine=self.engine.kind.capitalize(),
                reason='its commit stores the host ids of the guest\'s '
                       'files, which would belong to nobody in the image '
                       '([docker] per_guest_userns)')
        unprivileged_root = remap is not None or per_guest
        self._no_new_privileges = userns.no_new_privileges(
            unprivileged_root, CONF.docker.guest_setuid)
        self._guest_caps = userns.guest_capabilities(
            unprivileged_root, CONF.docker.guest_net_admin)
        # Where the engine cannot, the driver names the guest's domain.
        self._sets_domainname = (userns.sets_domainname(remap) and
                                 self.engine.traits.sets_domainname)
        self.network.init_host(self._sets_domainname,
                               self.engine.traits.writes_name_servers,
                               per_guest)
        disk_quota.check_host(self.disk_quota, CONF.docker.root_disk_quota)
        # Before any container starts: volumes reach them through it,
        # mapped to the ids of their guest's root.
        self.volumes.init_host(
            self.network.sandboxes.root_ids if per_guest else
            userns.engine_root_ids(remap))
        # What the engine does to the containers, whoever asked: ports to
        # bring up after a start and to silence while frozen or stopped,
        # power states for Nova, and the guests' own reboots, which start
        # their containers again.
        self._lifecycle = lifecycle.LifecycleEmitter(
            self._power_state_now, self.emit_event,
            CONF.docker.stop_event_delay)
        self._watcher = events.ContainerWatcher(
            self.engine, host,
            on_start=self._started_by_engine,
            on_change=self._changed_by_engine,
            on_guest_reboot=functools.partial(
                guest_power.restart, self.engine, self._start_with_network,
                guest_power.RebootBudget()),
            on_engine_back=functools.partial(
                guest_power.restore, self.engine, self._start_with_network))
        self._watcher.start()

    # -- every start ----------------------------------------------------------

    def _start_with_network(self, instance, container, network_info,
                            wait_for_neutron=False):
        """Every start goes through here (boot, Nova's reboots and power
        on, the guest's own reboot), as libvirt's
        _create_guest_with_network for a domain: the ports in the
        instance's sandbox first (at boot, wired by Neutron), then the
        guest's container unless it runs, then its domain name.
        """
        self.network.start(instance, network_info, container,
                           container.start, wait_for_neutron)
        self._name_domain_after_start(instance, container)

    def _after_start(self, instance, container, network_info):
        """What a running guest needs after a start the engine made on its
        own, a pause or unpause, or a nova-compute restart: its ports
        (plugged if missing, silent while it is frozen) and its domain
        name (a start gives it a new UTS namespace)."""
        self.network.plug(instance, network_info, container)
        self._name_domain_after_start(instance, container)

    def _name_domain_after_start(self, instance, container):
        if not self._sets_domainname:
            # The engine could not: the driver names the guest's domain.
            self._name_domain(instance, container)

    def _name_domain(self, instance, container):
        """The domain name of an FQDN hostname (API 2.94), where the engine
        cannot set it (userns.sets_domainname)."""
        domain = sandbox.hostname_settings(
            instance.hostname).get('domainname')
        if not domain:
            return
        container.reload()
        pid = container.attrs['State'].get('Pid')
        if not pid:
            return
        try:
            privsep.set_domainname(pid, domain.strip('.-'))
        except Exception as e:
            # A guest without its domain name still runs: no failed boot.
            LOG.warning('Could not give the guest its domain name %s: %s',
                        domain, e, instance=instance)

    def _started_by_engine(self, instance_uuid):
        # A new process behind the console, in a new UTS namespace.
        self.serial_consoles.reattach(instance_uuid)
        self._follow_engine(instance_uuid)

    def _changed_by_engine(self, instance_uuid, action):
        self._lifecycle.changed(instance_uuid, action)
        if action == 'die':
            # However the guest stopped, its ports go silent.
            self._follow_engine(instance_uuid, stopped=True)
        if action in ('pause', 'unpause'):
            # A docker pause silences the ports as Nova's pause does.
            self._follow_engine(instance_uuid)

    def _follow_engine(self, instance_uuid, stopped=False):
        """After a start, pause or unpause the engine made on its own, or
        any stop."""
        try:
            instance = objects.Instance.get_by_uuid(
                nova_context.get_admin_context(), instance_uuid,
                expected_attrs=['info_cache'])
        except exception.InstanceNotFound:
            return
        if instance.host != self.engine.host:
            return
        container = self.engine.find(instance_uuid)
        if container is None:
            return
        if stopped:
            # Whoever stopped it, and whatever Nova does meanwhile: a start
            # brings the ports up again.
            self.network.silence_stopped(instance,
                                         instance.get_network_info(),
                                         container)
        elif instance.task_state is None:
            # An operation under way (a boot, a reboot, a power on, a
            # pause, a delete) does it for itself or needs none of it.
            self._after_start(instance, container,
                              instance.get_network_info())

    @property
    def disk_quota(self):
        """Can the engine limit root disks? Asked once, at start."""
        if self._disk_quota is None:
            self._disk_quota = disk_quota.probe(self.engine.client)
        return self._disk_quota

    def cleanup_host(self, host):
        self.serial_consoles.stop()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._lifecycle is not None:
            self._lifecycle.stop()
            self._lifecycle = None

    def get_available_nodes(self, refresh=False):
        return [self.engine.host]

    def get_nodenames_by_uuid(self, refresh=False):
        return {self._node_uuid or nova_node.get_local_node_uuid():
                self.engine.host}

    def node_is_available(self, nodename):
        return nodename == self.engine.host

    def _host_resources(self):
        """The host's totals as the engine sees them.

        The last answer is kept: a host does not shrink while its engine
        restarts, and Nova's resource tracker must not fail (and turn a
        failed boot into a reschedule) because the engine is away.
        """
        try:
            self._resources = host.measure(self.engine.client)
        except engine.UNREACHABLE as e:
            if self._resources is None:
                raise engine.unavailable(e)
            LOG.warning('Docker engine unreachable (%s); reporting the host '
                        'resources measured last', e)
        return self._resources

    def get_available_resource(self, nodename):
        res = self._host_resources()
        return {
            'vcpus': res['vcpus'],
            'memory_mb': res['memory_mb'],
            'local_gb': res['disk_gb'],
            # The resource tracker counts usage from its instances.
            'vcpus_used': 0,
            'memory_mb_used': 0,
            'local_gb_used': 0,
            'hypervisor_type': obj_fields.HVType.DOCKER,
            'hypervisor_version': res['version'],
            'hypervisor_hostname': nodename,
            'cpu_info': res['cpu_info'],
            'disk_available_least': res['disk_free_gb'],
            'supported_instances': [(res['arch'], obj_fields.HVType.DOCKER,
                                     obj_fields.VMMode.EXE)],
            'numa_topology': None,
        }

    def get_host_uptime(self):
        return host.uptime()

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        res = self._host_resources()
        inventory = provider_tree.data(nodename).inventory
        ratios = self._get_allocation_ratios(inventory)
        totals = {orc.VCPU: (res['vcpus'], CONF.reserved_host_cpus),
                  orc.MEMORY_MB: (res['memory_mb'],
                                  CONF.reserved_host_memory_mb),
                  orc.DISK_GB: (res['disk_gb'],
                                self._get_reserved_host_disk_gb_from_config())}
        result = {}
        for rc, (total, reserved) in totals.items():
            if total <= 0:
                continue
            result[rc] = {'total': total, 'min_unit': 1, 'max_unit': total,
                          'step_size': 1, 'allocation_ratio': ratios[rc],
                          'reserved': reserved}
        provider_tree.update_inventory(nodename, result)

    # -- listing and state --------------------------------------------------

    @_engine_errors
    def list_instances(self):
        return [labels.get(engine.NAME_LABEL)
                for labels in self.engine.our_labels()]

    @_engine_errors
    def list_instance_uuids(self):
        return [labels[engine.UUID_LABEL]
                for labels in self.engine.our_labels()]

    @_engine_errors
    def instance_exists(self, instance):
        return self.engine.find(instance.uuid) is not None

    @_engine_errors
    def get_info(self, instance, use_cache=True):
        container = self.engine.get(instance)
        return hardware.InstanceInfo(state=_power_state(container, instance),
                                     internal_id=container.id)

    def _power_state_now(self, instance_uuid):
        """An instance's power state as the engine has it now, or None."""
        try:
            instance = objects.Instance.get_by_uuid(
                nova_context.get_admin_context(), instance_uuid,
                expected_attrs=[])
        except exception.InstanceNotFound:
            return None
        if instance.host != self.engine.host:
            return None
        container = self.engine.find(instance_uuid)
        if container is None:
            return None
        return _power_state(container, instance)

    @_engine_errors
    def get_console_output(self, context, instance):
        return console_log.tail(self.engine.get(instance),
                                CONF.docker.console_log_max_bytes)

    @_engine_errors
    def get_serial_console(self, context, instance):
        # The compute manager checks it too; validate_console_port does not.
        if not CONF.serial_console.enabled:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        container = self.engine.get(instance)
        if not container.attrs['State'].get('Running'):
            # A console until the stop; the next start gives a new one.
            raise exception.InstanceNotReady(instance_id=instance.uuid)
        return self.serial_consoles.endpoint(
            instance.uuid, CONF.serial_console.proxyclient_address)

    # -- diagnostics --------------------------------------------------------

    def _diagnostics(self, instance):
        container = self.engine.get(instance)
        return diagnostics.measure(self.engine.client, container, instance,
                                   _power_state(container, instance))

    @_engine_errors
    def get_diagnostics(self, instance):
        return diagnostics.legacy(self._diagnostics(instance))

    @_engine_errors
    def get_instance_diagnostics(self, instance):
        return diagnostics.standard(self._diagnostics(instance))

    # -- spawn --------------------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        refused = (attachment.boot_refusal(block_device_info) or
                   disk_quota.refusal(instance.flavor, self.disk_quota,
                                      CONF.docker.root_disk_quota))
        if refused:
            self._abort(instance, refused)
        disk_quota.warn_if_unlimited(instance, self.disk_quota)
        image_id = image_meta.id
        images.check_formats(image_id, image_meta.container_format,
                             image_meta.disk_format)
        # Refused before anything exists.  admin_password is not set in the
        # guest, as the libvirt driver does without [libvirt]
        # inject_password (its default): the API returns it, a config drive
        # carries it as libvirt's does, set_admin_password sets one.
        try:
            files = inject.check_files(injected_files)
        except inject.BadPath as e:
            self._abort(instance, str(e))
        try:
            self._spawn(context, instance, image_meta, files, injected_files,
                        admin_password, network_info, block_device_info,
                        power_on)
        except Exception:
            with excutils.save_and_reraise_exception():
                self.volumes.undo(instance, block_device_info)

    def _spawn(self, context, instance, image_meta, files, injected_files,
               admin_password, network_info, block_device_info, power_on):
        image_id = image_meta.id
        try:
            # The cache cleanup keeps the image until the container holds it.
            with images.in_use(image_id):
                engine_image = images.ensure_cached(
                    context, self.engine.client, image_id)
                self._remove_stale(instance)
                # Before the create, which binds it.
                drive = configdrive.write(instance, injected_files,
                                          admin_password, network_info)
                container = self._create(instance, image_meta, engine_image,
                                         network_info, drive,
                                         block_device_info=block_device_info,
                                         start_sandbox=power_on)
        except Exception as e:
            configdrive.remove(instance)
            if not isinstance(e, engine.UNREACHABLE):
                self.network.remove(instance.uuid)
            if isinstance(e, engine.UNREACHABLE):
                self._abort(instance,
                            engine.unavailable(e).format_message())
            raise
        try:
            # Before the guest's process starts, as in its disk image.
            inject.put_files(self.engine.client.api, container.id,
                             instance.key_data, files)
            if power_on:
                self._start_with_network(instance, container, network_info,
                                         wait_for_neutron=True)
                self._check_started(instance, container)
        except Exception as e:
            self._remove(container)
            self.network.remove(instance.uuid)
            configdrive.remove(instance)
            self.network.unplug(instance, network_info)
            if isinstance(e, (exception.BuildAbortException,
                              exception.VirtualInterfaceCreateException)):
                raise
            if isinstance(e, inject.BadPath):
                self._abort(instance, str(e))
            if isinstance(e, engine.UNREACHABLE):
                e = engine.unavailable(e).format_message()
            self._abort(instance, 'the container did not start: %s' % e)
        LOG.info('Spawned container %s', container.short_id,
                 instance=instance)

    @staticmethod
    def _abort(instance, reason):
        raise exception.BuildAbortException(instance_uuid=instance.uuid,
                                            reason=reason)

    def _create(self, instance, image_meta, engine_image, network_info=None,
                drive=None, committed=0, network_settings=None,
                block_device_info=None, start_sandbox=False):
        """The instance's container; ``drive``: the bind of its config
        drive or of a rescued root; ``network_settings``: how it joins an
        existing sandbox, else a new sandbox is made (with
        ``start_sandbox``, started meanwhile); the volumes of
        ``block_device_info`` are mounted once the sandbox exists (which
        names the ids of the guest's root), before the container that
        binds them in."""
        host_config = flavor_settings.to_host_config(
            instance.flavor, CONF.docker.pids_limit, CONF.docker.cap_add,
            CONF.docker.guest_reboot, self.disk_quota.enforced,
            self._no_new_privileges, self._guest_caps, committed)
        try:
            network_mode = (network_settings or
                            self.network.create(instance, network_info,
                                                start_sandbox))
        except engine_compat.Unsupported as e:
            self._abort(instance, e.format_message())
        try:
            self.volumes.mount_all(instance, block_device_info)
        except Exception as e:
            self._abort(instance, e.format_message()
                        if isinstance(e, exception.NovaException) else e)
        for settings in (network_mode,
                         lxcfs.container_settings(CONF.docker.lxcfs_path),
                         self.volumes.create_settings(instance),
                         console_log.container_settings(
                             CONF.docker.log_max_size,
                             CONF.docker.log_max_files),
                         drive or {}):
            _add_settings(host_config, settings)
        command = image_meta.properties.get('os_command_line')
        try:
            return self.engine.client.containers.create(
                engine_image,
                command=shlex.split(command) if command else None,
                name=engine.container_name(instance),
                labels=self.engine.labels(instance),
                detach=True,
                stdin_open=True,
                # The guest's console (serial_console.py relays either).
                tty=CONF.docker.console_tty,
                **host_config)
        except docker.errors.APIError as e:
            self._abort(instance, 'the Docker engine refused the container: '
                        '%s' % e.explanation)

    def _check_started(self, instance, container):
        """Fail the boot if the container's process ends at once: within
        ``boot_check_seconds`` of its start, before it settles
        (boot_check)."""
        if not boot_check.ended_at_once(self.engine.client, container,
                                        CONF.docker.boot_check_seconds):
            return
        state = container.attrs['State']
        tail = container.logs(tail=LOG_TAIL_ON_FAILURE).decode(
            'utf-8', 'replace').strip()
        self._abort(instance,
                    'the container\'s process exited at once with code '
                    '%s%s. Last lines of its log:\n%s' % (
                        state.get('ExitCode'),
                        ' (%s)' % state['Error'] if state.get('Error') else '',
                        tail or '(empty)'))

    def _remove_stale(self, instance):
        """A container left from an earlier attempt must not run twice."""
        stale = self.engine.find(instance.uuid)
        if stale is not None:
            LOG.warning('Removing stale container %s before spawn',
                        stale.short_id, instance=instance)
            self._remove(stale)
        # Its sandbox too, whose names and name servers may be stale.
        self.network.remove(instance.uuid)

    @staticmethod
    def _remove(container):
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass

    # -- destroy ------------------------------------------------------------

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        self.cleanup(context, instance, network_info, block_device_info,
                     destroy_disks)

    @_engine_errors
    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        self.serial_consoles.close(instance.uuid)
        container = self.engine.find(instance.uuid)
        if container is None:
            LOG.info('No container to destroy', instance=instance)
        else:
            self._remove(container)
            LOG.info('Removed container %s', container.short_id,
                     instance=instance)
        # A rescued server's own container, kept stopped.
        rescue.hide_root(instance.uuid)
        kept = rescue.kept(self.engine.client, instance.uuid)
        if kept is not None:
            self._remove(kept)
        # Its root image, if a move made one.
        migration.remove_root_images(self.engine.client, instance.uuid)
        self.network.remove(instance.uuid)
        self.volumes.cleanup(instance, block_device_info)
        if destroy_disks:
            # The container's own files went with it; the config drive is
            # the host's.
            configdrive.remove(instance)
        if destroy_vifs:
            self.network.cleanup(instance, network_info)

    def delete_instance_files(self, instance):
        # Nova's periodic retry for deleted instances whose files stayed.
        return configdrive.remove(instance)

    # -- power --------------------------------------------------------------

    def _running(self, container):
        container.reload()
        if container.attrs['State'].get('Paused'):
            container.unpause()
        return container.attrs['State'].get('Running')

    @_engine_errors
    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        container = self.engine.get(instance)
        self.volumes.mount_all(instance, block_device_info)
        if self._running(container):
            if reboot_type == 'SOFT':
                container.stop(timeout=CONF.docker.soft_reboot_timeout)
            else:
                container.kill()
                container.wait()
        self._start_with_network(instance, container, network_info)

    @_engine_errors
    def power_off(self, instance, timeout=0, retry_interval=0):
        container = self.engine.get(instance)
        if self._running(container):
            container.stop(timeout=timeout)
        self.network.silence_stopped(instance, instance.get_network_info(),
                                     container)
        # Its port is free for others while it is off.
        self.serial_consoles.close(instance.uuid)

    @_engine_errors
    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        container = self.engine.get(instance)
        # After a host boot the volumes must be connected and mounted again
        # before the start binds them in.
        self.volumes.mount_all(instance, block_device_info)
        # A paused container runs again first (_running).
        self._running(container)
        # Also plugs and names one that runs after a restart of
        # nova-compute or of the engine.
        self._start_with_network(instance, container, network_info)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        self.power_on(context, instance, network_info, block_device_info)

    # A paused or suspended server answers nothing on its ports, as a
    # frozen VM does (network.py).

    @_engine_errors
    def pause(self, instance):
        self.network.freeze(instance, self.engine.get(instance))

    @_engine_errors
    def unpause(self, instance):
        self.network.thaw(instance, self.engine.get(instance))

    @_engine_errors
    def suspend(self, context, instance):
        # Without checkpointing the engine can only freeze the processes:
        # their memory stays allocated, but they get no CPU.
        self.network.freeze(instance, self.engine.get(instance))

    @_engine_errors
    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        self.network.thaw(instance, self.engine.get(instance))

    # -- resize and cold migration ----------------------------------------

    @_engine_errors
    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        """The source's part: the guest stopped, its root committed, its
        container and sandbox kept aside for a revert (migration.py)."""
        client = self.engine.client
        container = self.engine.get(instance)
        refused = (self._commit_refusal and engine_compat.Unsupported(
            **self._commit_refusal).format_message() or
            migration.root_refusal(client, container, flavor,
                                   self.disk_quota.enforced))
        if refused:
            raise exception.InstanceFaultRollback(
                inner_exception=exception.ResizeError(reason=refused))
        was_running = self._running(container)
        self.power_off(instance, timeout, retry_interval)
        try:
            root = migration.commit_root(client, container, instance)
            sent = None
            if dest != self.engine.host:
                sent = migration.send_root(context, client, root, instance)
            # The ports and volumes go to the destination; a revert brings
            # them back.
            self.network.unplug(instance, network_info)
            self.volumes.cleanup(instance, block_device_info)
            migration.keep_source(client, instance.uuid)
        except Exception as e:
            LOG.error('Resize or migration failed at the source: %s', e,
                      instance=instance)
            self._undo_migrate(context, instance, network_info,
                               block_device_info, was_running)
            raise exception.InstanceFaultRollback(
                inner_exception=exception.ResizeError(reason=str(e)))
        return migration.disk_info(root, self.engine.identity(),
                                   sent)

    def _undo_migrate(self, context, instance, network_info,
                      block_device_info, was_running):
        """The guest as it was before a move that failed at the source."""
        client = self.engine.client
        migration.forget_sent(context, instance)
        migration.restore_source(client, instance.uuid)
        migration.remove_root_images(client, instance.uuid)
        self.volumes.mount_all(instance, block_device_info)
        if was_running:
            self._start_with_network(instance, self.engine.get(instance),
                                     network_info)

    @_engine_errors
    def finish_migration(self, context, migration_record, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        """The destination's part: the guest's container made from its
        root image with the new flavor, started as at boot."""
        client = self.engine.client
        try:
            root = migration.root_image(context, client, disk_info,
                                        self.engine.identity(), instance)
        finally:
            migration.forget_sent(context, instance)
        committed = migration.committed_bytes(client.api.inspect_image(root))
        try:
            container = self._create(instance, image_meta, root,
                                     network_info,
                                     configdrive.kept(instance, network_info),
                                     committed,
                                     block_device_info=block_device_info)
            if power_on:
                self._start_with_network(instance, container, network_info)
        except Exception:
            with excutils.save_and_reraise_exception():
                container = self.engine.find(instance.uuid)
                if container is not None:
                    self._remove(container)
                self.network.remove(instance.uuid)
                self.volumes.undo(instance, block_device_info)
        LOG.info('Guest moved here from %s', migration_record.source_compute,
                 instance=instance)

    @_engine_errors
    def confirm_migration(self, context, migration_record, instance,
                          network_info):
        """At the source: the guest kept for a revert goes."""
        migration.forget_sent(context, instance)
        migration.drop_source(self.engine.client, instance.uuid)
        migration.remove_root_images(self.engine.client, instance.uuid)

    @_engine_errors
    def finish_revert_migration(self, context, instance, network_info,
                                migration_record, block_device_info=None,
                                power_on=True, share_info=None):
        """At the source, after Nova destroyed the destination's guest: the
        kept guest back under its name, started if it ran. Also called by
        nova-compute's start for a move it left half done."""
        client = self.engine.client
        migration.forget_sent(context, instance)
        migration.restore_source(client, instance.uuid)
        container = self.engine.get(instance)
        self.volumes.mount_all(instance, block_device_info)
        if power_on:
            self._start_with_network(instance, container, network_info)
        # The root image made for the move, which nothing uses now.
        migration.remove_root_images(client, instance.uuid)

    # Nova asks whether two hosts share an instance's storage before it
    # destroys a reverted or evacuated guest with its disks: here, whether
    # both use one engine, which holds the guest's layers.

    def check_instance_shared_storage_local(self, context, instance):
        return {'engine_id': self.engine.identity()}

    def check_instance_shared_storage_remote(self, context, data):
        return data.get('engine_id') == self.engine.identity()

    def check_instance_shared_storage_cleanup(self, context, data):
        pass

    # -- rescue -------------------------------------------------------------

    @_engine_errors
    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        """A rescue container from the rescue image, the guest's root at
        /rescue, in the instance's sandbox (rescue.py)."""
        props = image_meta.properties
        if 'hw_rescue_bus' in props or 'hw_rescue_device' in props:
            raise exception.InstanceNotRescuable(
                instance_id=instance.uuid,
                reason='stable device rescue (hw_rescue_bus, '
                       'hw_rescue_device) is not supported')
        client = self.engine.client
        container = self.engine.get(instance)
        self.power_off(instance)
        container.reload()
        try:
            root = rescue.show_root(container, instance.uuid)
            rescue.keep(container, instance.uuid)
            with images.in_use(image_meta.id):
                engine_image = images.ensure_cached(context, client,
                                                    image_meta.id)
                rescuer = self._create(
                    instance, image_meta, engine_image, network_info, root,
                    network_settings=self.network.join(instance))
            self._start_with_network(instance, rescuer, network_info)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._end_rescue(instance, network_info)
        LOG.info('Rescued: the guest\'s root is at %s', rescue.GUEST_PATH,
                 instance=instance)
        if rescue_password:
            try:
                inject.set_password(client.api, instance, rescuer.id,
                                    inject.admin_user(image_meta),
                                    rescue_password)
            except Exception as e:
                # The rescue stands without it, as libvirt's does without
                # [libvirt] inject_password.
                LOG.warning('The rescue password could not be set: %s', e,
                            instance=instance)

    @_engine_errors
    def unrescue(self, context, instance):
        self._end_rescue(instance, instance.get_network_info())

    def _end_rescue(self, instance, network_info):
        """The rescue container gone, the guest's own back and started."""
        client = self.engine.client
        if rescue.kept(client, instance.uuid) is not None:
            rescuer = self.engine.find(instance.uuid)
            if rescuer is not None:
                self._remove(rescuer)
        rescue.hide_root(instance.uuid)
        rescue.give_back(client, instance.uuid)
        self._start_with_network(instance, self.engine.get(instance),
                                 network_info)

    # -- guest password ---------------------------------------------------

    @_engine_errors
    def set_admin_password(self, instance, new_pass):
        container = self.engine.get(instance)
        container.reload()
        state = container.attrs['State']
        if not state.get('Running') or state.get('Paused'):
            raise exception.InstancePasswordSetFailed(
                instance=instance.uuid, reason='the container is not running')
        inject.set_password(self.engine.client.api, instance, container.id,
                            inject.admin_user(instance.image_meta), new_pass)
        inject.keep_for_metadata(instance, new_pass)
        LOG.info('Password of the guest\'s admin user set', instance=instance)

    # -- networking ---------------------------------------------------------

    @_engine_errors
    def plug_vifs(self, instance, network_info):
        container = self.engine.find(instance.uuid)
        if container is not None:
            self.network.plug(instance, network_info, container)

    def unplug_vifs(self, instance, network_info):
        self.network.unplug(instance, network_info)

    @_engine_errors
    def attach_interface(self, context, instance, image_meta, vif):
        self.network.attach(instance, vif, self.engine.get(instance))

    def detach_interface(self, context, instance, vif):
        self.network.detach(instance, vif,
                            lambda: self.engine.find(instance.uuid))

    # -- volumes ------------------------------------------------------------

    def default_root_device_name(self, instance, image_meta, root_bdm):
        # As libvirt names virtio disks, so that volumes become /dev/vdb,
        # /dev/vdc... (Nova's own default is /dev/sda).
        return attachment.ROOT_DEVICE_NAME

    def get_volume_connector(self, instance):
        return self.volumes.connector_properties()

    @_engine_errors
    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        self.volumes.attach(connection_info, instance, mountpoint,
                            self.engine.get(instance), encryption)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        self.volumes.detach(connection_info, instance, mountpoint)

    def swap_volume(self, context, old_connection_info, new_connection_info,
                    instance, mountpoint, resize_to):
        raise NotImplementedError('the Docker driver cannot swap volumes')

    # -- snapshot -----------------------------------------------------------

    @_engine_errors
    def snapshot(self, context, instance, image_id, update_task_state):
        if self._commit_refusal:
            raise engine_compat.Unsupported(**self._commit_refusal)
        container = self.engine.get(instance)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        # commit pauses the container for the moment it takes, and keeps a
        # paused instance paused.
        # The image keeps the container's labels; every container made from
        # it gets its own instance's labels at create, which win.
        committed = container.commit().id
        try:
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            images.upload_snapshot(context, self.engine.client, committed,
                                   image_id, instance)
        except Exception:
            self.engine.client.api.remove_image(committed, force=True)
            raise
        LOG.info('Snapshot %s uploaded', image_id, instance=instance)

    @_engine_errors
    def cache_image(self, context, image_id):
        client = self.engine.client
        if images.cached(client, image_id):
            return False
        with images.in_use(image_id):
            images.ensure_cached(context, client, image_id)
        return True

    @_engine_errors
    def manage_image_cache(self, context, all_instances):
        # Nova's periodic pass, with the instances of this host.
        self.image_cache.update(context, all_instances)

    def get_host_ip_addr(self):
        return CONF.my_ip

"""An instance's networking: its sandbox, its ports, its name servers.

Everything the driver does with Nova's ``network_info`` happens here: the
instance's sandbox, which holds its network namespace (novadocker.sandbox),
plugging each port into that namespace before the guest starts, waiting
for Neutron in between, silencing the ports of a frozen (paused, suspended)
container, the guest's ``resolv.conf``, attach and detach, and the cleanup
at delete. The port level work (veths, os-vif, addresses) is
:mod:`novadocker.vif`'s.

A frozen container's kernel still answers on its ports (pings, TCP resets)
where a paused VM answers nothing: the host ends of a frozen container's
ports are down, whoever froze it, and every plug leaves them so; so are
those of a stopped guest, until it starts.
"""

import contextlib
import io
import tarfile

import docker.errors
from nova import exception
from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker import conf
from novadocker import engine
from novadocker import engine_compat
from novadocker import privsep
from novadocker import sandbox as sandboxes
from novadocker import vif as vifs

CONF = conf.CONF
LOG = logging.getLogger(__name__)


def _read_file(container, path):
    chunks, _stat = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b''.join(chunks))) as tar:
        member = tar.next()
        return tar.extractfile(member).read().decode('utf-8', 'replace')


def _lock(instance_uuid):
    # Nova's operations and the watch of engine starts both plug.
    return lockutils.lock('novadocker-ports-%s' % instance_uuid)


def dns_settings(network_info):
    """Engine settings at create time: the name servers of the ports.

    Docker writes them to the container's /etc/resolv.conf at every start
    (the driver updates the file for ports attached or detached later);
    without any, the engine's choice stays.
    """
    servers = dns_servers(network_info)
    return {'dns': servers} if servers else {}


def dns_servers(network_info):
    """The name servers of the ports' subnets, in port order, once each.

    Only subnets the port has an address in count, as for routes
    (vif.addressing).
    """
    servers = []
    for vif in network_info or []:
        for subnet in (vif.get('network') or {}).get('subnets', []):
            if not subnet.get('ips'):
                continue
            for dns in subnet.get('dns', []):
                if dns.get('address') and dns['address'] not in servers:
                    servers.append(dns['address'])
    return servers


def nameservers(current, network_info, dropped=()):
    """The name servers a container's resolv.conf should list.

    Those of its ports, as at create time, where any port has some. Where
    none has, the engine's choice at create time stays (the host's, or
    public ones), less ``dropped``: servers of ports the container no
    longer has.
    """
    servers = dns_servers(network_info)
    if servers:
        return servers
    return [s for s in current if s not in dropped]


def resolv_conf_servers(text):
    """The nameserver addresses of a resolv.conf."""
    return [fields[1] for fields in (line.split() for line in
                                     text.splitlines())
            if len(fields) > 1 and fields[0] == 'nameserver']


class InstanceNetwork:
    """The ports of this host's containers."""

    def __init__(self, virtapi, engine_):
        self.virtapi = virtapi
        self.engine = engine_
        self.vif_driver = vifs.VIFDriver()
        self.sandboxes = sandboxes.Sandboxes(engine_)
        self._sets_domainname = False
        self._writes_name_servers = True

    def init_host(self, sets_domainname, writes_name_servers=True,
                  per_guest_userns=False):
        """``sets_domainname``: may the engine set a guest's domain name
        (userns.sets_domainname)? ``writes_name_servers``: does it write
        the sandbox's resolv.conf (engine_compat.Traits)?
        ``per_guest_userns``: does each sandbox get a user namespace of its
        own (userns.per_guest)?"""
        self.sandboxes.init_host(per_guest_userns)
        self._sets_domainname = sets_domainname
        self._writes_name_servers = writes_name_servers

    # -- the sandbox ----------------------------------------------------

    def _sandbox_settings(self, instance, network_info):
        # The engine takes the guest's names and name servers from the
        # sandbox, and its sysctls for the network namespace.
        servers = dns_servers(network_info)
        if servers and not self._writes_name_servers:
            # A guest without the name servers its subnets give would
            # resolve nothing, silently.
            raise engine_compat.Unsupported(
                feature='The name servers of the instance\'s subnets (%s)'
                        % ', '.join(servers),
                engine=self.engine.kind.capitalize(),
                reason='the engine writes no /etc/resolv.conf for the '
                       'instance\'s network sandbox (a container without a '
                       'network of its own); use subnets without '
                       'dns_nameservers, or Docker')
        return dict(sandboxes.hostname_settings(instance.hostname,
                                                self._sets_domainname),
                    **vifs.container_settings(),
                    **dns_settings(network_info))

    def create(self, instance, network_info, start=False):
        """Make the instance's sandbox, and with ``start`` start it while
        the guest's container is made (start() then plugs its ports); the
        guest's engine settings."""
        sandbox = self.sandboxes.create(
            instance, self._sandbox_settings(instance, network_info))
        if start:
            self.sandboxes.start_soon(instance.uuid, sandbox)
        return self.sandboxes.joined(instance.uuid)

    def join(self, instance):
        """The engine settings of another container of the instance (its
        rescue container) in the instance's sandbox, which exists."""
        return self.sandboxes.joined(instance.uuid)

    def start(self, instance, network_info, container, start_guest,
              wait_for_neutron=False):
        """Ports first, then the guest: the sandbox runs, its ports are
        plugged (with ``wait_for_neutron``, until Neutron has wired them),
        then ``start_guest()`` starts the guest unless it runs."""
        with _lock(instance.uuid):
            container.reload()
            sandbox, started = self.sandboxes.running(instance.uuid,
                                                      container)
            waiting = (self.neutron_events(instance, network_info)
                       if wait_for_neutron else contextlib.nullcontext())
            with waiting:
                self._plug(instance, network_info, container, sandbox,
                           dns_written=started)
            if not container.attrs['State'].get('Running'):
                start_guest()

    def silence_stopped(self, instance, network_info, container):
        """After the guest stopped, however: its ports pass nothing until
        it starts again (the sandbox keeps them), as a VM's taps go with
        its domain."""
        with _lock(instance.uuid):
            try:
                container.reload()
            except docker.errors.NotFound:
                # Removed (a delete): its ports went with it.
                return
            if not container.attrs['State'].get('Running'):
                self._set_up(network_info, False)

    # -- boot -----------------------------------------------------------

    @contextlib.contextmanager
    def neutron_events(self, instance, network_info):
        """Wait, after the block, for Neutron to report the ports plugged.

        The block starts the container and plugs its ports; a failure that
        Neutron reports, or its silence past ``vif_plugging_timeout``, ends
        the boot where ``vif_plugging_is_fatal`` says so.
        """
        timeout = CONF.vif_plugging_timeout
        events = vifs.plugged_events(network_info) if timeout else []
        try:
            with self.virtapi.wait_for_instance_event(
                    instance, events, timeout=timeout,
                    error_callback=self._neutron_failed):
                yield
        except exception.InstanceEventTimeout:
            # wait_for_instance_event has logged which events are missing.
            if CONF.vif_plugging_is_fatal:
                raise exception.VirtualInterfaceCreateException()

    @staticmethod
    def _neutron_failed(event_name, instance):
        LOG.error('Neutron reported failure on event %s', event_name,
                  instance=instance)
        if CONF.vif_plugging_is_fatal:
            raise exception.VirtualInterfaceCreateException()

    # -- plugging -------------------------------------------------------

    def plug(self, instance, network_info, container, only=None):
        """Plug each port the running guest does not have yet.

        A port counts as plugged when a device with its MAC is in the
        namespace: nova-compute restarts leave those alone. Then every port
        passes traffic, or, while the guest is frozen, none does.
        """
        with _lock(instance.uuid):
            container.reload()
            if not container.attrs['State'].get('Running'):
                LOG.debug('Container not running: its ports are plugged '
                          'when it starts', instance=instance)
                return
            self._plug(instance, network_info, container,
                       self.sandboxes.find(instance.uuid), only)

    def _plug(self, instance, network_info, container, sandbox, only=None,
              dns_written=False):
        """Plug into the namespace of the running guest, or before it runs,
        of its sandbox, where its ports plugged before get their addresses
        back (the guest's shutdown may have removed them). ``dns_written``:
        the sandbox has just started, and the engine has written its
        resolv.conf from the create-time name servers."""
        running = container.attrs['State'].get('Running')
        if running:
            pid = container.attrs['State'].get('Pid')
        else:
            pid = sandbox.attrs['State'].get('Pid')
        if network_info:
            self._plug_ports(instance, network_info, pid, only,
                             readdress=not running)
            self._set_up(network_info,
                         not container.attrs['State'].get('Paused'))
        if sandbox is None:
            return
        created_with = sandbox.attrs['HostConfig'].get('Dns') or []
        if dns_written and created_with == dns_servers(network_info):
            # Those of these very ports (a boot): nothing to read back.
            return
        if network_info or created_with:
            # Name servers of ports it has, or of ports it once had.
            self._sync_dns(instance, sandbox, network_info)

    def _plug_ports(self, instance, network_info, pid, only, readdress=False):
        present = self.vif_driver.container_links(pid)
        names = set(present.values())
        for position, vif in enumerate(network_info):
            if only is not None and vif['id'] != only:
                continue
            if vif['address'].lower() in present:
                if readdress:
                    self.vif_driver.readdress(
                        vif, pid, present[vif['address'].lower()], position)
                continue
            ifname = 'eth%d' % position
            n = 0
            while ifname in names:
                ifname = 'eth%d' % n
                n += 1
            self.vif_driver.plug(instance, vif, pid, ifname, position)
            names.add(ifname)

    def _set_up(self, network_info, up):
        for vif in network_info or []:
            self.vif_driver.set_up(vif, up)

    # -- pause and suspend ----------------------------------------------

    def freeze(self, instance, container):
        """Freeze the container, then take its ports down.

        In that order, so that the guest never runs without its network;
        if the ports cannot go down, the container runs again.
        """
        network_info = instance.get_network_info()
        with _lock(instance.uuid):
            container.pause()
            try:
                self._set_up(network_info, False)
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._set_up(network_info, True)
                    container.unpause()

    def thaw(self, instance, container):
        """Bring the frozen container's ports up, then let it run."""
        with _lock(instance.uuid):
            self._set_up(instance.get_network_info(), True)
            container.unpause()

    def unplug(self, instance, network_info):
        for vif in network_info or []:
            self.vif_driver.unplug(instance, vif)

    def remove(self, instance_uuid):
        """The sandbox of a deleted guest (its ports went with it)."""
        with _lock(instance_uuid):
            self.sandboxes.remove(instance_uuid)

    def cleanup(self, instance, network_info):
        """The ports of a deleted container, and any OVS port left."""
        with _lock(instance.uuid):
            self.unplug(instance, network_info)
            try:
                self.vif_driver.sweep(instance)
            except Exception as e:
                # The container is gone; a switch that cannot be reached
                # must not keep the instance from being deleted.
                LOG.warning('Could not look for OVS ports left for the '
                            'instance: %s', e, instance=instance)

    # -- name servers ---------------------------------------------------

    def _sync_dns(self, instance, container, network_info, gone=()):
        """Make the name servers of the sandbox (``container``), which the
        guest shares, those of its ports.

        The engine writes resolv.conf from the list given at create time,
        again at every start, and knows nothing of the ports attached or
        detached since.
        """
        path = container.attrs.get('ResolvConfPath')
        if not path:
            return
        try:
            current = resolv_conf_servers(
                _read_file(container, '/etc/resolv.conf'))
            # Create-time servers came from ports; the detached port's go.
            dropped = set(container.attrs['HostConfig'].get('Dns') or [])
            dropped.update(dns_servers(gone))
            wanted = nameservers(current, network_info, dropped)
            if wanted != current:
                privsep.set_nameservers(path, wanted)
                LOG.debug('Name servers of the container now %s', wanted,
                          instance=instance)
        except Exception as e:
            # The ports work; a stale resolv.conf must not undo them.
            LOG.warning('Could not update the name servers in the '
                        'container\'s /etc/resolv.conf: %s', e,
                        instance=instance)

    # -- attach and detach ----------------------------------------------

    def attach(self, instance, vif, container):
        network_info = list(instance.get_network_info())
        if vif['id'] not in [v['id'] for v in network_info]:
            network_info.append(vif)
        try:
            self.plug(instance, network_info, container, only=vif['id'])
        except Exception as e:
            LOG.error('Attaching port %s failed: %s', vif['id'], e,
                      instance=instance)
            self.vif_driver.unplug(instance, vif)
            raise exception.InterfaceAttachFailed(
                instance_uuid=instance.uuid)

    def detach(self, instance, vif, find_container):
        """Unplug the port, then take its name servers from the container.

        ``find_container`` is called only once the port is gone, so that an
        engine that cannot be reached costs the guest nothing but stale
        name servers until its next start.
        """
        try:
            with _lock(instance.uuid):
                self.vif_driver.unplug(instance, vif)
        except Exception as e:
            LOG.error('Detaching port %s failed: %s', vif['id'], e,
                      instance=instance)
            raise exception.InterfaceDetachFailed(
                instance_uuid=instance.uuid)
        remaining = [v for v in instance.get_network_info()
                     if v['id'] != vif['id']]
        try:
            container = find_container()
        except engine.UNREACHABLE as e:
            LOG.warning('Could not update the container\'s name servers: '
                        '%s', e, instance=instance)
            return
        if container is not None and container.attrs['State'].get('Running'):
            with _lock(instance.uuid):
                sandbox = self.sandboxes.find(instance.uuid)
                if sandbox is not None:
                    self._sync_dns(instance, sandbox, remaining, gone=[vif])

"""Neutron ports of a container: veth pairs plugged through os-vif.

Per port a veth pair. The host end (Nova's ``tap<port>`` name) is plugged
the way the os-vif object of the port says: an Open vSwitch port on the
integration bridge (ML2/OVS, OVN) or, with hybrid plug, a port of the
per-port Linux bridge that os-vif creates. The other end goes into the
instance's network namespace (its sandbox's, novadocker.sandbox) as
``ethN`` with the port's MAC address, MTU, fixed IPs and routes. Docker's
own networking stays off.

A network namespace dies with the sandbox's process, and its veth ends
with it: a sandbox the engine started again needs a new plug. The host end
comes up once the port is wired (``VIFDriver.set_up``), and goes down while
the guest is frozen or stopped.
"""

import ipaddress
import os
import socket

from nova import exception
from nova.network import model as network_model
from nova.network import os_vif_util
import os_vif
from os_vif import objects as osv_objects
from oslo_log import log as logging
from vif_plug_ovs.ovsdb import ovsdb_lib

from novadocker import conf
from novadocker import privsep

CONF = conf.CONF
LOG = logging.getLogger(__name__)

# Name of the container end while it is still in the host's namespace.
PEER_PREFIX = 'tin'
# OVS ports of ours whose name says which Linux devices go with them: our
# veth (tap), or the hybrid plug's veth (qvo, peer qvb) and bridge (qbr).
VETH_OVS_PREFIX = 'tap'
HYBRID_OVS_PREFIX = 'qvo'
HYBRID_BRIDGE_PREFIX = 'qbr'
NIC_NAME_LEN = 14
# Seconds to wait for an OVSDB to accept a connection before the first
# sweep: without one there is nothing to sweep.
OVSDB_PROBE_SECONDS = 2
# Default routes of the first port win; later ports get worse metrics.
BASE_METRIC = 100
USERSPACE_DATAPATH = 'netdev'


class UnsupportedVIF(exception.NovaException):
    msg_fmt = ('Port %(port)s has VIF type %(vif_type)s (vnic type '
               '%(vnic_type)s), which the Docker driver cannot plug: it '
               'supports Open vSwitch ports (ML2/OVS and OVN, with or without '
               'hybrid plug) of vnic type normal.')


class NotRunning(exception.NovaException):
    msg_fmt = ('The container of instance %(uuid)s is not running, so it has '
               'no network namespace to plug port %(port)s into.')


def host_name(vif):
    return vif.get('devname') or ('tap' + vif['id'])[:NIC_NAME_LEN]


def peer_name(vif):
    return (PEER_PREFIX + vif['id'])[:NIC_NAME_LEN]


def _mtu(vif):
    network = vif.get('network') or {}
    return network.get_meta('mtu') if network else None


def _link_exists(name):
    """Is there a network device ``name`` in the host's namespace?"""
    return os.path.exists(os.path.join('/sys/class/net', name))


def container_settings():
    """Engine settings at create time that the ports need.

    IPv6 is off by default in a Docker container's namespace and the kernel
    refuses IPv6 addresses on its devices; devices plugged later inherit
    "default".
    """
    return {'sysctls': {'net.ipv6.conf.all.disable_ipv6': '0',
                        'net.ipv6.conf.default.disable_ipv6': '0'}}


def addressing(vif, position):
    """The (addresses, routes) of a port, for privsep.configure_in_container.

    ``position`` is the port's place in network_info: default routes of
    later ports get a larger metric so the first port's gateway wins.
    """
    metric = BASE_METRIC + position
    addresses, routes = [], []
    for subnet in (vif.get('network') or {}).get('subnets', []):
        if not subnet.get('cidr'):
            continue
        net = ipaddress.ip_network(subnet['cidr'], strict=False)
        fixed = [ip for ip in subnet.get('ips', [])
                 if ip.get('type', 'fixed') == 'fixed']
        if not fixed:
            # No address of ours in this subnet: its routes would not work.
            continue
        for ip in fixed:
            addresses.append((ip['address'], net.prefixlen, net.version))
        for route in subnet.get('routes', []):
            gateway = (route.get('gateway') or {}).get('address')
            routes.append((route['cidr'], gateway, metric, net.version))
        gateway = (subnet.get('gateway') or {}).get('address')
        if gateway:
            default = '0.0.0.0/0' if net.version == 4 else '::/0'
            routes.append((default, gateway, metric, net.version))
    return addresses, routes


def ovsdb_answers(connection):
    """Whether an OVSDB connection string (unix:, tcp:, ssl:) is served.

    os-vif waits its whole OVSDB timeout (two minutes by default) for a
    switch that is not there; a host without Open vSwitch must not make
    every delete wait that long.
    """
    kind, _, address = connection.partition(':')
    if kind == 'unix':
        return os.path.exists(address)
    host, _, port = address.rpartition(':')
    try:
        socket.create_connection((host.strip('[]'), int(port)),
                                 timeout=OVSDB_PROBE_SECONDS).close()
    except (OSError, ValueError):
        return False
    return True


def _events_expected(vif):
    # Ports already ACTIVE will not send another network-vif-plugged.
    return (vif.get('active', True) is False and
            vif.get('vnic_type') != network_model.VNIC_TYPE_REMOTE_MANAGED)


def plugged_events(network_info):
    return [('network-vif-plugged', vif['id'])
            for vif in network_info or [] if _events_expected(vif)]


class VIFDriver:
    """Plugs and unplugs the ports of containers."""

    def __init__(self):
        self._os_vif_ready = False
        self._ovs = None

    def _os_vif(self):
        # nova-compute's main initializes os-vif; Nova's test harness and
        # other embedders may not.
        if not self._os_vif_ready:
            os_vif.initialize()
            self._os_vif_ready = True

    def _to_os_vif(self, vif):
        obj = None
        # Only a veth can reach into a container: no SR-IOV, no vhost-user.
        if vif.get('vnic_type', 'normal') == network_model.VNIC_TYPE_NORMAL:
            try:
                obj = os_vif_util.nova_to_osvif_vif(vif)
            except (exception.NovaException, NotImplementedError):
                pass
        if not isinstance(obj, (osv_objects.vif.VIFOpenVSwitch,
                                osv_objects.vif.VIFBridge)):
            raise UnsupportedVIF(port=vif['id'], vif_type=vif.get('type'),
                                 vnic_type=vif.get('vnic_type'))
        return obj

    def _tx_checksum(self, obj):
        # The userspace datapath takes packets from the veth with AF_PACKET
        # and forwards them with the checksum the veth left to "hardware":
        # TCP across it fails unless the kernel fills checksums in itself.
        profile = obj.port_profile
        datapath = (profile.datapath_type if 'datapath_type' in profile
                    else None)
        return (CONF.docker.veth_tx_checksum_offload and
                datapath != USERSPACE_DATAPATH)

    def plug(self, instance, vif, pid, ifname, position):
        """Wire one port into the netns of process ``pid`` as ``ifname``."""
        self._os_vif()
        obj = self._to_os_vif(vif)
        info = os_vif_util.nova_to_osvif_instance(instance)
        host, peer = host_name(vif), peer_name(vif)
        ovs = isinstance(obj, osv_objects.vif.VIFOpenVSwitch)
        in_ovs, ofport = self._ovs_interface(host) if ovs else (True, None)
        # A port left from an earlier life of the container (its veth died
        # with the old namespace) is dead in OVS: start again from nothing.
        # A new port has nothing to remove.
        if in_ovs or _link_exists(host) or _link_exists(peer):
            self._unplug(instance, vif, obj, info)
        privsep.create_veth(host, peer, _mtu(vif),
                            tx_checksum=self._tx_checksum(obj))
        try:
            if ovs:
                if ofport:
                    self._keep_ofport(obj.bridge_name, host, ofport,
                                      vif, instance.uuid)
                # Without a hypervisor to make the OVS port, ask os-vif to.
                obj.port_profile.create_port = True
                os_vif.plug(obj, info)
            else:
                os_vif.plug(obj, info)
                privsep.add_to_bridge(host, obj.bridge_name)
            privsep.move_into_container(peer, pid, ifname, vif['address'])
            addresses, routes = addressing(vif, position)
            privsep.configure_in_container(pid, ifname, addresses, routes)
        except Exception:
            LOG.exception('Plugging port %s failed', vif['id'],
                          instance=instance)
            self._unplug(instance, vif, obj, info)
            raise
        LOG.debug('Plugged port %s as %s', vif['id'], ifname,
                  instance=instance)

    @staticmethod
    def readdress(vif, pid, ifname, position):
        """A plugged port's addresses and routes, where the guest removed
        them (its network's shutdown at a reboot or a stop): a VM's DHCP
        client gets them back at its next boot."""
        addresses, routes = addressing(vif, position)
        privsep.configure_in_container(pid, ifname, addresses, routes)

    @staticmethod
    def set_up(vif, up):
        """Let a plugged port pass traffic, or stop it, at its host end.

        Down, the host end passes nothing either way, for Open vSwitch and
        hybrid plug alike, and Neutron's flows for the port stay as they
        are; the container's end keeps its addresses and routes.
        """
        privsep.set_veth_up(host_name(vif), up)

    def _ovsdb(self):
        """os-vif's own OVSDB access ([os_vif_ovs]), or None without one."""
        if self._ovs is None:
            if not ovsdb_answers(CONF.os_vif_ovs.ovsdb_connection):
                return None
            self._ovs = ovsdb_lib.BaseOVS(CONF.os_vif_ovs)
        return self._ovs.ovsdb

    def _ovs_interface(self, name):
        """Is there an OVS interface ``name`` (True where OVSDB cannot be
        asked), and its OpenFlow port number, or None."""
        db = self._ovsdb()
        if db is None:
            return True, None
        found = db.db_find('Interface', ('name', '=', name),
                           columns=['ofport']).execute(check_error=True)
        numbers = [row['ofport'] for row in found
                   if isinstance(row['ofport'], int) and row['ofport'] > 0]
        return bool(found), numbers[0] if numbers else None

    def _keep_ofport(self, bridge, name, ofport, vif, instance_uuid):
        """Add the port again under its old OpenFlow number, as it keeps it
        through a libvirt guest's hard reboot: Neutron's flows for it (its
        VLAN, its security groups) match on that number. os-vif's plug then
        finds it and sets the rest.

        A separate transaction from the delete: within one, OVS would keep
        the dead device. The port comes with the external ids os-vif gives
        it, in the same transaction: Neutron's agent takes a new port for
        one only when its iface-id and MAC come with it, and ignores them
        arriving later; where it saw the removal in one poll and the port
        in the next, it then never wired the port again.
        """
        ids = {'iface-id': vif['id'], 'iface-status': 'active',
               'attached-mac': vif['address'], 'vm-uuid': instance_uuid}
        db = self._ovsdb()
        with db.transaction(check_error=True) as txn:
            txn.add(db.add_port(bridge, name, may_exist=True))
            txn.add(db.db_set('Interface', name, ('external_ids', ids),
                              ('ofport_request', ofport)))

    def unplug(self, instance, vif):
        """Remove what plug made on the host. Missing pieces are fine."""
        self._os_vif()
        try:
            obj = self._to_os_vif(vif)
        except UnsupportedVIF:
            # Nothing of ours can exist for it; still drop a stray veth.
            obj = None
        self._unplug(instance, vif, obj,
                     os_vif_util.nova_to_osvif_instance(instance))

    def _unplug(self, instance, vif, obj, info):
        if obj is not None:
            try:
                os_vif.unplug(obj, info)
            except Exception as e:
                # The veth must still go, and a destroy must not fail.
                LOG.warning('os-vif could not unplug port %s: %s',
                            vif['id'], e, instance=instance)
        for name in (host_name(vif), peer_name(vif)):
            try:
                privsep.delete_link(name)
            except Exception as e:
                # Logged, not raised: a failed boot must report its own
                # error, and a delete must go on to remove the container.
                LOG.warning('Could not remove device %s of port %s: %s',
                            name, vif['id'], e, instance=instance)

    def sweep(self, instance):
        """Remove every OVS port still marked with a deleted instance.

        os-vif marks the ports it adds with the instance (external_ids
        vm-uuid). network_info can be stale at delete (a port removed in
        Neutron first, a detach that failed half way): without this, the
        OVS port and devices of a port Nova no longer knows would stay.
        """
        self._os_vif()
        db = self._ovsdb()
        if db is None:
            LOG.debug('No OVSDB at %s: no OVS port to look for',
                      CONF.os_vif_ovs.ovsdb_connection, instance=instance)
            return
        rows = db.db_find('Interface',
                          ('external_ids', '=', {'vm-uuid': instance.uuid}),
                          columns=['name']).execute(check_error=True)
        for name in sorted({row['name'] for row in rows}):
            LOG.info('Removing OVS port %s, left for a port the instance no '
                     'longer has', name, instance=instance)
            db.del_port(name, if_exists=True).execute(check_error=True)
            devices = []
            if name.startswith(VETH_OVS_PREFIX):
                devices = [name]
            elif name.startswith(HYBRID_OVS_PREFIX):
                suffix = name[len(HYBRID_OVS_PREFIX):]
                devices = [name, HYBRID_BRIDGE_PREFIX + suffix]
            for device in devices:
                privsep.delete_link(device)

    @staticmethod
    def container_links(pid):
        """{MAC: ifname} of the devices in the netns of ``pid``."""
        return {mac.lower(): name
                for name, mac in privsep.container_links(pid) if mac}

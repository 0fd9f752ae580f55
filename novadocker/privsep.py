"""The driver's privileged operations, run by an oslo.privsep daemon.

nova-compute starts the daemon through rootwrap; the filter in
``etc/nova/rootwrap.d/docker.filters`` allows this context's name and no
other, so keep it. Every entry point takes plain values and does one
netlink job with pyroute2: no shell, no command line built from input.
"""

import array
import errno
import fcntl
import ipaddress
import os
import re
import socket
import struct

from oslo_privsep import capabilities as caps
from oslo_privsep import priv_context
from pyroute2 import IPRoute
from pyroute2 import NetlinkError
from pyroute2 import NetNS

sys_admin_pctxt = priv_context.PrivContext(
    'novadocker',
    cfg_section='novadocker_privileged',
    pypath=__name__ + '.sys_admin_pctxt',
    # NET_ADMIN for links, addresses and routes; SYS_ADMIN to enter a
    # container's network namespace (setns); SYS_PTRACE to open
    # /proc/<pid>/ns/net of a container process that runs as another user.
    capabilities=[caps.CAP_NET_ADMIN, caps.CAP_SYS_ADMIN,
                  caps.CAP_SYS_PTRACE],
)

# The file the engine keeps for a container's /etc/resolv.conf, and bind
# mounts into it: <docker root>/containers/<container id>/resolv.conf.
_RESOLV_CONF = re.compile(r'^/.+/containers/[0-9a-f]{64}/resolv\.conf$')

# From linux/sockios.h and linux/ethtool.h.
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def _index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


@sys_admin_pctxt.entrypoint
def create_veth(host_name, peer_name, mtu, tx_checksum=True):
    """A veth pair, both ends with the MTU, the host end up.

    An existing pair of that name is removed first: a device left by a
    crash must not keep its old peer.
    """
    with IPRoute() as ipr:
        old = _index(ipr, host_name)
        if old is not None:
            ipr.link('del', index=old)
        ipr.link('add', ifname=host_name, kind='veth',
                 peer={'ifname': peer_name})
        for name in (host_name, peer_name):
            index = _index(ipr, name)
            if mtu:
                ipr.link('set', index=index, mtu=mtu)
            if not tx_checksum:
                _set_tx_checksum(name, False)
        ipr.link('set', index=_index(ipr, host_name), state='up')


def _set_tx_checksum(name, on):
    """``ethtool -K <name> tx on|off`` in the caller's network namespace."""
    # struct ethtool_value {__u32 cmd; __u32 data;}, pointed to by the
    # ifreq that names the device.
    value = array.array('I', [ETHTOOL_STXCSUM, 1 if on else 0])
    ifreq = struct.pack('16sP', name.encode(), value.buffer_info()[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)


@sys_admin_pctxt.entrypoint
def move_into_container(peer_name, pid, ifname, mac):
    """Give the peer the port's MAC and move it into a process's netns.

    The kernel renames it to ``ifname`` in the same request, so no other
    device of that name ever shows in the host's namespace.
    """
    with IPRoute() as ipr:
        index = _index(ipr, peer_name)
        if index is None:
            raise RuntimeError('no device %s to move' % peer_name)
        ipr.link('set', index=index, address=mac)
        ipr.link('set', index=index, net_ns_pid=pid, ifname=ifname)


@sys_admin_pctxt.entrypoint
def configure_in_container(pid, ifname, addresses, routes):
    """Bring a device up inside the netns of ``pid`` and address it.

    :param addresses: (address, prefixlen, ip_version) tuples
    :param routes: (destination cidr, gateway or None, metric, ip_version)
    """
    with NetNS('/proc/%d/ns/net' % pid, flags=0) as ns:
        found = ns.link_lookup(ifname=ifname)
        if not found:
            raise RuntimeError('no device %s in the netns of process %d'
                               % (ifname, pid))
        index = found[0]
        ns.link('set', index=index, state='up')
        for address, prefixlen, version in addresses:
            # Neutron already made the address unique: skip IPv6 duplicate
            # address detection, which would hold it tentative for seconds.
            flags = 0x02 if version == 6 else 0  # IFA_F_NODAD
            try:
                ns.addr('add', index=index, address=address,
                        prefixlen=prefixlen, flags=flags)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise
        for dst, gateway, metric, version in routes:
            spec = {'dst': dst, 'oif': index, 'priority': metric,
                    'family': socket.AF_INET6 if version == 6
                    else socket.AF_INET}
            if gateway:
                spec['gateway'] = gateway
            try:
                ns.route('replace', **spec)
            except NetlinkError as e:
                raise RuntimeError('route %s via %s on %s: %s'
                                   % (dst, gateway, ifname, e))


@sys_admin_pctxt.entrypoint
def container_links(pid):
    """(name, MAC) of each device in the netns of ``pid``."""
    with NetNS('/proc/%d/ns/net' % pid, flags=0) as ns:
        return [(link.get_attr('IFLA_IFNAME'), link.get_attr('IFLA_ADDRESS'))
                for link in ns.get_links()]


@sys_admin_pctxt.entrypoint
def add_to_bridge(name, bridge):
    """Enslave a device to a Linux bridge (the hybrid plug's qbr)."""
    with IPRoute() as ipr:
        master = _index(ipr, bridge)
        if master is None:
            raise RuntimeError('no bridge %s' % bridge)
        ipr.link('set', index=_index(ipr, name), master=master)


@sys_admin_pctxt.entrypoint
def delete_link(name):
    """Remove a device; a veth takes its peer with it. Gone is fine."""
    with IPRoute() as ipr:
        index = _index(ipr, name)
        if index is None:
            return
        try:
            ipr.link('del', index=index)
        except NetlinkError as e:
            if e.code != errno.ENODEV:
                raise


@sys_admin_pctxt.entrypoint
def set_nameservers(path, servers):
    """Make the nameserver lines of a container's resolv.conf ``servers``.

    Only the engine's own copy of a container's resolv.conf qualifies, and
    only its nameserver lines change. It is written in place: the container
    sees the file through a bind mount, which a new file would not replace.
    """
    if os.path.normpath(path) != path or not _RESOLV_CONF.match(path):
        raise ValueError('%s is not the resolv.conf of a container' % path)
    lines = ['nameserver %s' % ipaddress.ip_address(s) for s in servers]
    fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    with os.fdopen(fd, 'r+') as f:
        kept = [line for line in f.read().splitlines()
                if line.split()[:1] != ['nameserver']]
        f.seek(0)
        f.truncate()
        f.write(''.join(line + '\n' for line in kept + lines))

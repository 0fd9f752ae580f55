"""The driver's privileged operations, run by an oslo.privsep daemon.

nova-compute starts the daemon through rootwrap; the filter in
``etc/nova/rootwrap.d/docker.filters`` allows this context's name and no
other, so keep it. Every entry point takes plain values and does one
job: netlink with pyroute2, mount(2) and umount2(2), or one program with a
fixed command line (no shell) whose only argument from outside is a
checked block device.
"""

import array
import ctypes
import errno
import fcntl
import ipaddress
import os
import re
import socket
import stat
import struct
import subprocess
import tempfile

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
    # container's network namespace (setns) and for mount(2); SYS_PTRACE
    # to open /proc/<pid>/ns/net of a container process that runs as
    # another user. Under an engine that remaps user namespaces, whose
    # containers' root is an unprivileged host user: DAC_OVERRIDE for what
    # the engine gives that user (a container's resolv.conf, and its
    # /proc/<pid>/ns, which pyroute2 lists), CHOWN to give it the root of a
    # blank volume's new file system.
    capabilities=[caps.CAP_NET_ADMIN, caps.CAP_SYS_ADMIN,
                  caps.CAP_SYS_PTRACE, caps.CAP_DAC_OVERRIDE,
                  caps.CAP_CHOWN],
)

# The file the engine keeps for a container's /etc/resolv.conf, and bind
# mounts into it: <docker root>/containers/<container id>/resolv.conf.
_RESOLV_CONF = re.compile(r'^/.+/containers/[0-9a-f]{64}/resolv\.conf$')

# A volume's mount point: <volumes_path>/<instance uuid>/<guest name>.
_VOLUME_TARGET = re.compile(
    r'^/.+/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    r'/[a-z][a-z0-9]{0,31}$')
# The file systems a volume may hold, and that a blank one may get.
FILESYSTEMS = ('ext4', 'xfs', 'btrfs')
_MKFS = {'ext4': ('mkfs.ext4', '-q'), 'xfs': ('mkfs.xfs', '-q'),
         'btrfs': ('mkfs.btrfs', '-q')}
# The programs' environment: found where distributions put them, and
# messages in English for the faults.
_ENV = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C'}
# From linux/mount.h.
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MS_BIND, MS_REC, MS_SHARED = 4096, 16384, 1 << 20

# From linux/sockios.h and linux/ethtool.h.
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def _index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


@sys_admin_pctxt.entrypoint
def create_veth(host_name, peer_name, mtu, tx_checksum=True):
    """A veth pair, both ends with the MTU, both down.

    The plug brings the host end up (``set_veth_up``) once the port is
    wired, unless the container is frozen. An existing pair of that name
    is removed first: a device left by a crash must not keep its old peer.
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


def _set_tx_checksum(name, on):
    """``ethtool -K <name> tx on|off`` in the caller's network namespace."""
    # struct ethtool_value {__u32 cmd; __u32 data;}, pointed to by the
    # ifreq that names the device.
    value = array.array('I', [ETHTOOL_STXCSUM, 1 if on else 0])
    ifreq = struct.pack('16sP', name.encode(), value.buffer_info()[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)


@sys_admin_pctxt.entrypoint
def set_veth_up(name, up):
    """Set the host end of a port, a veth, up or down. Gone is fine.

    Only a veth: the host's other devices (uplinks, bridges) are not the
    driver's to take down.
    """
    if not isinstance(up, bool):
        raise ValueError('up must be True or False, not %r' % (up,))
    with IPRoute() as ipr:
        index = _index(ipr, name)
        if index is None:
            return
        link = ipr.get_links(index)[0]
        if link.get_nested('IFLA_LINKINFO', 'IFLA_INFO_KIND') != 'veth':
            raise ValueError('%s is not a veth' % name)
        ipr.link('set', index=index, state='up' if up else 'down')


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


# -- volumes ---------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _syscall(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, '%s: %s' % (what, os.strerror(code)))


def _plain_path(path):
    """An absolute path without '..', '//' or any symlink on the way."""
    if (not isinstance(path, str) or not path.startswith('/') or
            os.path.normpath(path) != path or
            os.path.realpath(path) != path):
        raise ValueError('%r is not a plain absolute path' % (path,))
    return path


def _block_device(path):
    _plain_path(path)
    if not stat.S_ISBLK(os.stat(path).st_mode):
        raise ValueError('%s is not a block device' % path)
    return path


def _volume_target(path):
    if not _VOLUME_TARGET.match(str(path)):
        raise ValueError('%s is not the mount point of a volume' % path)
    _plain_path(path)
    if not os.path.isdir(path):
        raise ValueError('%s is not a directory' % path)
    return path


def _run(*command):
    return subprocess.run(command, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=_ENV)


@sys_admin_pctxt.entrypoint
def make_shared_mount(path):
    """Make a directory a mount point of its own, shared (peer group).

    Mounts made below it later then propagate into the containers whose
    binds of its subdirectories are slaves of it.
    """
    _plain_path(path)
    if not os.path.isdir(path):
        raise ValueError('%s is not a directory' % path)
    target = path.encode()
    # Recursive, so that mounts already below it stay visible.
    _syscall(_libc.mount(target, target, None, MS_BIND | MS_REC, None),
             'bind %s' % path)
    _syscall(_libc.mount(None, target, None, MS_SHARED | MS_REC, None),
             'make %s shared' % path)


@sys_admin_pctxt.entrypoint
def probe_volume(device):
    """The signature blkid finds on the device itself (its superblock).

    :returns: blkid's fields (TYPE, USAGE, PTTYPE...); {} when the device
        holds no signature at all.
    :raises ValueError: when blkid finds several (ambivalent) or fails.
    """
    result = _run('blkid', '-p', '-o', 'export', _block_device(device))
    if result.returncode == 2:
        return {}
    if result.returncode != 0:
        raise ValueError('blkid -p %s failed (exit %d): %s' % (
            device, result.returncode,
            result.stderr.strip() or 'several signatures found'))
    fields = dict(line.split('=', 1)
                  for line in result.stdout.splitlines() if '=' in line)
    fields.pop('DEVNAME', None)
    return fields


def _owner(root_owner):
    """(uid, gid) of plain ids that are not root's, or None."""
    if root_owner is None:
        return None
    uid, gid = root_owner
    for value in (uid, gid):
        if (not isinstance(value, int) or isinstance(value, bool) or
                not 0 < value < 2 ** 32 - 1):
            raise ValueError('%r is not the owner of a volume' %
                             (root_owner,))
    return uid, gid


def _own_root(device, fstype, uid, gid):
    """Give the root directory of a new file system to uid:gid."""
    where = tempfile.mkdtemp(prefix='novadocker-format-')
    try:
        _syscall(_libc.mount(device.encode(), where.encode(),
                             fstype.encode(), MS_NODEV | MS_NOSUID, None),
                 'mount %s on %s' % (device, where))
        try:
            os.chown(where, uid, gid)
        finally:
            _syscall(_libc.umount2(where.encode(), 0), 'unmount %s' % where)
    finally:
        os.rmdir(where)


@sys_admin_pctxt.entrypoint
def format_volume(device, fstype, root_owner=None):
    """Make a file system on a device that holds no signature at all.

    Probed again here, right before mkfs: whatever the caller thought, a
    device with any signature is never formatted. ``root_owner``: the
    (uid, gid) its root directory gets instead of root's.
    """
    if fstype not in FILESYSTEMS:
        raise ValueError('no file system %r' % (fstype,))
    owner = _owner(root_owner)
    found = probe_volume(device)
    if found:
        raise ValueError('%s is not blank (%s): not formatted' % (
            device, found.get('TYPE') or found.get('PTTYPE') or found))
    result = _run(*_MKFS[fstype], device)
    if result.returncode != 0:
        raise RuntimeError('%s %s failed: %s' % (
            _MKFS[fstype][0], device, result.stderr.strip()))
    if owner:
        _own_root(device, fstype, *owner)


@sys_admin_pctxt.entrypoint
def mount_volume(device, target, fstype, read_only):
    """Mount a volume's file system at its mount point, nodev and nosuid."""
    if fstype not in FILESYSTEMS:
        raise ValueError('no file system %r' % (fstype,))
    flags = MS_NODEV | MS_NOSUID | (MS_RDONLY if read_only else 0)
    _syscall(_libc.mount(_block_device(device).encode(),
                         _volume_target(target).encode(),
                         fstype.encode(), flags, None),
             'mount %s on %s' % (device, target))


@sys_admin_pctxt.entrypoint
def unmount_volume(target):
    """Unmount a volume; EBUSY (an OSError) while anything uses it.

    Never lazily: a volume the guest still uses stays mounted and
    attached, rather than in use behind Nova's back.
    """
    _syscall(_libc.umount2(_volume_target(target).encode(), 0),
             'unmount %s' % target)

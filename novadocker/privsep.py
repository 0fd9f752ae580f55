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
import time

from oslo_privsep import capabilities as caps
from oslo_privsep import priv_context
from pyroute2 import IPRoute
from pyroute2 import NetlinkError
from pyroute2 import NetNS

from novadocker import volume

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
    # /proc/<pid>/ns, which pyroute2 lists), SETUID and SETGID to write
    # the id maps of the user namespace that a volume's idmapped mount
    # takes its owners from.
    capabilities=[caps.CAP_NET_ADMIN, caps.CAP_SYS_ADMIN,
                  caps.CAP_SYS_PTRACE, caps.CAP_DAC_OVERRIDE,
                  caps.CAP_SETUID, caps.CAP_SETGID],
)

# The file the engine keeps for a container's /etc/resolv.conf, and bind
# mounts into it: <docker root>/containers/<container id>/resolv.conf.
_RESOLV_CONF = re.compile(r'^/.+/containers/[0-9a-f]{64}/resolv\.conf$')

# A volume's mount point: <volumes_path>/<instance uuid>/<guest name>.
_VOLUME_TARGET = re.compile(
    r'^/.+/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    r'/[a-z][a-z0-9]{0,31}$')
# The program that makes each file system a blank volume may get.
_MKFS = {fs: ('mkfs.' + fs, '-q') for fs in volume.FILESYSTEMS}
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
        for attempt in range(1, ADDRESSING_ATTEMPTS + 1):
            _add_addresses(ns, index, addresses)
            try:
                _add_routes(ns, index, routes)
                return
            except NetlinkError as e:
                # A guest whose root may configure its interfaces (under a
                # remap) starts its own DHCP client, which flushes the
                # device's addresses before it asks for a lease: a gateway
                # is then off-link until the addresses are there again.
                if e.code != errno.ENETUNREACH or \
                        attempt == ADDRESSING_ATTEMPTS:
                    raise RuntimeError('%s: %s' % (ifname, e.args[1]))
                time.sleep(ADDRESSING_PAUSE)


# How often a port's addresses and routes are set before the guest's own
# changes count as a failure, and the pause between.
ADDRESSING_ATTEMPTS = 5
ADDRESSING_PAUSE = 0.2


def _add_addresses(ns, index, addresses):
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


def _add_routes(ns, index, routes):
    for dst, gateway, metric, version in routes:
        spec = {'dst': dst, 'oif': index, 'priority': metric,
                'family': socket.AF_INET6 if version == 6
                else socket.AF_INET}
        if gateway:
            spec['gateway'] = gateway
        try:
            ns.route('replace', **spec)
        except NetlinkError as e:
            raise NetlinkError(e.code, 'route %s via %s: %s' % (
                dst, gateway, e.args[1] if len(e.args) > 1 else e))


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


@sys_admin_pctxt.entrypoint
def format_volume(device, fstype):
    """Make a file system on a device that holds no signature at all.

    Probed again here, right before mkfs: whatever the caller thought, a
    device with any signature is never formatted.
    """
    if fstype not in volume.FILESYSTEMS:
        raise ValueError('no file system %r' % (fstype,))
    found = probe_volume(device)
    if found:
        raise ValueError('%s is not blank (%s): not formatted' % (
            device, found.get('TYPE') or found.get('PTTYPE') or found))
    result = _run(*_MKFS[fstype], device)
    if result.returncode != 0:
        raise RuntimeError('%s %s failed: %s' % (
            _MKFS[fstype][0], device, result.stderr.strip()))


@sys_admin_pctxt.entrypoint
def mount_volume(device, target, fstype, read_only, idmap=None):
    """Mount a volume's file system at its mount point, nodev and nosuid.

    ``idmap``: (uid, gid, count), the host ids of a remapped guest's ids
    0 to count - 1. The mount then shows the file system's owners to the
    host as those ids, as an idmapped mount (Linux 5.12): what uid 0 owns
    on the disk is the guest's root's, and what the guest's root writes
    is stored as uid 0, as a virtual machine would store it.
    """
    if fstype not in volume.FILESYSTEMS:
        raise ValueError('no file system %r' % (fstype,))
    device, target = _block_device(device), _volume_target(target)
    flags = MS_NODEV | MS_NOSUID | (MS_RDONLY if read_only else 0)
    if idmap is None:
        _syscall(_libc.mount(device.encode(), target.encode(),
                             fstype.encode(), flags, None),
                 'mount %s on %s' % (device, target))
        return
    ranges = _idmap_ranges(idmap)
    # Mounted aside, then a detached copy of the mount gets the map and
    # goes to the mount point: no process sees the file system unmapped.
    where = tempfile.mkdtemp(prefix='novadocker-idmap-')
    try:
        _syscall(_libc.mount(device.encode(), where.encode(),
                             fstype.encode(), flags, None),
                 'mount %s on %s' % (device, where))
        try:
            tree = _libc.syscall(SYS_OPEN_TREE, AT_FDCWD, where.encode(),
                                 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
            if tree < 0:
                _syscall(tree, 'copy the mount of %s' % device)
        finally:
            _syscall(_libc.umount2(where.encode(), 0), 'unmount %s' % where)
    finally:
        os.rmdir(where)
    try:
        userns = _user_namespace(*ranges)
        try:
            attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns)
            _syscall(_libc.syscall(SYS_MOUNT_SETATTR, tree, b'',
                                   AT_EMPTY_PATH, ctypes.byref(attr),
                                   ctypes.sizeof(attr)),
                     'map the owners of %s to the guest\'s (an idmapped '
                     'mount: Linux 5.12 or later, ext4, xfs or btrfs)'
                     % device)
        finally:
            os.close(userns)
        _syscall(_libc.syscall(SYS_MOVE_MOUNT, tree, b'', AT_FDCWD,
                               target.encode(), MOVE_MOUNT_F_EMPTY_PATH),
                 'move the mount of %s to %s' % (device, target))
    finally:
        # A copy that never moved to the mount point goes with its fd.
        os.close(tree)


# From linux/mount.h and asm-generic/unistd.h (one number on every
# architecture for these calls).
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, os.O_CLOEXEC
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
MOVE_MOUNT_F_EMPTY_PATH = 4
MOUNT_ATTR_IDMAP = 0x00100000
CLONE_NEWUSER = 0x10000000


class _MountAttr(ctypes.Structure):
    _fields_ = [('attr_set', ctypes.c_uint64), ('attr_clr', ctypes.c_uint64),
                ('propagation', ctypes.c_uint64),
                ('userns_fd', ctypes.c_uint64)]


def _idmap_ranges(idmap):
    """(uid, gid, count) of plain ids above root's, or ValueError."""
    try:
        uid, gid, count = idmap
    except (TypeError, ValueError):
        raise ValueError('%r is no id map' % (idmap,))
    for value in (uid, gid, count):
        if (not isinstance(value, int) or isinstance(value, bool) or
                not 0 < value < 2 ** 32 - 1):
            raise ValueError('%r is no id map' % (idmap,))
    if max(uid, gid) + count > 2 ** 32 - 1:
        raise ValueError('%r is no id map' % (idmap,))
    return uid, gid, count


def _user_namespace(uid, gid, count):
    """An fd of a new user namespace whose ids 0 to count - 1 are the
    host's uid and gid on: a child makes it, this daemon writes its maps
    (CAP_SETUID, CAP_SETGID), the fd keeps it once the child is gone."""
    made_r, made_w = os.pipe()
    done_r, done_w = os.pipe()
    child = os.fork()
    if child == 0:
        # The parent's ends: the read below ends when the parent closes.
        os.close(made_r)
        os.close(done_w)
        code = 0
        if _libc.unshare(CLONE_NEWUSER) != 0:
            code = ctypes.get_errno() or errno.EPERM
        os.write(made_w, b'.')
        os.read(done_r, 1)
        os._exit(code)
    os.close(made_w)
    os.close(done_r)
    try:
        os.read(made_r, 1)
        for name, first in (('uid_map', uid), ('gid_map', gid)):
            with open('/proc/%d/%s' % (child, name), 'w') as f:
                f.write('0 %d %d\n' % (first, count))
        return os.open('/proc/%d/ns/user' % child,
                       os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(done_w)
        os.close(made_r)
        os.waitpid(child, 0)


@sys_admin_pctxt.entrypoint
def unmount_volume(target):
    """Unmount a volume; EBUSY (an OSError) while anything uses it.

    Never lazily: a volume the guest still uses stays mounted and
    attached, rather than in use behind Nova's back.
    """
    _syscall(_libc.umount2(_volume_target(target).encode(), 0),
             'unmount %s' % target)


# -- a rescued guest's root -------------------------------------------------

# The directories of the engine's overlay2 layers: <docker root>/overlay2/
# <layer or container layer id>[-init]/diff (and work, the upper layer's).
_OVERLAY_DIR = re.compile(r'^/.+/overlay2/[0-9a-f]{64}(-init)?/(diff|work)$')
# Where a rescued guest's root is shown to its rescue container:
# <instances_path>/<instance uuid>/rescue-root.
_RESCUE_ROOT = re.compile(
    r'^/.+/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    r'/rescue-root$')


def _overlay_dir(path):
    # ',' and ':' separate the overlay's options and its lower layers.
    if not _OVERLAY_DIR.match(str(path)) or set(',:') & set(str(path)):
        raise ValueError('%s is not a directory of the engine\'s overlay2 '
                         'layers' % path)
    _plain_path(path)
    if not os.path.isdir(path):
        raise ValueError('%s is not a directory' % path)
    return path


def _rescue_root(path):
    if not _RESCUE_ROOT.match(str(path)):
        raise ValueError('%s is not where a rescued root is shown' % path)
    _plain_path(path)
    if not os.path.isdir(path):
        raise ValueError('%s is not a directory' % path)
    return path


@sys_admin_pctxt.entrypoint
def mount_rescue_root(lower_dirs, upper_dir, work_dir, target):
    """Mount a stopped container's root (the engine's overlay of its
    layers and its writable layer) at ``target``, nodev and nosuid, for
    its rescue container: what is written there goes to the container's
    writable layer, as the engine's own mount would write it."""
    lowers = ':'.join(_overlay_dir(d) for d in lower_dirs)
    options = 'lowerdir=%s,upperdir=%s,workdir=%s' % (
        lowers, _overlay_dir(upper_dir), _overlay_dir(work_dir))
    _syscall(_libc.mount(b'overlay', _rescue_root(target).encode(),
                         b'overlay', MS_NODEV | MS_NOSUID,
                         options.encode()),
             'mount the rescued root at %s' % target)


@sys_admin_pctxt.entrypoint
def unmount_rescue_root(target):
    """Unmount a rescued root; EBUSY while anything uses it."""
    _syscall(_libc.umount2(_rescue_root(target).encode(), 0),
             'unmount %s' % target)


# -- domain name -----------------------------------------------------------

# From linux/sched.h.
CLONE_NEWUTS = 0x04000000
# A domain name as the kernel keeps it (at most 64 bytes) and as a DNS
# name is spelled.
_DOMAIN_NAME = re.compile(r'[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?')


@sys_admin_pctxt.entrypoint
def set_domainname(pid, name):
    """Give the UTS namespace of a container's process its domain name.

    The engine writes /proc/sys/kernel/domainname, which root of a
    remapped container may not; setdomainname(2) in the namespace asks for
    CAP_SYS_ADMIN over the namespace's user namespace, which this daemon
    holds. A child process enters the namespace, so that no thread of the
    daemon stays in it.
    """
    if not isinstance(name, str) or not _DOMAIN_NAME.fullmatch(name):
        raise ValueError('%r is not a domain name' % (name,))
    fd = os.open('/proc/%d/ns/uts' % int(pid), os.O_RDONLY | os.O_CLOEXEC)
    try:
        child = os.fork()
        if child == 0:
            code = 0
            if (_libc.setns(fd, CLONE_NEWUTS) != 0 or
                    _libc.setdomainname(name.encode(), len(name)) != 0):
                code = ctypes.get_errno() or errno.EPERM
            os._exit(code)
        _, status = os.waitpid(child, 0)
    finally:
        os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise OSError(code, 'set the domain name of process %d: %s' % (
            pid, os.strerror(code) if code > 0 else 'killed'))

"""What a guest reads of its flavor in /proc and /sys: LXCFS's views.

A container reads the host's /proc/cpuinfo, /proc/meminfo and /proc/uptime:
all the host's CPUs and memory, and the host's boot time. LXCFS, a FUSE
file system, answers each reader with the view of the reader's own cgroup
and PID namespace: the CPUs of its CFS quota (with ``lxcfs
--enable-cfs``), its memory limit, the uptime of its init. Each container
gets LXCFS's files bound read-only over the kernel's.
"""

import os

import docker.types
from oslo_log import log as logging

from novadocker import mountinfo

LOG = logging.getLogger(__name__)

FS_TYPE = 'fuse.lxcfs'
# The guest files LXCFS may provide; runc allows no other file over /proc.
GUEST_FILES = ('/proc/cpuinfo', '/proc/meminfo', '/proc/stat',
               '/proc/uptime', '/proc/diskstats', '/proc/swaps',
               '/proc/loadavg', '/sys/devices/system/cpu/online')


def mounted(path, table=mountinfo.MOUNTINFO):
    """Is LXCFS the file system visible at ``path``?

    The directory alone proves nothing: packages create it, and a stopped
    LXCFS leaves it empty. The last mount on a mount point is the one seen.
    """
    return mountinfo.fs_type(path, table) == FS_TYPE


def provided(path, table=mountinfo.MOUNTINFO):
    """The guest files LXCFS at ``path`` provides: {guest path: host path}.

    Empty when ``path`` is empty or LXCFS is not mounted there. A file that
    cannot be read (an LXCFS that died without unmounting answers nothing)
    does not count.
    """
    if not path or not mounted(path, table):
        return {}
    found = {}
    for guest in GUEST_FILES:
        source = os.path.join(path, guest.lstrip('/'))
        if os.path.isfile(source):
            found[guest] = source
    return found


def container_settings(path, table=mountinfo.MOUNTINFO):
    """Engine settings at create time: LXCFS's files over the guest's.

    Read-only, so that nothing the guest does reaches the host. As mounts
    of the container's configuration, the engine makes them again at every
    start (reboot, stop and start). A source that is gone at a start fails
    it, rather than the engine creating a directory in its place as it
    does for volumes.
    """
    files = provided(path, table)
    if not files:
        return {}
    return {'mounts': [docker.types.Mount(guest, source, type='bind',
                                          read_only=True)
                       for guest, source in sorted(files.items())]}


def check_host(path):
    """At nova-compute start: say what guests will see; boots go on."""
    if not path:
        LOG.info('[docker] lxcfs_path is empty: guests see the host\'s '
                 'CPUs, memory and uptime in /proc')
        return
    files = provided(path)
    if files:
        LOG.info('Guests see their flavor through LXCFS at %s: %s', path,
                 ', '.join(sorted(files)))
    else:
        LOG.warning('LXCFS is not mounted at %s ([docker] lxcfs_path): '
                    'guests will see the host\'s CPUs, memory and uptime in '
                    '/proc/cpuinfo, /proc/meminfo and /proc/uptime. Run '
                    '"lxcfs --enable-cfs %s" (the lxcfs package\'s service) '
                    'before booting instances.', path, path)

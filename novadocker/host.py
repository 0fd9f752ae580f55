"""The compute host as Nova's resource tracker and hypervisor API see it.

Totals come from the engine (what it may give containers); the CPU's
description comes from the host's kernel, shaped as Nova's libvirt driver
reports ``cpu_info``: Nova's API parses it as JSON, and flavors may match
its keys (``capabilities:cpu_info:vendor``, ``...:arch``).
"""

import json
import os

from nova.objects import fields as obj_fields
from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_utils import units
from oslo_utils import versionutils

LOG = logging.getLogger(__name__)

CPUINFO = '/proc/cpuinfo'
SYS_CPU = '/sys/devices/system/cpu'
# libvirt names x86 vendors by its CPU map's words, not by CPUID's.
VENDORS = {'GenuineIntel': 'Intel', 'AuthenticAMD': 'AMD',
           'HygonGenuine': 'Hygon'}
# /proc/cpuinfo's keys for the same things on other architectures.
MODEL_KEYS = ('model name', 'cpu model', 'cpu')
FEATURE_KEYS = ('flags', 'features')


def data_root_statvfs(path):
    """statvfs(2) of the engine's data root, as nova-compute may see it.

    Under a user namespace remap the data root is <data root>/<uid>.<gid>,
    which only root and the remapped root may enter, and nova-compute runs
    as another user: then the nearest directory above it that it may
    reach, on the same file system (the engine makes that directory in its
    own data root).
    """
    while True:
        try:
            return os.statvfs(path)
        except PermissionError:
            parent = os.path.dirname(path.rstrip('/')) or '/'
            if parent == path:
                raise
            path = parent


def measure(client):
    """The host's totals and description, one engine call."""
    info = client.info()
    disk = data_root_statvfs(info.get('DockerRootDir') or '/')
    arch = obj_fields.Architecture.canonicalize(
        info.get('Architecture') or os.uname().machine)
    return {
        'vcpus': info['NCPU'],
        'memory_mb': info['MemTotal'] // units.Mi,
        'disk_gb': disk.f_blocks * disk.f_frsize // units.Gi,
        'disk_free_gb': disk.f_bavail * disk.f_frsize // units.Gi,
        'arch': arch,
        # 20.10.24+dfsg1 -> 20010024
        'version': versionutils.convert_version_to_int(
            info.get('ServerVersion', '0.0.0').split('+')[0]
            .split('-')[0]),
        'cpu_info': json.dumps(read_cpu_info(arch)),
    }


def uptime():
    """The host's ``uptime`` line, as Nova's API shows it."""
    out, _err = processutils.execute('env', 'LANG=C', 'uptime')
    return out


def read_cpu_info(arch):
    """cpu_info of this host: /proc/cpuinfo, topology from /sys if need be.

    x86 names each CPU's package and core in /proc/cpuinfo; other
    architectures leave that to /sys.
    """
    with open(CPUINFO) as f:
        processors = parse_cpuinfo(f.read())
    places = cpuinfo_places(processors)
    if not places:
        try:
            places = sys_places(SYS_CPU)
        except OSError as e:
            LOG.warning('Cannot read the CPU topology under %s: %s',
                        SYS_CPU, e)
    return cpu_info(processors, arch, places)


def parse_cpuinfo(text):
    """The blocks of a /proc/cpuinfo text as dicts, keys in lower case."""
    blocks, block = [], {}
    for line in text.splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip():
            block[key.strip().lower()] = value.strip()
        elif not line.strip() and block:
            blocks.append(block)
            block = {}
    if block:
        blocks.append(block)
    return blocks


def _first(blocks, keys):
    for key in keys:
        for block in blocks:
            if block.get(key):
                return block[key]
    return None


def cpuinfo_places(blocks):
    """(package, core) of each logical CPU, where /proc/cpuinfo says."""
    cpus = [b for b in blocks if 'processor' in b]
    if not cpus or not all('physical id' in b and 'core id' in b
                           for b in cpus):
        return []
    return [(b['physical id'], b['core id']) for b in cpus]


def sys_places(root):
    """(package, core) of each logical CPU from the kernel's topology."""
    places = []
    for name in sorted(os.listdir(root)):
        topology = os.path.join(root, name, 'topology')
        if not (name[3:].isdigit() and name.startswith('cpu') and
                os.path.isdir(topology)):
            # Offline CPUs have no topology directory.
            continue
        ids = []
        for item in ('physical_package_id', 'core_id'):
            with open(os.path.join(topology, item)) as f:
                ids.append(f.read().strip())
        places.append(tuple(ids))
    return places


def topology(places, count):
    """sockets, cores per socket and threads per core.

    Without places (nothing says which CPU sits where) every logical CPU
    counts as a core of one socket.
    """
    if not places:
        return {'sockets': 1, 'cores': max(count, 1), 'threads': 1}
    sockets = len({package for package, _core in places})
    cores = len(set(places))
    return {'sockets': sockets, 'cores': cores // sockets,
            'threads': len(places) // cores}


def cpu_info(blocks, arch, places=()):
    """The cpu_info dict of libvirt's keys, from /proc/cpuinfo's blocks."""
    vendor = _first(blocks, ('vendor_id', 'vendor'))
    features = _first(blocks, FEATURE_KEYS)
    count = len([b for b in blocks if 'processor' in b])
    return {
        'arch': arch,
        'model': _first(blocks, MODEL_KEYS),
        'vendor': VENDORS.get(vendor, vendor),
        'topology': topology(places, count),
        'features': sorted(set(features.split())) if features else [],
    }

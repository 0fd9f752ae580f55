"""Server diagnostics of a container, in Nova's two formats.

One measurement (``measure``) feeds both: the free-form dict of API
microversions before 2.48 (``legacy``, with libvirt's key names where they
mean the same) and the standard Diagnostics object (``standard``).

- CPU time and memory come from the engine's stats of the container's
  cgroup. Memory used leaves out inactive page cache, as ``docker stats``
  does: the kernel takes it back before it would fail an allocation.
- Port counters are those of the host end of each port's veth (``tap<port
  id>`` for both plug kinds: with hybrid plug it sits in the port's Linux
  bridge), read from /proc/net/dev of nova-compute's network namespace,
  the host's: the kernel's counters that /sys/class/net/<device>/statistics
  holds one file each, here one read for every port; no root needed. They
  are turned round to the guest's view, as libvirt does for tap devices:
  what the host end sent, the guest received.
- A container without processes (stopped) has no cgroup counters and no
  devices: it is reported with no CPU, no memory used and its ports' MAC
  addresses alone. Of a paused one the engine gives no stats: CPU and
  memory used are unknown (None).
"""

import docker.errors
from docker import utils as docker_utils
from nova.compute import power_state
from nova import exception
from nova.objects import diagnostics as diagnostics_obj
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import units

from novadocker import configdrive
from novadocker import vif as vifs

LOG = logging.getLogger(__name__)

NET_DEV = '/proc/net/dev'
COUNTERS = ('octets', 'packets', 'errors', 'drop')
# Columns of /proc/net/dev after the device's name: bytes, packets, errs,
# drop of receive, then the same of transmit after 8 receive columns.
RX_COLUMNS = (0, 1, 2, 3)
TX_COLUMNS = (8, 9, 10, 11)


def parse_net_dev(text):
    """{device: {rx_octets, rx_packets, ..., tx_drop}} of /proc/net/dev."""
    devices = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(':')
        fields = rest.split()
        if not sep or len(fields) < 16:
            continue
        counters = {}
        for way, columns in (('rx', RX_COLUMNS), ('tx', TX_COLUMNS)):
            for counter, column in zip(COUNTERS, columns):
                counters['%s_%s' % (way, counter)] = int(fields[column])
        devices[name.strip()] = counters
    return devices


def guest_view(counters):
    """The counters of a host-side veth end as the guest's device sees
    them: what one end transmits, the other receives."""
    turned = {'rx': 'tx', 'tx': 'rx'}
    return {'%s_%s' % (turned[key[:2]], key[3:]): value
            for key, value in counters.items()}


def memory_used(memory_stats):
    """Bytes of memory the cgroup holds, less inactive file cache (cgroup
    v1 names it total_inactive_file, v2 inactive_file), or None."""
    usage = memory_stats.get('usage')
    if usage is None:
        return None
    stats = memory_stats.get('stats') or {}
    inactive = stats.get('total_inactive_file', stats.get('inactive_file'))
    if inactive is not None and inactive < usage:
        usage -= inactive
    return usage


def mib(size, round_up=False):
    """Bytes in MiB: used memory rounds up, so that some is never 0."""
    if size is None:
        return None
    return -(-size // units.Mi) if round_up else size // units.Mi


def _read_net_dev():
    with open(NET_DEV) as f:
        return parse_net_dev(f.read())


def measure(client, container, instance, state):
    """What the engine and the host say of an instance's container.

    ``state`` is Nova's power state of the container. Raises
    InstanceNotFound when the container goes away meanwhile.
    """
    attrs = container.attrs
    running = attrs['State'].get('Running')
    # The engine gives no figures of a paused (frozen) container.
    measured = running and not attrs['State'].get('Paused')
    stats = _stats(client, container, instance) if measured else {}
    memory = stats.get('memory_stats') or {}
    cpu_usage = (stats.get('cpu_stats') or {}).get('cpu_usage') or {}
    devices = _read_net_dev() if running else {}
    return {
        'state': state,
        'uptime': _uptime(attrs['State']) if running else 0,
        'vcpus': instance.flavor.vcpus,
        'cpu_time': cpu_usage.get('total_usage'),
        'memory_max': (attrs['HostConfig'].get('Memory') or
                       memory.get('limit')),
        'memory_used': memory_used(memory) if running else 0,
        'ports': [_port(vif, devices)
                  for vif in instance.get_network_info()],
        'config_drive': has_config_drive(attrs),
    }


def has_config_drive(attrs):
    """Whether the container has a config drive (bound at its place)."""
    return any(mount.get('Destination') == configdrive.GUEST_PATH
               for mount in attrs.get('Mounts') or [])


def _stats(client, container, instance):
    try:
        stats = client.api.stats(container.id, stream=False,
                                 **_one_shot(client))
    except docker.errors.NotFound:
        raise exception.InstanceNotFound(instance_id=instance.uuid)
    if not (stats.get('memory_stats') or {}).get('usage'):
        # An engine that cannot read the container's cgroups answers with
        # zeros, not with an error ("no metrics received" in its log).
        LOG.warning('The Docker engine gives no CPU or memory figures of '
                    'container %s', container.short_id, instance=instance)
        return {}
    return stats


def _uptime(state):
    started = timeutils.normalize_time(
        timeutils.parse_isotime(state['StartedAt']))
    return max(0, int(timeutils.delta_seconds(started, timeutils.utcnow())))


def _port(vif, devices):
    device = vifs.host_name(vif)
    counters = devices.get(device)
    return {'mac': vif['address'], 'device': device,
            'counters': guest_view(counters) if counters else {}}


def _one_shot(client):
    # Without it the engine waits for a second sample, about a second.
    if docker_utils.version_gte(client.api.api_version, '1.41'):
        return {'one_shot': True}
    return {}


def _kib(size):
    return None if size is None else size // units.Ki


def legacy(sample):
    """The dict of API microversions before 2.48."""
    # Memory in KiB, as libvirt's "memory".
    result = {'memory': _kib(sample['memory_max']),
              'memory-used': _kib(sample['memory_used']),
              'uptime': sample['uptime']}
    if sample['cpu_time'] is not None:
        result['cpu_time'] = sample['cpu_time']
    for port in sample['ports']:
        counters = port['counters']
        for way in ('rx', 'tx'):
            for counter in COUNTERS:
                key = '%s_%s' % (way, counter)
                if key in counters:
                    # libvirt's names: vnet0_rx (octets), vnet0_rx_packets.
                    suffix = way if counter == 'octets' else key
                    result['%s_%s' % (port['device'], suffix)] = \
                        counters[key]
    return result


def standard(sample):
    """Nova's Diagnostics object (API microversion 2.48 and later).

    Its driver field stays unset: Nova's list of drivers has no docker.
    """
    diags = diagnostics_obj.Diagnostics(
        state=power_state.STATE_MAP[sample['state']],
        hypervisor='docker', hypervisor_os='linux',
        uptime=sample['uptime'],
        config_drive=sample['config_drive'])
    diags.memory_details = diagnostics_obj.MemoryDiagnostics(
        maximum=mib(sample['memory_max']),
        used=mib(sample['memory_used'], round_up=True))
    if sample['cpu_time'] is not None:
        # The cgroup counts the container's CPU time as a whole, not per
        # vCPU: one entry without an id.
        diags.add_cpu(time=sample['cpu_time'])
    for port in sample['ports']:
        diags.add_nic(mac_address=port['mac'], **port['counters'])
    diags.num_cpus = sample['vcpus']
    return diags

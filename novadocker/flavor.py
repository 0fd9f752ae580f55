"""Turn a Nova flavor into Docker engine settings.

One small pure function per concern; :func:`to_host_config` merges them.
Everything here comes from what the operator controls (the flavor, whose
extra specs only admins set, and nova.conf): never from image properties.
"""

CPU_PERIOD_US = 100000
CPU_SHARES_PER_VCPU = 1024
CAP_ADD_SPEC = 'docker:cap_add'
# reboot(2) in the container's own PID namespace ends only that namespace
# (novadocker.guest_power); Docker's seccomp profile keeps kexec out.
GUEST_REBOOT_CAPS = ('SYS_BOOT',)


def _int_spec(flavor, key, default):
    value = flavor.extra_specs.get(key)
    return default if value in (None, '') else int(value)


def memory(flavor):
    """The flavor's RAM is a hard limit; its swap may come on top of it."""
    ram = flavor.memory_mb * 1024 * 1024
    swap = (flavor.swap or 0) * 1024 * 1024
    return {'mem_limit': ram, 'memswap_limit': ram + swap}


def cpu(flavor):
    """vCPUs give a CFS quota of that many CPUs and a proportional weight.

    The libvirt driver's quota:cpu_* extra specs override either.
    """
    period = _int_spec(flavor, 'quota:cpu_period', CPU_PERIOD_US)
    return {
        'cpu_shares': _int_spec(flavor, 'quota:cpu_shares',
                                CPU_SHARES_PER_VCPU * flavor.vcpus),
        'cpu_period': period,
        'cpu_quota': _int_spec(flavor, 'quota:cpu_quota',
                               period * flavor.vcpus),
    }


def pids(pids_limit):
    """0 means no limit: leave the engine's default."""
    return {'pids_limit': pids_limit} if pids_limit > 0 else {}


def capabilities(flavor, conf_cap_add, guest_reboot=False, guest_caps=()):
    """Capabilities beyond Docker's default set: nova.conf plus the flavor.

    ``guest_reboot`` (``[docker] guest_reboot``) adds what the guest's own
    reboot and power off need; ``guest_caps`` what the engine's remap lets
    every guest's root hold (userns.guest_capabilities).
    """
    extra = flavor.extra_specs.get(CAP_ADD_SPEC, '')
    caps = (list(conf_cap_add) + [c for c in extra.split(',')] +
            list(guest_caps))
    if guest_reboot:
        caps += GUEST_REBOOT_CAPS
    # The engine takes NET_ADMIN and CAP_NET_ADMIN alike: one of each.
    caps = sorted({c.strip().upper().removeprefix('CAP_')
                   for c in caps if c.strip()})
    return {'cap_add': caps} if caps else {}


def root_disk(flavor, enforced, committed=0):
    """root_gb bounds the container's writable layer, where the engine can.

    0 means no limit: the libvirt driver then gives the image's own size,
    and a container's writable layer has no size of its own.
    ``committed``: the bytes the guest wrote before a move, now in its
    image (novadocker.migration), which count against root_gb too.
    """
    if not enforced or flavor.root_gb <= 0:
        return {}
    if not committed:
        return {'storage_opt': {'size': '%dG' % flavor.root_gb}}
    left = max(flavor.root_gb * 1024 ** 3 - committed, 1024 ** 2)
    return {'storage_opt': {'size': '%d' % left}}


def isolation(no_new_privileges=True):
    """What every container gets: no privileges and no host namespaces.

    Docker's default seccomp profile and AppArmor profile stay on because
    nothing here turns them off. Networking is the instance's sandbox's
    (network.py), not Docker's.
    ``no_new_privileges``: setuid programs and file capabilities gain a
    process nothing (see userns.no_new_privileges for when it is off).
    """
    settings = {'privileged': False}
    if no_new_privileges:
        settings['security_opt'] = ['no-new-privileges']
    return settings


def to_host_config(flavor, pids_limit, conf_cap_add, guest_reboot=False,
                   root_disk_quota=False, no_new_privileges=True,
                   guest_caps=(), committed=0):
    """All engine settings for an instance of this flavor.

    ``root_disk_quota``: the engine limits the writable layer's size;
    ``committed``: see root_disk.
    """
    settings = {}
    for part in (memory(flavor), cpu(flavor), pids(pids_limit),
                 capabilities(flavor, conf_cap_add, guest_reboot,
                              guest_caps),
                 root_disk(flavor, root_disk_quota, committed),
                 isolation(no_new_privileges)):
        settings.update(part)
    return settings

"""The engine's user namespace remapping (dockerd ``--userns-remap``).

A remapping engine runs every container in a user namespace of its own,
whose root is an unprivileged user of the host (the first uid of the
remap user's /etc/subuid range): a process that escapes the container is
that user on the host, not root. The engine says so in its info
(``SecurityOptions`` lists ``name=userns``) and keeps its data under
``<data root>/<uid>.<gid>``, the host ids of the containers' root.

The engine maps the owners of what it writes into a container (the
archive API's injected keys and files) and gives the remapped root its
resolv.conf, hosts and hostname; the config drive and LXCFS are bound
read-only and readable by anyone. The driver's part: its privsep daemon
may write what belongs to the remapped root (a port's name servers), and
mounts volumes mapped (idmapped mounts): a volume's files keep the owners
a virtual machine gives them on the disk (uid 0 is the guest's root),
whichever host's range the guest's root has. nova-compute says at start
which it is.

Only under a remap may a guest's users become its root through setuid
programs (sudo, su, CirrOS's ping), as on a virtual machine: that root is
nobody on the host. Without one, every container runs with
no-new-privileges. Only under a remap does that root configure its own
interfaces (CAP_NET_ADMIN): runc makes the container's network namespace
in its user namespace, so the capability reaches that namespace and no
other.

Podman can do better than one range for all guests: each container may
get a user namespace of its own, with host ids no other container has
(``userns=auto``), handed out from the ranges of the ``containers`` user
in /etc/subuid and /etc/subgid. With ``[docker] per_guest_userns`` each
instance's sandbox gets one (65536 ids, as a virtual machine has) and the
guest's container joins it: two guests' roots are two unprivileged host
users, and neither owns the other's files. Everything said above of a
remap holds for each guest's own range.
"""

import collections
import os
import re

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# How many ids a remapped container has: the engine maps 65536 for the
# user it makes (dockremap), and a guest's ids past those show as nobody.
REMAP_IDS = 65536
# The user whose subordinate ranges Podman hands out for userns=auto.
SUBID_USER = 'containers'
SUBID_FILES = ('/etc/subuid', '/etc/subgid')
# A guest's own user namespace: as many ids as under a remap.
PER_GUEST_USERNS_MODE = 'auto:size=%d' % REMAP_IDS
# The engine's data root under a remap: <data root>/<uid>.<gid>.
_REMAP_ROOT = re.compile(r'^(\d+)\.(\d+)$')


class Remap(collections.namedtuple('Remap', 'uid gid')):
    """The host uid and gid of a guest's root; None where unknown."""


def remap(info):
    """The engine's remap from its ``docker info``, or None without one.

    Engines before API 1.30 list the option as ``userns``, later ones as
    ``name=userns``.
    """
    options = info.get('SecurityOptions') or []
    if not any(o == 'userns' or o.split(',')[0] == 'name=userns'
               for o in options):
        return None
    root = (info.get('DockerRootDir') or '').rstrip('/')
    found = _REMAP_ROOT.match(os.path.basename(root))
    if not found:
        return Remap(None, None)
    return Remap(int(found.group(1)), int(found.group(2)))


def check_host(info, per_guest=False):
    """At nova-compute start: say whether guests' root is the host's
    (``per_guest``: each guest has a user namespace of its own, which
    per_guest() said)."""
    found = remap(info)
    if found is None and per_guest:
        pass
    elif found is None:
        LOG.info('The Docker engine does not remap user namespaces '
                 '(dockerd --userns-remap): root in a guest is root of '
                 'the host\'s user namespace. See "User namespaces" in the '
                 'README.')
    elif found.uid is None:
        LOG.info('The Docker engine remaps user namespaces: root in a guest '
                 'is an unprivileged host user (data root %s does not say '
                 'which)', info.get('DockerRootDir'))
    else:
        LOG.info('The Docker engine remaps user namespaces: root in a guest '
                 'is host uid %d, gid %d', found.uid, found.gid)
    return found


def engine_root_ids(found):
    """The host ids of a guest's root under the engine's remap ``found``,
    as a function of the instance's uuid, like Sandboxes.root_ids for
    guests with a user namespace of their own: (uid, gid, count), or None
    without a remap or where its data root does not say."""
    ids = (None if found is None or found.uid is None
           else (found.uid, found.gid, REMAP_IDS))
    return lambda instance_uuid: ids


class PerGuestUnavailable(Exception):
    """[docker] per_guest_userns = true on a host that cannot."""


def subid_shortage(files=SUBID_FILES, user=SUBID_USER, needed=REMAP_IDS):
    """Why ``user`` has no subordinate ids for a guest in one of
    ``files``, or None."""
    for path in files:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            return 'cannot read %s: %s' % (path, e.strerror)
        counts = [int(fields[2]) for fields in
                  (line.split(':') for line in lines)
                  if len(fields) == 3 and fields[0] == user and
                  fields[2].isdigit()]
        if sum(counts) < needed:
            return ('%s gives the user "%s" no range of %d ids' %
                    (path, user, needed))
    return None


def per_guest(enabled, engine_kind, traits, files=SUBID_FILES):
    """Whether each guest gets a user namespace of its own, at
    nova-compute start: ``enabled`` is ``[docker] per_guest_userns``;
    ``traits`` the engine's (engine_compat.Traits). Raises
    PerGuestUnavailable where the engine or the host cannot give it.
    """
    if not enabled:
        return False
    if not traits.userns_per_container:
        reason = ('the %s engine gives containers no user namespace of '
                  'their own (only Podman does)' % engine_kind)
    else:
        reason = subid_shortage(files)
        if reason:
            reason += ('; add one, for example "%s:2147483647:2147483648" '
                       'to both files' % SUBID_USER)
    if reason:
        raise PerGuestUnavailable('[docker] per_guest_userns is set, but '
                                  '%s' % reason)
    LOG.info('Each guest gets a user namespace of its own: its root is an '
             'unprivileged host user that no other guest shares')
    return True


def no_new_privileges(unprivileged_root, guest_setuid):
    """Whether new containers run with no-new-privileges.

    ``unprivileged_root``: is a guest's root an unprivileged host user
    (a remap, or a user namespace per guest)? ``guest_setuid``: ``[docker]
    guest_setuid``. Setuid programs are let raise a guest's user only to
    such a root: the container's capabilities bound what it then holds.
    """
    return not (unprivileged_root and guest_setuid)


# What a remapped guest's root may do in its own network namespace, as a
# virtual machine's root does with its NICs (Tempest's scenario tests run
# "sudo ip link set eth1 up"): links, addresses, routes. Neutron's port
# security filters what leaves the port whatever the guest sets.
GUEST_ROOT_CAPS = ('NET_ADMIN',)


def guest_capabilities(unprivileged_root, guest_net_admin):
    """Capabilities beyond Docker's defaults for every guest.

    ``unprivileged_root``: as for no_new_privileges; ``guest_net_admin``:
    ``[docker] guest_net_admin``. Otherwise none: CAP_NET_ADMIN would
    then be held by root of the host's user namespace.
    """
    if not (unprivileged_root and guest_net_admin):
        return ()
    return GUEST_ROOT_CAPS


def sets_domainname(found):
    """Whether the engine can give a container a domain name.

    It writes the name to the container's /proc/sys/kernel/domainname,
    which only root of the host's user namespace may write: under a remap
    runc fails the start ("open /proc/sys/kernel/domainname: permission
    denied"). Such a guest gets the first label of an FQDN hostname only.
    """
    return found is None

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
"""

import collections
import os
import re

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# How many ids a remapped container has: the engine maps 65536 for the
# user it makes (dockremap), and a guest's ids past those show as nobody.
REMAP_IDS = 65536
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


def check_host(info):
    """At nova-compute start: say whether guests' root is the host's."""
    found = remap(info)
    if found is None:
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


def no_new_privileges(found, guest_setuid):
    """Whether new containers run with no-new-privileges.

    ``found``: the engine's remap (``remap()``); ``guest_setuid``:
    ``[docker] guest_setuid``. Setuid programs are let raise a guest's user
    only to a root that is an unprivileged user of the host: the
    container's capabilities bound what it then holds.
    """
    return found is None or not guest_setuid


# What a remapped guest's root may do in its own network namespace, as a
# virtual machine's root does with its NICs (Tempest's scenario tests run
# "sudo ip link set eth1 up"): links, addresses, routes. Neutron's port
# security filters what leaves the port whatever the guest sets.
GUEST_ROOT_CAPS = ('NET_ADMIN',)


def guest_capabilities(found, guest_net_admin):
    """Capabilities beyond Docker's defaults for every guest.

    ``found``: the engine's remap (``remap()``); ``guest_net_admin``:
    ``[docker] guest_net_admin``. Without a remap none: CAP_NET_ADMIN
    would then be held by root of the host's user namespace.
    """
    if found is None or not guest_net_admin:
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

"""Each instance's sandbox: the container that holds its network.

A VM's NICs exist before its first instruction (libvirt creates the domain
paused, plugs its ports, waits for Neutron, then lets it run). The engine
gives no such moment: a container's process runs as soon as its namespaces
exist. So an instance's network namespace belongs to a sandbox of its own,
a container running only catatonit's pause mode, and the guest's container
joins it (network mode ``container:``): the driver plugs the ports into the
sandbox, Neutron wires them, then the guest starts, and its init finds its
NICs as a VM's does (its DHCP client gets its lease). The guest's reboots
and stops keep the namespace and its ports (silent while the guest does not
run, see network.py); the sandbox lives as long as the guest's container,
and comes back with the engine. A sandbox removed outside Nova cannot be
replaced (the engine binds the guest to its id): a rebuild makes both.

The guest takes the sandbox's host name, name servers and sysctls from it
(the engine refuses them on a container that joins another's network), and
its user namespace: under a userns remap the engine joins them itself; with
a user namespace per guest (userns.per_guest) the sandbox gets one of its
own and the guest joins it. Either way the guest's root holds what it is
given over its own network and no more.

The sandbox's image is made here from the host's static catatonit: no
registry is needed. The sandbox runs as nobody, without capabilities, on a
read-only root.
"""

import hashlib
import io
import os
import struct
import tarfile

import docker.errors
from nova import exception
from nova import thread_pool_factory
from oslo_log import log as logging

from novadocker import conf
from novadocker import engine
from novadocker import engine_compat
from novadocker import userns

CONF = conf.CONF
LOG = logging.getLogger(__name__)

# The instance whose network a sandbox holds. Not the instance label: a
# sandbox is not the instance's container (engine.find never returns it).
SANDBOX_LABEL = 'org.openstack.nova.sandbox_of'
IMAGE_REPOSITORY = 'nova-docker-sandbox'
# Where distributions put catatonit: Debian and Ubuntu, Fedora and RHEL,
# and Podman's copy.
CATATONIT_PATHS = ('/usr/bin/catatonit', '/usr/libexec/catatonit/catatonit',
                   '/usr/libexec/podman/catatonit')
PAUSE = '/catatonit'
# catatonit -P holds under 1 MiB; the limits keep a sandbox small, with
# room for the runtime's setup process in its cgroup (runc init, a Go
# program whose threads count as pids) on a loaded host.
MEMORY_LIMIT = '32m'
PIDS_LIMIT = 16
NOBODY = '65534:65534'

PT_INTERP = 3


# The kernel holds a host name and a domain name of at most 64 bytes each.
HOST_NAME_MAX = 64


def hostname_settings(hostname, domainname=True):
    """The guest's host and domain names for Nova's hostname.

    Since API 2.94 a hostname may be an FQDN of up to 255 characters: its
    first label becomes the host name and the rest the domain name, as
    `hostname` and `domainname` show them in a guest; without
    ``domainname`` (userns.sets_domainname) the first label only.
    """
    if not hostname:
        return {}
    host, _, domain = hostname.partition('.')
    settings = {'hostname': host[:HOST_NAME_MAX - 1]}
    if domain and domainname:
        settings['domainname'] = domain[:HOST_NAME_MAX - 1]
    return settings


class SandboxUnavailable(exception.NovaException):
    msg_fmt = ('Instances\' network sandboxes cannot be made: %(reason)s. '
               'Install catatonit (the package of that name) or set '
               '[docker] catatonit_path to a statically linked catatonit.')


class SandboxGone(exception.NovaException):
    msg_fmt = ('The network sandbox %(name)s of the server\'s container was '
               'removed outside Nova, and the container cannot start '
               'without it. Rebuild the server to make both again.')


def name(instance_uuid):
    return 'nova-%s-sandbox' % instance_uuid


def network_mode(instance_uuid):
    """The guest's network: its sandbox's (the engine keeps its id)."""
    return 'container:%s' % name(instance_uuid)


def has_interpreter(path):
    """Does the ELF executable at ``path`` need a dynamic loader?

    A sandbox's root holds this one file: it must run without libraries.
    Raises ValueError for what is not an ELF executable.
    """
    with open(path, 'rb') as f:
        header = f.read(64)
        if len(header) < 16 or header[:4] != b'\x7fELF':
            raise ValueError('not an ELF executable')
        if len(header) < (64 if header[4] == 2 else 52):
            raise ValueError('a truncated ELF file')
        order = {1: '<', 2: '>'}.get(header[5])
        if header[4] == 2 and order:
            phoff, = struct.unpack(order + 'Q', header[32:40])
            entsize, count = struct.unpack(order + 'HH', header[54:58])
        elif header[4] == 1 and order:
            phoff, = struct.unpack(order + 'I', header[28:32])
            entsize, count = struct.unpack(order + 'HH', header[42:46])
        else:
            raise ValueError('an ELF file of unknown class or byte order')
        for index in range(count):
            f.seek(phoff + index * entsize)
            entry = f.read(4)
            if len(entry) < 4:
                raise ValueError('a truncated ELF file')
            if struct.unpack(order + 'I', entry)[0] == PT_INTERP:
                return True
    return False


def catatonit(configured):
    """The path of a static catatonit: ``configured``, or where
    distributions put it."""
    candidates = [configured] if configured else CATATONIT_PATHS
    for path in candidates:
        if os.path.isfile(path):
            break
    else:
        raise SandboxUnavailable(reason='no catatonit at %s' %
                                 ', '.join(candidates))
    if not os.access(path, os.X_OK):
        raise SandboxUnavailable(reason='%s is not executable' % path)
    try:
        dynamic = has_interpreter(path)
    except (OSError, ValueError) as e:
        raise SandboxUnavailable(reason='%s: %s' % (path, e))
    if dynamic:
        raise SandboxUnavailable(reason='%s is linked dynamically, and a '
                                 'sandbox holds no libraries' % path)
    return path


def _image_archive(program):
    """A root file system of one file, the pause program."""
    data = io.BytesIO()
    with open(program, 'rb') as f, tarfile.open(fileobj=data,
                                                mode='w') as tar:
        member = tar.gettarinfo(arcname=PAUSE.lstrip('/'), fileobj=f)
        member.uid = member.gid = 0
        member.uname = member.gname = ''
        member.mode = 0o555
        tar.addfile(member, f)
    return data.getvalue()


def ensure_image(client, program):
    """The sandbox image of this catatonit, made if the engine lacks it.

    Tagged with the program's digest: a new catatonit makes a new image,
    and sandboxes already made keep theirs.
    """
    with open(program, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    reference = '%s:%s' % (IMAGE_REPOSITORY, digest)
    try:
        client.images.get(reference)
        return reference
    except docker.errors.ImageNotFound:
        pass
    client.api.import_image_from_data(
        _image_archive(program), repository=IMAGE_REPOSITORY, tag=digest,
        changes=['ENTRYPOINT ["%s", "-P"]' % PAUSE])
    LOG.info('Made the network sandbox image %s from %s', reference,
             program)
    return reference


class Sandboxes:
    """The sandboxes of this host's instances."""

    def __init__(self, engine_):
        self.engine = engine_
        self.image = None
        # Does each sandbox get a user namespace of its own?
        self.per_guest_userns = False
        # Instance uuid: the future of its new sandbox's start (start_soon).
        self._starting = {}

    def init_host(self, per_guest_userns=False):
        """Refuse to start without a sandbox image: no guest could boot."""
        self.per_guest_userns = per_guest_userns
        program = catatonit(CONF.docker.catatonit_path)
        try:
            self.image = ensure_image(self.engine.client, program)
        except docker.errors.APIError as e:
            raise SandboxUnavailable(reason='the engine refused its image: '
                                     '%s' % e.explanation)

    def find(self, instance_uuid):
        found = [c for c in self.engine.client.containers.list(
            all=True, ignore_removed=True,
            filters={'label': '%s=%s' % (SANDBOX_LABEL, instance_uuid)})
            if c.name == name(instance_uuid)]
        return found[0] if found else None

    def create(self, instance, settings):
        """Make the instance's sandbox with these engine settings (host
        name, name servers, sysctls)."""
        return self.engine.client.containers.create(
            self.image,
            name=name(instance.uuid),
            labels={SANDBOX_LABEL: instance.uuid,
                    engine.HOST_LABEL: self.engine.host},
            detach=True,
            network_mode='none',
            user=NOBODY,
            cap_drop=['ALL'],
            security_opt=['no-new-privileges'],
            read_only=True,
            mem_limit=MEMORY_LIMIT,
            pids_limit=PIDS_LIMIT,
            log_config={'type': 'none'},
            # Back with the engine, with a new namespace: the next start
            # of the guest plugs its ports there.
            restart_policy={'Name': 'always'},
            userns_mode=(userns.PER_GUEST_USERNS_MODE
                         if self.per_guest_userns else None),
            **settings)

    def joined(self, instance_uuid):
        """The engine settings of a container of the instance (its guest,
        or its rescue container) in the instance's sandbox."""
        settings = {'network_mode': network_mode(instance_uuid)}
        if self.per_guest_userns:
            settings['userns_mode'] = network_mode(instance_uuid)
        return settings

    def root_ids(self, instance_uuid):
        """(uid, gid, count): the host ids of the instance's root where it
        has a user namespace of its own, from its sandbox's create on;
        None where it has none."""
        if not self.per_guest_userns:
            return None
        sandbox = self.find(instance_uuid)
        if sandbox is None:
            raise SandboxGone(name=name(instance_uuid))
        return engine_compat.root_ids(
            self.engine.client.api.id_mappings(sandbox.id))

    def start_soon(self, instance_uuid, sandbox):
        """Start a new sandbox while the guest's container is made and its
        files put in: a start is the engine's slowest step of a boot, and
        these need no running sandbox. running() waits for it."""
        self._starting[instance_uuid] = thread_pool_factory.spawn(
            sandbox.start)

    def _started_soon(self, instance_uuid):
        """Whether start_soon started the sandbox (raising what its start
        raised), once it has."""
        starting = self._starting.pop(instance_uuid, None)
        if starting is None:
            return False
        starting.result()
        return True

    def running(self, instance_uuid, guest):
        """The sandbox of the guest's container, running: started (with a
        new, empty namespace) if it stopped; and whether it started now."""
        started = self._started_soon(instance_uuid)
        sandbox = self.find(instance_uuid)
        if sandbox is None or guest.attrs['HostConfig'].get(
                'NetworkMode') != 'container:%s' % sandbox.id:
            # The engine binds a guest to its sandbox's id at create.
            raise SandboxGone(name=name(instance_uuid))
        if sandbox.attrs['State'].get('Running'):
            return sandbox, started
        sandbox.start()
        sandbox.reload()
        return sandbox, True

    def remove(self, instance_uuid):
        try:
            self._started_soon(instance_uuid)
        except Exception as e:
            LOG.debug('The start of the sandbox being removed failed: %s', e)
        sandbox = self.find(instance_uuid)
        if sandbox is not None:
            try:
                sandbox.remove(force=True)
            except docker.errors.NotFound:
                pass

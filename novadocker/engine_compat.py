"""Where the engines behind the Docker API differ, and the one place that
absorbs it.

The driver speaks Docker's engine API through docker-py. Rootful Podman's
Docker-compatible service (``podman system service``) answers most of it
as dockerd does; where it does not, ``PodmanAPIClient`` turns the request
or the answer into Docker's, so that the rest of the driver never asks
which engine it has. What no translation can give is in ``Traits``: the
driver does it itself, or refuses it with ``Unsupported``.
"""

import collections
import datetime
import json
import re
import resource
import socket
import struct
import time
import urllib.parse

import docker
from docker import utils as docker_utils
from docker.models import containers as docker_containers
from nova import exception
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

DOCKER = 'docker'
PODMAN = 'podman'

# What the engine does itself, and so what the driver must not.
Traits = collections.namedtuple('Traits', [
    # Sets a container's domain name (Config.Domainname) at create.
    'sets_domainname',
    # Writes the name servers given at create (HostConfig.Dns) to the
    # /etc/resolv.conf of a container without a network of its own
    # (network_mode none: the instance's sandbox), which the guest shares.
    'writes_name_servers',
    # Gives a container a user namespace of its own, with a range of host
    # ids no other container has (HostConfig.UsernsMode "auto"); Docker
    # has one remap for the whole engine at most.
    'userns_per_container',
    # A commit of such a container stores its files with the container's
    # ids (its root's as 0), as an image must hold them.
    'commits_container_ids',
])
TRAITS = {
    DOCKER: Traits(sets_domainname=True, writes_name_servers=True,
                   userns_per_container=False, commits_container_ids=True),
    # Podman takes the first two fields and drops them: the guest's UTS
    # namespace keeps the host's domain name, and it gets no resolv.conf.
    # Its commit of a container in a user namespace of its own stores the
    # host ids (containers/container-libs issue 914): the image's files
    # would belong to nobody in any other container.
    PODMAN: Traits(sets_domainname=False, writes_name_servers=False,
                   userns_per_container=True, commits_container_ids=False),
}

# The registry prefixes Podman puts before the names Docker gives:
# "glance/x:latest" is "docker.io/glance/x:latest" there, and an image
# imported as "name" is "docker.io/library/name" (or "localhost/name").
_DEFAULT_PREFIXES = ('docker.io/library/', 'docker.io/', 'localhost/')
# Podman's name for the end of a container's process, in event filters.
_PODMAN_EVENT_NAMES = {'die': 'died'}
# Podman's container states that Docker names otherwise.
_PODMAN_STATUSES = {'stopped': 'exited', 'configured': 'created',
                    'initialized': 'created'}
# Podman writes a die event when it notices the end of the process (at
# its cleanup), up to some tenths of a second after it: a window of events
# is read this much longer, and a die counts from the process's end.
EVENT_LAG = 0.5
# How often, and how far apart, a remove that a busy mount failed is tried.
REMOVE_ATTEMPTS = 10
REMOVE_RETRY_DELAY = 0.2
_BUSY = 'device or resource busy'
# Capabilities of Docker's default set that Podman's lacks: a guest must
# not lose them with the engine (ping's raw socket, mknod, audit records).
DOCKER_DEFAULT_CAPS_PODMAN_LACKS = ('AUDIT_WRITE', 'MKNOD', 'NET_RAW')
# The limits Docker's containers inherit from dockerd, which Podman
# instead sets to values of its own (1048576 files, 4194304 processes)
# that a host may refuse: every start then fails.
INHERITED_RLIMITS = (('nofile', resource.RLIMIT_NOFILE),
                     ('nproc', resource.RLIMIT_NPROC))
_RLIMIT_LINE = {'nofile': 'Max open files', 'nproc': 'Max processes'}


class Unsupported(exception.NovaException):
    msg_fmt = ('%(feature)s cannot work on %(engine)s: %(reason)s')


def kind_of(version):
    """Docker or Podman, from the engine's /version answer."""
    for component in version.get('Components') or []:
        if (component.get('Name') or '').lower().startswith('podman'):
            return PODMAN
    return DOCKER


def familiar(reference):
    """A name as Docker gives it ("glance/x:latest"), whatever the
    registry prefix Podman put before it."""
    for prefix in _DEFAULT_PREFIXES:
        if reference.startswith(prefix):
            rest = reference[len(prefix):]
            # docker.io/library/a/b is library/a/b to Docker.
            if prefix != 'docker.io/library/' or '/' not in rest:
                return rest
    return reference


def reference_matches(pattern, reference):
    """Docker's ``reference`` image filter: a path.Match pattern against
    the familiar name with its tag, or without it if it has none."""
    regex = re.compile('^%s$' % ''.join(
        '[^/]*' if c == '*' else '[^/]' if c == '?' else re.escape(c)
        for c in pattern))
    name = familiar(reference)
    repository = name.rsplit(':', 1)[0] if ':' in name.rsplit('/', 1)[-1] \
        else name
    return bool(regex.match(name) or (':' not in pattern.rsplit('/', 1)[-1]
                                      and regex.match(repository)))


def translate_summary(summary):
    """An image summary or inspect with Docker's names."""
    for key in ('RepoTags', 'RepoDigests'):
        if summary.get(key):
            summary[key] = [familiar(ref) for ref in summary[key]]
    return summary


def translate_load_message(message):
    """Podman's load answer as Docker words it: "Loaded image ID: <id>"
    for an untagged image, "Loaded image: <name>" for a tagged one.
    Podman says "Loaded image: <names>" (comma separated) for either, and
    an untagged one by its id alone."""
    text = message.get('stream', '')
    prefix = 'Loaded image: '
    if not text.startswith(prefix):
        return [message]
    answers = []
    for ref in text[len(prefix):].strip().split(','):
        ref = ref.strip()
        if re.match(r'^(sha256:)?[0-9a-f]{64}$', ref):
            answers.append({'stream': 'Loaded image ID: %s\n' % (
                ref if ref.startswith('sha256:') else 'sha256:' + ref)})
        elif ref:
            answers.append({'stream': '%s%s\n' % (prefix, familiar(ref))})
    return answers


def translate_state(state):
    """A container's State with Docker's status names: Podman's
    "stopped" (ended, not yet cleaned up) is Docker's "exited", its
    "configured" and "initialized" (never started) Docker's "created", and
    its "stopping" is "running" until the process has ended."""
    status = state.get('Status')
    if status == 'stopping':
        state['Status'] = 'running' if state.get('Running') else 'exited'
    elif status in _PODMAN_STATUSES:
        state['Status'] = _PODMAN_STATUSES[status]
    return state


def translate_event(event):
    """An event with Docker's action names."""
    reverse = {v: k for k, v in _PODMAN_EVENT_NAMES.items()}
    for key in ('Action', 'status'):
        if event.get(key) in reverse:
            event[key] = reverse[event[key]]
    return event


def translate_event_filters(filters):
    """Docker's event names in a filter as Podman knows them."""
    if not filters or 'event' not in filters:
        return filters
    wanted = filters['event']
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    return dict(filters, event=[_PODMAN_EVENT_NAMES.get(e, e)
                                for e in wanted])


def add_docker_defaults(host_config, rlimits):
    """A container's host config with what Docker gives by default and
    Podman does not: Docker's capabilities, and the engine's own limits
    of open files and processes unless it sets some."""
    dropped = {c.upper().removeprefix('CAP_')
               for c in host_config.get('CapDrop') or []}
    if 'ALL' not in dropped:
        added = list(host_config.get('CapAdd') or [])
        have = {c.upper().removeprefix('CAP_') for c in added}
        added += [c for c in DOCKER_DEFAULT_CAPS_PODMAN_LACKS
                  if c not in have and c not in dropped]
        if added:
            host_config['CapAdd'] = added
    ulimits = list(host_config.get('Ulimits') or [])
    named = {u['Name'] for u in ulimits}
    ulimits += [{'Name': name, 'Soft': soft, 'Hard': hard}
                for name, (soft, hard) in rlimits.items()
                if name not in named]
    if ulimits:
        host_config['Ulimits'] = ulimits
    return host_config


def root_ids(mappings):
    """(uid, gid, count): the host ids of a container's uid and gid 0 and
    how many ids follow them, from Podman's ``IDMappings`` ("<container
    id>:<host id>:<count>" ranges), or None where 0 is not mapped."""
    found = []
    for key in ('UidMap', 'GidMap'):
        for entry in (mappings or {}).get(key) or []:
            inside, host, count = (int(v) for v in entry.split(':'))
            if inside == 0:
                found.append((host, count))
                break
        else:
            return None
    (uid, uids), (gid, gids) = found
    return uid, gid, min(uids, gids)


def is_image_url(url):
    """Is it a request about one image (/v1.41/images/<name>/...)?"""
    path = urllib.parse.urlsplit(url).path
    return re.match(r'^(/v[0-9.]+)?/images/(?!json$|load$|create$|'
                    r'prune$|search$|get$)', path) is not None


def network_peer(host_config):
    """The container whose network a host config joins, or None."""
    mode, _, peer = (host_config.get('NetworkMode') or '').partition(':')
    return peer if mode == 'container' and peer else None


def last_lines(output, count):
    """The last ``count`` lines of a log."""
    if count <= 0:
        return b''
    return b''.join(output.splitlines(keepends=True)[-count:])


def _socket_peer_pid(url):
    """The process listening on a unix:// URL, or None."""
    if not url.startswith('unix://'):
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(url[len('unix://'):])
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                    struct.calcsize('3i'))
    except OSError:
        return None
    pid = struct.unpack('3i', creds)[0]
    return pid or None


def process_rlimits(pid):
    """{'nofile': (soft, hard), 'nproc': ...} of a process, or None."""
    try:
        with open('/proc/%d/limits' % pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = {}
    for name, label in _RLIMIT_LINE.items():
        for line in lines:
            if line.startswith(label):
                soft, hard = line[len(label):].split()[:2]
                found[name] = tuple(
                    -1 if v == 'unlimited' else int(v) for v in (soft, hard))
    return found if len(found) == len(_RLIMIT_LINE) else None


def engine_rlimits(url):
    """The limits a container would inherit from the engine's process:
    its own where the driver can read them (a local socket), else
    nova-compute's (which runs beside it)."""
    pid = _socket_peer_pid(url)
    found = process_rlimits(pid) if pid else None
    if found is None:
        found = {name: resource.getrlimit(which)
                 for name, which in INHERITED_RLIMITS}
    return found


class PodmanAPIClient(docker.APIClient):
    """docker-py's client with Podman's answers made Docker's."""

    def __init__(self, *args, rlimits=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rlimits = rlimits or {}

    def _raise_for_status(self, response):
        # docker-py tells a missing image (ImageNotFound, which the driver
        # catches) by Docker's words; Podman's 404s say "image not known".
        try:
            super()._raise_for_status(response)
        except docker.errors.NotFound as e:
            if (isinstance(e, docker.errors.ImageNotFound) or
                    not is_image_url(response.url)):
                raise
            raise docker.errors.ImageNotFound(
                str(e), response=e.response,
                explanation=e.explanation) from e

    # -- images ---------------------------------------------------------

    def import_image_from_data(self, data, repository=None, tag=None,
                               changes=None):
        # Podman drops the tag and names the image <repository>:latest:
        # import it untagged and tag it as asked.
        answer = super().import_image_from_data(data, changes=changes)
        if repository:
            image_id = json.loads(answer.splitlines()[-1])['status']
            self.tag(image_id, repository, tag or 'latest', force=True)
        return answer

    def images(self, name=None, quiet=False, all=False, filters=None):
        # Podman ignores the reference filter (and so docker-py's name):
        # it lists every image.
        filters = dict(filters or {})
        patterns = filters.pop('reference', None)
        if name:
            patterns = name
        patterns = [patterns] if isinstance(patterns, str) else patterns
        found = [translate_summary(s) for s in super().images(
            all=all, filters=filters)]
        if patterns:
            found = [s for s in found if any(
                reference_matches(p, ref) for p in patterns
                for ref in s.get('RepoTags') or [])]
        return [s['Id'] for s in found] if quiet else found

    def inspect_image(self, image):
        return translate_summary(super().inspect_image(image))

    def load_image(self, data, quiet=None):
        for message in super().load_image(data, quiet=quiet):
            yield from translate_load_message(message)

    # -- containers -----------------------------------------------------

    def inspect_container(self, container):
        attrs = super().inspect_container(container)
        translate_state(attrs.get('State') or {})
        return attrs

    def containers(self, *args, **kwargs):
        found = super().containers(*args, **kwargs)
        for summary in found:
            if isinstance(summary, dict) and summary.get('State') in (
                    _PODMAN_STATUSES):
                summary['State'] = _PODMAN_STATUSES[summary['State']]
        return found

    def create_container_from_config(self, config, name=None,
                                     platform=None):
        config = dict(config)
        host_config = add_docker_defaults(
            dict(config.get('HostConfig') or {}), self.rlimits)
        config['HostConfig'] = host_config
        peer = network_peer(host_config)
        if peer and not config.get('Hostname'):
            # Docker gives a container that joins another's network that
            # one's host name; Podman its own id.
            config['Hostname'] = self.inspect_container(peer)[
                'Config'].get('Hostname')
        return super().create_container_from_config(config, name, platform)

    def remove_container(self, container, v=False, link=False, force=False):
        # Podman may fail to remove a container in a user namespace of its
        # own (a sandbox) while the end of a container that joined it is
        # still being cleaned up: "unlinkat .../userdata/shm: device or
        # resource busy". A moment later the remove goes through (or it
        # went through already).
        for attempt in range(REMOVE_ATTEMPTS):
            try:
                return super().remove_container(container, v=v, link=link,
                                                force=force)
            except docker.errors.NotFound:
                if attempt == 0:
                    raise
                return None
            except docker.errors.APIError as e:
                if (attempt == REMOVE_ATTEMPTS - 1 or
                        _BUSY not in str(e.explanation)):
                    raise
                LOG.debug('Removing container %s again: %s', container,
                          e.explanation)
                time.sleep(REMOVE_RETRY_DELAY)

    def logs(self, container, **kwargs):
        # Podman's tail leaves out a line printed in parts ("Starting
        # syslogd: " ... "OK"): read it all (the engine keeps at most
        # log_max_size of it) and keep the last lines here.
        tail = kwargs.get('tail')
        if (not isinstance(tail, int) or kwargs.get('stream') or
                kwargs.get('follow')):
            return super().logs(container, **kwargs)
        output = super().logs(container, **dict(kwargs, tail='all'))
        return last_lines(output, tail)

    def id_mappings(self, container):
        """The container's ``IDMappings`` (its user namespace's ranges),
        known from its create on: libpod's inspect has them, the
        compatible one does not."""
        attrs = self._result(self._get(self._url(
            '/libpod/containers/{0}/json', container)), True)
        return (attrs.get('HostConfig') or {}).get('IDMappings') or {}

    # -- events ---------------------------------------------------------

    def events(self, since=None, until=None, filters=None, decode=None):
        # Podman answers nothing for a window that ended already: ask up
        # to now and leave out what came after the window.
        bound = None
        if until is not None:
            bound = _timestamp(until)
            until = '%.6f' % max(bound + EVENT_LAG, time.time() + 0.05)
        stream = super().events(since=since, until=until,
                                filters=translate_event_filters(filters),
                                decode=decode)
        if not decode:
            return stream
        return _EventStream(stream, bound, self._finished_at)

    def _finished_at(self, container_id):
        """When a container's process ended, by the engine's clock, or
        None."""
        try:
            finished = super().inspect_container(container_id)['State'].get(
                'FinishedAt')
        except docker.errors.NotFound:
            return None
        return parse_time(finished) if finished else None


def _timestamp(value):
    """Seconds since the epoch of an events() time (as docker-py takes)."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value)
    return float(docker_utils.datetime_to_timestamp(value))


def parse_time(stamp):
    """Seconds since the epoch of the engine's RFC 3339 time, whose
    fraction may have nanoseconds."""
    match = re.match(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?'
                     r'(Z|[+-]\d\d:\d\d)$', stamp)
    if not match:
        return None
    whole, fraction, zone = match.groups()
    moment = datetime.datetime.fromisoformat(
        whole + ('+00:00' if zone == 'Z' else zone))
    return moment.timestamp() + float(fraction or 0)


class _EventStream:
    """Decoded events with Docker's names, up to a time (a die's, that
    of the process's end); closes as docker-py's stream does."""

    def __init__(self, stream, until=None, finished_at=None):
        self._stream = stream
        self._until = until
        self._finished_at = finished_at

    def __iter__(self):
        for event in self._stream:
            event = translate_event(event)
            if self._until is not None and not self._in_window(event):
                continue
            yield event

    def _in_window(self, event):
        stamp = event.get('timeNano')
        if not stamp or stamp / 1e9 <= self._until:
            return True
        if event.get('Action') != 'die' or self._finished_at is None:
            return False
        finished = self._finished_at(event.get('id') or
                                     event.get('Actor', {}).get('ID'))
        return finished is not None and finished <= self._until

    def close(self):
        self._stream.close()


class _PodmanContainers(docker_containers.ContainerCollection):
    """docker-py's containers, with Podman's user namespace modes."""

    def create(self, image, command=None, userns_mode=None, **kwargs):
        # docker-py's HostConfig takes no mode but "host"; Podman's ("auto"
        # and its options, "container:<name>") go into the request as is.
        if userns_mode in (None, 'host'):
            return super().create(image, command, userns_mode=userns_mode,
                                  **kwargs)
        kwargs.update(image=getattr(image, 'id', image), command=command,
                      version=self.client.api._version)
        create_kwargs = docker_containers._create_container_args(kwargs)
        create_kwargs['host_config']['UsernsMode'] = userns_mode
        return self.get(self.client.api.create_container(
            **create_kwargs)['Id'])


class _Client(docker.DockerClient):
    """docker-py's high-level client over a given low-level one."""

    def __init__(self, api, containers=docker_containers.ContainerCollection):
        # DockerClient's own __init__ only makes an APIClient.
        self.api = api
        self._containers = containers

    @property
    def containers(self):
        return self._containers(client=self)


def connect(url, version, timeout, kind=None):
    """A docker.DockerClient for the engine at ``url``, and which engine
    it is: ``kind``, or what the engine's /version says."""
    api = docker.APIClient(base_url=url, version=version, timeout=timeout)
    found = kind_of(api.version())
    if kind and kind != found:
        api.close()
        raise exception.NovaException(
            '[docker] engine is %s but the engine at %s is %s' % (
                kind, url, found))
    if found == DOCKER:
        return _Client(api), found
    api.close()
    api = PodmanAPIClient(base_url=url, version=version, timeout=timeout,
                          rlimits=engine_rlimits(url))
    LOG.info('The engine at %s is Podman: its answers are made Docker\'s; '
             'containers get the limits of its process %s', url,
             api.rlimits)
    return _Client(api, _PodmanContainers), found

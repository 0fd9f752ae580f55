"""The driver's connection to the Docker engine and its container lookups.

Containers are always found by the instance-uuid label the driver puts on
them, never by name alone: a container someone else named ``nova-<uuid>`` is
not ours.
"""

import docker
import docker.errors
import requests.exceptions
from nova import exception
from oslo_log import log as logging

from novadocker import conf
from novadocker import engine_compat

CONF = conf.CONF
LOG = logging.getLogger(__name__)

UUID_LABEL = 'org.openstack.nova.instance_uuid'
NAME_LABEL = 'org.openstack.nova.instance_name'
# The compute service that made the container: an engine may be shared (a
# test run beside a DevStack), and one service must never take another's
# containers for its own instances.
HOST_LABEL = 'org.openstack.nova.host'

# What a call raises when the engine cannot be reached or stops answering.
UNREACHABLE = (requests.exceptions.ConnectionError,
               requests.exceptions.Timeout)


class EngineUnavailable(exception.NovaException):
    msg_fmt = ('The Docker engine at %(url)s cannot be reached: %(reason)s. '
               'Check that the engine (dockerd, or podman system service) '
               'is running and that the nova-compute user may use its '
               'socket (docker group).')


def unavailable(reason):
    """The error for an engine call that failed with ``reason``."""
    return EngineUnavailable(url=CONF.docker.api_url, reason=reason)


def container_name(instance):
    return name_of(instance.uuid)


def name_of(instance_uuid):
    """The name of an instance's container. A container with its labels
    and another name is not the instance's: a resize's source, kept for a
    revert (novadocker.migration)."""
    return 'nova-%s' % instance_uuid


class Engine:
    """A thin wrapper over docker.DockerClient with Nova's lookups."""

    def __init__(self):
        self._client = None
        # Docker or Podman, and what it does itself: known once connected.
        self.kind = None
        self.traits = None
        # The compute service whose containers these are: Nova hands it to
        # the driver's init_host (several services may share a process and
        # its CONF, as in Nova's functional tests).
        self.host = CONF.host

    @property
    def client(self):
        if self._client is None:
            self._client = self.connect()
        return self._client

    def connect(self):
        url = CONF.docker.api_url
        wanted = CONF.docker.engine
        try:
            client, self.kind = engine_compat.connect(
                url, CONF.docker.api_version, CONF.docker.api_timeout,
                kind=None if wanted == 'auto' else wanted)
            client.ping()
        except UNREACHABLE + (docker.errors.DockerException,) as e:
            # With api_version=auto the SDK asks the engine at once and
            # wraps the connection error in a DockerException.
            raise unavailable(e)
        self.traits = engine_compat.TRAITS[self.kind]
        return client

    def find(self, instance_uuid):
        """The container of an instance, or None."""
        # One removed between the engine's list and its inspect is gone.
        # Another compute service's container of the instance (one that
        # shares this engine, after a move) is not this one's.
        labels = ['%s=%s' % (UUID_LABEL, instance_uuid),
                  '%s=%s' % (HOST_LABEL, self.host)]
        found = [c for c in self.client.containers.list(
                 all=True, ignore_removed=True, filters={'label': labels})
                 if c.name == name_of(instance_uuid)]
        if len(found) > 1:
            LOG.warning('%d containers carry the label of instance %s; '
                        'using the newest', len(found), instance_uuid)
        return found[0] if found else None

    def get(self, instance):
        """The container of an instance, or InstanceNotFound."""
        container = self.find(instance.uuid)
        if container is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return container

    def identity(self):
        """What tells this engine from another: its ID (from a key that
        engines of one host may share), host and data root."""
        info = self.client.info()
        return '%s:%s:%s' % (info.get('ID'), info.get('Name'),
                             info.get('DockerRootDir'))

    def labels(self, instance):
        """The labels of an instance's containers."""
        return {UUID_LABEL: instance.uuid, NAME_LABEL: instance.name,
                HOST_LABEL: self.host}

    def our_labels(self, running=False):
        """The labels of every container this compute service made."""
        containers = self.client.api.containers(
            all=not running,
            filters={'label': [UUID_LABEL, '%s=%s' % (HOST_LABEL, self.host)]})
        return [c['Labels'] for c in containers
                if '/' + name_of(c['Labels'][UUID_LABEL]) in c['Names']]

"""Whether the engine can limit a container's root disk, and what then.

A flavor's ``root_gb`` becomes the engine's ``--storage-opt size`` (see
``novadocker.flavor.root_disk``), which bounds the container's writable
layer. Only some storage drivers take it: overlay2 on XFS mounted with
project quotas (``pquota``), btrfs (qgroups), zfs. The engine's own answer
is the test: at nova-compute start a container with a small size is
created (never started) and removed at once. ``docker info`` only helps to
say why it was refused.
"""

import collections
import io
import tarfile
import uuid

import docker.errors
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

ENFORCE = 'enforce'
WARN = 'warn'
PROBE_REPOSITORY = 'novadocker-quota-probe'
PROBE_SIZE = '64M'

# ``storage``: the engine's storage driver on its file system, in short.
Quota = collections.namedtuple('Quota', 'enforced storage why')


def empty_tarball():
    """The root file system of the probe's image: nothing at all."""
    buf = io.BytesIO()
    tarfile.open(fileobj=buf, mode='w').close()
    return buf.getvalue()


def verdict(storage_driver, backing_fs, refusal):
    """What the engine's answer to the probe means, in words for the log.

    ``refusal`` is the engine's error for the probe's container, or None
    when the engine created it.
    """
    where = '%s on %s' % (storage_driver, backing_fs or 'an unknown file '
                          'system')
    if refusal is None:
        return Quota(True, where, 'the engine\'s storage (%s) limits each '
                     'container\'s writable layer to the flavor\'s root_gb'
                     % where)
    if storage_driver == 'overlay2' and backing_fs == 'xfs':
        hint = ('the data root is XFS but not mounted with project quotas: '
                'mount it with -o pquota and restart the engine')
    elif storage_driver == 'overlay2':
        hint = ('overlay2 takes a size only on XFS mounted with project '
                'quotas (pquota)')
    else:
        hint = 'this storage driver takes no size'
    return Quota(False, where, 'the engine\'s storage (%s) cannot limit a '
                 'container\'s root disk: %s (the engine said: %s)'
                 % (where, hint, refusal))


def probe(client):
    """Ask the engine: a container of a small size, created and removed."""
    info = client.info()
    status = dict(info.get('DriverStatus') or [])
    tag = '%s:%s' % (PROBE_REPOSITORY, uuid.uuid4().hex[:12])
    repository, _, name = tag.partition(':')
    refusal = None
    try:
        # A failed import counts as a refusal: nova-compute still starts.
        client.api.import_image_from_data(empty_tarball(),
                                          repository=repository, tag=name)
        container = client.api.create_container(
            tag, command=['/none'], network_disabled=True,
            host_config=client.api.create_host_config(
                storage_opt={'size': PROBE_SIZE}, network_mode='none'))
        client.api.remove_container(container['Id'], force=True)
    except docker.errors.APIError as e:
        refusal = e.explanation or str(e)
    finally:
        try:
            client.api.remove_image(tag, force=True)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as e:
            LOG.warning('Cannot remove the image %s of the disk quota '
                        'probe: %s', tag, e)
    return verdict(info.get('Driver'), status.get('Backing Filesystem'),
                   refusal)


def check_host(quota, mode):
    """At nova-compute start: say whether root disks are limited."""
    if quota.enforced:
        LOG.info('Root disks are limited: %s', quota.why)
    elif mode == ENFORCE:
        LOG.error('Root disks cannot be limited: %s. With [docker] '
                  'root_disk_quota = enforce, boots of flavors with '
                  'root_gb > 0 fail on this host.', quota.why)
    else:
        LOG.warning('Root disks cannot be limited: %s. With [docker] '
                    'root_disk_quota = warn, guests of every flavor may '
                    'fill the engine\'s data root.', quota.why)


def warn_if_unlimited(instance, quota):
    """A boot that goes on without the limit its flavor's root_gb asks."""
    if instance.flavor.root_gb > 0 and not quota.enforced:
        LOG.warning('Booting without a limit on the root disk (root_gb=%d): '
                    '%s', instance.flavor.root_gb, quota.why,
                    instance=instance)


def refusal(flavor, quota, mode):
    """Why a boot of this flavor must not go on here, or None.

    Short: Nova keeps 255 characters of a fault's message, and
    nova-compute's log says the rest at start.
    """
    if flavor.root_gb <= 0 or quota.enforced or mode != ENFORCE:
        return None
    # The flavor's name, up to 255 characters, last.
    return ('root_gb=%d refused: this host\'s engine cannot limit a root '
            'disk (%s) and [docker] root_disk_quota = enforce; flavor %s'
            % (flavor.root_gb, quota.storage, flavor.name))

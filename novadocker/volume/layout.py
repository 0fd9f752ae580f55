"""Volumes' file systems on the host, where containers see them.

Each container gets its instance's directory ``<volumes_path>/<uuid>``
bound read-only at ``/mnt/volumes`` with ``rslave`` propagation.
``volumes_path`` itself is a shared mount (made so at nova-compute start),
so a file system mounted later at ``<volumes_path>/<uuid>/vdb`` appears in
the running container at ``/mnt/volumes/vdb`` at once, and leaves it when
it is unmounted. The guest cannot create anything in ``/mnt/volumes``
itself: no name it makes there can become a mount point on the host.

A volume's device is mounted as the file system it holds, one of
``volume.FILESYSTEMS``; a blank one gets one only where the operator
allows it, and anything else is refused.
"""

import errno
import os

import docker.types
from oslo_log import log as logging

from novadocker import mountinfo
from novadocker import privsep
from novadocker import volume

LOG = logging.getLogger(__name__)

GUEST_PATH = '/mnt/volumes'
# 'an ext4, xfs or btrfs file system'
ANY_FILESYSTEM = 'an %s or %s file system' % (
    ', '.join(volume.FILESYSTEMS[:-1]), volume.FILESYSTEMS[-1])


class Busy(Exception):
    """The guest uses the volume: a file open or a working directory."""


def prepare_root(root, table=mountinfo.MOUNTINFO):
    """Make ``root`` exist and be a shared mount point.

    :param table: the mount table to read (see ``mountinfo``).
    """
    os.makedirs(root, mode=0o755, exist_ok=True)
    root = os.path.realpath(root)
    if not mountinfo.is_shared(root, table):
        privsep.make_shared_mount(root)
    if not mountinfo.is_shared(root, table):
        raise RuntimeError('%s is not a shared mount after "mount --bind '
                           '%s %s; mount --make-rshared %s": volumes would '
                           'not reach the containers' % ((root,) * 4))
    LOG.info('Volumes are mounted below %s (a shared mount)', root)


def instance_dir(root, instance_uuid):
    return os.path.join(os.path.realpath(root), instance_uuid)


def make_instance_dir(root, instance_uuid):
    """The directory the instance's containers bind: before each start
    too, since a guest kept across a move outlives the one of the move's
    other end, whose removal took the directory on a shared host."""
    directory = instance_dir(root, instance_uuid)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    return directory


def container_settings(root, instance_uuid):
    """Engine settings at create time: the instance's directory's bind.

    Read-only and not recursively so: the volumes below it keep their own
    mode (Docker 25 and later make read-only binds recursive by default).
    """
    source = make_instance_dir(root, instance_uuid)
    mount = docker.types.Mount(GUEST_PATH, source, type='bind',
                               read_only=True, propagation='rslave')
    mount['BindOptions']['ReadOnlyNonRecursive'] = True
    return {'mounts': [mount]}


def has_bind(container):
    """Was the container created with the instance's directory bound?"""
    return any(m.get('Destination') == GUEST_PATH
               for m in container.attrs.get('Mounts') or [])


def mount(target, device, read_only, format_as=None, idmap=None):
    """Mount the file system of ``device`` at ``target``.

    :param format_as: the file system to make on a device without any
        signature, or None to refuse such a device.
    :param idmap: (uid, gid, count): the host ids of a remapped guest's
        ids, which the mount shows the file system's owners as (an
        idmapped mount), or None.
    :raises ValueError: with what the user can do, when the device is
        blank (and may not be formatted) or holds something else than a
        file system of volume.FILESYSTEMS.
    """
    found = privsep.probe_volume(device)
    kind = found.get('TYPE')
    if not found:
        if read_only:
            raise ValueError('it holds no file system, and a read-only '
                             'attachment cannot get one')
        if not format_as:
            raise ValueError(
                'it holds no file system: put %s on it, or ask the operator '
                'for [docker] format_blank_volumes = True' % ANY_FILESYSTEM)
        LOG.info('Making an %s file system on the blank volume at %s',
                 format_as, device)
        privsep.format_volume(device, format_as)
        kind = format_as
    elif kind not in volume.FILESYSTEMS:
        raise ValueError('it holds %s, not %s: refused' % (
            describe(found), ANY_FILESYSTEM))
    os.makedirs(target, mode=0o755, exist_ok=True)
    try:
        privsep.mount_volume(device, target, kind, read_only, idmap)
    except OSError as e:
        _remove_dir(target)
        raise ValueError('its %s file system could not be mounted: %s' % (
            kind, e.strerror or e))


def describe(signature):
    """What blkid found, in words: 'a swap signature (other)'."""
    kind = signature.get('TYPE')
    if kind:
        return 'a %s signature (%s)' % (kind, signature.get('USAGE', '?'))
    if signature.get('PTTYPE'):
        return 'a %s partition table' % signature['PTTYPE']
    return 'an unknown signature'


def unmount(target):
    """Unmount a volume and remove its mount point; gone is fine.

    :raises Busy: while anything uses it; it stays mounted.
    """
    if mountinfo.mounted(target):
        try:
            privsep.unmount_volume(target)
        except OSError as e:
            if e.errno == errno.EBUSY:
                raise Busy(target)
            if e.errno not in (errno.EINVAL, errno.ENOENT):
                raise
    _remove_dir(target)


def remove_instance_dir(root, instance_uuid):
    """Unmount whatever is left below the instance's directory, remove it.

    Only empty directories are removed: a file system still mounted (or
    anything the guest could not have written) is never deleted.
    """
    directory = instance_dir(root, instance_uuid)
    for point in mountinfo.below(directory):
        LOG.warning('Unmounting %s, which no attached volume named', point)
        unmount(point)
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            _remove_dir(os.path.join(directory, name))
        _remove_dir(directory)


def _remove_dir(path):
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        LOG.warning('Could not remove %s: %s', path, e)

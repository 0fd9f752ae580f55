"""Nova's config drive as a read-only directory in the guest.

A virtual machine gets its config drive as a disk labelled ``config-2``. A
container has no disks of its own: it gets the same files, those Nova's
``InstanceMetadata.metadata_for_config_drive()`` gives the ISO builder, as
a directory of the host bound read-only at ``/config-drive``, where
cloud-init's ConfigDrive datasource (and its ds-identify) look before they
look for a disk. nova-compute writes the tree at spawn into the instance's
directory under ``[DEFAULT] instances_path``, as the libvirt driver keeps
``disk.config`` there; the container keeps the bind across stops, reboots
and restarts of nova-compute, and the tree goes at delete.
"""

import errno
import os
import shutil
import stat
import tempfile

import docker.types
from nova.api.metadata import base as instance_metadata
from nova import exception
from nova.virt import configdrive
from oslo_log import log as logging

from novadocker import conf

CONF = conf.CONF
LOG = logging.getLogger(__name__)

GUEST_PATH = '/config-drive'
DIR_NAME = 'config-drive'
# As an ISO 9660 drive built with Rock Ridge "-r": everyone may read,
# nobody may write. The read-only bind is what stops the guest's root.
DIR_MODE = 0o555
FILE_MODE = 0o444
# The instance's directory holds the admin password and the user data:
# only nova-compute's user (and the engine, as root) gets in.
INSTANCE_DIR_MODE = 0o700


def instance_dir(instance):
    return os.path.join(CONF.instances_path, instance.uuid)


def host_path(instance):
    """Where the host keeps an instance's config drive tree."""
    return os.path.join(instance_dir(instance), DIR_NAME)


def files(instance, injected_files, admin_password, network_info):
    """Nova's (path, data) pairs of the drive, as the libvirt driver asks.

    The admin password goes in as libvirt puts it there; the ports'
    ``network_data.json`` comes from Nova's own reading of network_info.
    """
    extra_md = {'admin_pass': admin_password} if admin_password else {}
    metadata = instance_metadata.InstanceMetadata(
        instance, content=injected_files, extra_md=extra_md,
        network_info=network_info)
    return metadata.metadata_for_config_drive()


def _relative(path):
    """A path of the drive, refused if it would leave the tree."""
    normal = os.path.normpath(path)
    if os.path.isabs(normal) or normal == '.' or normal.startswith('..'):
        raise ValueError('%r is not a path inside a config drive' % path)
    return normal


def write_tree(root, pairs):
    """Write (path, str or bytes) pairs into ``root``, an empty directory.

    ``root`` and every directory and file below it end read-only for all.
    """
    dirs = [root]
    for path, data in pairs:
        parts = _relative(path).split(os.sep)
        parent = root
        for part in parts[:-1]:
            parent = os.path.join(parent, part)
            if parent not in dirs:
                os.mkdir(parent, 0o700)
                dirs.append(parent)
        target = os.path.join(parent, parts[-1])
        if isinstance(data, str):
            data = data.encode('utf-8')
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(target, FILE_MODE)
    # Deepest first: a directory loses its write bit after its contents.
    for directory in reversed(dirs):
        os.chmod(directory, DIR_MODE)


def _remove_tree(path):
    """Remove a tree whose directories are read-only, if it is there."""
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        os.unlink(path)
        return
    for directory, _subdirs, _files in os.walk(path):
        os.chmod(directory, stat.S_IRWXU)
    shutil.rmtree(path)


def write(instance, injected_files, admin_password, network_info):
    """At spawn: the drive of an instance that needs one, as engine settings.

    Written whole beside the instance's tree and then renamed into place,
    replacing the tree of an earlier spawn (a rebuild gives the metadata
    and user data of now). Returns the bind of the tree at
    ``/config-drive``, or nothing when Nova asks for no config drive.
    """
    if not configdrive.required_by(instance):
        return {}
    target = host_path(instance)
    LOG.info('Writing the config drive at %s', target, instance=instance)
    pairs = files(instance, injected_files, admin_password, network_info)
    try:
        os.makedirs(instance_dir(instance), INSTANCE_DIR_MODE, exist_ok=True)
        new = tempfile.mkdtemp(prefix=DIR_NAME + '.',
                               dir=instance_dir(instance))
        write_tree(new, pairs)
        _remove_tree(target)
        os.rename(new, target)
    except (OSError, ValueError) as e:
        remove(instance)
        raise exception.BuildAbortException(
            instance_uuid=instance.uuid,
            reason='the config drive could not be written to %s: %s'
                   % (target, e))
    return {'mounts': [docker.types.Mount(GUEST_PATH, target, type='bind',
                                          read_only=True)]}


def kept(instance, network_info):
    """After a move: the drive's bind, the tree kept on this host (a resize
    on one host), else written again from Nova's metadata, which holds no
    injected files nor admin password."""
    if not configdrive.required_by(instance):
        return {}
    target = host_path(instance)
    if not os.path.isdir(target):
        LOG.warning('Writing the config drive again: it has no injected '
                    'files nor admin password after a move',
                    instance=instance)
        return write(instance, [], None, network_info)
    return {'mounts': [docker.types.Mount(GUEST_PATH, target, type='bind',
                                          read_only=True)]}


def _remove_empty_dir(path):
    try:
        os.rmdir(path)
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.ENOTDIR):
            raise


def remove(instance):
    """At delete, and after a failed spawn: nothing of the drive stays.

    Also the remains of a write that nova-compute did not finish, and the
    instance's directory once empty. Returns whether nothing is left.
    """
    directory = instance_dir(instance)
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError as e:
        LOG.warning('Cannot read %s to remove the config drive: %s',
                    directory, e, instance=instance)
        return False
    try:
        for name in names:
            if name == DIR_NAME or name.startswith(DIR_NAME + '.'):
                _remove_tree(os.path.join(directory, name))
                LOG.info('Removed the config drive %s',
                         os.path.join(directory, name), instance=instance)
        _remove_empty_dir(directory)
    except OSError as e:
        LOG.warning('Cannot remove the config drive under %s: %s',
                    directory, e, instance=instance)
        return False
    return True

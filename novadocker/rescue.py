"""Rescue: a server that no longer boots, started from a rescue image with
its own root at hand.

libvirt's rescue boots the rescue image with the server's disk as a second
disk. Here the rescue container, made from the rescue image (the image
given to ``openstack server rescue --image``, else the server's own), gets
the stopped guest's root file system at ``/rescue``: the engine's overlay
of the guest's image layers and its writable layer, mounted on the host
(``privsep.mount_rescue_root``, under the instance's directory) and bound
in, so that what is written there is in the guest's root after unrescue.
The guest's container is kept stopped meanwhile, renamed
``nova-<uuid>_rescue`` (not the instance's container while rescued: see
engine.find), and the rescue container joins the instance's network
sandbox: the server keeps its ports and addresses.

Only the engine's overlay2 storage gives the root this way; on another
storage driver the rescue is refused with a fault that says so.
"""

import os

import docker.errors
import docker.types
from nova import exception
from oslo_log import log as logging

from novadocker import conf
from novadocker import engine
from novadocker import privsep

CONF = conf.CONF
LOG = logging.getLogger(__name__)

GUEST_PATH = '/rescue'
SUFFIX = '_rescue'
ROOT_DIR = 'rescue-root'


def root_dir(instance_uuid):
    """Where the host shows the rescued guest's root."""
    return os.path.join(CONF.instances_path, instance_uuid, ROOT_DIR)


def kept_name(instance_uuid):
    return engine.name_of(instance_uuid) + SUFFIX


def kept(client, instance_uuid):
    """The guest's container kept while rescued, or None."""
    try:
        return client.containers.get(kept_name(instance_uuid))
    except docker.errors.NotFound:
        return None


def _layers(container):
    driver = container.attrs.get('GraphDriver') or {}
    data = driver.get('Data') or {}
    if driver.get('Name') != 'overlay2' or not data.get('UpperDir'):
        raise exception.InstanceNotRescuable(
            instance_id=container.labels.get(engine.UUID_LABEL),
            reason='the engine\'s storage driver is %s; a rescue needs '
                   'overlay2' % driver.get('Name'))
    return (data['LowerDir'].split(':'), data['UpperDir'], data['WorkDir'])


def show_root(container, instance_uuid):
    """Mount the stopped guest's root for its rescue container; the
    engine settings that bind it at /rescue."""
    lower, upper, work = _layers(container)
    target = root_dir(instance_uuid)
    os.makedirs(target, 0o700, exist_ok=True)
    if not os.path.ismount(target):
        privsep.mount_rescue_root(lower, upper, work, target)
    return {'mounts': [docker.types.Mount(GUEST_PATH, target, type='bind')]}


def hide_root(instance_uuid):
    """Unmount the rescued root and remove its mount point."""
    target = root_dir(instance_uuid)
    if not os.path.isdir(target):
        # Never rescued (every delete asks), or no instance directory.
        return
    if os.path.ismount(target):
        privsep.unmount_rescue_root(target)
    os.rmdir(target)


def keep(container, instance_uuid):
    container.rename(kept_name(instance_uuid))


def give_back(client, instance_uuid):
    """The kept guest's container under its name again; False if there is
    none (unrescued already)."""
    container = kept(client, instance_uuid)
    if container is None:
        return False
    container.rename(engine.name_of(instance_uuid))
    return True

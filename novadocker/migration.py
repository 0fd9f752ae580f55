"""Resize and cold migration: the guest's root travels as an image.

A guest's files are its image's layers and its container's writable layer.
At a resize or a migration the source stops the guest and commits its
writable layer on top of its image: the instance's root image,
``nova-docker-root/<uuid>:<tag>``, a layer on the last one at each move.
The destination makes the guest's container from that image, with the new
flavor, through the same create and start as a boot.

A destination with an engine of its own gets the root image through
Glance, as a private image of the guest's root that lives for the move
only: the source uploads it (``send_root``), the destination loads it with
the checks of a boot's image and deletes it (``root_image``,
``forget_sent``); a confirm, a revert or a failure deletes it too.

Only what the guest changed travels where it can: a root image's first
layers are those of the instance's Glance image, which the destination
gets from Glance (and keeps in its image cache, as for a boot). While
that image is still in Glance and is what the source's engine cached, the
upload leaves its layers out (``layer_filter``) and says so in the Glance
image's properties; the destination loads the Glance image first, or
fails the move.

The source keeps its stopped container and sandbox for a revert, renamed
``<name>_resize`` as the libvirt driver keeps ``<instance dir>_resize``:
a container or sandbox by another name than the instance's is not the
instance's (engine.find, sandbox.Sandboxes.find). Confirm removes them;
revert gives them their names back and starts the guest as it was.

What the guest wrote before a move is in its root image from then on, not
in its new container's writable layer: the root disk limit of the new
container is what is left of the flavor's root_gb after it
(``committed_bytes``), and a flavor whose root disk is smaller than what
the guest uses is refused before anything changes.
"""

import hashlib
import os

import docker.errors
from nova import exception
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import uuidutils

from novadocker import conf
from novadocker import engine
from novadocker import image as images
from novadocker import layer_filter
from novadocker import sandbox

CONF = conf.CONF
LOG = logging.getLogger(__name__)

ROOT_REPOSITORY = 'nova-docker-root'
# Bytes the guest wrote before its moves, now in its root image's layers.
COMMITTED_LABEL = 'org.openstack.nova.root_committed'
SOURCE_SUFFIX = '_resize'
# The Glance image of a moving guest's root: in the image's properties, and
# in the instance's system metadata while it exists.
MOVE_PROPERTY = 'nova_docker_root_of'
SENT_KEY = 'nova_docker_root_sent'
# A root image sent without the layers of a Glance image: that image's id,
# and the chain id of its layers, which the destination must hold.
BASE_PROPERTY = 'nova_docker_base_image'
BASE_CHAIN_PROPERTY = 'nova_docker_base_chain'
GIB = 1024 ** 3


def root_repository(instance_uuid):
    return '%s/%s' % (ROOT_REPOSITORY, instance_uuid)


def committed_bytes(image_attrs):
    """What the guest wrote before its moves, from its image's labels."""
    labels = (image_attrs.get('Config') or {}).get('Labels') or {}
    try:
        return int(labels.get(COMMITTED_LABEL, 0))
    except ValueError:
        return 0


def used_bytes(client, container):
    """The bytes the guest wrote to its root: before its moves and since."""
    # The engine measures the writable layer when listing, if asked.
    [listed] = client.api.containers(all=True, size=True,
                                     filters={'id': container.id})
    written = listed.get('SizeRw') or 0
    image = client.api.inspect_image(container.attrs['Image'])
    return committed_bytes(image) + written


def root_refusal(client, container, flavor, enforced):
    """Why the guest's root does not fit ``flavor``'s root disk, or None."""
    if not enforced or flavor.root_gb <= 0:
        return None
    used = used_bytes(client, container)
    if used <= flavor.root_gb * GIB:
        return None
    return ('the guest has written %d MiB to its root file system, more '
            'than the %d GiB root disk of flavor %s' % (
                used // 2 ** 20, flavor.root_gb, flavor.name))


def commit_root(client, container, instance):
    """The guest's root, committed: its root image's reference."""
    used = used_bytes(client, container)
    tag = uuidutils.generate_uuid(dashed=False)[:12]
    repository = root_repository(instance.uuid)
    container.commit(repository=repository, tag=tag,
                     changes=['LABEL %s=%d' % (COMMITTED_LABEL, used)])
    reference = '%s:%s' % (repository, tag)
    LOG.info('Committed the guest\'s root (%d MiB written) as %s',
             used // 2 ** 20, reference, instance=instance)
    return reference


def disk_info(root_image, engine_id, sent=None):
    """What migrate_disk_and_power_off hands to finish_migration: the root
    image, the engine that holds it, the Glance image it was sent as."""
    return jsonutils.dumps({'root_image': root_image, 'engine': engine_id,
                            'glance_image': sent})


def chain_id(diff_ids):
    """The engine's id of a stack of layers, from their DiffIDs, bottom
    first (the OCI image specification's ChainID)."""
    chain = diff_ids[0]
    for diff_id in diff_ids[1:]:
        chain = 'sha256:' + hashlib.sha256(
            ('%s %s' % (chain, diff_id)).encode()).hexdigest()
    return chain


def root_image(context, client, info, engine_id, instance):
    """The root image the source made, in this engine: fetched from Glance
    if the source's engine is another one, after the instance's Glance
    image if it was sent without that image's layers."""
    try:
        info = jsonutils.loads(info)
        reference, source_engine = info['root_image'], info['engine']
    except (TypeError, ValueError, KeyError):
        raise exception.MigrationError(
            reason='the source gave no root image of the guest: %r' % info)
    if source_engine == engine_id:
        return reference
    if not info.get('glance_image'):
        raise exception.MigrationError(
            reason='the guest\'s root image %s is in the source\'s Docker '
                   'engine and was not sent' % reference)
    sent = info['glance_image']
    properties = images.IMAGE_API.get(context, sent).get('properties') or {}
    base = properties.get(BASE_PROPERTY)
    if not base:
        images.load(context, client, sent, reference)
        return reference
    # The cache cleanup keeps the base until the root image holds its
    # layers.
    with images.in_use(base):
        _ensure_base(context, client, base,
                     properties.get(BASE_CHAIN_PROPERTY), instance)
        images.load(context, client, sent, reference)
    return reference


def _ensure_base(context, client, base, chain, instance):
    """The Glance image whose layers the root image was sent without, in
    this engine with the layers the source left out."""
    try:
        cached = images.ensure_cached(context, client, base)
        layers = client.api.inspect_image(cached)['RootFS']['Layers']
    except Exception as e:
        raise exception.MigrationError(
            reason='the guest\'s root image was sent without the layers of '
                   'Glance image %s, which this host could not load: %s' %
                   (base, e))
    if not layers or chain_id(layers) != chain:
        raise exception.MigrationError(
            reason='the guest\'s root image was sent without the layers of '
                   'Glance image %s, and this host\'s copy of that image '
                   'has other layers' % base)
    LOG.info('The guest\'s root image was sent without the layers of '
             'Glance image %s, which this host has', base, instance=instance)


def _layers_in_glance(context, client, instance, root_layers):
    """The DiffIDs of the root image's first layers, which a destination
    can get from the instance's Glance image; without them, why not."""
    image_id = instance.image_ref
    if not image_id:
        return [], 'the server boots from a volume'
    try:
        meta = images.IMAGE_API.get(context, image_id)
    except (exception.ImageNotFound, exception.ImageNotAuthorized):
        return [], 'its Glance image %s is gone' % image_id
    if meta.get('status') != 'active':
        return [], 'its Glance image %s is %s' % (image_id, meta.get('status'))
    try:
        cached = client.api.inspect_image(images.cache_ref(image_id))
    except docker.errors.ImageNotFound:
        return [], 'the engine has no copy of Glance image %s' % image_id
    base_layers = cached['RootFS']['Layers']
    # A root image is made on top of the cached copy of its Glance image;
    # one that is not was made on another image under that tag.
    if not base_layers or root_layers[:len(base_layers)] != base_layers:
        return [], ('it was not made on the engine\'s copy of Glance image '
                    '%s' % image_id)
    return base_layers, None


def send_root(context, client, reference, instance):
    """The root image into Glance, for a destination with an engine of its
    own: a private image that lives for the move only. Its id."""
    root_layers = client.api.inspect_image(reference)['RootFS']['Layers']
    base_layers, why_whole = _layers_in_glance(context, client, instance,
                                               root_layers)
    # Not a base layer that a layer of the guest's repeats (an empty one):
    # the tarball holds that layer's file once, and the guest's links to it.
    left_out = set(base_layers) - set(root_layers[len(base_layers):])
    properties = {MOVE_PROPERTY: instance.uuid}
    if left_out:
        properties.update({BASE_PROPERTY: instance.image_ref,
                           BASE_CHAIN_PROPERTY: chain_id(base_layers)})
    else:
        LOG.info('Sending the whole root image %s: %s', reference,
                 why_whole or 'the guest repeats every layer of its image',
                 instance=instance)
    sent = images.IMAGE_API.create(context, {
        'name': 'nova-docker-root-%s' % instance.uuid,
        'visibility': 'private',
        'container_format': images.CONTAINER_FORMAT,
        'disk_format': images.DISK_FORMAT,
        'properties': properties})['id']
    instance.system_metadata[SENT_KEY] = sent
    instance.save()
    # Each layer's file is spooled while its DiffID is computed.
    os.makedirs(CONF.instances_path, exist_ok=True)
    save = layer_filter.WithoutLayers(client.api.get_image(reference),
                                      left_out, CONF.instances_path)
    images.upload(context, client, reference, sent, {}, save=save)
    LOG.info('Sent the guest\'s root image %s as Glance image %s: %d bytes '
             'of its %d-byte "docker save", %d of its %d layers left out',
             reference, sent, save.sent_bytes, save.read_bytes,
             save.left_out, len(root_layers), instance=instance)
    return sent


def forget_sent(context, instance):
    """The Glance image of the guest's root, if one was sent, deleted."""
    sent = instance.system_metadata.get(SENT_KEY)
    if not sent:
        return
    try:
        images.IMAGE_API.delete(context, sent)
    except exception.ImageNotFound:
        pass
    except Exception as e:
        LOG.warning('Could not delete Glance image %s of the guest\'s root '
                    'sent for a move: %s', sent, e, instance=instance)
        return
    del instance.system_metadata[SENT_KEY]
    instance.save()


def _names(instance_uuid):
    return (engine.name_of(instance_uuid), sandbox.name(instance_uuid))


def _get(client, name):
    try:
        return client.containers.get(name)
    except docker.errors.NotFound:
        return None


def keep_source(client, instance_uuid):
    """The stopped guest and its sandbox, renamed for a revert."""
    for name in _names(instance_uuid):
        found = _get(client, name)
        if found is not None:
            found.rename(name + SOURCE_SUFFIX)


def has_source(client, instance_uuid):
    return _get(client, engine.name_of(instance_uuid) + SOURCE_SUFFIX) \
        is not None


def restore_source(client, instance_uuid):
    """The kept guest and sandbox under their names again; False if
    there is none (a revert that has nothing to give back)."""
    if not has_source(client, instance_uuid):
        return False
    for name in _names(instance_uuid):
        found = _get(client, name + SOURCE_SUFFIX)
        if found is not None:
            found.rename(name)
    return True


def drop_source(client, instance_uuid):
    """Confirmed: the kept guest and sandbox go."""
    for name in _names(instance_uuid):
        found = _get(client, name + SOURCE_SUFFIX)
        if found is not None:
            found.remove(force=True, v=True)


def remove_root_images(client, instance_uuid):
    """The instance's root images that no container uses any more: each
    one in use stays (the engine refuses), and so do the older ones it is
    made on."""
    removed = True
    while removed:
        # Each pass may free the image an earlier move's was made on.
        removed = False
        for image in client.images.list(name=root_repository(instance_uuid)):
            for reference in image.tags:
                try:
                    client.images.remove(reference)
                    removed = True
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as e:
                    if e.status_code != 409:
                        LOG.warning('Could not remove root image %s: %s',
                                    reference, e.explanation)

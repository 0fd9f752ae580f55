"""Glance images in and out of the Docker engine, streamed.

A Glance image for this driver has container_format ``docker``, disk_format
``raw`` and a ``docker save`` tarball as data, plain or compressed (see
``compressed``).  It is streamed from Glance into the engine's load API
chunk by chunk (never held in memory nor written to a file) while its hash
is checked, and tagged ``glance/<image id>`` so the next boot of the same
Glance image downloads nothing, whatever the image is called inside the
tarball or in Glance.  The tags the tarball names never reach the engine
(see ``tarball``): ``glance/<image id>`` is written only here, for the
image loaded from that Glance id, and for snapshots.
"""

import collections
import contextlib
import hashlib
import threading

import docker.errors
from nova import exception
from nova.image import glance
from oslo_concurrency import lockutils
from oslo_log import log as logging

from novadocker import chunk_reader
from novadocker import compressed
from novadocker import tarball

LOG = logging.getLogger(__name__)

CACHE_REPOSITORY = 'glance'
CONTAINER_FORMAT = 'docker'
DISK_FORMAT = 'raw'

IMAGE_API = glance.API()
LOAD_LOCK = 'novadocker-image-load'

# Glance images a spawn or pre-cache of this process is using: from its
# cache lookup until its container exists.  The cache cleanup skips them.
_pins = collections.Counter()
_pins_lock = threading.Lock()


def cache_ref(image_id):
    return '%s/%s:latest' % (CACHE_REPOSITORY, image_id)


def check_formats(image_id, container_format, disk_format):
    """Refuse images this driver cannot run, before anything is fetched."""
    if container_format != CONTAINER_FORMAT:
        raise exception.ImageUnacceptable(
            image_id=image_id,
            reason='container_format is %r; the Docker driver boots only '
                   'images with container_format %r (a "docker save" '
                   'tarball)' % (container_format, CONTAINER_FORMAT))
    if disk_format != DISK_FORMAT:
        raise exception.ImageUnacceptable(
            image_id=image_id,
            reason='disk_format is %r; Docker images are stored in Glance '
                   'with disk_format %r' % (disk_format, DISK_FORMAT))


class VerifiedStream:
    """Chunks from Glance, checked against Glance's hash on the fly.

    The last chunk is held back until the whole image has been hashed: on a
    mismatch the stream breaks off before the end of the tarball, so the
    engine sees a truncated upload and loads nothing.
    """

    def __init__(self, image_id, chunks, meta):
        self.image_id = image_id
        self.chunks = chunks
        self.expected = None
        if meta.get('os_hash_algo') and meta.get('os_hash_value'):
            self.algo = meta['os_hash_algo']
            self.expected = meta['os_hash_value']
        elif meta.get('checksum'):
            self.algo = 'md5'
            self.expected = meta['checksum']
        self.size = 0

    def __iter__(self):
        hasher = hashlib.new(self.algo) if self.expected else None
        held = None
        for chunk in self.chunks:
            if not chunk:
                continue
            if hasher:
                hasher.update(chunk)
            self.size += len(chunk)
            if held is not None:
                yield held
            held = chunk
        if hasher and hasher.hexdigest() != self.expected:
            raise exception.ImageUnacceptable(
                image_id=self.image_id,
                reason='its data does not match Glance\'s %s hash %s '
                       '(got %s after %d bytes)' % (
                           self.algo, self.expected, hasher.hexdigest(),
                           self.size))
        if held is not None:
            yield held


def _loaded_image_ids(client, messages):
    """Image ids the engine reports from a load, or the error it reports."""
    refs = []
    for message in messages:
        if 'error' in message or 'errorDetail' in message:
            raise ValueError(message.get('error') or
                             message['errorDetail'].get('message'))
        text = message.get('stream', '').strip()
        if text.startswith('Loaded image ID: '):
            refs.append(text[len('Loaded image ID: '):])
        elif text.startswith('Loaded image: '):
            refs.append(text[len('Loaded image: '):])
    return refs


def ensure_cached(context, client, image_id):
    """Return the engine's id for a Glance image, loading it if needed.

    Call it within ``in_use(image_id)``, which keeps the cache cleanup from
    removing the image until the caller has made its container.
    """
    # Boots of a cached image do not wait for a load under way.
    engine_id = cached(client, image_id)
    if engine_id:
        return engine_id
    # One load at a time: a Glance image must not be fetched twice because
    # two boots asked for it at once.
    with lockutils.lock(LOAD_LOCK):
        return cached(client, image_id) or _load(context, client, image_id)


@contextlib.contextmanager
def in_use(image_id):
    """Mark a Glance image as used by this process for a while."""
    with _pins_lock:
        _pins[image_id] += 1
    try:
        yield
    finally:
        with _pins_lock:
            _pins[image_id] -= 1
            if not _pins[image_id]:
                del _pins[image_id]


@contextlib.contextmanager
def unless_in_use():
    """Hold off new uses; gives the Glance ids in use at that moment."""
    with _pins_lock:
        yield set(_pins)


def cached(client, image_id):
    try:
        return client.images.get(cache_ref(image_id)).id
    except docker.errors.ImageNotFound:
        return None


def _load(context, client, image_id, reference=None):
    """Stream a Glance image into the engine, tagged ``reference`` (by
    default the cache's tag for the Glance id)."""
    meta = IMAGE_API.get(context, image_id)
    check_formats(image_id, meta.get('container_format'),
                  meta.get('disk_format'))
    stream = VerifiedStream(image_id, IMAGE_API.download(context, image_id),
                            meta)
    # The engine gets the tarball, decompressed, without the tags it
    # names: the only tag a load leads to is the one below, for this
    # Glance id.
    untagged = tarball.Untagged(image_id,
                                compressed.plain_tar(image_id, stream))
    LOG.info('Loading Glance image %s into the Docker engine', image_id)
    try:
        loaded = _loaded_image_ids(client,
                                   client.api.load_image(iter(untagged)))
    except exception.ImageUnacceptable:
        raise
    except (ValueError, docker.errors.APIError) as e:
        raise exception.ImageUnacceptable(
            image_id=image_id,
            reason='the Docker engine could not load it as a "docker save" '
                   'tarball: %s' % e)
    except Exception as e:
        # requests wraps what our stream raised while uploading.
        cause = e
        while cause is not None:
            if isinstance(cause, exception.ImageUnacceptable):
                raise cause
            cause = cause.__context__
        raise
    if len(loaded) != 1:
        raise exception.ImageUnacceptable(
            image_id=image_id,
            reason='the tarball must hold exactly one image, it holds %d' %
                   len(loaded))
    engine_id = client.images.get(loaded[0]).id
    repository, _, tag = (reference or cache_ref(image_id)).rpartition(':')
    client.api.tag(engine_id, repository, tag, force=True)
    LOG.info('Glance image %s (%d bytes) is engine image %s',
             image_id, stream.size, engine_id)
    return engine_id


def load(context, client, image_id, reference):
    """A Glance image that is not a boot's (a moving guest's root), loaded
    and tagged ``reference``; its data checked as a boot's."""
    with lockutils.lock(LOAD_LOCK):
        return _load(context, client, image_id, reference)


def upload(context, client, engine_image_id, image_id, metadata,
           save=None):
    """Stream an engine image into a Glance image, with ``metadata``: its
    ``docker save``, or ``save``, chunks the caller made of it."""
    if save is None:
        save = client.api.get_image(engine_image_id)
    # Nova's image API hands the data to glanceclient, which streams it
    # by read(size).
    IMAGE_API.update(context, image_id, dict(
        metadata, container_format=CONTAINER_FORMAT, disk_format=DISK_FORMAT),
        data=chunk_reader.ChunkReader(save), purge_props=False)


def upload_snapshot(context, client, engine_image_id, image_id, instance):
    """Stream an engine image into the Glance image Nova created for it."""
    metadata = {
        'status': 'active',
        'properties': {
            'image_location': 'snapshot',
            'image_state': 'available',
            'owner_id': instance.project_id,
        },
    }
    upload(context, client, engine_image_id, image_id, metadata)
    # The snapshot is also the cached copy of the new Glance image.
    client.api.tag(engine_image_id, '%s/%s' % (CACHE_REPOSITORY, image_id),
                   'latest', force=True)

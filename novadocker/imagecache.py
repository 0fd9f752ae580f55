"""The engine's image cache cleaned of what no instance uses.

Nova's image cache manager pass (``manage_image_cache``) hands the driver
the instances of the hosts that share this one's storage.  The cache
entries are the driver's own ``glance/<image id>:latest`` references: Glance
images loaded for boots or pre-caching, and snapshots' copies.  An entry is
in use while a listed instance was booted from that Glance image, while
any container of the engine (whichever compute service made it) holds its
image, or while a spawn or pre-cache of this process holds it
(``image.in_use``).  An entry stays until it has gone unused for
``[image_cache] remove_unused_original_minimum_age_seconds``, and
``[image_cache] remove_unused_base_images = False`` keeps every one.

The age of an entry is kept in the engine, as libvirt keeps it in a base
file's mtime: the driver tags the image again at every pass that finds it
in use, and the engine records the time of an image's last tag
(``Metadata.LastTagTime``).  So the age survives restarts of nova-compute.
Where the engine gives no such time, the first pass of this process that
found the entry unused stands for it.
"""

import time

import docker.errors
from nova.virt import imagecache
from oslo_log import log as logging
from oslo_utils import timeutils

from novadocker import conf
from novadocker import image

CONF = conf.CONF
LOG = logging.getLogger(__name__)

CACHE_PREFIX = image.CACHE_REPOSITORY + '/'
CACHE_TAG = ':latest'


def tag_time(attrs):
    """When the engine last tagged an image (epoch seconds), or None."""
    stamp = (attrs.get('Metadata') or {}).get('LastTagTime')
    if not stamp or stamp.startswith('0001-'):
        return None
    # The engine writes nanoseconds; Python reads at most microseconds.
    head, dot, rest = stamp.partition('.')
    if dot:
        digits = len(rest) - len(rest.lstrip('0123456789'))
        stamp = head + '.' + rest[:min(digits, 6)] + rest[digits:]
    return timeutils.parse_isotime(stamp).timestamp()


def cached_entries(client):
    """{Glance image id: engine image id} of every cache entry."""
    entries = {}
    for summary in client.api.images(filters={'reference': CACHE_PREFIX +
                                              '*'}):
        for ref in summary.get('RepoTags') or []:
            if ref.startswith(CACHE_PREFIX) and ref.endswith(CACHE_TAG):
                entries[ref[len(CACHE_PREFIX):-len(CACHE_TAG)]] = \
                    summary['Id']
    return entries


class ImageCache(imagecache.ImageCacheManager):
    """Nova's image cache manager for the engine's images."""

    def __init__(self, engine):
        super().__init__()
        self.engine = engine
        # Glance id: when this process first found it unused, for engines
        # that record no tag time.
        self._unused_since = {}

    def update(self, context, all_instances):
        client = self.engine.client
        used = set(self._list_running_instances(
            context, all_instances)['used_images'])
        running = {c['ImageID'] for c in client.api.containers(all=True)}
        unused = {}
        for image_id, engine_id in cached_entries(client).items():
            if image_id in used or engine_id in running:
                # The age of an entry starts again when it is last used.
                client.api.tag(engine_id, CACHE_PREFIX + image_id, 'latest')
                self._unused_since.pop(image_id, None)
            else:
                unused[image_id] = engine_id
        for image_id in set(self._unused_since) - set(unused):
            del self._unused_since[image_id]
        if not unused:
            return
        if not CONF.image_cache.remove_unused_base_images:
            LOG.info('Unused cached images kept ([image_cache] '
                     'remove_unused_base_images is False): %s',
                     ' '.join(sorted(unused)))
            return
        max_age = CONF.image_cache.remove_unused_original_minimum_age_seconds
        with image.unless_in_use() as pinned:
            for image_id in sorted(unused):
                if image_id in pinned:
                    continue
                age = self._age(client, image_id)
                if age is None:
                    continue
                if age < max_age:
                    LOG.info('Cached image %s unused for %d s, too young to '
                             'remove', image_id, age)
                    continue
                self._remove(client, image_id)

    def _age(self, client, image_id):
        """Seconds since the entry was last tagged, or None if gone."""
        try:
            attrs = client.api.inspect_image(image.cache_ref(image_id))
        except docker.errors.ImageNotFound:
            return None
        now = time.time()
        since = tag_time(attrs)
        if since is None:
            since = self._unused_since.setdefault(image_id, now)
        return now - since

    def _remove(self, client, image_id):
        try:
            # Untagged; the engine deletes the image and its layers unless
            # another reference or a container (made since the listing)
            # holds them.
            client.api.remove_image(image.cache_ref(image_id))
        except docker.errors.ImageNotFound:
            return
        except docker.errors.APIError as e:
            if e.status_code != 409:
                raise
            LOG.info('Cached image %s kept: %s', image_id, e.explanation)
            return
        self._unused_since.pop(image_id, None)
        LOG.info('Removed cached image %s, unused for longer than '
                 '[image_cache] remove_unused_original_minimum_age_seconds',
                 image_id)

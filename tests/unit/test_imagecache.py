"""How old a cached image is, from what the engine records."""

import datetime

from novadocker import imagecache


def test_tag_time_reads_the_engines_nanoseconds():
    seconds = imagecache.tag_time(
        {'Metadata': {'LastTagTime': '2026-12-01T03:24:57.229452485Z'}})
    assert seconds == datetime.datetime(
        2026, 12, 1, 3, 24, 57, 229452,
        tzinfo=datetime.timezone.utc).timestamp()


def test_tag_time_with_an_offset_and_whole_seconds():
    assert imagecache.tag_time(
        {'Metadata': {'LastTagTime': '2026-12-01T04:24:57+01:00'}}) == \
        datetime.datetime(2026, 12, 1, 3, 24, 57,
                          tzinfo=datetime.timezone.utc).timestamp()


def test_no_tag_time_when_the_engine_records_none():
    assert imagecache.tag_time({}) is None
    assert imagecache.tag_time({'Metadata': {}}) is None
    assert imagecache.tag_time(
        {'Metadata': {'LastTagTime': '0001-01-01T00:00:00Z'}}) is None


class Api:
    def __init__(self, images):
        self._images = images

    def images(self, filters):
        assert filters == {'reference': 'glance/*'}
        return self._images


def test_cache_entries_are_the_drivers_glance_references():
    client = type('Client', (), {})()
    client.api = Api([
        {'Id': 'sha256:1', 'RepoTags': ['glance/a:latest', 'busybox:1']},
        {'Id': 'sha256:2', 'RepoTags': ['glance/b:latest', 'glance/c:old']},
        {'Id': 'sha256:3', 'RepoTags': None}])
    assert imagecache.cached_entries(client) == {'a': 'sha256:1',
                                                 'b': 'sha256:2'}

"""The cost of loading tarballs without their tags.

The driver streams every tarball into the engine through
``novadocker.tarball.Untagged``, which writes it anew member by member.
Measured against the plain load of the same tarball through the same SDK
call, from the same file in Glance's 64 KiB chunks, in the same run (one of
each in turn); and the rewrite alone, into nothing, for its CPU cost.  No
Nova here: only the engine.
"""

import os
import tempfile
import time
import unittest

import docker

from bench import big_image
from bench import measure
from bench import options
from bench.record import RESULTS
from novadocker import image
from novadocker import tarball

BENCH = 'untag'
GOAL_RATIO = 0.9
CHUNK = 64 * 1024
FIGURES = {'untagged': [], 'plain': [], 'rewrite': []}


def chunks(path):
    with open(path, 'rb') as f:
        while chunk := f.read(CHUNK):
            yield chunk


def untagged(path):
    return iter(tarball.Untagged('bench', chunks(path)))


def timed_load(client, data):
    """Seconds the engine takes to load; the loaded image is removed."""
    start = time.monotonic()
    loaded = image._loaded_image_ids(client, client.api.load_image(data))
    seconds = time.monotonic() - start
    for ref in loaded:
        big_image.remove(ref)
    return seconds


class Untag(unittest.TestCase):

    def test_untagged_load(self):
        opts = options.current()
        client = docker.DockerClient(base_url=opts.docker_host,
                                     version='auto')
        with tempfile.TemporaryDirectory() as workdir:
            tarball_file = big_image.build(client, workdir, opts.image_mib)
            path, size = tarball_file['path'], tarball_file['size']
            RESULTS.figure(BENCH, 'tarball', size / measure.MIB, 'MiB',
                           '%.0f')
            for _ in range(opts.rounds):
                for label, data in (('plain', lambda: chunks(path)),
                                    ('untagged', lambda: untagged(path))):
                    os.sync()
                    seconds = timed_load(client, data())
                    FIGURES[label].append(size / seconds / 1e6)
                    RESULTS.figure(BENCH, 'SDK load, %s' % label,
                                   FIGURES[label][-1], 'MB/s', '%.0f')
                start = time.monotonic()
                for _ in untagged(path):
                    pass
                FIGURES['rewrite'].append(
                    size / (time.monotonic() - start) / 1e6)
                RESULTS.figure(BENCH, 'rewrite alone (file to nothing)',
                               FIGURES['rewrite'][-1], 'MB/s', '%.0f')


def conclude():
    if not FIGURES['untagged']:
        return
    RESULTS.check_ratio(BENCH, 'untagged load / plain load',
                        FIGURES['untagged'], FIGURES['plain'], GOAL_RATIO,
                        at_most=False)


CASES = (Untag,)

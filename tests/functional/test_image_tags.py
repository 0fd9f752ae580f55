"""A tarball's own tags never reach the engine, not even for a moment.

The tarball of one Glance image names the cache entry of another
(``glance/<victim id>:latest``).  The driver must load it without that tag:
the engine receives a tarball naming no tag (seen through a recording
stand-in for its socket), the victim's entry never points anywhere else
while the load runs (a watcher polls it throughout), and boots of the
victim during the load run the victim's image.  ``docker load`` emits no
event for the tags it applies, so polling is the way to see them.
"""

import hashlib
import io
import json
import os
import tarfile
import threading
import time

import docker.errors
import fixtures
from oslo_utils import uuidutils

from tests.fixtures import engine_proxy
from tests.fixtures import images as test_images
from tests.functional import base

ATTACKER_COMMAND = ['/bin/sh', '-c', 'echo attacker booted; '
                    'while true; do sleep 1 & wait $!; done']
# Seconds between the Glance chunks of the attacker's image: the watcher
# polls throughout a load of some length.
CHUNK_DELAY = 0.1
# Seconds the last chunk waits for a boot of the victim at most.
RELEASE_TIMEOUT = 120


def retagged(source, target, tags):
    """A copy of a docker save tarball whose manifest names other tags."""
    with tarfile.open(source) as tar_in, tarfile.open(target, 'w') as out:
        for member in tar_in:
            data = tar_in.extractfile(member).read() if member.isreg() else b''
            if member.name == 'manifest.json':
                manifest = json.loads(data)
                manifest[0]['RepoTags'] = tags
                data = json.dumps(manifest).encode()
            elif member.name == 'repositories':
                repositories = {}
                for tag in tags:
                    repo, _, name = tag.rpartition(':')
                    repositories.setdefault(repo, {})[name] = 'x' * 64
                data = json.dumps(repositories).encode()
            member.size = len(data)
            out.addfile(member, io.BytesIO(data) if member.isreg() else None)
    with open(target, 'rb') as f:
        data = f.read()
    return {'path': target, 'os_hash_algo': 'sha512',
            'os_hash_value': hashlib.sha512(data).hexdigest(),
            'checksum': hashlib.md5(data).hexdigest(), 'size': len(data)}


class TestTarballTags(base.DockerDriverTestCase):

    def _setup_compute_service(self):
        self.proxy = engine_proxy.EngineProxy(
            self.useFixture(fixtures.TempDir()).path, record=True)
        self.addCleanup(self.proxy.die)
        self.flags(api_url=self.proxy.url, group='docker')
        return super()._setup_compute_service()

    def _attacker_tarball(self, tags):
        """An image of its own (another command), tagged as told."""
        name = 'attacker-%s' % uuidutils.generate_uuid()[:8]
        saved = test_images.build_distinct_tarball(
            self.docker, os.path.join(self.workdir, name + '.tar'), name,
            ATTACKER_COMMAND)
        return retagged(saved['path'],
                        os.path.join(self.workdir, 'tagged.tar'), tags)

    def _slow_download(self, image_id):
        """The image's chunks come slowly, and the last one only once
        ``release`` is set; says when they start and end."""
        served = {'first': threading.Event(), 'release': threading.Event(),
                  'last': None}
        download = self.images.download

        def slow(context, wanted, **kw):
            chunks = download(context, wanted, **kw)
            if wanted != image_id:
                return chunks

            def slowly():
                held = None
                for chunk in chunks:
                    if held is not None:
                        served['first'].set()
                        time.sleep(CHUNK_DELAY)
                        yield held
                    held = chunk
                served['release'].wait(RELEASE_TIMEOUT)
                served['last'] = time.monotonic()
                yield held
            return slowly()
        self.images.fixture.download = slow
        return served

    def _watch(self, ref, stop):
        """Every image id ``ref`` names until ``stop`` is set."""
        seen = {'ids': set(), 'polls': 0}

        def poll():
            while not stop.is_set():
                try:
                    seen['ids'].add(self.docker.images.get(ref).id)
                except docker.errors.ImageNotFound:
                    seen['ids'].add(None)
                seen['polls'] += 1
                time.sleep(0.005)
        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        return seen, thread

    def test_a_tarball_tagged_as_another_image_cannot_take_its_place(self):
        victim = self.boot()
        victim_id = self.image_ids['guest']
        victim_ref = 'glance/%s:latest' % victim_id
        victim_image = self.docker.images.get(victim_ref).id
        stolen = '%s:stolen-%s' % (test_images.REPOSITORY,
                                   uuidutils.generate_uuid()[:8])
        self.addCleanup(self._forget, stolen)
        attacker_id = self.images.add(
            'attacker', self._attacker_tarball([victim_ref, stolen]))
        served = self._slow_download(attacker_id)
        stop = threading.Event()
        seen, watcher = self._watch(victim_ref, stop)

        attacker = self.api.post_server({'server': self._build_server(
            image_uuid=attacker_id, networks='none')})
        self.assertTrue(served['first'].wait(60))
        during = []
        while served['last'] is None:
            server = self.boot()
            during.append((server, served['last'] is None))
            # The load ends only after a boot of the victim ran within it.
            served['release'].set()
        attacker = self._wait_for_state_change(attacker, 'ACTIVE')
        stop.set()
        watcher.join()

        # Boots of the victim while its tarball was still coming.
        self.assertTrue([s for s, loading in during if loading])
        for server in [victim] + [s for s, _ in during]:
            self.assertEqual(victim_image, self.container(server).image.id)
            console = self.wait_for_console(server, ' booted')
            self.assertTrue(console.startswith('guest '), console)
        # The watcher ran throughout and saw only the victim's image.
        self.assertGreater(seen['polls'], len(during))
        self.assertEqual({victim_image}, seen['ids'])
        self.assertEqual(victim_image,
                         self.docker.images.get(victim_ref).id)
        self.assertRaises(docker.errors.ImageNotFound,
                          self.docker.images.get, stolen)
        # The attacker's image boots, as itself, under its own id.
        attacker_image = self.docker.images.get(
            'glance/%s:latest' % attacker_id).id
        self.assertNotEqual(victim_image, attacker_image)
        self.assertEqual(attacker_image,
                         self.container(attacker).image.id)
        self.wait_for_console(attacker, 'attacker booted')
        # What the engine received names no tag at all: neither the
        # attacker's tarball nor the victim's (tagged novadocker-test:guest).
        loads = [body for line, _, body in self.proxy.requests()
                 if line.startswith('POST ') and '/images/load' in line]
        self.assertEqual(2, len(loads))
        for body in loads:
            with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                names = tar.getnames()
                manifest = json.load(tar.extractfile('manifest.json'))
            self.assertNotIn('repositories', names)
            self.assertEqual([[]], [entry['RepoTags'] for entry in manifest])
            self.assertNotIn(victim_id.encode(), body)
            self.assertNotIn(b'stolen', body)
            self.assertNotIn(test_images.REPOSITORY.encode(), body)

    def _forget(self, ref):
        try:
            self.docker.images.remove(ref)
        except docker.errors.ImageNotFound:
            pass

"""A ``docker save`` tarball of about 1 GiB, built here (no registry).

The image is the tests' busybox root filesystem plus one file of random
bytes, so neither the tarball nor the layer compresses.  The image it was
saved from is removed at once: a later ``docker load`` must find none of its
layers in the engine, or it would skip the work being measured.
"""

import io
import json
import os
import subprocess
import tarfile

from tests.fixtures import images as test_images

CHUNK = 4 * 1024 * 1024
REF = 'novadocker-bench:big'


def _rootfs(path, mib):
    """busybox's root filesystem plus /data/random (mib MiB) as a tar."""
    random_file = path + '.random'
    with open(random_file, 'wb') as f:
        for _ in range(mib * 1024 * 1024 // CHUNK):
            f.write(os.urandom(CHUNK))
    try:
        base = tarfile.open(fileobj=io.BytesIO(test_images.busybox_rootfs()))
        with tarfile.open(path, 'w') as tar:
            for member in base.getmembers():
                tar.addfile(member, base.extractfile(member)
                            if member.isfile() else None)
            data = tarfile.TarInfo('data')
            data.type = tarfile.DIRTYPE
            data.mode = 0o755
            tar.addfile(data)
            tar.add(random_file, arcname='data/random')
    finally:
        os.unlink(random_file)


def build(client, directory, mib):
    """Write big.tar into directory; returns what DockerGlance.add takes."""
    rootfs = os.path.join(directory, 'rootfs.tar')
    _rootfs(rootfs, mib)
    try:
        subprocess.run(
            ['docker', 'import', '--change',
             'CMD %s' % json.dumps(test_images.GUEST_COMMAND),
             rootfs, REF], check=True, stdout=subprocess.DEVNULL)
    finally:
        os.unlink(rootfs)
    path = os.path.join(directory, 'big.tar')
    try:
        tarball = dict(test_images.save(client, REF, path), path=path)
    finally:
        remove(REF)
    return tarball


def remove(ref):
    subprocess.run(['docker', 'rmi', '--force', ref],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

"""Docker images for the tests, built locally: no registry is reachable.

The root filesystem is Debian's busybox-static (``/bin/busybox``) with its
applet links; ``docker import`` makes it an image and ``docker save`` the
tarball that Glance would hold.  The real CirrOS rootfs lies in
``../shared/cirros/`` beside the repository when CI runs.
"""

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile

import docker.errors

from novadocker import compressed

BUSYBOX = os.environ.get('NOVADOCKER_TEST_BUSYBOX', '/bin/busybox')
APPLETS = ('sh', 'sleep', 'cat', 'echo', 'ls', 'hostname', 'mkdir', 'grep',
           'head', 'dd', 'wc', 'id', 'true', 'false', 'ps', 'kill', 'sync')
REPOSITORY = 'novadocker-test'
SHARED = os.environ.get(
    'NOVADOCKER_SHARED',
    os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
CIRROS_ROOTFS = os.path.join(SHARED, 'cirros',
                             'cirros-0.5.3-x86_64-lxc.tar.xz')

# A guest that says it booted, stops cleanly on SIGTERM, fails on SIGUSR1
# (as a crashing program would) and otherwise idles.
GUEST_COMMAND = ['/bin/sh', '-c',
                 'echo "guest $(hostname) booted"; '
                 'trap "echo guest stopping; exit 0" TERM; '
                 'trap "echo guest crashing; exit 70" USR1; '
                 'while true; do sleep 1 & wait $!; done']
# A guest whose init is busybox's, as CirrOS's: it reboots itself on the
# stop signal (SIGTERM), and its "reboot", "poweroff" and "halt" ask init.
INIT_APPLETS = APPLETS + ('init', 'reboot', 'poweroff', 'halt')
INITTAB = (b'::sysinit:/bin/sh -c \'echo "guest $(hostname) booted"\'\n'
           b'::respawn:/bin/sleep 2147483647\n'
           b'::shutdown:/bin/echo guest going down\n')
INIT_COMMAND = ['/bin/init']
# A guest whose init runs login on its console, as a CirrOS image would
# need for a login prompt on its serial console (a getty cannot serve
# there: the console is already init's controlling terminal, and taking
# it needs CAP_SYS_ADMIN).
LOGIN_APPLETS = INIT_APPLETS + ('login',)
LOGIN_INITTAB = (b'::sysinit:/bin/echo "guest booted"\n'
                 b'::respawn:/bin/login\n')
# A guest that fails at once, as a broken image would.
CRASHING_COMMAND = ['/bin/sh', '-c',
                    'echo "fatal: no config found" >&2; exit 3']
# What "docker save img | gzip" and the like upload.
COMPRESS = {'gzip': gzip.compress, 'bzip2': bz2.compress,
            'xz': lzma.compress, 'zstd': compressed.zstd.compress}


def busybox_rootfs(applets=APPLETS, files=None):
    """A tar of /bin/busybox, its applet links and an empty /root and /tmp.

    ``files`` maps more paths to their contents.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name in ('bin', 'root', 'tmp', 'etc', 'proc', 'sys', 'dev'):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == 'tmp' else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname='bin/busybox')
        for applet in applets:
            link = tarfile.TarInfo('bin/' + applet)
            link.type = tarfile.SYMTYPE
            link.linkname = 'busybox'
            tar.addfile(link)
        for path, data in (files or {}).items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def busybox_init_rootfs():
    return busybox_rootfs(INIT_APPLETS, {'etc/inittab': INITTAB})


def busybox_login_rootfs():
    return busybox_rootfs(LOGIN_APPLETS, {'etc/inittab': LOGIN_INITTAB})


def import_image(client, rootfs, tag, command):
    """docker import with a CMD, once: reused by later runs."""
    try:
        return client.images.get('%s:%s' % (REPOSITORY, tag)).id
    except docker.errors.ImageNotFound:
        pass
    client.api.import_image_from_data(
        rootfs, repository=REPOSITORY, tag=tag,
        changes=['CMD %s' % json.dumps(command)])
    return client.images.get('%s:%s' % (REPOSITORY, tag)).id


def glance_fields(path):
    """A file of image data, with the hashes and size Glance keeps."""
    sha512, md5 = hashlib.sha512(), hashlib.md5()
    with open(path, 'rb') as f:
        while chunk := f.read(1024 * 1024):
            sha512.update(chunk)
            md5.update(chunk)
    return {'path': path, 'os_hash_algo': 'sha512',
            'os_hash_value': sha512.hexdigest(), 'checksum': md5.hexdigest(),
            'size': os.path.getsize(path)}


def save(client, ref, path):
    """docker save to a file, with the hashes and size Glance keeps."""
    with open(path, 'wb') as f:
        for chunk in client.api.get_image(ref):
            f.write(chunk)
    return glance_fields(path)


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    return glance_fields(path)


def compress(tarball, name, path):
    """A tarball compressed with ``name`` (gzip, bzip2, xz or zstd)."""
    with open(tarball['path'], 'rb') as f:
        return write(path, COMPRESS[name](f.read()))


def build_tarballs(client, directory):
    """The tarballs every functional test draws on, built once per run."""
    rootfs = busybox_rootfs()
    made = {}
    for kind, command, tree in (
            ('guest', GUEST_COMMAND, rootfs),
            ('crashing', CRASHING_COMMAND, rootfs),
            ('init', INIT_COMMAND, busybox_init_rootfs()),
            ('login', INIT_COMMAND, busybox_login_rootfs())):
        import_image(client, tree, kind, command)
        path = os.path.join(directory, kind + '.tar')
        made[kind] = save(client, '%s:%s' % (REPOSITORY, kind), path)
    # Broken data: half a tarball, bytes that are no tarball at all, a
    # gzip stream with bad bytes in its middle and half a zstd stream.
    with open(made['guest']['path'], 'rb') as f:
        data = f.read()
    gzipped = COMPRESS['gzip'](data)
    middle = len(gzipped) // 2
    zstd = COMPRESS['zstd'](data)
    for kind, broken in (
            ('truncated', data[:len(data) // 2]),
            ('garbage', os.urandom(64 * 1024)),
            ('corrupt-gzip',
             gzipped[:middle] + b'\xff' * 64 + gzipped[middle + 64:]),
            ('truncated-zstd', zstd[:len(zstd) // 2])):
        made[kind] = write(os.path.join(directory, kind), broken)
    return made


def build_cirros_tarball(client, directory):
    """The CirrOS 0.5.3 rootfs as a Docker image tarball, or None."""
    if not os.path.exists(CIRROS_ROOTFS):
        return None
    with open(CIRROS_ROOTFS, 'rb') as f:
        import_image(client, f.read(), 'cirros', ['/sbin/init'])
    path = os.path.join(directory, 'cirros.tar')
    return save(client, '%s:cirros' % REPOSITORY, path)


def build_distinct_tarball(client, path, name, command, files=None):
    """A tarball of an image of its own (the busybox rootfs with another
    command), which the engine is left without: a load really loads it.
    With ``files`` (see busybox_rootfs), its layer is one of its own too."""
    ref = '%s:%s' % (REPOSITORY, name)
    import_image(client, busybox_rootfs(files=files), name, command)
    try:
        return save(client, ref, path)
    finally:
        client.images.remove(ref, force=True)

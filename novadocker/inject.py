"""What Nova puts into a guest: files before it starts, a new password.

Files (root's key, the personality of API 2.56 and older) go into the
created container's filesystem through the engine's archive API before its
process starts.  The engine extracts archives chrooted into the container's
root, so a symbolic link of the image resolves inside the container (see
tests/functional/test_inject.py).  Modes and owners are those of Nova's own
file injection (nova.virt.disk.api): a new file root:root 0644, a parent
directory it had to create root:root 0744, an existing file keeps its mode
and owner.

The password is set in the running guest by the guest's own ``chpasswd``,
as QEMU's guest agent sets it for the libvirt driver: the ``user:password``
line goes to its standard input, never onto a command line.
"""

import io
import posixpath
import socket
import tarfile
import time

import docker.errors
from docker.utils import socket as docker_socket
from nova.api.metadata import password as metadata_password
from nova import crypto
from nova import exception
from oslo_log import log as logging
from oslo_serialization import base64

from novadocker import chunk_reader
from novadocker import configdrive

LOG = logging.getLogger(__name__)

NEW_FILE_MODE = 0o644
NEW_DIR_MODE = 0o744
SSH_DIR_MODE = 0o700
KEYS_MODE = 0o600
# Go's os.FileMode bits in the engine's stat of a path.
_GO_MODE_DIR = 1 << 31
_GO_MODE_SYMLINK = 1 << 27
# What the engine reports when the exec'd program is missing or unusable.
_EXEC_NOT_FOUND = (126, 127)
PASSWORD_TIMEOUT = 60


# What the engine mounts over the container's root at each start: a file
# injected there would be hidden from the guest.
ENGINE_FILES = ('etc/hosts', 'etc/hostname', 'etc/resolv.conf')
ENGINE_TREES = ('proc', 'sys', 'dev')


class BadPath(ValueError):
    """A path of an injected file that the guest must not get."""


def check_path(path):
    """The name of an injected file inside the container's root.

    A relative path is taken from the root, as Nova's libvirt driver
    takes it; no ``..``: a file may only land in the guest.  Returns the
    path without its leading slash, as a tar member.
    """
    if isinstance(path, bytes):
        path = path.decode('utf-8', 'replace')
    if '\0' in path:
        raise BadPath('injected file path %r contains a NUL byte' % path)
    parts = [p for p in path.split('/') if p not in ('', '.')]
    if '..' in parts:
        raise BadPath('injected file path %r contains ".."' % path)
    if not parts or path.endswith('/'):
        raise BadPath('injected file path %r names no file' % path)
    name = '/'.join(parts)
    if name in ENGINE_FILES or parts[0] in ENGINE_TREES:
        raise BadPath('injected file path %r is one the Docker engine '
                      'provides at each start, which would hide the file'
                      % path)
    if parts[0] == configdrive.GUEST_PATH.lstrip('/'):
        raise BadPath('injected file path %r is under %s, where the config '
                      'drive is bound read-only' % (path,
                                                    configdrive.GUEST_PATH))
    return name


def check_files(injected_files):
    """Nova's (path, contents) pairs as (tar name, bytes); BadPath if not.

    Checked before the container exists, so a refusal leaves nothing.
    """
    checked = []
    for path, contents in injected_files or ():
        if isinstance(contents, str):
            contents = contents.encode()
        checked.append((check_path(path), contents))
    return checked


def _member(name, mode, data=None, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid = mode, uid, gid
    info.uname = info.gname = 'root' if uid == 0 else ''
    if data is None:
        info.type = tarfile.DIRTYPE
    else:
        info.size = len(data)
    return info, io.BytesIO(data) if data is not None else None


def archive(members):
    """A tar stream of (name, mode, data or None for a directory, uid,
    gid) members, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
        for member in members:
            t.addfile(*_member(*member))
    return buf.getvalue()


def key_members(key_data):
    """root's authorized_keys with the instance's key, as Nova's modes."""
    data = (key_data.rstrip('\n') + '\n').encode()
    return [('root/.ssh', SSH_DIR_MODE, None, 0, 0),
            ('root/.ssh/authorized_keys', KEYS_MODE, data, 0, 0)]


def file_members(name, data, missing_dirs, existing=None):
    """One injected file: the parent directories that do not exist yet
    (root:root 0744, as Nova makes them), then the file, keeping the mode
    and owner of the file it replaces."""
    members = [(d, NEW_DIR_MODE, None, 0, 0) for d in missing_dirs]
    mode, uid, gid = existing or (NEW_FILE_MODE, 0, 0)
    members.append((name, mode, data, uid, gid))
    return members


class _Tree:
    """Paths of a created container, as the engine resolves them."""

    def __init__(self, api, container_id):
        self.api = api
        self.container_id = container_id

    def stat(self, name):
        """The engine's stat of /name (a symlink not followed), or None."""
        # docker-py has no call for the archive API's HEAD, which answers
        # with the stat alone instead of streaming a whole tree.
        res = self.api.head(
            self.api._url('/containers/{0}/archive', self.container_id),
            params={'path': '/' + name})
        if res.status_code == 404:
            return None
        self.api._raise_for_status(res)
        return docker.utils.decode_json_header(
            res.headers['X-Docker-Container-Path-Stat'])

    def owner_and_mode(self, name):
        """(mode, uid, gid) of an existing regular file."""
        stream, _ = self.api.get_archive(self.container_id, '/' + name)
        with tarfile.open(fileobj=chunk_reader.ChunkReader(stream),
                          mode='r|') as tar:
            info = tar.next()
        stream.close()
        return info.mode, info.uid, info.gid

    def _link_target(self, name, parent, stat):
        """The stat of what a link among the ancestors leads to, in the
        container: a link to where the container has nothing is refused,
        by its name, before the engine's copy fails on it."""
        target = (stat.get('linkTarget') or '').lstrip('/')
        found = self.stat(target) if target else None
        if found is None:
            raise BadPath('cannot inject /%s: /%s is a link to /%s, which '
                          'the container does not have' % (name, parent,
                                                           target))
        return found

    def missing_dirs(self, name):
        """Ancestors of name that do not exist, outermost first."""
        missing = []
        parent = posixpath.dirname(name)
        while parent:
            stat = self.stat(parent)
            if stat is not None:
                if stat['mode'] & _GO_MODE_SYMLINK:
                    stat = self._link_target(name, parent, stat)
                if not stat['mode'] & _GO_MODE_DIR:
                    raise BadPath('cannot inject /%s: /%s is not a directory'
                                  % (name, parent))
                break
            missing.insert(0, parent)
            parent = posixpath.dirname(parent)
        return missing


def put_files(api, container_id, key_data, files):
    """The key, then each checked file, into a created container.

    In Nova's order, so a personality file may replace the key's file.
    """
    if key_data:
        api.put_archive(container_id, '/', archive(key_members(key_data)))
    tree = _Tree(api, container_id)
    for name, data in files:
        stat = tree.stat(name)
        existing = None
        if stat is not None:
            if stat['mode'] & _GO_MODE_DIR:
                raise BadPath('cannot inject /%s: it is a directory in the '
                              'image' % name)
            # A symbolic link is replaced by the file, never followed.
            if not stat['mode'] & _GO_MODE_SYMLINK:
                existing = tree.owner_and_mode(name)
        members = file_members(name, data, tree.missing_dirs(name), existing)
        try:
            api.put_archive(container_id, '/', archive(members))
        except docker.errors.APIError as e:
            # Such as a link of the image to where the container has no
            # directory.
            raise BadPath('cannot inject /%s: %s' % (name, e.explanation))


# -- the admin password ------------------------------------------------------

def admin_user(image_meta):
    """The user whose password Nova sets: the image's ``os_admin_user``,
    else root (the libvirt driver's choice for every guest but Windows)."""
    return image_meta.properties.get('os_admin_user') or 'root'


def _check_password_line(user, password):
    """chpasswd reads lines: neither part may start another line."""
    for what, value in (('user name', user), ('password', password)):
        if any(c in value for c in '\n\r\0'):
            return 'the %s contains a line break or NUL' % what
    if ':' in user:
        return 'the user name %r contains ":"' % user
    if not password:
        return 'the password is empty'
    return None


def set_password(api, instance, container_id, user, password):
    """Run the guest's chpasswd with ``user:password`` on its stdin.

    Raises SetAdminPasswdNotSupported when the guest has no chpasswd,
    InstancePasswordSetFailed when it fails; the password is in no
    message.
    """
    def failed(reason):
        return exception.InstancePasswordSetFailed(instance=instance.uuid,
                                                   reason=reason)

    problem = _check_password_line(user, password)
    if problem:
        raise failed(problem)
    # As root of the container (whatever the image's USER): chpasswd
    # writes /etc/shadow.  The container's confinement stays.
    exec_id = api.exec_create(container_id, ['chpasswd'], stdin=True,
                              stdout=True, stderr=True, user='0')['Id']
    sock = api.exec_start(exec_id, socket=True)
    try:
        raw = getattr(sock, '_sock', sock)
        raw.settimeout(PASSWORD_TIMEOUT)
        try:
            raw.sendall(('%s:%s\n' % (user, password)).encode())
            raw.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # The program is gone: its exit code says why.
        out, err = docker_socket.consume_socket_output(
            (docker_socket.demux_adaptor(*frame) for frame in
             docker_socket.frames_iter(sock, tty=False)), demux=True)
    finally:
        sock.close()
    code = _exit_code(api, exec_id)
    said = b''.join(o for o in (out, err) if isinstance(o, bytes))
    said = said.decode('utf-8', 'replace').replace(password, '***').strip()
    if code in _EXEC_NOT_FOUND:
        LOG.warning('Cannot set the password of %s: the guest has no '
                    'usable chpasswd (exit code %s) %s', user, code, said,
                    instance=instance)
        raise exception.SetAdminPasswdNotSupported()
    if code != 0:
        raise failed('chpasswd in the guest failed for user %s with exit '
                     'code %s: %s' % (user, code, said or '(no output)'))


def keep_for_metadata(instance, password):
    """The new password, encrypted with the instance's RSA key, for the
    API's os-server-password (``nova get-password``), as the libvirt driver
    keeps it; only an RSA key can encrypt it."""
    key = instance.key_data if 'key_data' in instance else None
    if not key or not key.startswith('ssh-rsa'):
        return
    encrypted = base64.encode_as_text(crypto.ssh_encrypt_text(key, password))
    instance.system_metadata.update(
        metadata_password.convert_password(None, encrypted))
    instance.save()


def _exit_code(api, exec_id):
    """The exit code, once the engine has recorded it."""
    deadline = time.monotonic() + PASSWORD_TIMEOUT
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get('Running') or time.monotonic() > deadline:
            return info.get('ExitCode')
        time.sleep(0.1)

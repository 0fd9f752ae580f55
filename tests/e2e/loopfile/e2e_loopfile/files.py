"""Volumes as sparse files in one directory, attached through loop devices.

Files are made, copied, grown and removed as the volume service's own user
(the directory is its own); only ``losetup --find --show`` and ``losetup
--detach`` need root, and go through ``execute(..., run_as_root=True)``,
which in Cinder is its rootwrap (see loopfile.filters). Finding a file's
loop devices reads sysfs and needs no root.
"""

import errno
import os
import re

GIB = 1024 ** 3
# Cinder's default volume_name_template and snapshot_name_template
_NAME = re.compile(
    r'(volume|snapshot)-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}')
_LOOP = re.compile(r'/dev/loop[0-9]+')


class LoopFileError(Exception):
    pass


class LoopFiles(object):
    """The volumes' files in ``directory``; ``execute`` runs commands."""

    def __init__(self, directory, execute):
        self.directory = directory
        self._execute = execute

    def path(self, name):
        if not _NAME.fullmatch(name):
            raise LoopFileError('%r is not a volume-<uuid> or snapshot-<uuid> '
                                'name' % name)
        return os.path.join(self.directory, name)

    def create(self, name, size_gb):
        """A sparse file of size_gb GiB; an existing file is refused."""
        with open(self.path(name), 'xb') as f:
            os.fchmod(f.fileno(), 0o600)
            f.truncate(size_gb * GIB)

    def copy(self, source, name, size_gb):
        """A sparse copy of source, grown to size_gb if that is larger."""
        src, dst = self.path(source), self.path(name)
        if not os.path.isfile(src):
            raise LoopFileError('%s does not exist' % src)
        # cp would overwrite a file of that name
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        try:
            self._execute('cp', '--sparse=always', src, dst)
            self.extend(name, size_gb)
        except Exception:
            os.remove(dst)
            raise

    def extend(self, name, size_gb):
        """Grow the file to size_gb GiB; it never shrinks."""
        path = self.path(name)
        if os.path.getsize(path) > size_gb * GIB:
            raise LoopFileError('%s is larger than %d GiB: volumes never '
                                'shrink' % (path, size_gb))
        os.truncate(path, size_gb * GIB)

    def provisioned_gb(self):
        """The sizes of the volumes' files (not their blocks), in GiB."""
        return sum(os.path.getsize(os.path.join(self.directory, name))
                   for name in os.listdir(self.directory)
                   if _NAME.fullmatch(name)
                   and name.startswith('volume-')) / GIB

    def delete(self, name):
        """Detach its loop devices and remove the file; gone is done."""
        self.detach(name)
        try:
            os.remove(self.path(name))
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise

    def devices(self, name):
        """The loop devices the file is attached to."""
        path = self.path(name)
        if not os.path.exists(path):
            return []
        out, _err = self._execute('losetup', '--list', '--noheadings',
                                  '--output', 'NAME', '--associated', path)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def attach(self, name):
        """The file's loop device, attached now if it was not."""
        devices = self.devices(name)
        if devices:
            return devices[0]
        path = self.path(name)
        if not os.path.isfile(path):
            raise LoopFileError('%s does not exist' % path)
        out, _err = self._execute('losetup', '--find', '--show', path,
                                  run_as_root=True)
        device = out.strip()
        if not _LOOP.fullmatch(device):
            raise LoopFileError('losetup gave %r for %s, not a loop device'
                                % (device, path))
        return device

    def detach(self, name):
        for device in self.devices(name):
            self._execute('losetup', '--detach', device, run_as_root=True)

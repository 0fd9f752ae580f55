"""The host's mount table, as the kernel lists it in /proc/self/mountinfo.

Read again at each question, since mounts come and go (volumes, LXCFS).
Each function takes the table's path, so that tests can give their own.
"""

import os
import re

MOUNTINFO = '/proc/self/mountinfo'
_ESCAPE = re.compile(r'\\([0-7]{3})')


def _unescape(field):
    """mountinfo writes space, tab, newline and backslash as \\ooo."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def table(mountinfo=MOUNTINFO):
    """(mount point, optional fields, file system type, device number as
    'major:minor') of each mount."""
    found = []
    with open(mountinfo) as f:
        for line in f:
            fields = line.split()
            if '-' not in fields[6:]:
                continue
            separator = fields.index('-', 6)
            found.append((_unescape(fields[4]), fields[6:separator],
                          fields[separator + 1], fields[2]))
    return found


def fs_type(path, mountinfo=MOUNTINFO):
    """The type of the file system mounted at ``path`` (the last one)."""
    target = os.path.realpath(path)
    types = [kind for point, _, kind, _ in table(mountinfo)
             if point == target]
    return types[-1] if types else None


def mounted(path, mountinfo=MOUNTINFO):
    """Is ``path`` a mount point?"""
    return fs_type(path, mountinfo) is not None


def is_shared(path, mountinfo=MOUNTINFO):
    """Is ``path`` itself a mount point, in a peer group (``shared:N``)?

    Docker only checks that a bind's source is "shared or slave"; a slave
    mount passes, but new mounts below it never reach the containers.
    """
    target = os.path.realpath(path)
    tags = [optional for point, optional, _, _ in table(mountinfo)
            if point == target]
    return bool(tags) and any(t.startswith('shared:') for t in tags[-1])


def holds(path, device, mountinfo=MOUNTINFO):
    """Is the file system mounted at ``path`` the one on ``device``?"""
    target = os.path.realpath(path)
    rdev = os.stat(device).st_rdev
    number = '%d:%d' % (os.major(rdev), os.minor(rdev))
    numbers = [n for point, _, _, n in table(mountinfo) if point == target]
    return bool(numbers) and numbers[-1] == number


def below(path, mountinfo=MOUNTINFO):
    """Mount points strictly below ``path``, deepest first."""
    prefix = os.path.realpath(path).rstrip('/') + '/'
    points = {point for point, _, _, _ in table(mountinfo)
              if point.startswith(prefix)}
    return sorted(points, key=lambda p: (-p.count('/'), p))

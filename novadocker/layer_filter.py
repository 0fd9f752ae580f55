"""A ``docker save`` stream without the layers its receiver has already.

A moving guest's root image is the layers of its Glance image with one
layer per move on top (``migration``).  A destination that can get the
Glance image from Glance needs only the layers above it: ``docker load``
(Docker 20.10) reads no layer file of a layer whose chain the engine holds
already, so a tarball without those files loads all the same.

``docker save`` writes its members in the lexical order of their names:
a directory per layer (``<dir>/``, ``<dir>/VERSION``, ``<dir>/json``,
``<dir>/layer.tar``) named by a v1 id that says nothing of the layer's
place in the image, the image's config among them, and ``manifest.json``,
which gives the layers' order, near the end.  So a layer is told by its
DiffID, the sha256 of its ``layer.tar``, known once the file has been
read: each ``layer.tar`` is spooled to a temporary file while it is
hashed, then sent or not, and the small members of its directory are held
in memory until then.

Why not spool the whole ``docker save`` and read its manifest first?  That
is simpler, but it needs the whole image on the compute host's disk (on top
of the copy the engine itself writes while it saves); here the disk holds
one layer at a time, in one unnamed temporary file that goes with its
descriptor, even if nova-compute dies.

An image that holds one layer twice (an empty layer, often) is saved with
the layer's file once: the later directories' ``layer.tar`` is a symbolic
link to the first one's.  A directory whose ``layer.tar`` is a link goes
where the directory it links to goes (held until that one is decided), so
the caller leaves out only DiffIDs that no layer it sends repeats: a link
to a left out file is then itself a left out layer, whose file the engine
never reads.

Members that are not a layer's pass through as they came, headers
included; so does the whole stream when there is nothing to leave out.
"""

import collections
import hashlib
import re
import tarfile
import tempfile

from novadocker import tarball

BLOCK = tarfile.BLOCKSIZE
LAYER_FILE = 'layer.tar'
# A layer's directory in a ``docker save`` tarball, or one of its members.
LAYER_MEMBER = re.compile(r'^([0-9a-f]{64})(?:/(VERSION|json|layer\.tar))?$')
# What ``docker save`` writes as the link of a layer saved before.
LAYER_LINK = re.compile(r'^\.\./([0-9a-f]{64})/layer\.tar$')
SPOOL_READ_BYTES = 1024 * 1024


class WithoutLayers:
    """Iterate to get the ``docker save`` tarball of ``chunks`` without the
    layers whose DiffID is in ``diff_ids``, spooling each layer's file
    under ``spool_dir``.

    ``read_bytes`` and ``sent_bytes`` count what came in and what went
    out, ``left_out`` the layer directories left out.
    """

    def __init__(self, chunks, diff_ids, spool_dir):
        self.chunks = chunks
        self.diff_ids = frozenset(diff_ids)
        self.spool_dir = spool_dir
        self.read_bytes = 0
        self.sent_bytes = 0
        self.left_out = 0

    def __iter__(self):
        pieces = self._filtered() if self.diff_ids else self._counted()
        try:
            for piece in pieces:
                self.sent_bytes += len(piece)
                yield piece
        finally:
            # Stopped early: the spool goes now, not when collected.
            pieces.close()

    def _counted(self):
        for chunk in self.chunks:
            self.read_bytes += len(chunk)
            yield chunk

    def _filtered(self):
        source = _HeaderKeeping(self._counted())
        # Layer directory: whether it went out.
        decided = {}
        # Layer directory: the held members of the directories whose
        # layer.tar links to its.
        waiting = collections.defaultdict(list)
        # The members of a layer directory, until its layer.tar.
        held_dir, held = None, []
        with tempfile.TemporaryFile(dir=self.spool_dir) as spool:
            while True:
                header, member = source.next_member()
                if member is None:
                    break
                match = LAYER_MEMBER.match(member.name)
                layer_dir = match.group(1) if match else None
                if held and layer_dir != held_dir:
                    # A directory without a layer file: as it came.
                    yield from held
                    held = []
                held_dir = layer_dir
                if layer_dir is None:
                    yield header
                    yield from _data(source, member.size)
                elif match.group(2) == LAYER_FILE and member.isreg():
                    diff_id = _spool(source, member.size, spool)
                    padding = _exact(source, -member.size % BLOCK)
                    keep = diff_id not in self.diff_ids
                    decided[layer_dir] = keep
                    yield from self._sent_if(keep, held + [header])
                    if keep:
                        yield from _spooled(spool, member.size)
                        yield padding
                    for linked in waiting.pop(layer_dir, ()):
                        yield from self._sent_if(keep, linked)
                    held = []
                elif match.group(2) == LAYER_FILE and member.issym():
                    target = LAYER_LINK.match(member.linkname)
                    target = target.group(1) if target else None
                    if target is None or target in decided:
                        yield from self._sent_if(decided.get(target, True),
                                                 held + [header])
                    else:
                        waiting[target].append(held + [header])
                    held = []
                else:
                    held.append(header + _small(source, member))
            yield from held
            # Links to a file that never came: as they came.
            for linked in waiting.values():
                for members in linked:
                    yield from members
            # The end-of-archive blocks, and whatever follows them.
            yield header
            while piece := source.piece(SPOOL_READ_BYTES):
                yield piece

    def _sent_if(self, keep, members):
        if keep:
            yield from members
        else:
            self.left_out += 1


class _HeaderKeeping(tarball.Source):
    """The input, with each member's header as it came."""

    def __init__(self, chunks):
        super().__init__(chunks)
        self._header = []

    def read(self, size):
        data = super().read(size)
        self._header.append(data)
        return data

    def next_member(self):
        """The next member's header bytes and its TarInfo; at the end of
        the archive, the bytes read and None."""
        self._header = []
        try:
            member = tarfile.TarInfo.fromtarfile(self)
        except (tarfile.EOFHeaderError, tarfile.EmptyHeaderError):
            member = None
        return b''.join(self._header), member


def _pieces(source, size):
    """The next ``size`` bytes of ``source``, in the pieces they came in."""
    while size:
        piece = source.piece(size)
        if not piece:
            raise tarfile.ReadError('unexpected end of data')
        size -= len(piece)
        yield piece


def _data(source, size):
    """A member's data, then the padding to its last block, as they came."""
    yield from _pieces(source, size)
    yield _exact(source, -size % BLOCK)


def _exact(source, size):
    data = source.read(size)
    if len(data) != size:
        raise tarfile.ReadError('unexpected end of data')
    return data


def _small(source, member):
    """A member held in memory until its layer is decided: its data and
    padding."""
    if member.size > tarball.METADATA_MAX_BYTES:
        raise ValueError('%s is larger than %d bytes' % (
            member.name, tarball.METADATA_MAX_BYTES))
    return _exact(source, member.size + -member.size % BLOCK)


def _spool(source, size, spool):
    """The data of a layer's file into ``spool``: its DiffID."""
    spool.seek(0)
    spool.truncate()
    digest = hashlib.sha256()
    for piece in _pieces(source, size):
        digest.update(piece)
        spool.write(piece)
    return 'sha256:' + digest.hexdigest()


def _spooled(spool, size):
    spool.seek(0)
    while size:
        piece = spool.read(min(size, SPOOL_READ_BYTES))
        if not piece:
            raise IOError('the spooled layer is shorter than its header')
        size -= len(piece)
        yield piece

"""A ``docker save`` tarball without its tags, rewritten as it streams.

``docker load`` applies the repository tags a tarball names: those of
``manifest.json`` (``RepoTags``), of the legacy ``repositories`` file and,
for an engine with the containerd image store, the name annotations of the
OCI ``index.json``.  A tenant's tarball may name any tag, ``glance/<someone
else's image id>`` included, so none of them may reach the engine: the
stream is read member by member and written out again with
``repositories`` left out, ``RepoTags`` emptied and the annotations
dropped.  Every header the engine receives is one this module wrote (never
the tenant's bytes), so the engine cannot read a member under another name
than the one checked here.  Layers pass through in pieces; only the small
metadata members are held in memory.

Those metadata members go out last, after the whole input has been read:
the hash check of the Glance data (``image.VerifiedStream``) ends with the
input, so the engine never has a manifest of data that fails it.
"""

import json
import posixpath
import tarfile

from nova import exception

MANIFEST = 'manifest.json'
OCI_INDEX = 'index.json'
REPOSITORIES = 'repositories'
# The names under which an image's references are stored in index.json.
NAME_ANNOTATIONS = ('io.containerd.image.name',
                    'org.opencontainers.image.ref.name')
# A manifest.json or index.json larger than this is no docker save's.
METADATA_MAX_BYTES = 1024 * 1024
BLOCK = tarfile.BLOCKSIZE


def _clean(name):
    """The path the engine extracts a member to, relative to its root."""
    return posixpath.normpath('/' + name).lstrip('/')


class Untagged:
    """Iterate to get the tarball of ``chunks``, without its tags.

    A tarball whose manifest.json lists more or fewer than one image is
    refused before its manifest goes out.
    """

    def __init__(self, image_id, chunks):
        self.image_id = image_id
        self.chunks = chunks

    def _refuse(self, reason):
        raise exception.ImageUnacceptable(
            image_id=self.image_id,
            reason='nova-docker could not load it as a "docker save" '
                   'tarball: %s' % reason)

    def __iter__(self):
        source = Source(self.chunks)
        held = {}
        seen = set()
        links = set()
        while True:
            member = self._next(source)
            if member is None:
                break
            yield from self._member(source, member, held, seen, links)
        # The rest of the input (the end-of-archive blocks) is read, so that
        # the hash check runs before the manifest goes out.
        source.drain()
        if MANIFEST not in held and OCI_INDEX not in held:
            self._refuse('it has no %s' % MANIFEST)
        for name in (OCI_INDEX, MANIFEST):
            if name in held:
                yield from self._file(name, held[name])
        yield b'\0' * (2 * BLOCK)

    def _next(self, source):
        """The next member's header (tarfile parses it), or None at the
        end of the archive."""
        try:
            return tarfile.TarInfo.fromtarfile(source)
        except (tarfile.EOFHeaderError, tarfile.EmptyHeaderError):
            return None
        except tarfile.TarError as e:
            self._refuse(e)

    def _member(self, source, member, held, seen, links):
        if member.issparse():
            self._refuse('%s is a sparse file' % member.name)
        name = _clean(member.name)
        if not name:
            if not member.isdir():
                self._refuse('a member has no name')
            # The root: the engine extracts into a directory of its own.
            return
        parents = name.split('/')
        for n in range(1, len(parents) + 1):
            if '/'.join(parents[:n]) in links:
                self._refuse('%s lies under a symbolic link' % member.name)
        if name in (MANIFEST, OCI_INDEX, REPOSITORIES):
            if not member.isreg():
                self._refuse('%s is not a regular file' % member.name)
            if name in seen:
                self._refuse('it holds %s twice' % name)
            seen.add(name)
            if name == REPOSITORIES:
                # Left out: it only names tags.
                self._skip(source, member)
                return
            if member.size > METADATA_MAX_BYTES:
                self._refuse('%s is larger than %d bytes' % (
                    name, METADATA_MAX_BYTES))
            held[name] = self._untag(name, self._read(source, member))
            return
        out = tarfile.TarInfo(name)
        # Permissions only: no set-id bits on what the engine extracts.
        out.mode = member.mode & 0o777
        out.mtime = member.mtime
        if member.isreg():
            out.size = member.size
            yield out.tobuf(tarfile.PAX_FORMAT)
            yield from self._data(source, member)
        elif member.isdir():
            out.type = tarfile.DIRTYPE
            yield out.tobuf(tarfile.PAX_FORMAT)
        elif member.issym() or member.islnk():
            out.type = member.type
            out.linkname = (member.linkname if member.issym()
                            else _clean(member.linkname))
            if member.issym():
                links.add(name)
            yield out.tobuf(tarfile.PAX_FORMAT)
        else:
            self._refuse('%s is neither a file, a directory nor a link' %
                         member.name)

    def _data(self, source, member):
        """The member's data as it comes, then the padding of its block."""
        left = member.size
        while left:
            piece = source.piece(left)
            if not piece:
                self._refuse('unexpected end of data')
            left -= len(piece)
            yield piece
        padding = -member.size % BLOCK
        if padding:
            self._exact(source, padding)
            yield b'\0' * padding

    def _read(self, source, member):
        data = self._exact(source, member.size)
        self._exact(source, -member.size % BLOCK)
        return data

    def _skip(self, source, member):
        for _ in self._data(source, member):
            pass

    def _exact(self, source, size):
        data = source.read(size)
        if len(data) != size:
            self._refuse('unexpected end of data')
        return data

    def _untag(self, name, data):
        try:
            document = json.loads(data)
        except ValueError as e:
            self._refuse('%s is not JSON: %s' % (name, e))
        if name == MANIFEST:
            if not isinstance(document, list) or not all(
                    isinstance(entry, dict) for entry in document):
                self._refuse('%s is not a list of images' % name)
            if len(document) != 1:
                self._refuse('it must hold exactly one image, it holds %d' %
                             len(document))
            for entry in document:
                entry['RepoTags'] = []
        else:
            if not isinstance(document, dict):
                self._refuse('%s is not an OCI image index' % name)
            for item in [document] + list(document.get('manifests') or []):
                annotations = (item.get('annotations')
                               if isinstance(item, dict) else None)
                if isinstance(annotations, dict):
                    for key in NAME_ANNOTATIONS:
                        annotations.pop(key, None)
        return json.dumps(document).encode()

    @staticmethod
    def _file(name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        yield info.tobuf(tarfile.PAX_FORMAT)
        yield data
        if len(data) % BLOCK:
            yield b'\0' * (BLOCK - len(data) % BLOCK)


class Source:
    """The input as tarfile's header parser reads it, and its data pieces.

    Headers are read through ``tarfile.TarInfo.fromtarfile``, which asks
    the "tar file" given to it for ``fileobj`` (read and tell), ``offset``,
    ``encoding``, ``errors`` and the global ``pax_headers``; an extended
    header larger than a metadata member is refused, not held in memory.
    Data is handed on in the pieces it came in, without copies.
    """

    encoding = 'utf-8'
    errors = 'surrogateescape'

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._rest = b''
        self._position = 0
        self.fileobj = self
        self.offset = 0
        self.pax_headers = {}

    def _fill(self):
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._rest = bytes(chunk)
        return True

    def piece(self, most):
        """Up to ``most`` bytes, as they came; empty at the end."""
        if not self._fill():
            return b''
        if len(self._rest) <= most:
            piece, self._rest = self._rest, b''
        else:
            piece, self._rest = self._rest[:most], self._rest[most:]
        self._position += len(piece)
        return piece

    def read(self, size):
        # Only headers and the small metadata members are read whole.
        if size > METADATA_MAX_BYTES + BLOCK:
            raise tarfile.ReadError('a header of %d bytes' % size)
        pieces = []
        while size > 0:
            piece = self.piece(size)
            if not piece:
                break
            pieces.append(piece)
            size -= len(piece)
        return b''.join(pieces)

    def tell(self):
        return self._position

    def drain(self):
        while self.piece(1 << 30):
            pass

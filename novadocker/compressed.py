"""Compressed ``docker save`` archives, decompressed as they stream.

Users and Tempest upload ``docker save img | gzip`` (or bzip2, xz, zstd)
as readily as the plain tarball, and ``docker load`` takes most of them.
The driver decompresses them itself, before ``tarball.Untagged``: the tag
stripping needs the plain tar stream, and engines differ in what they
decompress (Debian's docker.io 20.10 loads no zstd archive).

The format is told by the magic bytes at the start of the data.  The hash
check (``image.VerifiedStream``) comes before, on the bytes Glance holds:
the compressed ones.  Output comes in pieces of at most ``OUTPUT_MAX``
bytes and is handed on as it comes, so a small archive that expands to a
huge one (a decompression bomb) never fills memory.  Data that is neither
a tar archive nor compressed in one of these formats, corrupt data and
data that stops before the end of its compressed stream are refused.
"""

import bz2
import itertools
import lzma
import zlib

try:
    from compression import zstd  # Python 3.14 on
except ImportError:
    from backports import zstd

from nova import exception

# Enough to see the "ustar" magic of a tar header (at byte 257).
HEAD_BYTES = 262
TAR_MAGIC_OFFSET = 257
TAR_MAGIC = b'ustar'
# The most decompressed data one step gives (memory is bounded by it).
OUTPUT_MAX = 1024 * 1024
# How many of its first bytes a fault shows of data of no known format.
SHOWN_BYTES = 8


class _Gzip:
    """zlib's gzip decompressor with the interface of bz2's and lzma's
    (``zlib._ZlibDecompressor`` from Python 3.12 on)."""

    def __init__(self):
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._full = False

    def decompress(self, data, max_length):
        out = self._zlib.decompress(self._zlib.unconsumed_tail + data,
                                    max_length)
        # A full output may leave output in zlib that needs no more input.
        self._full = len(out) == max_length
        return out

    @property
    def needs_input(self):
        return not (self._zlib.unconsumed_tail or self._full)

    @property
    def eof(self):
        return self._zlib.eof

    @property
    def unused_data(self):
        return self._zlib.unused_data


# name: (magic bytes, a new decompressor for one stream)
FORMATS = {
    'gzip': (b'\x1f\x8b', _Gzip),
    'bzip2': (b'BZh', bz2.BZ2Decompressor),
    'xz': (b'\xfd7zXZ\x00', lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)),
    'zstd': (b'\x28\xb5\x2f\xfd', zstd.ZstdDecompressor),
}
# What the decompressors raise on bad data.
DATA_ERRORS = (zlib.error, OSError, lzma.LZMAError, zstd.ZstdError)
# What a fault names of data that is no tar archive.
NAMED = tuple((magic, '%s-compressed data' % name)
              for name, (magic, _) in FORMATS.items()) + (
    (b'QFI\xfb', 'a qcow2 disk image'),
    (b'KDMV', 'a VMDK disk image'),
    (b'vhdxfile', 'a VHDX disk image'),
    (b'PK\x03\x04', 'a zip archive'),
    (b'\x04\x22\x4d\x18', 'lz4-compressed data'),
)


def plain_tar(image_id, chunks):
    """Iterate over the tar archive of an image's data, decompressed."""
    head, chunks = _head(chunks)
    found = _format(head)
    if found:
        head, chunks = _head(_decompressed(image_id, found, chunks))
        if not _is_tar(head):
            # A corrupt stream may give garbled data before its error (bzip2
            # and xz check a block's CRC after its data): read on to tell.
            for _ in chunks:
                pass
            _refuse(image_id, 'its %s-compressed data is not a tar archive: '
                    '%s' % (found, _what(head)))
    elif not _is_tar(head):
        _refuse(image_id, 'not a "docker save" tarball, plain or compressed '
                'with gzip, bzip2, xz or zstd: %s' % _what(head))
    yield from chunks


def _refuse(image_id, reason):
    # Short reasons: Nova keeps 255 characters of an instance's fault.
    raise exception.ImageUnacceptable(image_id=image_id, reason=reason)


def _head(chunks):
    """The first HEAD_BYTES of the data (all of it if shorter), and an
    iterator over all the data again."""
    chunks = iter(chunks)
    taken = []
    size = 0
    for chunk in chunks:
        taken.append(chunk)
        size += len(chunk)
        if size >= HEAD_BYTES:
            break
    return b''.join(taken)[:HEAD_BYTES], itertools.chain(taken, chunks)


def _format(head):
    for name, (magic, _) in FORMATS.items():
        if head.startswith(magic):
            return name
    return None


def _is_tar(head):
    # POSIX and GNU tar headers (docker save writes one of those).
    return head[TAR_MAGIC_OFFSET:].startswith(TAR_MAGIC)


def _what(head):
    """What the start of some data shows, for a fault."""
    if not head:
        return 'it is empty'
    for magic, name in NAMED:
        if head.startswith(magic):
            return 'it is %s' % name
    return 'it starts with %s' % head[:SHOWN_BYTES].hex(' ')


def _decompressed(image_id, name, chunks):
    """The data of one or more concatenated streams of a format (as pigz,
    pbzip2 and pzstd write them), in bounded pieces."""
    new = FORMATS[name][1]
    decompressor = new()
    for data in chunks:
        while data or not (decompressor.needs_input or decompressor.eof):
            if decompressor.eof:
                decompressor = new()
            try:
                out = decompressor.decompress(data, OUTPUT_MAX)
            except DATA_ERRORS as e:
                _refuse(image_id, 'its %s-compressed data is corrupt: %s' %
                        (name, e))
            # What follows the end of a stream starts the next one.
            data = decompressor.unused_data if decompressor.eof else b''
            if out:
                yield out
    if not decompressor.eof:
        _refuse(image_id, 'its %s-compressed data is truncated: it ends '
                'before the end of its stream' % name)

"""A file to read from an iterator of byte chunks.

docker-py streams an image's ``docker save`` and a container's archive as
iterators of chunks; glanceclient (uploading a snapshot) and tarfile
(reading an archive) want a file to call read() on.
"""

import io


class ChunkReader(io.RawIOBase):
    """The chunks, read as one stream of bytes (empty chunks skipped)."""

    def __init__(self, chunks):
        super().__init__()
        self._chunks = iter(chunks)
        self._rest = memoryview(b'')

    def readable(self):
        return True

    def read(self, size=-1):
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b''
            self._rest = memoryview(chunk)
        if size is None or size < 0 or size >= len(self._rest):
            size = len(self._rest)
        out = self._rest[:size].tobytes()
        self._rest = self._rest[size:]
        return out

    def readinto(self, buffer):
        out = self.read(len(buffer))
        buffer[:len(out)] = out
        return len(out)

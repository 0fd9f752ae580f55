"""The file view of the engine's streams that glanceclient (a snapshot's
upload) and tarfile (a container's archive) read."""

import io
import tarfile

from novadocker import chunk_reader


def _chunks():
    return [b'a' * 5, b'', b'bcdefg', b'h' * 100000]


def test_reads_in_glanceclient_pieces_give_back_every_byte():
    reader = chunk_reader.ChunkReader(_chunks())
    pieces = list(iter(lambda: reader.read(65536), b''))
    assert b''.join(pieces) == b''.join(_chunks())
    assert max(len(p) for p in pieces) <= 65536
    assert reader.read(10) == b''


def test_small_reads_cross_chunk_boundaries():
    reader = chunk_reader.ChunkReader(_chunks())
    assert reader.read(3) == b'aaa'
    assert reader.read(3) == b'aa'
    assert reader.read(4) == b'bcde'
    assert reader.read() == b'fg'


def test_buffered_reader_over_it_reads_the_whole_stream():
    data = io.BufferedReader(chunk_reader.ChunkReader(_chunks())).read()
    assert data == b''.join(_chunks())


def test_tarfile_reads_an_archive_through_it():
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode='w') as tar:
        member = tarfile.TarInfo('f')
        member.size = 1000
        tar.addfile(member, io.BytesIO(b'x' * 1000))
    data = data.getvalue()
    chunks = [data[i:i + 7] for i in range(0, len(data), 7)]
    with tarfile.open(fileobj=chunk_reader.ChunkReader(chunks),
                      mode='r|') as tar:
        assert tar.next().size == 1000

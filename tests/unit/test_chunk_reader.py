"""The file view of the engine's save stream that glanceclient reads."""

import io

from novadocker import image


def _chunks():
    return [b'a' * 5, b'', b'bcdefg', b'h' * 100000]


def test_reads_in_glanceclient_pieces_give_back_every_byte():
    reader = image.ChunkReader(_chunks())
    pieces = list(iter(lambda: reader.read(65536), b''))
    assert b''.join(pieces) == b''.join(_chunks())
    assert max(len(p) for p in pieces) <= 65536
    assert reader.read(10) == b''


def test_small_reads_cross_chunk_boundaries():
    reader = image.ChunkReader(_chunks())
    assert reader.read(3) == b'aaa'
    assert reader.read(3) == b'aa'
    assert reader.read(4) == b'bcde'
    assert reader.read() == b'fg'


def test_buffered_reader_over_it_reads_the_whole_stream():
    data = io.BufferedReader(image.ChunkReader(_chunks())).read()
    assert data == b''.join(_chunks())

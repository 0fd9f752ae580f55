"""Compressed archives reach the tar parser as the plain tar they hold."""

import hashlib

from nova import exception
import pytest

from novadocker import compressed
from novadocker import image
from novadocker import tarball
from tests.fixtures import images as test_images
from tests.fixtures import tarballs

COMPRESS = test_images.COMPRESS
FORMATS = sorted(COMPRESS)


def plain(data, size=65536):
    return b''.join(compressed.plain_tar(
        'img', tarballs.chunks(data, size)))


def refused(data, message):
    with pytest.raises(exception.ImageUnacceptable) as e:
        plain(data)
    text = e.value.format_message()
    assert message in text
    return text


def test_a_plain_tarball_passes_unchanged():
    data = tarballs.saved()
    assert plain(data) == data


@pytest.mark.parametrize('name', FORMATS)
@pytest.mark.parametrize('size', [1, 7, 65536])
def test_each_format_gives_the_tarball(name, size):
    data = tarballs.saved()
    assert plain(COMPRESS[name](data), size) == data


@pytest.mark.parametrize('name', FORMATS)
def test_concatenated_streams_give_the_whole_tarball(name):
    # As pigz, pbzip2 and pzstd write them.
    data = tarballs.saved()
    half = len(data) // 2
    assert plain(COMPRESS[name](data[:half]) +
                 COMPRESS[name](data[half:])) == data


@pytest.mark.parametrize('name', FORMATS)
def test_the_tags_go_and_the_hash_is_that_of_the_compressed_bytes(name):
    data = COMPRESS[name](tarballs.saved())
    stream = image.VerifiedStream('img', tarballs.chunks(data), {
        'os_hash_algo': 'sha512',
        'os_hash_value': hashlib.sha512(data).hexdigest()})
    out = b''.join(tarball.Untagged(
        'img', compressed.plain_tar('img', stream)))
    assert out == tarballs.untag(tarballs.saved())


@pytest.mark.parametrize('name', FORMATS)
def test_no_manifest_goes_out_when_the_hash_fails(name):
    data = COMPRESS[name](tarballs.saved())
    stream = image.VerifiedStream('img', tarballs.chunks(data), {
        'os_hash_algo': 'sha512', 'os_hash_value': '0' * 128})
    received = []
    with pytest.raises(exception.ImageUnacceptable) as e:
        for piece in tarball.Untagged(
                'img', compressed.plain_tar('img', stream)):
            received.append(piece)
    assert "does not match Glance's sha512 hash" in e.value.format_message()
    assert b'manifest.json' not in b''.join(received)


@pytest.mark.parametrize('name', FORMATS)
def test_truncated_data_is_refused(name):
    data = COMPRESS[name](tarballs.saved())
    refused(data[:len(data) // 2], 'its %s-compressed data is truncated' %
            name)


@pytest.mark.parametrize('name', FORMATS)
def test_corrupt_data_is_refused(name):
    data = bytearray(COMPRESS[name](tarballs.saved()))
    middle = len(data) // 2
    data[middle:middle + 64] = b'\xff' * 64
    refused(bytes(data), 'its %s-compressed data is corrupt' % name)


@pytest.mark.parametrize('name', FORMATS)
def test_garbage_after_the_stream_is_refused(name):
    data = COMPRESS[name](tarballs.saved()) + b'\x01' * 1000
    refused(data, 'its %s-compressed data is corrupt' % name)


@pytest.mark.parametrize('name', FORMATS)
def test_compressed_data_that_is_no_tar_is_refused(name):
    refused(COMPRESS[name](b'QFI\xfb' + b'\0' * 1000),
            'its %s-compressed data is not a tar archive: it is a qcow2 disk '
            'image' % name)


@pytest.mark.parametrize('data,found', [
    (b'\x04\x22\x4d\x18' + b'\0' * 1000, 'it is lz4-compressed data'),
    (b'PK\x03\x04' + b'\0' * 1000, 'it is a zip archive'),
    (b'\x01' * 1000, 'it starts with 01 01 01 01 01 01 01 01'),
    (b'\x01' * 10, 'it starts with 01 01 01 01 01 01 01 01'),
    (b'', 'it is empty'),
], ids=['lz4', 'zip', 'garbage', 'short', 'empty'])
def test_an_unknown_format_is_refused_naming_what_it_is(data, found):
    text = refused(data, 'not a "docker save" tarball, plain or compressed '
                         'with gzip, bzip2, xz or zstd: ')
    assert text.endswith(found)


def test_output_begins_before_the_input_ends():
    data = tarballs.saved()
    packed = COMPRESS['gzip'](data)
    read = []

    def source():
        for chunk in tarballs.chunks(packed, 100):
            read.append(chunk)
            yield chunk
    stream = compressed.plain_tar('img', source())
    next(stream)
    assert len(read) < len(packed) // 100 // 2


@pytest.mark.parametrize('name', FORMATS)
def test_a_bomb_comes_out_in_bounded_pieces(name):
    # Much more out than in, all the input in one chunk.
    size = len(tarballs.saved()) + (16 << 20)
    bomb = COMPRESS[name](tarballs.saved() + b'\0' * (16 << 20))
    assert len(bomb) < size // 100
    sizes = [len(piece) for piece in compressed.plain_tar('img', [bomb])]
    assert max(sizes) <= compressed.OUTPUT_MAX
    assert sum(sizes) == size

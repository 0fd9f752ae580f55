"""The image checks that run before and while data reaches the engine."""

import hashlib

from nova import exception
import pytest

from novadocker import image


def test_cache_ref_is_keyed_by_glance_id():
    assert image.cache_ref('abc') == 'glance/abc:latest'


@pytest.mark.parametrize('container_format,disk_format,message', [
    ('bare', 'raw', "container_format is 'bare'"),
    ('docker', 'qcow2', "disk_format is 'qcow2'"),
    (None, 'raw', 'container_format is None'),
])
def test_other_formats_are_refused(container_format, disk_format, message):
    with pytest.raises(exception.ImageUnacceptable) as e:
        image.check_formats('img', container_format, disk_format)
    assert message in e.value.format_message()


def test_docker_raw_is_accepted():
    image.check_formats('img', 'docker', 'raw')


def chunks(data, size=7):
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_stream_passes_data_unchanged_when_hash_matches():
    data = b'some tarball bytes' * 100
    meta = {'os_hash_algo': 'sha512',
            'os_hash_value': hashlib.sha512(data).hexdigest()}
    stream = image.VerifiedStream('img', chunks(data), meta)
    assert b''.join(stream) == data
    assert stream.size == len(data)


def test_stream_stops_before_its_end_on_a_mismatch():
    data = b'some tarball bytes' * 100
    stream = image.VerifiedStream('img', chunks(data), {
        'os_hash_algo': 'sha512', 'os_hash_value': '0' * 128})
    received = []
    with pytest.raises(exception.ImageUnacceptable) as e:
        for chunk in stream:
            received.append(chunk)
    # The engine never sees the whole tarball.
    assert len(b''.join(received)) < len(data)
    assert "does not match Glance's sha512 hash" in e.value.format_message()


def test_stream_falls_back_to_md5_checksum():
    data = b'x' * 1000
    stream = image.VerifiedStream('img', chunks(data), {
        'checksum': hashlib.md5(data).hexdigest()})
    assert b''.join(stream) == data
    assert stream.algo == 'md5'


def test_stream_without_any_hash_is_passed_through():
    assert b''.join(image.VerifiedStream('img', [b'a', b'b'], {})) == b'ab'


def test_load_messages_give_image_refs():
    refs = image._loaded_image_ids(None, [
        {'stream': 'Loaded image: busybox:latest\n'},
        {'stream': 'Loaded image ID: sha256:abc\n'}])
    assert refs == ['busybox:latest', 'sha256:abc']


def test_load_error_message_is_raised():
    with pytest.raises(ValueError, match='unexpected EOF'):
        image._loaded_image_ids(None, [{'errorDetail': {
            'message': 'unexpected EOF'}, 'error': 'unexpected EOF'}])

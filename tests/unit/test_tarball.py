"""The tarball the engine receives names no tag, whatever the upload said."""

import hashlib
import io
import json
import tarfile

from nova import exception
import pytest

from novadocker import image
from novadocker import tarball
from tests.fixtures import tarballs


def members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (m, tar.extractfile(m).read() if m.isreg() else None)
                for m in tar.getmembers()}


def refused(data, message):
    with pytest.raises(exception.ImageUnacceptable) as e:
        tarballs.untag(data)
    assert message in e.value.format_message()


def test_no_tag_reaches_the_engine():
    out = members(tarballs.untag(tarballs.saved()))
    assert 'repositories' not in out
    manifest = json.loads(out['manifest.json'][1])
    assert manifest == [{'Config': tarballs.CONFIG, 'RepoTags': [],
                         'Layers': [tarballs.LAYER]}]
    assert b'glance/victim' not in tarballs.untag(tarballs.saved())


def test_layers_and_config_pass_unchanged():
    original = members(tarballs.saved())
    out = members(tarballs.untag(tarballs.saved()))
    for name in (tarballs.CONFIG, tarballs.LAYER):
        assert out[name][1] == original[name][1]
    assert out[tarballs.LAYER.split('/')[0]][0].isdir()


def test_the_manifest_goes_out_after_every_layer():
    out = tarballs.untag(tarballs.saved(extra=[('zzz', b'late')]))
    names = [m.name for m in tarfile.open(fileobj=io.BytesIO(out))]
    assert names[-1] == 'manifest.json'


@pytest.mark.parametrize('fmt', [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_names_longer_than_a_header_survive(fmt):
    long = 'c' * 64 + '/' + 'd' * 120
    out = members(tarballs.untag(tarballs.saved(extra=[(long, b'x')],
                                                fmt=fmt)))
    assert out[long][1] == b'x'


@pytest.mark.parametrize('size', [1, 7, 511, 513, 100000])
def test_any_chunking_of_the_input_gives_the_same_tarball(size):
    data = tarballs.saved()
    stream = image.VerifiedStream('img', tarballs.chunks(data, size), {})
    assert b''.join(tarball.Untagged('img', stream)) == tarballs.untag(data)


def test_symbolic_links_between_layers_are_kept():
    link = 'e' * 64 + '/layer.tar'
    out = members(tarballs.untag(tarballs.saved(extra=[
        (link, b'', tarfile.SYMTYPE, '../' + tarballs.LAYER)])))
    assert out[link][0].issym()
    assert out[link][0].linkname == '../' + tarballs.LAYER


def test_the_oci_index_loses_its_names():
    index = {'schemaVersion': 2, 'annotations': {
        'org.opencontainers.image.ref.name': 'x'},
        'manifests': [{'digest': 'sha256:' + 'f' * 64, 'annotations': {
            'io.containerd.image.name': 'glance/victim:latest',
            'org.opencontainers.image.ref.name': 'latest',
            'other': 'kept'}}]}
    out = members(tarballs.untag(tarballs.saved(extra=[
        ('index.json', json.dumps(index).encode())])))
    index = json.loads(out['index.json'][1])
    assert index['annotations'] == {}
    assert index['manifests'][0]['annotations'] == {'other': 'kept'}


@pytest.mark.parametrize('name', ['./manifest.json', 'x/../manifest.json',
                                  '/manifest.json', 'manifest.json/'])
def test_another_spelling_of_the_manifest_is_the_manifest(name):
    refused(tarballs.saved(extra=[
        (name, b'[{"RepoTags": ["glance/victim:x"]}]')]),
        'it holds manifest.json twice')


@pytest.mark.parametrize('name', ['./repositories', 'a/../repositories'])
def test_another_spelling_of_repositories_is_left_out(name):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        tarballs.member(tar, name, b'{"glance/victim": {"latest": "x"}}')
        tarballs.member(tar, 'manifest.json',
                        b'[{"Config": "c", "RepoTags": []}]')
    out = members(tarballs.untag(buf.getvalue()))
    assert list(out) == ['manifest.json']


def test_a_manifest_that_is_a_link_is_refused():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        tarballs.member(tar, 'tags.json',
                        b'[{"RepoTags": ["glance/victim:latest"]}]')
        tarballs.member(tar, 'manifest.json', kind=tarfile.SYMTYPE,
                        linkname='tags.json')
    refused(buf.getvalue(), 'manifest.json is not a regular file')


def test_a_manifest_written_through_a_link_is_refused():
    refused(tarballs.saved(extra=[('d', b'', tarfile.SYMTYPE, '.'),
                                  ('d/manifest.json', b'[]')]),
            'd/manifest.json lies under a symbolic link')


def test_devices_are_refused():
    refused(tarballs.saved(extra=[('dev', b'', tarfile.CHRTYPE)]),
            'dev is neither a file, a directory nor a link')


def test_more_than_one_image_is_refused():
    refused(tarballs.saved(manifest=[{'Config': tarballs.CONFIG},
                                     {'Config': tarballs.CONFIG}]),
            'it must hold exactly one image, it holds 2')


def test_a_tarball_without_a_manifest_is_refused():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        tarballs.member(tar, 'repositories', b'{}')
    refused(buf.getvalue(), 'it has no manifest.json')


def test_a_manifest_that_is_not_json_is_refused():
    refused(tarballs.saved(manifest='not a list'), 'is not a list of images')


def test_garbage_is_refused():
    refused(b'\x01' * 100000, 'could not load it as a "docker save" tarball')


def test_truncated_data_is_refused():
    data = tarballs.saved()
    refused(data[:len(data) // 2], 'unexpected end of data')


def test_nothing_of_the_manifest_goes_out_when_the_hash_fails():
    data = tarballs.saved()
    stream = image.VerifiedStream('img', tarballs.chunks(data), {
        'os_hash_algo': 'sha512', 'os_hash_value': '0' * 128})
    received = []
    with pytest.raises(exception.ImageUnacceptable):
        for piece in tarball.Untagged('img', stream):
            received.append(piece)
    assert b'manifest.json' not in b''.join(received)


def test_a_matching_hash_lets_it_through():
    data = tarballs.saved()
    meta = {'os_hash_algo': 'sha512',
            'os_hash_value': hashlib.sha512(data).hexdigest()}
    assert 'manifest.json' in members(tarballs.untag(data, meta))


def test_the_root_directory_entry_is_left_out():
    out = members(tarballs.untag(tarballs.saved(extra=[
        ('./', b'', tarfile.DIRTYPE)])))
    assert '' not in out and '.' not in out
    assert 'manifest.json' in out


def test_set_id_bits_are_dropped():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        info = tarfile.TarInfo('tool')
        info.mode = 0o4755
        tar.addfile(info, io.BytesIO(b''))
        tarballs.member(tar, 'manifest.json',
                        b'[{"Config": "c", "RepoTags": []}]')
    assert members(tarballs.untag(buf.getvalue()))['tool'][0].mode == 0o755


def test_a_huge_extended_header_is_refused_not_read():
    header = tarfile.TarInfo('././@PaxHeader')
    header.type = tarfile.XHDTYPE
    header.size = 1 << 32
    refused(header.tobuf(tarfile.USTAR_FORMAT) + b'x' * 4096,
            'a header of %d bytes' % (1 << 32))


def test_a_huge_repositories_file_is_skipped_in_pieces():
    data = b'{"glance/victim": {"latest": "' + b'x' * (4 << 20) + b'"}}'
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        tarballs.member(tar, 'repositories', data)
        tarballs.member(tar, 'manifest.json',
                        b'[{"Config": "c", "RepoTags": []}]')
    assert list(members(tarballs.untag(buf.getvalue()))) == ['manifest.json']

"""A moving guest's root image goes without the layers of its Glance image:
those layers' directories are left out of its ``docker save``, everything
else goes as it came."""

import io
import tarfile
import tempfile

import pytest

from novadocker import layer_filter
from novadocker import tarball
from tests.fixtures import tarballs

BASE = [tarballs.layer_dir(n) for n in range(3)]
GUEST = [tarballs.layer_dir(n) for n in range(3, 5)]
BASE_DATA = [b'base %d' % n * 40000 for n in range(3)]
GUEST_DATA = [b'guest %d' % n * 30000 for n in range(2)]
BASE_DIFF_IDS = {tarballs.diff_id(data) for data in BASE_DATA}


def root_image():
    return tarballs.saved_layers(list(zip(BASE + GUEST,
                                          BASE_DATA + GUEST_DATA)))


def dir_members(directory):
    return {directory, directory + '/VERSION', directory + '/json',
            directory + '/layer.tar'}


@pytest.fixture
def opened(monkeypatch):
    """The spool files the filter opens."""
    files = []
    real = tempfile.TemporaryFile

    def recorded(*args, **kwargs):
        files.append(real(*args, **kwargs))
        return files[-1]
    monkeypatch.setattr(tempfile, 'TemporaryFile', recorded)
    return files


def filtered(data, diff_ids, spool_dir, size=65536):
    without = layer_filter.WithoutLayers(tarballs.chunks(data, size),
                                         diff_ids, spool_dir)
    return b''.join(without), without


def assert_without(out, data, left_out):
    """``out`` is ``data`` without the members ``left_out``: the others
    and the end of the archive byte for byte (a layer whose file is a
    link may come later)."""
    members, end = tarballs.members_of(data)
    assert tarballs.members_of(out) == (
        {name: raw for name, raw in members.items() if name not in left_out},
        end)


def test_the_base_layers_go_with_their_directories(tmp_path):
    data = root_image()
    out, without = filtered(data, BASE_DIFF_IDS, tmp_path)
    left_out = set().union(*map(dir_members, BASE))
    assert_without(out, data, left_out)
    # Without links, in their order too.
    members, end = tarballs.members_of(data)
    assert out == b''.join(raw for name, raw in members.items()
                           if name not in left_out) + end
    assert (3, len(data), len(out)) == (without.left_out, without.read_bytes,
                                        without.sent_bytes)
    # What a destination's engine receives: the guest's layers, the
    # config, the manifest (naming every layer) and the tags.
    names = [m.name for m in tarfile.open(fileobj=io.BytesIO(out))]
    assert set().union(*map(dir_members, GUEST)) < set(names)
    assert {'manifest.json', 'repositories'} < set(names)


@pytest.mark.parametrize('size', [1, 511, 513, 100000])
def test_any_chunking_of_the_save_gives_the_same_tarball(tmp_path, size):
    data = root_image()
    assert filtered(data, BASE_DIFF_IDS, tmp_path, size)[0] == filtered(
        data, BASE_DIFF_IDS, tmp_path)[0]


@pytest.mark.parametrize('diff_ids', [set(), {'sha256:' + '0' * 64}])
def test_nothing_to_leave_out_sends_the_save_as_it_came(tmp_path, diff_ids):
    data = root_image()
    out, without = filtered(data, diff_ids, tmp_path)
    assert out == data
    assert (0, len(data), len(data)) == (without.left_out,
                                         without.read_bytes,
                                         without.sent_bytes)


def test_the_spool_is_gone_after_the_save(tmp_path, opened):
    filtered(root_image(), BASE_DIFF_IDS, tmp_path)
    assert [] == list(tmp_path.iterdir())
    assert 1 == len(opened)
    assert opened[0].closed


def test_the_spool_is_gone_after_a_failure_in_the_middle(tmp_path, opened):
    data = root_image()

    def broken():
        yield data[:len(data) // 2]
        raise IOError('the engine went away')
    with pytest.raises(IOError):
        b''.join(layer_filter.WithoutLayers(broken(), BASE_DIFF_IDS, tmp_path))
    assert [] == list(tmp_path.iterdir())
    assert opened[0].closed


def test_the_spool_is_gone_when_the_upload_stops_reading(tmp_path, opened):
    pieces = iter(layer_filter.WithoutLayers(
        tarballs.chunks(root_image(), 1000), BASE_DIFF_IDS, tmp_path))
    next(pieces)
    next(pieces)
    assert not opened[0].closed
    pieces.close()
    assert opened[0].closed
    assert [] == list(tmp_path.iterdir())


def test_a_truncated_save_is_an_error(tmp_path):
    data = root_image()
    with pytest.raises(tarfile.ReadError):
        filtered(data[:len(data) // 2], BASE_DIFF_IDS, tmp_path)


def test_a_huge_member_is_not_held_in_memory(tmp_path):
    huge = io.BytesIO()
    with tarfile.open(fileobj=huge, mode='w') as tar:
        tarballs.member(tar, BASE[0] + '/json',
                        b' ' * (tarball.METADATA_MAX_BYTES + 1))
    with pytest.raises(ValueError) as e:
        filtered(huge.getvalue(), BASE_DIFF_IDS, tmp_path)
    assert BASE[0] + '/json is larger than' in str(e.value)


def links_in_both_orders():
    """A layer saved twice is a link to its first file; in a docker save's
    order, the link's directory may come before or after that file's."""
    low, high = sorted(tarballs.layer_dir(n) for n in range(10, 12))
    return [(low, high), (high, low)]


@pytest.mark.parametrize('first,link', links_in_both_orders())
def test_a_base_layer_saved_twice_goes_with_its_links(tmp_path, first, link):
    layers = [(first, BASE_DATA[0]), (link, first),
              (GUEST[0], GUEST_DATA[0])]
    data = tarballs.saved_layers(layers)
    out, without = filtered(data, {tarballs.diff_id(BASE_DATA[0])}, tmp_path)
    assert_without(out, data, dir_members(first) | dir_members(link))
    assert 2 == without.left_out


@pytest.mark.parametrize('first,link', links_in_both_orders())
def test_a_guest_layer_that_links_to_a_kept_file_goes(tmp_path, first, link):
    # The caller leaves out no layer the guest repeats: the base layer's
    # file goes, for the guest's link to it.
    layers = [(BASE[0], BASE_DATA[0]), (first, BASE_DATA[1]),
              (link, first)]
    data = tarballs.saved_layers(layers)
    out, without = filtered(data, {tarballs.diff_id(BASE_DATA[0])}, tmp_path)
    assert_without(out, data, dir_members(BASE[0]))
    assert 1 == without.left_out


def test_a_link_to_no_layer_of_the_save_goes_as_it_came(tmp_path):
    layers = [(BASE[0], BASE_DATA[0]), (GUEST[0], GUEST[1])]
    data = tarballs.saved_layers(layers)
    out, _ = filtered(data, {tarballs.diff_id(BASE_DATA[0])}, tmp_path)
    assert_without(out, data, dir_members(BASE[0]))

"""What a move hands from the source to the destination, and the root
disk left after it."""

import hashlib

import docker.errors
from nova import exception
from nova import objects
from oslo_config import fixture as config_fixture
import pytest

from novadocker import flavor
from novadocker import image
from novadocker import migration
from tests.fixtures import tarballs

objects.register_all()

UUID = '3f1c2b9e-8d4a-4c6e-9b7f-0a2d5e8c1b34'
GLANCE_IMAGE = 'b7e2c4a9-1d3f-4e5b-8a6c-9f0e2d4c6b81'
ROOT = 'nova-docker-root/%s:1' % UUID
BASE_DATA = [b'base %d' % n * 40000 for n in range(2)]
GUEST_DATA = [b'guest' * 30000]
BASE_LAYERS = [tarballs.diff_id(data) for data in BASE_DATA]
ROOT_LAYERS = BASE_LAYERS + [tarballs.diff_id(GUEST_DATA[0])]
SAVE = tarballs.saved_layers([
    (tarballs.layer_dir(n), data)
    for n, data in enumerate(BASE_DATA + GUEST_DATA)])


def test_the_destination_takes_the_root_image_of_its_engine():
    info = migration.disk_info('nova-docker-root/u:1', 'engine-a')
    assert 'nova-docker-root/u:1' == migration.root_image(
        None, None, info, 'engine-a', None)


def test_a_root_image_in_another_engine_not_sent_is_a_clear_fault():
    info = migration.disk_info('nova-docker-root/u:1', 'engine-a')
    with pytest.raises(exception.MigrationError) as e:
        migration.root_image(None, None, info, 'engine-b', None)
    assert 'was not sent' in str(e.value)
    assert 'nova-docker-root/u:1' in str(e.value)


@pytest.mark.parametrize('info', [None, '', 'not json', '{}', '[]'])
def test_disk_info_without_a_root_image_is_a_clear_fault(info):
    with pytest.raises(exception.MigrationError) as e:
        migration.root_image(None, None, info, 'engine-a', None)
    assert 'no root image' in str(e.value)


@pytest.mark.parametrize('labels,expected', [
    (None, 0), ({}, 0), ({migration.COMMITTED_LABEL: '5242880'}, 5242880),
    ({migration.COMMITTED_LABEL: 'junk'}, 0)])
def test_committed_bytes_from_the_images_labels(labels, expected):
    assert expected == migration.committed_bytes({'Config': {
        'Labels': labels}})


def make_flavor(root_gb):
    return objects.Flavor(root_gb=root_gb, name='f')


def test_the_root_disk_left_after_a_move():
    assert {'storage_opt': {'size': '2G'}} == flavor.root_disk(
        make_flavor(2), True)
    left = flavor.root_disk(make_flavor(2), True, committed=2 ** 30)
    assert {'storage_opt': {'size': str(2 ** 30)}} == left
    # Never nothing: the engine takes 0 for "no limit".
    assert {'storage_opt': {'size': str(2 ** 20)}} == flavor.root_disk(
        make_flavor(1), True, committed=2 ** 30)
    assert {} == flavor.root_disk(make_flavor(0), True, committed=2 ** 30)
    assert {} == flavor.root_disk(make_flavor(2), False, committed=2 ** 30)


def test_the_chain_id_of_layers():
    assert 'sha256:a' == migration.chain_id(['sha256:a'])
    assert migration.chain_id(['sha256:a', 'sha256:b']) == (
        'sha256:' + hashlib.sha256(b'sha256:a sha256:b').hexdigest())


class FakeApi:
    """The engine's images: inspect and save."""

    def __init__(self, images):
        self.inspected = images
        self.saved = SAVE

    def inspect_image(self, reference):
        try:
            return self.inspected[reference]
        except KeyError:
            raise docker.errors.ImageNotFound(reference)

    def get_image(self, reference):
        assert reference == ROOT
        return tarballs.chunks(self.saved)


class FakeGlance:
    def __init__(self, images):
        self.images = images
        self.uploads = {}

    def get(self, context, image_id):
        if image_id not in self.images:
            raise exception.ImageNotFound(image_id=image_id)
        return self.images[image_id]

    def create(self, context, meta):
        self.images['sent'] = meta
        return {'id': 'sent'}

    def update(self, context, image_id, meta, data, purge_props):
        # As glanceclient reads it.
        self.uploads[image_id] = b''.join(
            iter(lambda: data.read(65536), b''))


def layers(diff_ids):
    return {'RootFS': {'Layers': diff_ids}}


@pytest.fixture
def source(tmp_path, monkeypatch):
    """An engine that holds a root image made on its copy of the
    instance's Glance image, which Glance holds."""
    fixture = config_fixture.Config(migration.CONF)
    fixture.setUp()
    fixture.config(instances_path=str(tmp_path / 'instances'))
    client = type('Client', (), {})()
    client.api = FakeApi({ROOT: layers(ROOT_LAYERS),
                          image.cache_ref(GLANCE_IMAGE): layers(BASE_LAYERS)})
    glance = FakeGlance({GLANCE_IMAGE: {'status': 'active'}})
    monkeypatch.setattr(image, 'IMAGE_API', glance)
    instance = objects.Instance(uuid=UUID, image_ref=GLANCE_IMAGE,
                                system_metadata={})
    monkeypatch.setattr(objects.Instance, 'save', lambda self: None)
    yield client, glance, instance
    fixture.cleanUp()


def sent(source):
    client, glance, instance = source
    assert 'sent' == migration.send_root(None, client, ROOT, instance)
    assert 'sent' == instance.system_metadata[migration.SENT_KEY]
    return glance.images['sent']['properties'], glance.uploads['sent']


def test_the_layers_of_the_glance_image_stay_behind(source):
    properties, data = sent(source)
    assert {migration.MOVE_PROPERTY: UUID,
            migration.BASE_PROPERTY: GLANCE_IMAGE,
            migration.BASE_CHAIN_PROPERTY: migration.chain_id(BASE_LAYERS)
            } == properties
    members, _ = tarballs.members_of(data)
    assert tarballs.layer_dir(2) + '/layer.tar' in members
    assert not {tarballs.layer_dir(n) for n in range(2)} & set(members)
    assert 'manifest.json' in members


def test_how_much_went_is_logged(source, caplog):
    caplog.set_level('INFO', logger=migration.__name__)
    _, data = sent(source)
    assert '%d bytes of its %d-byte "docker save", 2 of its 3 layers ' \
        'left out' % (len(data), len(SAVE)) in caplog.text


def whole(source):
    properties, data = sent(source)
    assert {migration.MOVE_PROPERTY: UUID} == properties
    assert SAVE == data


def test_a_glance_image_gone_sends_everything(source):
    source[1].images.clear()
    whole(source)


def test_a_glance_image_not_active_sends_everything(source):
    source[1].images[GLANCE_IMAGE]['status'] = 'deactivated'
    whole(source)


def test_a_glance_image_not_cached_sends_everything(source):
    del source[0].api.inspected[image.cache_ref(GLANCE_IMAGE)]
    whole(source)


def test_a_server_of_a_volume_sends_everything(source):
    source[2].image_ref = ''
    whole(source)


def test_a_root_image_not_made_on_the_cached_one_sends_everything(source):
    source[0].api.inspected[image.cache_ref(GLANCE_IMAGE)] = layers(
        ['sha256:' + 'f' * 64] + BASE_LAYERS[1:])
    whole(source)


def test_a_guest_that_repeats_every_base_layer_sends_everything(source):
    source[0].api.inspected[ROOT] = layers(BASE_LAYERS * 2)
    whole(source)


def test_a_base_layer_the_guest_repeats_goes(source):
    # The guest's layer repeats the base's first one: docker save links it
    # to the base's file, which must go then.
    source[0].api.inspected[ROOT] = layers(BASE_LAYERS + BASE_LAYERS[:1])
    source[0].api.saved = tarballs.saved_layers([
        (tarballs.layer_dir(0), BASE_DATA[0]),
        (tarballs.layer_dir(1), BASE_DATA[1]),
        (tarballs.layer_dir(2), tarballs.layer_dir(0))])
    _, data = sent(source)
    members, _ = tarballs.members_of(data)
    assert {tarballs.layer_dir(0) + '/layer.tar',
            tarballs.layer_dir(2) + '/layer.tar'} < set(members)
    assert tarballs.layer_dir(1) + '/layer.tar' not in members


class Destination:
    """The destination's engine and image loads."""

    def __init__(self, base_layers):
        self.base_layers = base_layers
        self.calls = []
        self.api = self

    def inspect_image(self, engine_id):
        assert engine_id == 'cached-base'
        return layers(self.base_layers)

    def ensure_cached(self, context, client, image_id):
        self.calls.append(('ensure_cached', image_id,
                           image_id in image._pins))
        if self.base_layers is None:
            raise exception.ImageNotFound(image_id=image_id)
        return 'cached-base'

    def load(self, context, client, image_id, reference):
        self.calls.append(('load', image_id, GLANCE_IMAGE in image._pins))


@pytest.fixture
def destination(monkeypatch):
    def make(base_layers=BASE_LAYERS, properties=None):
        if properties is None:
            properties = {migration.BASE_PROPERTY: GLANCE_IMAGE,
                          migration.BASE_CHAIN_PROPERTY:
                          migration.chain_id(BASE_LAYERS)}
        monkeypatch.setattr(image, 'IMAGE_API', FakeGlance({
            'sent': {'properties': properties}}))
        engine = Destination(base_layers)
        monkeypatch.setattr(image, 'ensure_cached', engine.ensure_cached)
        monkeypatch.setattr(image, 'load', engine.load)
        return engine
    return make


def receive(engine):
    info = migration.disk_info(ROOT, 'engine-a', 'sent')
    return migration.root_image(None, engine, info, 'engine-b',
                                objects.Instance(uuid=UUID))


def test_the_destination_loads_the_base_before_the_guests_layers(
        destination):
    engine = destination()
    assert ROOT == receive(engine)
    # Both under the cache cleanup's pin of the base.
    assert [('ensure_cached', GLANCE_IMAGE, True),
            ('load', 'sent', True)] == engine.calls
    assert not image._pins


def test_a_whole_root_image_needs_no_base(destination):
    engine = destination(properties={})
    assert ROOT == receive(engine)
    assert [('load', 'sent', False)] == engine.calls


def test_a_base_the_destination_cannot_load_is_a_clear_fault(destination):
    engine = destination(base_layers=None)
    with pytest.raises(exception.MigrationError) as e:
        receive(engine)
    assert 'sent without the layers of Glance image %s, which this host ' \
        'could not load' % GLANCE_IMAGE in str(e.value)
    assert [call[0] for call in engine.calls] == ['ensure_cached']


def test_a_base_with_other_layers_is_a_clear_fault(destination):
    engine = destination(base_layers=BASE_LAYERS[:1])
    with pytest.raises(exception.MigrationError) as e:
        receive(engine)
    assert "this host's copy of that image has other layers" in str(e.value)
    assert [call[0] for call in engine.calls] == ['ensure_cached']

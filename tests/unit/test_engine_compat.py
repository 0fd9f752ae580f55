"""Podman's answers made Docker's (novadocker.engine_compat)."""

import datetime
import json
import os
import resource
import socket
import time
from unittest import mock

import docker
from nova import exception
import pytest
import requests.exceptions

from novadocker import engine_compat

UNTAGGED_ID = 'sha256:' + 'ab' * 32
PODMAN_VERSION = {'Components': [
    {'Name': 'Podman Engine', 'Version': '4.3.1'},
    {'Name': 'Conmon', 'Version': 'conmon version 2.1.6'}]}
DOCKER_VERSION = {'Components': [
    {'Name': 'Engine', 'Version': '20.10.24+dfsg1'},
    {'Name': 'containerd', 'Version': '1.6.20~ds1'}]}


@pytest.fixture
def podman():
    """A PodmanAPIClient whose requests never leave the process."""
    with mock.patch.object(docker.APIClient, 'version',
                           return_value=PODMAN_VERSION):
        client = engine_compat.PodmanAPIClient(
            base_url='unix:///nonexistent.sock', version='1.41',
            rlimits={'nofile': (20000, 20000), 'nproc': (32768, 32768)})
    yield client
    client.close()


@pytest.mark.parametrize('version, kind', [
    (PODMAN_VERSION, engine_compat.PODMAN),
    (DOCKER_VERSION, engine_compat.DOCKER),
    # Old engines name no components.
    ({'Version': '19.03.15'}, engine_compat.DOCKER),
])
def test_the_version_answer_tells_the_engine(version, kind):
    assert kind == engine_compat.kind_of(version)


@pytest.mark.parametrize('podman_name, docker_name', [
    ('docker.io/library/novadocker-test:guest', 'novadocker-test:guest'),
    ('docker.io/glance/6f1c:latest', 'glance/6f1c:latest'),
    ('localhost/nova-docker-sandbox:0123abcd', 'nova-docker-sandbox:0123abcd'),
    ('docker.io/library/a/b:1', 'library/a/b:1'),
    ('registry.example:5000/glance/x:latest',
     'registry.example:5000/glance/x:latest'),
    ('glance/x@sha256:' + 'cd' * 32, 'glance/x@sha256:' + 'cd' * 32),
])
def test_names_lose_the_registry_podman_puts_before_them(podman_name,
                                                         docker_name):
    assert docker_name == engine_compat.familiar(podman_name)


@pytest.mark.parametrize('pattern, reference, matches', [
    ('glance/*', 'docker.io/glance/6f1c:latest', True),
    ('glance/*', 'docker.io/library/novadocker-test:guest', False),
    # As Go's path.Match: a star stops at a slash.
    ('glance/*', 'docker.io/glance/a/b:latest', False),
    ('nova-docker-root/9f2e', 'docker.io/nova-docker-root/9f2e:move-1', True),
    ('nova-docker-root/9f2e', 'docker.io/nova-docker-root/9f2ef:move-1',
     False),
    ('novadocker-test:guest', 'docker.io/library/novadocker-test:guest', True),
    ('novadocker-test:guest', 'docker.io/library/novadocker-test:init',
     False),
])
def test_the_reference_filter_matches_as_dockers(pattern, reference,
                                                 matches):
    assert matches == engine_compat.reference_matches(pattern, reference)


def test_images_are_filtered_by_reference_here(podman):
    listed = [
        {'Id': 'sha256:1', 'RepoTags': ['docker.io/glance/a:latest']},
        {'Id': 'sha256:2', 'RepoTags': ['docker.io/library/other:1']},
        {'Id': 'sha256:3', 'RepoTags': None},
        {'Id': 'sha256:4', 'RepoTags': ['docker.io/nova-docker-root/u:m1',
                                        'docker.io/glance/b:latest']},
    ]
    with mock.patch.object(docker.APIClient, 'images',
                           return_value=listed) as images:
        found = podman.images(filters={'reference': 'glance/*',
                                       'dangling': False})
        # The rest of the filters still go to the engine.
        images.assert_called_once_with(all=False,
                                       filters={'dangling': False})
        assert [['glance/a:latest'],
                ['nova-docker-root/u:m1', 'glance/b:latest']] == [
            s['RepoTags'] for s in found]
        assert ['sha256:4'] == podman.images(name='nova-docker-root/u',
                                             quiet=True)


def test_inspected_image_names_are_dockers(podman):
    with mock.patch.object(docker.APIClient, 'inspect_image', return_value={
            'Id': UNTAGGED_ID,
            'RepoTags': ['docker.io/glance/a:latest'],
            'RepoDigests': ['docker.io/glance/a@sha256:' + 'ef' * 32]}):
        attrs = podman.inspect_image('glance/a:latest')
    assert ['glance/a:latest'] == attrs['RepoTags']
    assert ['glance/a@sha256:' + 'ef' * 32] == attrs['RepoDigests']


def test_an_import_is_tagged_as_asked(podman):
    answer = json.dumps({'status': UNTAGGED_ID, 'id': UNTAGGED_ID}) + '\n'
    with mock.patch.object(docker.APIClient, 'import_image_from_data',
                           return_value=answer) as imported, \
            mock.patch.object(docker.APIClient, 'tag') as tag:
        podman.import_image_from_data(b'tar', repository='nova-docker-sandbox',
                                      tag='0123abcd', changes=['CMD ["x"]'])
    # Untagged: Podman would name it nova-docker-sandbox:latest.
    imported.assert_called_once_with(b'tar', changes=['CMD ["x"]'])
    tag.assert_called_once_with(UNTAGGED_ID, 'nova-docker-sandbox',
                                '0123abcd', force=True)


@pytest.mark.parametrize('podman_said, docker_says', [
    ('Loaded image: ' + UNTAGGED_ID + '\n',
     ['Loaded image ID: ' + UNTAGGED_ID + '\n']),
    ('Loaded image: ' + 'ab' * 32 + '\n',
     ['Loaded image ID: ' + UNTAGGED_ID + '\n']),
    ('Loaded image: docker.io/library/x:1,docker.io/glance/y:latest\n',
     ['Loaded image: x:1\n', 'Loaded image: glance/y:latest\n']),
])
def test_load_answers_are_worded_as_dockers(podman, podman_said,
                                            docker_says):
    with mock.patch.object(docker.APIClient, 'load_image',
                           return_value=iter([{'stream': podman_said}])):
        assert [{'stream': s} for s in docker_says] == list(
            podman.load_image(b'tar'))


def test_load_errors_pass_unchanged(podman):
    error = {'errorDetail': {'message': 'payload does not match'},
             'error': 'payload does not match'}
    with mock.patch.object(docker.APIClient, 'load_image',
                           return_value=iter([error])):
        assert [error] == list(podman.load_image(b'tar'))


def test_event_filters_and_events_use_each_engines_names():
    assert {'type': 'container', 'event': ['start', 'died', 'oom']} == (
        engine_compat.translate_event_filters(
            {'type': 'container', 'event': ['start', 'die', 'oom']}))
    assert {'event': ['died']} == engine_compat.translate_event_filters(
        {'event': 'die'})
    assert {'label': 'x'} == engine_compat.translate_event_filters(
        {'label': 'x'})
    assert {'Action': 'die', 'status': 'die'} == (
        engine_compat.translate_event({'Action': 'died', 'status': 'died'}))


class FakeStream:

    def __init__(self, events):
        self.events = events
        self.closed = False

    def __iter__(self):
        return iter(self.events)

    def close(self):
        self.closed = True


def test_a_window_that_ended_is_read_up_to_now(podman):
    since = time.time() - 10
    until = since + 0.2
    inside = {'Action': 'died', 'timeNano': int((since + 0.1) * 1e9)}
    after = {'Action': 'start', 'timeNano': int((since + 5) * 1e9)}
    stream = FakeStream([inside, after])
    with mock.patch.object(docker.APIClient, 'events',
                           return_value=stream) as events:
        found = podman.events(since='%.6f' % since, until='%.6f' % until,
                              decode=True, filters={'event': 'die'})
        assert [{'Action': 'die', 'timeNano': inside['timeNano']}] == list(
            found)
    asked = events.call_args.kwargs
    # Podman answers nothing for a window in the past.
    assert float(asked['until']) >= time.time() - 1
    assert {'event': ['died']} == asked['filters']
    found.close()
    assert stream.closed


def test_an_open_stream_is_not_bounded(podman):
    stream = FakeStream([{'Action': 'start', 'timeNano': 1}])
    with mock.patch.object(docker.APIClient, 'events',
                           return_value=stream) as events:
        assert [{'Action': 'start', 'timeNano': 1}] == list(
            podman.events(decode=True))
    assert events.call_args.kwargs['until'] is None


def test_containers_get_dockers_capabilities_and_the_engines_limits():
    rlimits = {'nofile': (20000, 20000), 'nproc': (32768, 32768)}
    host = engine_compat.add_docker_defaults(
        {'CapAdd': ['SYS_BOOT', 'CAP_NET_RAW'],
         'Ulimits': [{'Name': 'nofile', 'Soft': 10, 'Hard': 10}]}, rlimits)
    assert ['SYS_BOOT', 'CAP_NET_RAW', 'AUDIT_WRITE', 'MKNOD'] == (
        host['CapAdd'])
    # What the caller set stays.
    assert [{'Name': 'nofile', 'Soft': 10, 'Hard': 10},
            {'Name': 'nproc', 'Soft': 32768, 'Hard': 32768}] == (
        host['Ulimits'])


def test_a_container_without_capabilities_gets_none_back():
    host = engine_compat.add_docker_defaults(
        {'CapDrop': ['ALL']}, {'nofile': (1024, 4096)})
    assert 'CapAdd' not in host
    assert [{'Name': 'nofile', 'Soft': 1024, 'Hard': 4096}] == host['Ulimits']


def test_a_dropped_capability_is_not_added_back():
    host = engine_compat.add_docker_defaults({'CapDrop': ['MKNOD']}, {})
    assert ['AUDIT_WRITE', 'NET_RAW'] == host['CapAdd']


def test_a_container_on_anothers_network_gets_its_host_name(podman):
    with mock.patch.object(docker.APIClient, 'inspect_container',
                           return_value={'Config': {'Hostname': 'web-1'}}
                           ) as inspect, \
            mock.patch.object(docker.APIClient,
                              'create_container_from_config',
                              return_value={'Id': 'c1'}) as create:
        podman.create_container_from_config(
            {'Image': 'x', 'HostConfig': {'NetworkMode': 'container:s1'}},
            'nova-1')
    inspect.assert_called_once_with('s1')
    config = create.call_args.args[0]
    assert 'web-1' == config['Hostname']
    assert 'container:s1' == config['HostConfig']['NetworkMode']


def test_a_tail_keeps_lines_printed_in_parts(podman):
    whole = b'Starting syslogd: OK\nStarting acpid: OK\nlast\n'
    with mock.patch.object(docker.APIClient, 'logs',
                           return_value=whole) as logs:
        assert b'Starting acpid: OK\nlast\n' == podman.logs(
            'c1', stdout=True, stderr=True, tail=2)
    assert 'all' == logs.call_args.kwargs['tail']


def test_the_limits_of_a_process_are_read_as_the_kernel_has_them():
    found = engine_compat.process_rlimits(os.getpid())
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == tuple(
        resource.RLIM_INFINITY if v == -1 else v for v in found['nofile'])
    assert resource.getrlimit(resource.RLIMIT_NPROC) == tuple(
        resource.RLIM_INFINITY if v == -1 else v for v in found['nproc'])


def test_the_limits_are_those_of_the_process_behind_the_socket(tmp_path):
    path = str(tmp_path / 'engine.sock')
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        with mock.patch.object(engine_compat, 'process_rlimits',
                               return_value={'nofile': (1, 2),
                                             'nproc': (3, 4)}) as read:
            assert {'nofile': (1, 2), 'nproc': (3, 4)} == (
                engine_compat.engine_rlimits('unix://' + path))
    read.assert_called_once_with(os.getpid())


@pytest.mark.parametrize('url, about_an_image', [
    ('http+docker://localhost/v1.41/images/glance/6f1c?force=True', True),
    ('http+docker://localhost/v1.41/images/novadocker-test:guest/json',
     True),
    ('http+docker://localhost/v1.41/images/sha256:ab/get', True),
    ('http+docker://localhost/v1.41/images/json?all=0', False),
    ('http+docker://localhost/v1.41/images/load?quiet=1', False),
    ('http+docker://localhost/v1.41/containers/nova-1/json', False),
])
def test_requests_about_one_image_are_told_apart(url, about_an_image):
    assert about_an_image == engine_compat.is_image_url(url)


def test_a_missing_image_is_image_not_found(podman):
    response = mock.Mock(status_code=404, url='http+docker://localhost/'
                         'v1.41/images/glance/6f1c?force=True&noprune=False')
    response.raise_for_status.side_effect = requests.exceptions.HTTPError(
        response=response)
    response.json.return_value = {
        'message': 'glance/6f1c: image not known'}
    with pytest.raises(docker.errors.ImageNotFound):
        podman._raise_for_status(response)
    response.url = 'http+docker://localhost/v1.41/containers/nova-1/json'
    with pytest.raises(docker.errors.NotFound) as raised:
        podman._raise_for_status(response)
    assert not isinstance(raised.value, docker.errors.ImageNotFound)


def _window_with_a_late_die(podman, noticed, ended):
    """The actions of a 0.2 s window of events, when Podman reports a die
    ``noticed`` seconds after the window's start, of a process that ended
    ``ended`` seconds after it; and the inspect mock."""
    since = time.time() - 10
    late = {'Action': 'died', 'id': 'c1',
            'timeNano': int((since + noticed) * 1e9)}
    end = datetime.datetime.fromtimestamp(since + ended,
                                          datetime.timezone.utc)
    with mock.patch.object(docker.APIClient, 'events',
                           return_value=FakeStream([late])), \
            mock.patch.object(docker.APIClient, 'inspect_container',
                              return_value={'State': {
                                  'FinishedAt': end.isoformat().replace(
                                      '+00:00', 'Z')}}) as inspect:
        found = podman.events(since='%.6f' % since,
                              until='%.6f' % (since + 0.2), decode=True)
        return [e['Action'] for e in found], inspect


def test_a_die_counts_from_the_end_of_the_process(podman):
    # Podman noticed the end 0.3 s late: the process ended in the window.
    actions, inspect = _window_with_a_late_die(podman, 0.5, 0.1)
    assert ['die'] == actions
    inspect.assert_called_once_with('c1')


def test_a_die_after_the_window_does_not_count(podman):
    # The window asked of Podman ends later than the caller's.
    actions, _ = _window_with_a_late_die(podman, 3, 2.9)
    assert [] == actions


@pytest.mark.parametrize('podman_state, docker_status', [
    ({'Status': 'stopped', 'Running': False}, 'exited'),
    ({'Status': 'configured', 'Running': False}, 'created'),
    ({'Status': 'initialized', 'Running': False}, 'created'),
    ({'Status': 'stopping', 'Running': True}, 'running'),
    ({'Status': 'stopping', 'Running': False}, 'exited'),
    ({'Status': 'paused', 'Running': True, 'Paused': True}, 'paused'),
    ({'Status': 'exited', 'Running': False}, 'exited'),
])
def test_container_states_have_dockers_names(podman_state, docker_status):
    assert docker_status == engine_compat.translate_state(
        dict(podman_state))['Status']


@pytest.mark.parametrize('stamp, seconds', [
    ('2026-12-07T10:51:27.404008945Z', 1796640687.404008945),
    ('2026-12-07T10:51:27Z', 1796640687.0),
    ('2026-12-07T11:51:27.5+01:00', 1796640687.5),
])
def test_engine_times_with_nanoseconds(stamp, seconds):
    assert seconds == pytest.approx(engine_compat.parse_time(stamp),
                                    abs=1e-6)


def test_a_docker_engine_gets_docker_pys_own_client():
    with mock.patch.object(docker.APIClient, 'version',
                           return_value=DOCKER_VERSION):
        client, kind = engine_compat.connect('unix:///nonexistent.sock',
                                             '1.41', 5)
    assert engine_compat.DOCKER == kind
    assert type(client.api) is docker.APIClient


def test_a_podman_engine_gets_the_translating_client():
    with mock.patch.object(docker.APIClient, 'version',
                           return_value=PODMAN_VERSION), \
            mock.patch.object(engine_compat, 'engine_rlimits',
                              return_value={'nofile': (1, 2)}):
        client, kind = engine_compat.connect('unix:///nonexistent.sock',
                                             '1.41', 5)
    assert engine_compat.PODMAN == kind
    assert isinstance(client.api, engine_compat.PodmanAPIClient)
    assert {'nofile': (1, 2)} == client.api.rlimits


def test_the_engine_named_in_the_options_must_be_the_one_that_answers():
    with mock.patch.object(docker.APIClient, 'version',
                           return_value=PODMAN_VERSION):
        error = pytest.raises(
            exception.NovaException, engine_compat.connect,
            'unix:///nonexistent.sock', '1.41', 5, kind='docker').value
    assert ('[docker] engine is docker but the engine at '
            'unix:///nonexistent.sock is podman' in str(error))


@pytest.mark.parametrize('mappings, ids', [
    ({'UidMap': ['0:2147483647:65536'], 'GidMap': ['0:2147483647:65536']},
     (2147483647, 2147483647, 65536)),
    # Ranges in parts: the one that maps 0, and the smaller count.
    ({'UidMap': ['1:300001:999', '0:300000:1'],
      'GidMap': ['0:400000:500']}, (300000, 400000, 1)),
    # Not in a user namespace of its own.
    ({}, None),
    (None, None),
    ({'UidMap': ['0:100000:65536'], 'GidMap': []}, None),
    ({'UidMap': ['1:100000:65536'], 'GidMap': ['0:100000:65536']}, None),
])
def test_the_host_ids_of_a_containers_root(mappings, ids):
    assert ids == engine_compat.root_ids(mappings)

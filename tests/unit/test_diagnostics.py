"""Diagnostics from the engine's and the kernel's figures."""

import types

import docker.errors
from nova.compute import power_state
from nova import exception
from nova.network import model
from nova import objects
import pytest

from novadocker import diagnostics

objects.register_all()

NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    \
packets errs drop fifo colls carrier compressed
    lo:    3709      38    0    0    0     0          0         0     3709 \
     38    0    0    0     0       0          0
tap1f2e3d4c-5b: 1000 10 1 2 0 0 0 0 50000 40 3 4 0 0 0 0
garbage line
"""


def test_net_dev_counters_per_device():
    devices = diagnostics.parse_net_dev(NET_DEV)
    assert set(devices) == {'lo', 'tap1f2e3d4c-5b'}
    assert devices['tap1f2e3d4c-5b'] == {
        'rx_octets': 1000, 'rx_packets': 10, 'rx_errors': 1, 'rx_drop': 2,
        'tx_octets': 50000, 'tx_packets': 40, 'tx_errors': 3, 'tx_drop': 4}


def test_guest_receives_what_the_host_end_sends():
    host_end = diagnostics.parse_net_dev(NET_DEV)['tap1f2e3d4c-5b']
    assert diagnostics.guest_view(host_end) == {
        'rx_octets': 50000, 'rx_packets': 40, 'rx_errors': 3, 'rx_drop': 4,
        'tx_octets': 1000, 'tx_packets': 10, 'tx_errors': 1, 'tx_drop': 2}


def test_memory_used_leaves_out_inactive_file_cache():
    # cgroup v1 names the whole hierarchy's total_inactive_file
    assert diagnostics.memory_used({'usage': 5000, 'stats': {
        'inactive_file': 100, 'total_inactive_file': 1000}}) == 4000
    # cgroup v2
    assert diagnostics.memory_used({'usage': 5000, 'stats': {
        'inactive_file': 1000}}) == 4000
    # Counters read at other moments may disagree: usage stays.
    assert diagnostics.memory_used({'usage': 5000, 'stats': {
        'inactive_file': 6000}}) == 5000
    assert diagnostics.memory_used({}) is None


def test_mib():
    assert diagnostics.mib(128 * 2**20) == 128
    assert diagnostics.mib(1) == 0
    assert diagnostics.mib(1, round_up=True) == 1
    assert diagnostics.mib(0, round_up=True) == 0
    assert diagnostics.mib(None) is None


def sample(**changes):
    port = {'mac': 'fa:16:3e:00:00:01', 'device': 'tap1f2e3d4c-5b',
            'counters': diagnostics.guest_view(
                diagnostics.parse_net_dev(NET_DEV)['tap1f2e3d4c-5b'])}
    result = {'state': power_state.RUNNING, 'uptime': 42, 'vcpus': 2,
              'cpu_time': 123456789, 'memory_max': 256 * 2**20,
              'memory_used': 10 * 2**20 + 1, 'ports': [port],
              'config_drive': False}
    result.update(changes)
    return result


def test_standard_format():
    diags = diagnostics.standard(sample())
    assert (diags.state, diags.hypervisor, diags.hypervisor_os,
            diags.uptime, diags.config_drive) == (
        'running', 'docker', 'linux', 42, False)
    assert not diags.obj_attr_is_set('driver')
    assert (diags.memory_details.maximum, diags.memory_details.used) == (
        256, 11)
    [cpu] = diags.cpu_details
    assert (cpu.id, cpu.time) == (None, 123456789)
    assert (diags.num_cpus, diags.num_nics, diags.num_disks) == (2, 1, 0)
    [nic] = diags.nic_details
    assert (nic.mac_address, nic.rx_octets, nic.tx_octets, nic.rx_drop) == (
        'fa:16:3e:00:00:01', 50000, 1000, 4)


def test_config_drive_as_the_container_has_it():
    assert diagnostics.standard(sample(config_drive=True)).config_drive
    assert diagnostics.has_config_drive({'Mounts': [
        {'Destination': '/etc/resolv.conf'},
        {'Destination': '/config-drive', 'Type': 'bind'}]})
    assert not diagnostics.has_config_drive({'Mounts': [
        {'Destination': '/etc/resolv.conf'}]})
    assert not diagnostics.has_config_drive({'Mounts': None})


def test_stopped_container():
    stopped = sample(state=power_state.SHUTDOWN, uptime=0, cpu_time=None,
                     memory_used=0,
                     ports=[{'mac': 'fa:16:3e:00:00:01',
                             'device': 'tap1f2e3d4c-5b', 'counters': {}}])
    diags = diagnostics.standard(stopped)
    assert diags.state == 'shutdown'
    assert diags.cpu_details == []
    assert diags.num_cpus == 2
    assert diags.memory_details.used == 0
    [nic] = diags.nic_details
    assert (nic.mac_address, nic.rx_octets) == ('fa:16:3e:00:00:01', None)
    legacy = diagnostics.legacy(stopped)
    assert legacy == {'memory': 256 * 1024, 'memory-used': 0, 'uptime': 0}


def test_legacy_format_with_libvirts_names():
    assert diagnostics.legacy(sample()) == {
        'memory': 256 * 1024, 'memory-used': 10 * 1024, 'uptime': 42,
        'cpu_time': 123456789,
        'tap1f2e3d4c-5b_rx': 50000, 'tap1f2e3d4c-5b_rx_packets': 40,
        'tap1f2e3d4c-5b_rx_errors': 3, 'tap1f2e3d4c-5b_rx_drop': 4,
        'tap1f2e3d4c-5b_tx': 1000, 'tap1f2e3d4c-5b_tx_packets': 10,
        'tap1f2e3d4c-5b_tx_errors': 1, 'tap1f2e3d4c-5b_tx_drop': 2}


class FakeAPI:
    api_version = '1.41'

    def __init__(self, answer):
        self.answer = answer

    def stats(self, container_id, stream, one_shot):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class FakeContainer:
    id = short_id = 'c0ffee'

    def __init__(self, **state):
        self.attrs = {'State': dict(state, StartedAt='2026-01-01T00:00:00Z'),
                      'HostConfig': {'Memory': 256 * 2**20}}


def instance():
    vif = model.VIF(id='1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9',
                    address='fa:16:3e:00:00:01',
                    devname='tap1f2e3d4c-5b')
    return objects.Instance(
        uuid='0b9c2e0e-59c5-4c4e-a8a1-0a3b0d1e2f30',
        flavor=objects.Flavor(vcpus=2),
        info_cache=objects.InstanceInfoCache(
            network_info=model.NetworkInfo([vif])))


def measure(answer, tmp_path, monkeypatch, **state):
    net_dev = tmp_path / 'dev'
    net_dev.write_text(NET_DEV)
    monkeypatch.setattr(diagnostics, 'NET_DEV', str(net_dev))
    client = types.SimpleNamespace(api=FakeAPI(answer))
    return diagnostics.measure(client, FakeContainer(**state), instance(),
                               power_state.RUNNING)


def test_engine_without_figures_gives_unknown_not_zero(tmp_path,
                                                       monkeypatch):
    # What dockerd answers when it cannot read the cgroups.
    zeros = {'cpu_stats': {'cpu_usage': {'total_usage': 0}},
             'memory_stats': {}}
    sample = measure(zeros, tmp_path, monkeypatch, Running=True)
    assert (sample['cpu_time'], sample['memory_used']) == (None, None)
    assert sample['memory_max'] == 256 * 2**20
    # The ports are counted all the same.
    [port] = sample['ports']
    assert port['counters']['rx_octets'] == 50000


def test_container_gone_meanwhile_is_instance_not_found(tmp_path,
                                                        monkeypatch):
    with pytest.raises(exception.InstanceNotFound):
        measure(docker.errors.NotFound('gone'), tmp_path, monkeypatch,
                Running=True)


def test_stopped_container_is_not_asked_for_stats(tmp_path, monkeypatch):
    sample = measure(AssertionError('no stats of a stopped container'),
                     tmp_path, monkeypatch, Running=False)
    assert (sample['cpu_time'], sample['memory_used'], sample['uptime']) == (
        None, 0, 0)
    assert sample['ports'][0]['counters'] == {}

"""The order of a start's steps (sandbox, ports, guest), pause and
suspend taking a container's ports down, and the guest's name servers.

What a tenant sees of it (no answer while paused, the same address after)
is the functional tests' (tests/functional/test_network.py); here the
order of the steps and what a failure leaves, with the engine and the
devices recorded.
"""

import types

from nova.network import model
import pytest

from novadocker import engine_compat
from novadocker import network
from novadocker import vif as vifs
from tests.unit import test_vif

PORTS = ('ce531f90-199f-48c0-816c-13e38010b442',
         '7d1f0a36-5b2e-4c4a-9f0e-2b8f5a6c1d93')


class Recorder:
    def __init__(self, fail_down=False):
        self.steps = []
        self.fail_down = fail_down


class FakeContainer:
    def __init__(self, recorder, paused=False):
        self.recorder = recorder
        self.attrs = {'State': {'Running': True, 'Paused': paused,
                                'Pid': 4242},
                      'HostConfig': {}}

    def reload(self):
        pass

    def pause(self):
        self.recorder.steps.append('pause')
        self.attrs['State']['Paused'] = True

    def unpause(self):
        self.recorder.steps.append('unpause')
        self.attrs['State']['Paused'] = False


class FakeVIFDriver:
    def __init__(self, recorder, present=()):
        self.recorder = recorder
        self.present = present

    def set_up(self, vif, up):
        if not up and self.recorder.fail_down and vif['id'] == PORTS[1]:
            raise RuntimeError('netlink said no')
        self.recorder.steps.append(('up' if up else 'down', vif['id']))

    def container_links(self, pid):
        return {'fa:16:3e:00:00:%02d' % n: 'eth%d' % n
                for n in range(len(self.present))}

    def plug(self, instance, vif, pid, ifname, position):
        self.recorder.steps.append(('plug', vif['id']))


class FakeInstance:
    uuid = '2b1c4c3e-8d1f-4c52-9a55-0f8e3a1d7c60'
    hostname = 'guest'

    def __init__(self, ports=PORTS):
        self.network_info = [
            {'id': port, 'address': 'fa:16:3e:00:00:%02d' % n}
            for n, port in enumerate(ports)]

    def get_network_info(self):
        return self.network_info


class FakeSandboxes:
    """The instance's sandbox, stopped until started."""

    def __init__(self, recorder):
        self.recorder = recorder
        self.sandbox = None

    def find(self, instance_uuid):
        return self.sandbox

    def running(self, instance_uuid, guest):
        self.recorder.steps.append('sandbox')
        self.sandbox = FakeContainer(self.recorder)
        return self.sandbox, True


def instance_network(recorder, present=()):
    net = network.InstanceNetwork(None, None)
    net.vif_driver = FakeVIFDriver(recorder, present)
    net.sandboxes = FakeSandboxes(recorder)
    return net


def test_pause_freezes_first_then_takes_every_port_down():
    recorder = Recorder()
    net = instance_network(recorder)
    container = FakeContainer(recorder)
    net.freeze(FakeInstance(), container)
    assert ['pause', ('down', PORTS[0]), ('down', PORTS[1])] == \
        recorder.steps


def test_unpause_brings_the_ports_up_before_the_guest_runs():
    recorder = Recorder()
    net = instance_network(recorder)
    net.thaw(FakeInstance(), FakeContainer(recorder, paused=True))
    assert [('up', PORTS[0]), ('up', PORTS[1]), 'unpause'] == \
        recorder.steps


def test_a_port_that_cannot_go_down_leaves_the_server_running():
    recorder = Recorder(fail_down=True)
    net = instance_network(recorder)
    container = FakeContainer(recorder)
    with pytest.raises(RuntimeError):
        net.freeze(FakeInstance(), container)
    # Nova keeps the server ACTIVE: it runs, with its ports up.
    assert ['pause', ('down', PORTS[0]), ('up', PORTS[0]),
            ('up', PORTS[1]), 'unpause'] == recorder.steps
    assert not container.attrs['State']['Paused']


@pytest.mark.parametrize('paused,state', [(False, 'up'), (True, 'down')])
def test_plug_leaves_the_ports_as_the_freeze_says(paused, state):
    # A nova-compute restart, a port attached while paused: the ports of a
    # frozen container stay down, those of a running one come up.
    recorder = Recorder()
    net = instance_network(recorder, present=PORTS[:1])
    instance = FakeInstance()
    net.plug(instance, instance.network_info,
             FakeContainer(recorder, paused=paused))
    assert [('plug', PORTS[1]), (state, PORTS[0]), (state, PORTS[1])] == \
        recorder.steps


def test_set_up_names_the_host_end_of_the_port(monkeypatch):
    calls = []
    monkeypatch.setattr(vifs.privsep, 'set_veth_up',
                        lambda name, up: calls.append((name, up)))
    vifs.VIFDriver.set_up({'id': PORTS[0], 'devname': None}, False)
    assert [('tapce531f90-19', False)] == calls


def test_a_start_plugs_the_ports_before_the_guest_runs():
    recorder = Recorder()
    net = instance_network(recorder)
    instance = FakeInstance()
    guest = FakeContainer(recorder)
    guest.attrs['State'].update(Running=False, Pid=0)
    net.start(instance, instance.network_info, guest,
              lambda: recorder.steps.append('guest'))
    assert ['sandbox', ('plug', PORTS[0]), ('plug', PORTS[1]),
            ('up', PORTS[0]), ('up', PORTS[1]), 'guest'] == recorder.steps


def test_a_start_of_a_running_guest_only_plugs_what_it_lacks():
    recorder = Recorder()
    net = instance_network(recorder, present=PORTS[:1])
    instance = FakeInstance()
    net.start(instance, instance.network_info, FakeContainer(recorder),
              lambda: recorder.steps.append('guest'))
    assert ['sandbox', ('plug', PORTS[1]), ('up', PORTS[0]),
            ('up', PORTS[1])] == recorder.steps


def test_the_sandbox_gets_the_ports_name_servers_and_ipv6():
    net = instance_network(Recorder())
    settings = net._sandbox_settings(
        FakeInstance(), model.NetworkInfo([test_vif.make_vif()]))
    assert ['10.10.0.53'] == settings['dns']
    assert '0' == settings['sysctls']['net.ipv6.conf.default.disable_ipv6']


def test_an_engine_that_writes_no_name_servers_refuses_the_ports_ones():
    net = instance_network(Recorder())
    net._writes_name_servers = False
    net.engine = types.SimpleNamespace(kind='podman')
    error = pytest.raises(
        engine_compat.Unsupported, net._sandbox_settings, FakeInstance(),
        model.NetworkInfo([test_vif.make_vif()])).value
    assert ('The name servers of the instance\'s subnets (10.10.0.53) '
            'cannot work on Podman: the engine writes no /etc/resolv.conf'
            in error.format_message())


def test_an_engine_that_writes_no_name_servers_boots_ports_without_them():
    net = instance_network(Recorder())
    net._writes_name_servers = False
    assert 'dns' not in net._sandbox_settings(FakeInstance(), [])


def test_without_ports_docker_keeps_its_resolv_conf():
    assert {} == network.dns_settings([])


def test_subnets_without_an_address_of_the_port_do_not_count():
    vif = test_vif.make_vif()
    for subnet in vif['network']['subnets']:
        subnet['ips'] = []
    assert [] == network.dns_servers([vif])


def test_ports_servers_replace_what_docker_wrote():
    assert ['10.10.0.53'] == network.nameservers(
        ['8.8.8.8', '10.10.0.53'], [test_vif.make_vif()])


def test_without_port_servers_only_dropped_ones_go():
    assert ['192.0.2.1'] == network.nameservers(
        ['192.0.2.1', '10.10.0.53'], [], dropped={'10.10.0.53'})


def test_resolv_conf_servers():
    assert ['10.0.0.1', 'fd00::1'] == network.resolv_conf_servers(
        '# nameserver 9.9.9.9\nsearch example.org\n'
        'nameserver 10.0.0.1\nnameserver  fd00::1\nnameserver\n')

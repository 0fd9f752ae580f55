"""Benchmark: boot latency of a cached image with a Neutron port.

Every boot in a cloud has a port, and there Nova waits for Neutron's
``network-vif-plugged`` before the guest starts. Three figures from one
run, interleaved boot by boot, each boot on a new port of the functional
tests' network ``a``:

- ours: this driver with its default boot check; the port plugged for real
  (os-vif into Open vSwitch, the sandbox's veth), then Neutron's event;
- fake: Nova's fake driver on a second compute service of the same harness
  (Nova's own cost, and what the harness's Neutron costs; it plugs
  nothing and waits for nothing);
- raw: ``docker create`` + ``start`` through the SDK with no network, then
  the same veth into the container and onto the switch by hand.

Neutron here is as fast as it can be: an agent that watches OVSDB, as
Neutron's OVS agent does, tags each new port with its network's VLAN and
posts the event at once (a real Neutron server batches its events to Nova,
every 2 s by default). The driver's overhead is (ours - fake) / raw, on
medians.
"""

import itertools
import json
import subprocess
import threading
import time

from nova.compute import manager
from novadocker import network
from novadocker import sandbox

from bench import harness
from bench import measure
from bench.record import RESULTS
from bench.record import say
from tests.functional import test_network

BENCH = 'boot-ports'
GOAL = 1.2
WARMUP = 2
# Host parts of the ports' addresses on network a, one a boot, reused in
# turn (one server at a time holds each).
HOST_PARTS = range(20, 250)
STEPS = harness.SPAWN_STEPS + ('sandbox', 'plug', 'neutron')
TIMES = {}


class Agent:
    """Neutron's agent and server for the bench's ports: on each new OVS
    interface of a known port, its VLAN tag, then network-vif-plugged."""

    def __init__(self, test, vlans):
        self.test = test
        self.vlans = vlans
        self.errors = []
        self.monitor = subprocess.Popen(
            ['ovsdb-client', 'monitor', test_network.OVSDB, 'Open_vSwitch',
             'Interface', 'name,external_ids', '--format=json'],
            stdout=subprocess.PIPE, text=True)
        # The first update lists the rows already there.
        self.monitor.stdout.readline()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.monitor.terminate()
        self.monitor.wait(10)
        self.thread.join(10)
        if self.errors:
            raise self.errors[0]

    def _run(self):
        for line in self.monitor.stdout:
            update = json.loads(line)
            for row in update['data']:
                fields = dict(zip(update['headings'], row))
                if fields['action'] != 'insert':
                    continue
                try:
                    self._wire(fields['name'],
                               dict(fields['external_ids'][1]))
                except Exception as e:  # raised by stop(), not lost
                    self.errors.append(e)

    def _wire(self, name, external_ids):
        port_id = external_ids.get('iface-id')
        if port_id not in self.vlans:
            return
        test_network.ovs_vsctl('set', 'Port', name,
                               'tag=%d' % self.vlans[port_id])
        if 'vm-uuid' in external_ids:
            self.test.api.create_server_external_events([{
                'name': 'network-vif-plugged',
                'server_uuid': external_ids['vm-uuid'],
                'tag': port_id, 'status': 'completed'}])


# The host's part of a port, by hand: a veth, one end the container's eth0
# with the port's MAC and address, the other on the switch with the
# network's VLAN.
RAW_PLUG = '''
set -e
ip link add "$TAP" type veth peer name "$PEER"
ip link set "$PEER" netns "$PID"
nsenter -t "$PID" -n ip link set "$PEER" name eth0 address "$MAC" up
nsenter -t "$PID" -n ip addr add "$ADDRESS" dev eth0
ovs-vsctl add-port "$BRIDGE" "$TAP" tag="$VLAN" \
    -- set Interface "$TAP" external_ids:iface-id="$PORT"
ip link set "$TAP" up
'''


class PortBootLatency(harness.BenchCase, test_network.NetworkTestCase):
    """Ours, Nova's fake driver and raw Docker, with a port each boot."""

    FAKE_HOST = 'fake-compute'

    def setUp(self):
        super().setUp()
        # The test bridge first, as os-vif makes it: the agent's monitor
        # then has rows to list in its first update, which it waits for.
        test_network.ovs_vsctl('--may-exist', 'add-br', test_network.BRIDGE,
                               '--', 'set', 'Bridge', test_network.BRIDGE,
                               'datapath_type=netdev')
        self.agent = Agent(self, self.vlans)
        self.addCleanup(self.agent.stop)
        self.parts = itertools.cycle(HOST_PARTS)

    def new_port(self):
        port_id = self.port('a', next(self.parts))
        return port_id, self.neutron._ports[port_id]

    def _boot(self, image, host):
        port_id, _ = self.new_port()
        seconds, server = self.timed_boot(image, host=host,
                                          networks=[{'port': port_id}])
        self.delete_all([server['id']])
        del self.vlans[port_id]
        return seconds

    def _raw(self, engine_image):
        port_id, port = self.new_port()
        start = time.monotonic()
        container = self.raw_create_start(engine_image, network_mode='none')
        container.reload()
        subprocess.run(['sh', '-c', RAW_PLUG], check=True, env={
            'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
            'TAP': 'tap' + port_id[:11], 'PEER': 'tin' + port_id[:11],
            'PID': str(container.attrs['State']['Pid']),
            'MAC': port['mac_address'],
            'ADDRESS': port['fixed_ips'][0]['ip_address'] + '/24',
            'BRIDGE': test_network.BRIDGE,
            'VLAN': str(self.vlans[port_id]), 'PORT': port_id})
        seconds = time.monotonic() - start
        container.remove(force=True)
        subprocess.run(['ovs-vsctl', '--if-exists', 'del-port',
                        'tap' + port_id[:11]], check=True)
        del self.vlans[port_id]
        return seconds

    def _spans(self):
        spans = harness.driver_spans(self)
        spans.wrap(sandbox.Sandboxes, 'create', 'sandbox')
        spans.wrap(network.InstanceNetwork, '_plug', 'plug')
        spans.wrap(manager.ComputeVirtAPI, '_wait_for_instance_events',
                   'neutron', static=True)
        return spans

    def test_boot_latency_with_a_port(self):
        spans = self._spans()
        engine_image = self.engine_image()
        image = self.image('guest')
        variants = (('fake', self.FAKE_HOST), ('ours', self.HOST))
        for _, host in variants:
            for _ in range(WARMUP):
                self._boot(image, host)
        self._raw(engine_image)
        spans.seconds.clear()
        spans.calls.clear()
        times = {name: [] for name in ('fake', 'ours', 'raw')}
        for n in range(self.opts.boots):
            for name, host in variants:
                spans.scope = name
                times[name].append(self._boot(image, host))
            spans.scope = 'raw'
            times['raw'].append(self._raw(engine_image))
            say('[%s] boot %d/%d: %s' % (
                BENCH, n + 1, self.opts.boots,
                ', '.join('%s %.3f' % (name, values[-1])
                          for name, values in times.items())))
        for name, values in times.items():
            TIMES[name] = values
            RESULTS.figure(BENCH, '%s median' % name, measure.median(values))
            RESULTS.figure(BENCH, '%s p95' % name,
                           measure.percentile(values, 95))
        RESULTS.note(BENCH, 'ours mean s per boot in',
                     spans.summary(STEPS, self.opts.boots, 'ours'))
        RESULTS.note(BENCH, 'fake mean s per boot in',
                     spans.summary(('build',), self.opts.boots, 'fake'))


def conclude():
    if set(TIMES) != {'fake', 'ours', 'raw'}:
        return
    fake = measure.median(TIMES['fake'])
    ratio = (measure.median(TIMES['ours']) - fake) / measure.median(
        TIMES['raw'])
    RESULTS.check(BENCH, '(ours - fake) / raw', ratio, '<= %.1f' % GOAL,
                  ratio <= GOAL)


CASES = (PortBootLatency,)

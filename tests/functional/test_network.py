"""Neutron ports of containers, plugged into a real Open vSwitch.

The switch is this machine's ovs-vswitchd with the userspace (netdev)
datapath: the kernel has no openvswitch module. Neutron is Nova's
NeutronFixture with ports of our own; what Neutron's OVS agent would do is
done by ``FakeAgent`` below: it finds the OVS interfaces by the port id that
os-vif writes into external_ids:iface-id, tags them with a VLAN per network
(so two networks do not share a wire), lets the bridged traffic of
hybrid-plugged ports through iptables as Neutron's iptables firewall would
(Docker's FORWARD policy is DROP and the host's bridges call iptables), marks
the port ACTIVE and sends Nova the network-vif-plugged event. The privsep
daemons are real: they run privsep-helper with the capabilities their
contexts ask for.
"""

import json
import os
import shutil
import subprocess
import threading
import time

import fixtures
# Nova's functional package patches eventlet in. It must come before
# oslo.privsep's daemon module, which looks at import time.
import nova.tests.functional  # noqa: F401
from nova import context as nova_context
from nova.network import model as network_model
from nova import objects
from nova.tests.functional.api import client as api_client
import os_vif
from oslo_utils import uuidutils

from novadocker import conf  # noqa: F401 (registers [docker])
from novadocker import privsep
from tests.fixtures import private_engine
from tests.functional import base
from tests.functional import userns_base

BRIDGE = 'br-ndtest'
OVSDB = 'unix:/var/run/openvswitch/db.sock'
PORT = 7777
# CirrOS's busybox, setuid root as its ping needs: a copy that applets
# still know by its name.
SETUID_BUSYBOX = ('mkdir /tmp/s && cp /bin/busybox /tmp/s/busybox && '
                  'chmod 4755 /tmp/s/busybox')


def ovs_vsctl(*args):
    return subprocess.run(('ovs-vsctl', '--timeout=10') + args, check=True,
                          capture_output=True, text=True).stdout


def ovs_table(table, *columns):
    """Rows of an OVSDB table as dicts; maps as dicts, sets as lists."""
    out = json.loads(ovs_vsctl('--format=json', '--columns=' +
                               ','.join(columns), 'list', table))
    rows = []
    for values in out['data']:
        row = {}
        for name, value in zip(out['headings'], values):
            if isinstance(value, list) and value[0] == 'map':
                value = dict(value[1])
            elif isinstance(value, list) and value[0] == 'set':
                value = value[1]
            row[name] = value
        rows.append(row)
    return rows


def ovs_ready():
    try:
        ovs_vsctl('show')
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


def host_links():
    out = subprocess.run(['ip', '-o', 'link', 'show'], check=True,
                         capture_output=True, text=True).stdout
    return {line.split(':')[1].strip().split('@')[0]
            for line in out.splitlines()}


def live_namespaces():
    """Network namespaces in use: by a process, or kept by a mount."""
    found = set()
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                found.add(os.readlink('/proc/%s/ns/net' % pid))
            except OSError:
                pass
    return found | mounted_namespaces()


def mounted_namespaces():
    """Network namespaces kept by a mount (``ip netns add``)."""
    with open('/proc/self/mountinfo') as f:
        return {line.split()[3] for line in f if ' nsfs ' in line}


def boot_ticks():
    """Now, in the clock ticks since boot that /proc/<pid>/stat counts in."""
    with open('/proc/uptime') as f:
        return float(f.read().split()[0]) * os.sysconf('SC_CLK_TCK')


def started_at(pid):
    """When a process started, in clock ticks since boot."""
    with open('/proc/%s/stat' % pid) as f:
        # The fields after the command's parenthesis; starttime is the 22nd.
        return int(f.read().rsplit(')', 1)[1].split()[19])


def namespace_users(netns, started_before=None):
    """The processes in a network namespace, as "pid command" strings;
    with ``started_before`` (clock ticks since boot), only those older."""
    users = []
    for pid in os.listdir('/proc'):
        try:
            if pid.isdigit() and os.readlink(
                    '/proc/%s/ns/net' % pid) == netns and (
                    started_before is None or
                    started_at(pid) < started_before):
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    users.append('%s %s' % (pid, f.read().replace(
                        b'\0', b' ').decode(errors='replace').strip()))
        except OSError:
            pass
    return users


class InterfaceInserts:
    """Every new row of OVSDB's Interface table while it runs, as Neutron's
    OVS agent sees them: ``ovsdb-client monitor`` of name and external_ids,
    one transaction an update."""

    def __init__(self):
        self.process = subprocess.Popen(
            ['ovsdb-client', 'monitor', OVSDB, 'Open_vSwitch', 'Interface',
             'name,external_ids', '--format=json'],
            stdout=subprocess.PIPE, text=True)
        # The first update lists the rows already there.
        self.process.stdout.readline()

    def stop(self):
        """[(name, external_ids)] of each insert, in order."""
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        inserts = []
        for line in out.splitlines():
            update = json.loads(line)
            for row in update['data']:
                fields = dict(zip(update['headings'], row))
                if fields['action'] == 'insert':
                    inserts.append((fields['name'],
                                    dict(fields['external_ids'][1])))
        return inserts


class FakeAgent:
    """Neutron's part of plugging, for the ports of one test."""

    def __init__(self, test, vlans, send_events=True):
        self.test = test
        self.vlans = vlans  # port id -> VLAN of its network
        self.send_events = send_events
        self.reported = set()
        self.errors = []
        self.accepted = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        self.test.addCleanup(self.stop)

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        for tap in self.accepted:
            for rule in self._rules(tap):
                subprocess.run(['iptables', '-D'] + rule, check=False,
                               capture_output=True)

    @staticmethod
    def _rules(tap):
        return [['FORWARD', '-m', 'physdev', '--physdev-is-bridged',
                 direction, tap, '-j', 'ACCEPT']
                for direction in ('--physdev-in', '--physdev-out')]

    def _run(self):
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception as e:  # reported by the test, not lost
                self.errors.append(e)
            time.sleep(0.2)

    def scan(self):
        tags = {p['name']: p['tag'] for p in ovs_table('Port', 'name', 'tag')}
        for iface in ovs_table('Interface', 'name', 'external_ids'):
            port_id = iface['external_ids'].get('iface-id')
            if port_id not in self.vlans:
                continue
            if tags.get(iface['name']) != self.vlans[port_id]:
                ovs_vsctl('set', 'Port', iface['name'],
                          'tag=%d' % self.vlans[port_id])
            tap = 'tap' + port_id[:11]
            if iface['name'].startswith('qvo') and tap not in self.accepted:
                self.accepted.add(tap)
                for rule in self._rules(tap):
                    subprocess.run(['iptables', '-I'] + rule, check=True,
                                   capture_output=True)
            if self.send_events and port_id not in self.reported:
                self.reported.add(port_id)
                self.test.neutron._ports[port_id]['status'] = 'ACTIVE'
                self.test.api.create_server_external_events([{
                    'name': 'network-vif-plugged',
                    'server_uuid': iface['external_ids']['vm-uuid'],
                    'tag': port_id, 'status': 'completed'}])


class NetworkTestCase(base.DockerDriverTestCase):

    # Two networks whose subnets overlap on purpose: only the network (its
    # VLAN on the switch) keeps their instances apart, not routing.
    NETS = {
        'a': {'vlan': 101, 'mtu': 1450, 'v4': '10.10.0.0/24',
              'v6': 'fd10::/64', 'dns': ['10.10.0.53'],
              'routes': [{'destination': '172.16.0.0/16',
                          'nexthop': '10.10.0.254'}]},
        'b': {'vlan': 102, 'mtu': 1500, 'v4': '10.10.0.0/24',
              'v6': None, 'dns': [], 'routes': []},
        # Shares a name server with a.
        'c': {'vlan': 103, 'mtu': 1500, 'v4': '10.20.0.0/24',
              'v6': None, 'dns': ['10.20.0.53', '10.10.0.53'], 'routes': []},
    }

    def setUp(self):
        if not ovs_ready():
            if os.environ.get('NOVADOCKER_REQUIRE_OVS'):
                self.fail('Open vSwitch is not running (ovs-vsctl show fails)')
            self.skipTest('Open vSwitch is not running; see '
                          'doc/source/contributor/tests.rst')
        # A run killed before its cleanups may have left guests on the
        # bridge with this test's addresses: each test starts on a new one
        # (os-vif makes it at the first plug).
        ovs_vsctl('--if-exists', 'del-br', BRIDGE)
        super().setUp()
        # os-vif's plugins read their options when loaded: register them,
        # set them, load again.
        os_vif.initialize()
        self.use_real_privsep('vif_plug_ovs_privileged')
        self.flags(ovsdb_connection=OVSDB, group='os_vif_ovs')
        os_vif.initialize(reset=True)
        self.flags(vif_plugging_timeout=30, vif_plugging_is_fatal=True)
        self.nets = {}
        self.vlans = {}
        for name, spec in self.NETS.items():
            self.nets[name] = self._network(name, spec)
        self.booted = []
        self.addCleanup(self._sweep)

    def _sweep(self):
        """Delete what a test left, through Nova first, then by hand."""
        self.delete_servers(self.booted)
        leftovers = self.ours_on_host(set(self.vlans))
        for name in leftovers:
            subprocess.run(['ovs-vsctl', '--if-exists', 'del-port', name],
                           check=False)
            subprocess.run(['ip', 'link', 'del', name], check=False,
                           capture_output=True)
        for port_id in self.vlans:
            subprocess.run(['ip', 'link', 'del', 'qbr' + port_id[:11]],
                           check=False, capture_output=True)

    def _wait_for_state_change(self, server, expected_status,
                               max_retries=60, **kw):
        # Plugging and Neutron's events take seconds, not one.
        return super()._wait_for_state_change(
            server, expected_status, max_retries=max_retries, **kw)

    # -- Neutron ------------------------------------------------------------

    def _network(self, name, spec):
        net_id = uuidutils.generate_uuid()
        fixture = self.neutron
        subnets = []
        for version in (4, 6):
            cidr = spec['v%d' % version]
            if not cidr:
                continue
            gateway = cidr.replace('0/24', '1').replace('::/64', '::1')
            subnet = {
                'id': uuidutils.generate_uuid(), 'name': '%s-v%d' % (
                    name, version), 'ip_version': version,
                'network_id': net_id, 'cidr': cidr, 'gateway_ip': gateway,
                'enable_dhcp': True, 'dns_nameservers': spec['dns'],
                'host_routes': spec['routes'] if version == 4 else [],
                'ipv6_address_mode': 'slaac' if version == 6 else None,
                'ipv6_ra_mode': 'slaac' if version == 6 else None,
                'allocation_pools': [], 'tenant_id': fixture.tenant_id,
                'project_id': fixture.tenant_id}
            fixture._subnets[subnet['id']] = subnet
            subnets.append(subnet)
        network = dict(fixture.network_1, id=net_id, name='net-' + name,
                       mtu=spec['mtu'],
                       subnets=[s['id'] for s in subnets])
        fixture._networks[net_id] = network
        return {'id': net_id, 'vlan': spec['vlan'],
                'subnets': {s['ip_version']: s for s in subnets}}

    def port(self, net, host_part, hybrid=False, vif_type='ovs',
             status='DOWN'):
        """A port with a v4 (and v6) address ending in ``host_part``."""
        network = self.nets[net]
        port_id = uuidutils.generate_uuid()
        fixed = []
        for version, subnet in sorted(network['subnets'].items()):
            prefix = subnet['cidr'].split('/')[0]
            address = (prefix[:-1] + str(host_part) if version == 4
                       else prefix + str(host_part))
            fixed.append({'ip_address': address, 'subnet_id': subnet['id']})
        mac = 'fa:16:3e:%02x:%02x:%02x' % (network['vlan'] % 256,
                                           host_part // 256, host_part % 256)
        self.neutron._ports[port_id] = dict(
            self.neutron.port_1, id=port_id, network_id=network['id'],
            mac_address=mac, fixed_ips=fixed, status=status,
            **{'binding:vif_type': vif_type,
               'binding:vif_details': {
                   'port_filter': True, 'ovs_hybrid_plug': hybrid,
                   'bridge_name': BRIDGE, 'datapath_type': 'netdev',
                   'connectivity': 'l2'}})
        self.vlans[port_id] = network['vlan']
        return port_id

    def agent(self, **kw):
        agent = FakeAgent(self, self.vlans, **kw)
        agent.start()
        return agent

    # -- servers and what their containers see ------------------------------

    def boot_on(self, *ports, expected='ACTIVE', **fields):
        server = self._build_server(image_uuid=self.image('guest'),
                                    networks=[{'port': p} for p in ports])
        server.update(fields)
        server = self.api.post_server({'server': server})
        self.booted.append(server['id'])
        return self._wait_for_state_change(server, expected)

    def pair(self):
        """Two servers on network a; the first one listens at 10.10.0.11."""
        self.agent()
        a1, a2 = self.port('a', 11), self.port('a', 12)
        server = self.boot_on(a1)
        peer = self.boot_on(a2)
        self.assert_reaches(peer, server, '10.10.0.11')
        return server, peer, a1

    def assert_no_nova_action(self, server):
        """Nothing happened to the server through Nova since its boot."""
        self.assertEqual('ACTIVE', self.api.get_server(server['id'])['status'])
        self.assertEqual(['create'], [a['action'] for a in
                                      self.api.get_instance_actions(
                                          server['id'])])

    def run_in(self, server, *argv):
        result = self.container(server).exec_run(('/bin/busybox',) + argv)
        return result.exit_code, result.output.decode()

    @staticmethod
    def ofports(port_id):
        """The OpenFlow numbers of the OVS interfaces of a Neutron port."""
        return [i['ofport'] for i in ovs_table(
            'Interface', 'ofport', 'external_ids')
            if i['external_ids'].get('iface-id') == port_id]

    def forget_neighbours(self, server):
        """Empty the guest's ARP and neighbour cache (from the host: the
        guest itself may not)."""
        pid = self.container(server).attrs['State']['Pid']
        subprocess.run(('nsenter', '-t', str(pid), '-n', 'ip', 'neigh',
                        'flush', 'all'), check=True, capture_output=True)

    def links(self, server):
        """{ifname: (mac, mtu, [cidr addresses])} inside the container."""
        code, out = self.run_in(server, 'ip', '-o', 'addr', 'show')
        self.assertEqual(0, code, out)
        found = {}
        for line in out.splitlines():
            fields = line.split()
            if fields[2] in ('inet', 'inet6'):
                found.setdefault(fields[1], []).append(fields[3])
        code, out = self.run_in(server, 'ip', '-o', 'link', 'show')
        result = {}
        for line in out.splitlines():
            fields = line.split()
            name = fields[1].rstrip(':').split('@')[0]
            mac = fields[fields.index('link/ether') + 1] \
                if 'link/ether' in fields else None
            mtu = int(fields[fields.index('mtu') + 1])
            result[name] = (mac, mtu, sorted(found.get(name, [])))
        return result

    def pings(self, client, address):
        code, _ = self.run_in(client, 'ping', '-c', '2', '-W', '2', address)
        return code == 0

    def ping_as_user(self, server, address):
        """One ping as the guest's user 1000 through a setuid busybox
        (SETUID_BUSYBOX), as CirrOS's."""
        result = self.container(server).exec_run(
            ['/tmp/s/busybox', 'ping', '-c', '1', '-W', '5', address],
            user='1000')
        return result.exit_code, result.output.decode()

    def nameservers(self, server):
        code, out = self.run_in(server, 'cat', '/etc/resolv.conf')
        self.assertEqual(0, code, out)
        return [line.split()[1] for line in out.splitlines()
                if line.startswith('nameserver ')]

    def attach(self, server, port_id):
        self.api.attach_interface(server['id'], {'interfaceAttachment': {
            'port_id': port_id}})
        self._wait_for_port(server, port_id, True)

    def detach(self, server, port_id):
        self.api.detach_interface(server['id'], port_id)
        self._wait_for_port(server, port_id, False)

    def _wait_for_port(self, server, port_id, attached):
        for _ in range(50):
            ports = [i['port_id'] for i in
                     self.api.get_port_interfaces(server['id'])]
            if (port_id in ports) == attached:
                return
            time.sleep(0.1)
        self.fail('port %s not %s' % (
            port_id, 'attached' if attached else 'detached'))

    def wait_for_links(self, server, expected, what=None):
        """Until the container's devices are ``expected`` again."""
        for _ in range(100):
            found = self.links(server)
            if found == expected:
                return
            time.sleep(0.2)
        self.assertEqual(expected, found, what)

    def listen(self, server, text):
        self.serve(server, 'echo %s' % text)

    def serve(self, server, source):
        """A TCP server at PORT that sends what ``source`` writes."""
        self.container(server).exec_run(
            ['/bin/busybox', 'sh', '-c',
             '%s | /bin/busybox nc -l -p %d' % (source, PORT)],
            detach=True)
        for _ in range(50):
            code, out = self.run_in(server, 'netstat', '-ltn')
            if ':%d ' % PORT in out:
                return
            time.sleep(0.1)
        self.fail('no listener in %s' % server['id'])

    def fetch(self, server, address):
        """What a TCP client in ``server`` reads from address:PORT."""
        code, out = self.run_in(server, 'timeout', '5', '/bin/busybox', 'nc',
                                '-w', '3', address, str(PORT))
        return out.strip() if code == 0 else None

    def assert_reaches(self, client, server, address, text='hello'):
        self.listen(server, text)
        # The first packets may go before the agent tagged the new port.
        for _ in range(10):
            got = self.fetch(client, address)
            if got == text:
                return
            time.sleep(0.5)
        self.fail('%s did not reach %s:%d (got %r)' % (
            client['id'], address, PORT, got))

    def ours_on_host(self, port_ids):
        """Host devices and OVS ports left for these Neutron ports."""
        short = {p[:11] for p in port_ids}
        devices = {d for d in host_links()
                   if d[3:] in short and d[:3] in ('tap', 'tin', 'qbr',
                                                   'qvb', 'qvo')}
        ovs_ports = {i['name'] for i in ovs_table(
            'Interface', 'name', 'external_ids')
            if i['external_ids'].get('iface-id') in port_ids}
        return devices | ovs_ports


class TestAddressing(NetworkTestCase):

    def test_ports_addresses_routes_and_dns_inside_the_container(self):
        self.agent()
        a1 = self.port('a', 11)
        b1 = self.port('b', 21)
        server = self.boot_on(a1, b1)
        self.assertEqual('ACTIVE', self.neutron._ports[a1]['status'])
        links = self.links(server)
        self.assertEqual(
            ('fa:16:3e:65:00:0b', 1450,
             sorted(['10.10.0.11/24', 'fd10::11/64'])),
            (links['eth0'][0], links['eth0'][1],
             [a for a in links['eth0'][2] if not a.startswith('fe80')]))
        self.assertEqual(('fa:16:3e:66:00:15', 1500, ['10.10.0.21/24']),
                         (links['eth1'][0], links['eth1'][1],
                          [a for a in links['eth1'][2]
                           if not a.startswith('fe80')]))
        self.assertEqual({'lo', 'eth0', 'eth1'}, set(links))
        code, routes = self.run_in(server, 'ip', 'route', 'show')
        self.assertIn('default via 10.10.0.1 dev eth0  metric 100', routes)
        self.assertIn('default via 10.10.0.1 dev eth1  metric 101', routes)
        self.assertIn('172.16.0.0/16 via 10.10.0.254 dev eth0', routes)
        code, routes6 = self.run_in(server, 'ip', '-6', 'route', 'show')
        self.assertIn('default via fd10::1 dev eth0  metric 100', routes6)
        self.assertIn('fd10::/64 dev eth0', routes6)
        code, resolv = self.run_in(server, 'cat', '/etc/resolv.conf')
        self.assertEqual(['nameserver 10.10.0.53'], [
            line for line in resolv.splitlines() if line.startswith('name')])
        self.assert_network_of_its_sandbox(server)
        # The host ends: one OVS port per Neutron port, on the bridge
        # Neutron named, carrying the port id and the instance.
        ifaces = {i['external_ids'].get('iface-id'): i for i in ovs_table(
            'Interface', 'name', 'external_ids', 'mtu')}
        for port_id in (a1, b1):
            self.assertEqual('tap' + port_id[:11], ifaces[port_id]['name'])
            self.assertEqual(server['id'],
                             ifaces[port_id]['external_ids']['vm-uuid'])
        self.assertIn('tap' + a1[:11],
                      ovs_vsctl('list-ports', BRIDGE).split())

    def test_config_drive_describes_the_ports(self):
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        # Nova's fake Neutron gives a port every subnet it has; Nova's
        # network_data.json describes only the first of each IP version.
        ours = {s['id'] for s in self.nets['a']['subnets'].values()}
        for subnet_id in set(self.neutron._subnets) - ours:
            del self.neutron._subnets[subnet_id]
        self.agent()
        a1 = self.port('a', 11)
        server = self.boot_on(a1, config_drive=True)
        code, text = self.run_in(
            server, 'cat', '/config-drive/openstack/latest/network_data.json')
        self.assertEqual(0, code, text)
        data = json.loads(text)
        self.assertEqual(['fa:16:3e:65:00:0b'],
                         [link['ethernet_mac_address']
                          for link in data['links']])
        # Nova describes the v4 and v6 subnets of network a, on that link.
        self.assertEqual([(self.nets['a']['id'], data['links'][0]['id'])] * 2,
                         [(n['network_id'], n['link'])
                          for n in data['networks']], text)
        self.assertEqual([{'type': 'dns', 'address': '10.10.0.53'}],
                         data['services'])

    def test_unsupported_vif_type_fails_the_boot_clearly(self):
        port = self.port('a', 40, vif_type='vhostuser', status='ACTIVE')
        server = self.boot_on(port, expected='ERROR')
        fault = self.api.get_server(server['id'])['fault']['message']
        self.assertIn('cannot plug', fault)
        self.assertIn('vhostuser', fault)
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual(set(), self.ours_on_host([port]))


class TestConnectivity(NetworkTestCase):

    def test_same_network_talks_tcp_other_network_cannot(self):
        self.agent()
        a1, a2 = self.port('a', 11), self.port('a', 12, hybrid=True)
        b1 = self.port('b', 13)
        server_a1 = self.boot_on(a1)
        server_a2 = self.boot_on(a2)
        server_b1 = self.boot_on(b1)
        # a2 is plugged the hybrid way: through a Linux bridge of its own.
        self.assertIn('qbr' + a2[:11], host_links())
        self.assertIn('qvo' + a2[:11], ovs_vsctl('list-ports', BRIDGE))
        self.assert_reaches(server_a2, server_a1, '10.10.0.11')
        self.assert_reaches(server_a1, server_a2, '10.10.0.12')
        # Same subnet, other network: on-link, but not on the same wire.
        self.listen(server_a1, 'secret')
        self.assertIsNone(self.fetch(server_b1, '10.10.0.11'))
        # IPv6 on the same network.
        code, out = self.run_in(server_a2, 'ping', '-c', '1', '-W', '3',
                                'fd10::11')
        self.assertEqual(0, code, out)

    def test_reboot_stop_start_pause_and_compute_restart_keep_wiring(self):
        server, peer, a1 = self.pair()
        expected = self.links(server)
        ofports = self.ofports(a1)
        self.assertEqual(1, len(ofports))
        self.assertGreater(ofports[0], 0)

        def check(what):
            self.assertEqual(expected, self.links(server), what)
            self.assert_reaches(peer, server, '10.10.0.11')
            # Its OVS port keeps its OpenFlow number, on which Neutron's
            # flows for it match, as a libvirt guest's tap keeps its own.
            self.assertEqual(ofports, self.ofports(a1), what)

        self.api.post_server_action(server['id'], {'reboot': {
            'type': 'SOFT'}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        check('soft reboot')
        self.api.post_server_action(server['id'], {'reboot': {
            'type': 'HARD'}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        check('hard reboot')
        self.api.post_server_action(server['id'], {'os-stop': None})
        server = self._wait_for_state_change(server, 'SHUTOFF')
        self.api.post_server_action(server['id'], {'os-start': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        check('stop and start')
        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        self.api.post_server_action(server['id'], {'unpause': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        check('pause and unpause')
        # nova-compute restarts: the running container keeps its devices...
        before = self.container(server).attrs['State']['StartedAt']
        self.restart_compute_service(self.compute)
        self.assertEqual(before,
                         self.container(server).attrs['State']['StartedAt'])
        check('nova-compute restart')
        # ...and one the engine restarted meanwhile is plugged again.
        self.container(server).restart(timeout=0)
        self.restart_compute_service(self.compute)
        check('container restarted behind Nova\'s back')
        self.assertEqual(1, len([i for i in ovs_table(
            'Interface', 'name', 'external_ids')
            if i['external_ids'].get('iface-id') == a1]))

    def test_a_port_added_again_comes_with_its_neutron_port(self):
        # Neutron's OVS agent takes a new OVS port for a Neutron port only
        # when the insert itself carries the iface-id and the MAC; ids set
        # in a later transaction it ignores, and a port whose removal it
        # saw in an earlier poll then stays unwired (the gate's hard reboot
        # and stop, 2026-12-02).
        server, peer, a1 = self.pair()
        tap = 'tap' + a1[:11]
        inserts = InterfaceInserts()
        try:
            # The sandbox keeps the ports through these.
            for action, state in (({'reboot': {'type': 'HARD'}}, 'ACTIVE'),
                                  ({'os-stop': None}, 'SHUTOFF'),
                                  ({'os-start': None}, 'ACTIVE')):
                self.api.post_server_action(server['id'], action)
                server = self._wait_for_state_change(server, state)
        finally:
            kept = inserts.stop()
        self.assertEqual([], [name for name, _ids in kept if name == tap])
        inserts = InterfaceInserts()
        try:
            # A sandbox the engine started again has a new namespace: the
            # next start plugs the port there.
            self.api.post_server_action(server['id'], {'os-stop': None})
            server = self._wait_for_state_change(server, 'SHUTOFF')
            self.sandbox(server).restart(timeout=0)
            self.api.post_server_action(server['id'], {'os-start': None})
            server = self._wait_for_state_change(server, 'ACTIVE')
        finally:
            added = inserts.stop()
        self.assertEqual(1, len([name for name, _ids in added
                                 if name == tap]), added)
        for name, ids in added:
            if name == tap:
                self.assertEqual((a1, self.neutron._ports[a1]['mac_address'],
                                  server['id']),
                                 (ids.get('iface-id'), ids.get('attached-mac'),
                                  ids.get('vm-uuid')))
        self.assert_reaches(peer, server, '10.10.0.11')

    def test_attach_and_detach_a_second_port(self):
        self.agent()
        a1, a2, a3 = (self.port('a', 11), self.port('a', 12),
                      self.port('a', 13))
        server = self.boot_on(a1)
        peer = self.boot_on(a2)
        self.attach(server, a3)
        links = self.links(server)
        self.assertEqual('fa:16:3e:65:00:0d', links['eth1'][0])
        self.assertIn('10.10.0.13/24', links['eth1'][2])
        self.assert_reaches(peer, server, '10.10.0.13')
        self.detach(server, a3)
        self.assertNotIn('eth1', self.links(server))
        self.assertEqual(set(), self.ours_on_host([a3]))
        self.assertIsNone(self.fetch(peer, '10.10.0.13'))
        # Both ports were on one subnet: the server's kernel may have
        # answered the peer's ARP for .11 from the port now gone, as a
        # VM's does; the peer would learn the address again once that
        # entry went stale, tens of seconds later.
        self.forget_neighbours(peer)
        self.assert_reaches(peer, server, '10.10.0.11')


class TestPauseSilences(NetworkTestCase):
    """A paused or suspended server answers nothing, as a frozen VM; it
    answers again at the same addresses once it runs."""

    # The server's addresses: an Open vSwitch port and a hybrid-plugged one.
    ADDRESSES = ('10.10.0.11', '10.20.0.31')

    def servers(self):
        self.agent()
        self.ports = [self.port('a', 11), self.port('c', 31, hybrid=True)]
        server = self.boot_on(*self.ports)
        peer = self.boot_on(self.port('a', 12), self.port('c', 32))
        for address in self.ADDRESSES:
            self.assert_reaches(peer, server, address)
        return server, peer

    def wiring(self, server):
        """What the guest has: devices, addresses, routes of both kinds."""
        routes = [self.run_in(server, 'ip', family, 'route', 'show')
                  for family in ('-4', '-6')]
        return self.links(server), routes

    def sent(self):
        """Frames the server's ports put on the wire (their host ends'
        receive counters)."""
        counts = {}
        for port_id in self.ports:
            tap = 'tap' + port_id[:11]
            counts[tap] = int(subprocess.run(
                ['cat', '/sys/class/net/%s/statistics/rx_packets' % tap],
                check=True, capture_output=True, text=True).stdout)
        return counts

    def assert_silent(self, server, peer, addresses=ADDRESSES):
        """No ping, no TCP: nothing reaches the guest, it sends nothing."""
        sent = self.sent()
        for address in addresses:
            self.assertFalse(self.pings(peer, address), address)
            self.assertIsNone(self.fetch(peer, address), address)
        self.assertEqual(sent, self.sent())

    def assert_answers(self, server, peer, wiring, addresses=ADDRESSES):
        """The guest has what it had, and answers at each address; the
        listener it started before is there still, no connection made
        while it was silent having reached it."""
        for _ in range(50):
            if self.wiring(server) == wiring:
                break
            time.sleep(0.2)
        self.assertEqual(wiring, self.wiring(server))
        for _ in range(10):
            got = self.fetch(peer, addresses[0])
            if got is not None:
                break
            time.sleep(0.5)
        self.assertEqual('hello', got)
        for address in addresses:
            self.assertTrue(self.pings(peer, address), address)
            self.assert_reaches(peer, server, address)

    def test_paused_and_suspended_servers_answer_nothing(self):
        server, peer = self.servers()
        wiring = self.wiring(server)
        for freeze, status, thaw in (('pause', 'PAUSED', 'unpause'),
                                     ('suspend', 'SUSPENDED', 'resume')):
            self.listen(server, 'hello')
            self.api.post_server_action(server['id'], {freeze: None})
            server = self._wait_for_state_change(server, status)
            self.assert_silent(server, peer)
            self.api.post_server_action(server['id'], {thaw: None})
            server = self._wait_for_state_change(server, 'ACTIVE')
            self.assert_answers(server, peer, wiring)

    def test_paused_server_stays_silent_through_restart_and_attach(self):
        server, peer = self.servers()
        self.listen(server, 'hello')
        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        # nova-compute plugs the ports of its instances at its start.
        self.restart_compute_service(self.compute)
        self.assert_silent(server, peer)
        # A port attached while paused is as silent as the others.
        self.ports.append(self.port('a', 13))
        self.attach(server, self.ports[-1])
        addresses = self.ADDRESSES + ('10.10.0.13',)
        self.assert_silent(server, peer, addresses)
        self.api.post_server_action(server['id'], {'unpause': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assert_answers(server, peer, self.wiring(server), addresses)

    def test_hard_reboot_of_a_paused_or_suspended_server_answers(self):
        server, peer = self.servers()
        wiring = self.wiring(server)
        for freeze, status in (('pause', 'PAUSED'),
                               ('suspend', 'SUSPENDED')):
            self.api.post_server_action(server['id'], {freeze: None})
            server = self._wait_for_state_change(server, status)
            self.assert_silent(server, peer)
            self.api.post_server_action(server['id'], {'reboot': {
                'type': 'HARD'}})
            server = self._wait_for_state_change(server, 'ACTIVE')
            # A new guest process: its own listener.
            self.listen(server, 'hello')
            self.assert_answers(server, peer, wiring)

    def test_docker_pause_behind_novas_back_silences_too(self):
        server, peer = self.servers()
        wiring = self.wiring(server)
        self.listen(server, 'hello')
        container = self.container(server)
        container.pause()
        # The driver follows the engine's event: soon, not at once.
        for _ in range(50):
            if not self.pings(peer, self.ADDRESSES[0]):
                break
        self.assert_silent(server, peer)
        container.unpause()
        self.assert_answers(server, peer, wiring)

    def test_only_a_veth_is_taken_down_or_up(self):
        # The privileged daemon's link state is for ports' host ends only,
        # not for a bridge (as the hybrid plug's), nor any other device.
        name = 'ndt' + uuidutils.generate_uuid()[:8]
        subprocess.run(['ip', 'link', 'add', name, 'type', 'bridge'],
                       check=True)
        self.addCleanup(subprocess.run, ['ip', 'link', 'del', name],
                        check=False, capture_output=True)
        self.assertRaises(ValueError, privsep.set_veth_up, name, True)
        self.assertIn('state DOWN', subprocess.run(
            ['ip', 'link', 'show', name], check=True, capture_output=True,
            text=True).stdout)


class TestPluggingEvents(NetworkTestCase):

    def test_no_event_within_the_timeout_fails_cleanly(self):
        self.flags(vif_plugging_timeout=2, vif_plugging_is_fatal=True)
        # The agent tags the port but never tells Nova.
        self.agent(send_events=False)
        a1 = self.port('a', 11)
        started = time.monotonic()
        server = self.boot_on(a1, expected='ERROR')
        self.assertGreaterEqual(time.monotonic() - started, 2)
        fault = self.api.get_server(server['id'])['fault']['message']
        self.assertIn('Failed to allocate the network', fault)
        self.assertEqual([], self.containers_of(server['id']))
        self.assertEqual(set(), self.ours_on_host([a1]))

    def test_no_event_is_not_fatal_when_so_configured(self):
        self.flags(vif_plugging_timeout=2, vif_plugging_is_fatal=False)
        self.agent(send_events=False)
        a1, a2 = self.port('a', 11), self.port('a', 12, status='ACTIVE')
        server = self.boot_on(a1)
        peer = self.boot_on(a2)
        self.assert_reaches(peer, server, '10.10.0.11')

    def test_boot_waits_for_the_event(self):
        agent = self.agent()
        a1 = self.port('a', 11)
        server = self.boot_on(a1)
        self.assertEqual({a1}, agent.reported)
        self.assertEqual([], agent.errors)
        self.assertEqual('ACTIVE', server['status'])


class TestLeaks(NetworkTestCase):

    def assertNamespaceGone(self, netns, deleted, seconds=30):
        """The namespace ``netns`` is gone since the delete (at ``deleted``,
        clock ticks since boot). The kernel reuses a freed namespace's
        number: one that only processes started after the delete are in
        is another namespace (another test's or guest's on the host)."""
        deadline = time.monotonic() + seconds
        while netns in live_namespaces():
            users = namespace_users(netns, started_before=deleted)
            mounted = netns in mounted_namespaces()
            if not users and not mounted:
                return
            if time.monotonic() > deadline:
                self.fail('%s is still used by %s' % (
                    netns, users or 'a mount'))
            time.sleep(0.1)

    CYCLES = int(os.environ.get('NOVADOCKER_LEAK_CYCLES', '100'))
    # The harness's OS_TEST_TIMEOUT is for one boot or so; this test's
    # budget grows with its cycles (a loaded 2-core host takes seconds a
    # cycle). It replaces the harness's alarm: there is one per process.
    SECONDS_PER_CYCLE = 10

    def test_boot_delete_cycles_leave_nothing(self):
        self.useFixture(fixtures.Timeout(
            self.CYCLES * self.SECONDS_PER_CYCLE, gentle=True))
        self.agent()
        a1, a2 = self.port('a', 11), self.port('a', 12, hybrid=True)
        for _ in range(self.CYCLES):
            server = self.boot_on(a1, a2)
            pid = self.container(server).attrs['State']['Pid']
            netns = os.readlink('/proc/%d/ns/net' % pid)
            deleted = boot_ticks()
            self._delete_server(server)
            self.booted.remove(server['id'])
            # The engine may answer the removal before the kernel has
            # reaped the container's processes (seconds, on a loaded host);
            # a leak is a namespace that stays. Polled, not waited for: the
            # kernel reuses the number of a freed one.
            self.assertNamespaceGone(netns, deleted)
        self.assertEqual(set(), self.ours_on_host([a1, a2]))
        for label in ('org.openstack.nova.instance_uuid',
                      'org.openstack.nova.sandbox_of'):
            self.assertEqual([], [c for c in self.docker.containers.list(
                all=True, filters={'label': label})
                if c.labels[label] in self._servers()])


class TestPortsBeforeTheGuest(NetworkTestCase):
    """A guest's init finds its ports wired, as a VM's finds its NICs."""

    def dhcp_server(self, server, leases):
        """busybox's udhcpd in ``server``: {mac: address} as static leases,
        with the name server of network a."""
        lines = ['interface eth0', 'start 10.10.0.100', 'end 10.10.0.110',
                 'option subnet 255.255.255.0', 'option dns 10.10.0.53',
                 'lease_file /tmp/udhcpd.leases',
                 'pidfile /tmp/udhcpd.pid']
        lines += ['static_lease %s %s' % lease for lease in leases.items()]
        code, out = self.run_in(server, 'sh', '-c', 'mkdir -p /tmp && '
                                'cat > /tmp/udhcpd.conf <<EOF\n%s\nEOF' %
                                '\n'.join(lines))
        self.assertEqual(0, code, out)
        self.container(server).exec_run(
            ['/bin/busybox', 'udhcpd', '-f', '/tmp/udhcpd.conf'],
            detach=True)

    def test_the_guests_init_finds_its_port_and_gets_a_dhcp_lease(self):
        self.agent()
        server = self.boot_on(self.port('a', 12))
        client_port = self.port('a', 11)
        mac = self.neutron._ports[client_port]['mac_address']
        self.dhcp_server(server, {mac: '10.10.0.11'})
        # The guest's first instructions: its devices, then a DHCP client
        # that asks three times, a second apart, and gives up.
        self.image('guest', properties={'os_command_line': (
            "/bin/busybox sh -c '/bin/busybox ip -o link; "
            "/bin/busybox udhcpc -i eth0 -n -q -t 3 -T 1 -s /bin/true; "
            "echo dhcp done; exec /bin/busybox sleep 2147483647'")})
        client = self.boot_on(client_port)
        console = self.wait_for_console(client, 'dhcp done')
        self.assertIn('link/ether %s' % mac, console)
        self.assertIn('lease of 10.10.0.11 obtained', console)

    def test_a_stopped_server_answers_nothing_until_it_starts(self):
        server, peer, _ = self.pair()
        stops = {
            'nova stop': lambda: self.api.post_server_action(
                server['id'], {'os-stop': None}),
            'docker stop': lambda: self.container(server).stop(timeout=0),
        }
        for what, stop in stops.items():
            stop()
            self._wait_for_state_change(server, 'SHUTOFF')
            for _ in range(50):
                if not self.pings(peer, '10.10.0.11'):
                    break
            self.assertFalse(self.pings(peer, '10.10.0.11'), what)
            self.api.post_server_action(server['id'], {'os-start': None})
            self._wait_for_state_change(server, 'ACTIVE')
            self.assert_reaches(peer, server, '10.10.0.11')

    def test_a_reboot_gives_back_what_the_guests_shutdown_removed(self):
        # CirrOS's shutdown takes eth0 down and flushes it; its next boot
        # finds its network "already configured" and asks for no lease.
        server, peer, _ = self.pair()
        expected = self.links(server)
        pid = self.container(server).attrs['State']['Pid']
        for command in (('addr', 'flush', 'dev', 'eth0'),
                        ('link', 'set', 'eth0', 'down')):
            subprocess.run(('nsenter', '-t', str(pid), '-n', 'ip') + command,
                           check=True)
        self.assertFalse(self.pings(peer, '10.10.0.11'))
        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'SOFT'}})
        self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        self.wait_for_links(server, expected)
        self.assert_reaches(peer, server, '10.10.0.11')

    def test_a_sandbox_removed_behind_novas_back_needs_a_rebuild(self):
        server, peer, _ = self.pair()
        expected = self.links(server)
        names = self.run_in(server, 'hostname')
        self.api.post_server_action(server['id'], {'os-stop': None})
        self._wait_for_state_change(server, 'SHUTOFF')
        self.docker.containers.get('nova-%s-sandbox' % server['id']).remove(
            force=True)
        # The harness makes Nova's casts calls: the API answers the error.
        error = self.assertRaises(
            api_client.OpenStackApiException, self.api.post_server_action,
            server['id'], {'reboot': {'type': 'HARD'}})
        self.assertIn('SandboxGone', str(error))
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('removed outside Nova', server['fault']['message'])
        self.assertIn('Rebuild the server', server['fault']['message'])
        self.api.post_server_action(server['id'], {'rebuild': {
            'imageRef': self.image('guest')}})
        self._wait_for_state_change(server, 'ACTIVE')
        self.wait_for_links(server, expected)
        self.assertEqual(names, self.run_in(server, 'hostname'))
        self.assert_reaches(peer, server, '10.10.0.11')


class TestEngineStarts(NetworkTestCase):
    """Containers the engine starts without Nova get their ports back."""

    def test_restart_behind_novas_back_is_plugged_again(self):
        server, peer, a1 = self.pair()
        expected = self.links(server)
        restarts = {
            'docker restart': lambda c: c.restart(timeout=0),
            'docker stop, docker start': lambda c: (c.stop(timeout=0),
                                                    c.start()),
        }
        for what, restart in restarts.items():
            container = self.container(server)
            old_pid = container.attrs['State']['Pid']
            restart(container)
            self.assertNotEqual(old_pid,
                                self.container(server).attrs['State']['Pid'],
                                what)
            self.wait_for_links(server, expected, what)
            self.assert_reaches(peer, server, '10.10.0.11')
        # Nova did nothing, and the switch has one port for a1.
        self.assert_no_nova_action(server)
        self.assertEqual(1, len([i for i in ovs_table(
            'Interface', 'name', 'external_ids')
            if i['external_ids'].get('iface-id') == a1]))


class TestGuestReboot(NetworkTestCase):
    """A guest that reboots itself comes back with its ports."""

    def test_guest_reboot_keeps_the_ports(self):
        server, peer, a1 = self.pair()
        expected = self.links(server)
        nameservers = self.nameservers(server)
        old = self.container(server).attrs['State']
        # The call may end with the namespace, before it exits itself.
        self.run_in(server, 'reboot', '-f')
        for _ in range(100):
            state = self.container(server).attrs['State']
            if state['Running'] and state['StartedAt'] != old['StartedAt']:
                break
            time.sleep(0.2)
        self.assertNotEqual(old['Pid'], state['Pid'])
        self.assertTrue(state['Running'])
        self.wait_for_links(server, expected, 'guest reboot')
        self.assertEqual(nameservers, self.nameservers(server))
        self.assert_reaches(peer, server, '10.10.0.11')
        # Nova did nothing, and the switch has one port for a1.
        self.assert_no_nova_action(server)
        self.assertEqual(1, len([i for i in ovs_table(
            'Interface', 'name', 'external_ids')
            if i['external_ids'].get('iface-id') == a1]))


class TestPortDiagnostics(NetworkTestCase):

    PAYLOAD = 200 * 1024

    def nics(self, server):
        """Server diagnostics' port counters, by MAC address."""
        self.api.microversion = '2.48'
        return {nic['mac_address']: nic for nic in
                self.api.get_server_diagnostics(server['id'])['nic_details']}

    def test_port_counters_grow_with_traffic_as_the_guest_sees_it(self):
        # Nova's schema of 2.48 knows no docker driver: see
        # test_diagnostics.standard_schema.
        self.flags(response_validation='warn', group='api')
        self.agent()
        a1, a2 = self.port('a', 11), self.port('a', 12, hybrid=True)
        server, peer = self.boot_on(a1), self.boot_on(a2)
        self.assert_reaches(peer, server, '10.10.0.11')
        macs = {server['id']: self.neutron._ports[a1]['mac_address'],
                peer['id']: self.neutron._ports[a2]['mac_address']}
        before = {s['id']: self.nics(s)[macs[s['id']]]
                  for s in (server, peer)}
        # The server sends the payload, the peer receives it.
        self.serve(server, 'dd if=/dev/zero bs=1024 count=%d 2>/dev/null'
                   % (self.PAYLOAD // 1024))
        # busybox nc hangs up when its input ends: the peer's waits.
        code, out = self.run_in(
            peer, 'sh', '-c', 'sleep 3 | /bin/busybox nc -w 3 10.10.0.11 %d '
            '| wc -c' % PORT)
        self.assertEqual(str(self.PAYLOAD), out.strip())
        after = {s['id']: self.nics(s)[macs[s['id']]]
                 for s in (server, peer)}

        def grew(server, counter):
            return (after[server['id']][counter] -
                    before[server['id']][counter])

        # ML2/OVS veth (server) and hybrid plug (peer) alike.
        self.assertGreaterEqual(grew(server, 'tx_octets'), self.PAYLOAD)
        self.assertGreaterEqual(grew(peer, 'rx_octets'), self.PAYLOAD)
        # What went the other way: the request and the acknowledgements.
        for counter in ('rx_octets', 'rx_packets'):
            self.assertGreater(grew(server, counter), 0)
        for counter in ('tx_octets', 'tx_packets'):
            self.assertGreater(grew(peer, counter), 0)
        self.assertLess(grew(server, 'rx_octets'), self.PAYLOAD)
        self.assertLess(grew(peer, 'tx_octets'), self.PAYLOAD)


class TestNameServers(NetworkTestCase):

    def test_attach_adds_and_detach_removes_name_servers(self):
        self.agent()
        a1, c1 = self.port('a', 11), self.port('c', 31)
        server = self.boot_on(a1)
        self.assertEqual(['10.10.0.53'], self.nameservers(server))
        self.attach(server, c1)
        self.assertEqual(['10.10.0.53', '10.20.0.53'],
                         self.nameservers(server))
        # The engine writes the create-time list at every start.
        expected = self.links(server)
        self.container(server).restart(timeout=0)
        self.wait_for_links(server, expected)
        self.assertEqual(['10.10.0.53', '10.20.0.53'],
                         self.nameservers(server))
        # 10.10.0.53 is a1's too: it stays.
        self.detach(server, c1)
        self.assertEqual(['10.10.0.53'], self.nameservers(server))
        self.detach(server, a1)
        self.assertEqual([], self.nameservers(server))


class TestGuestRootWithoutRemap(NetworkTestCase):
    """Where a guest's root would be the host's, it gains nothing."""

    def test_a_guests_user_cannot_ping_nor_its_root_set_links(self):
        server, _, _ = self.pair()
        self.run_in(server, 'sh', '-c', SETUID_BUSYBOX)
        code, out = self.ping_as_user(server, '10.10.0.12')
        self.assertNotEqual(0, code, out)
        self.assertIn('permission denied', out)
        code, out = self.run_in(server, 'ip', 'link', 'set', 'eth0', 'down')
        self.assertNotEqual(0, code)
        self.assertIn('Operation not permitted', out)


class TestUsernsRemap(userns_base.RemappedEngine, NetworkTestCase):
    """Ports and name servers of guests whose root is an unprivileged host
    user: their network namespaces belong to the containers' user
    namespaces, and the engine's resolv.conf of each to that user."""

    def test_ports_reboot_and_name_servers_of_remapped_guests(self):
        server, peer, a1 = self.pair()
        _, uid, _ = self.host_process(server)
        self.assertEqual(self.mapped_root()[0], uid)
        self.assertNotEqual(0, uid)
        expected = self.links(server)
        self.assertEqual(['10.10.0.53'], self.nameservers(server))
        self._reboot_server(server, hard=True)
        self.assertEqual(expected, self.links(server))
        self.assert_reaches(peer, server, '10.10.0.11')
        c1 = self.port('c', 31)
        self.attach(server, c1)
        self.assertEqual(['10.10.0.53', '10.20.0.53'],
                         self.nameservers(server))
        self.detach(server, c1)
        self.assertEqual(['10.10.0.53'], self.nameservers(server))

    def test_a_guests_user_pings_and_its_root_sets_its_links(self):
        # As in a virtual machine: CirrOS's ping is a setuid busybox, and
        # Tempest's scenario tests run "sudo ip link set eth1 up".
        server, peer, _ = self.pair()
        self.assertEqual((0, ''), self.run_in(server, 'sh', '-c',
                                              SETUID_BUSYBOX))
        code, out = self.ping_as_user(server, '10.10.0.12')
        self.assertEqual(0, code, out)
        self.assertIn('1 packets received', out)
        self.assertEqual((0, ''), self.run_in(server, 'ip', 'link', 'set',
                                              'eth0', 'down'))
        self.assertIsNone(self.fetch(server, '10.10.0.12'))
        self.assertEqual((0, ''), self.run_in(server, 'ip', 'link', 'set',
                                              'eth0', 'up'))
        self.assert_reaches(server, peer, '10.10.0.12')
        # The capability holds in the container's user namespace only.
        _, uid, _ = self.host_process(server)
        self.assertNotEqual(0, uid)


class TestDeleteSweep(NetworkTestCase):

    def test_delete_removes_ovs_ports_network_info_lacks(self):
        self.agent()
        a1, a2 = self.port('a', 11), self.port('a', 12, hybrid=True)
        server = self.boot_on(a1, a2)
        # Nova's record loses a2 (as when Neutron deleted the port first),
        # and someone plugged a port for the instance behind Nova's back.
        self._forget_port(server, a2)
        stray = self._ovs_veth(server['id'])
        other = self._ovs_veth(uuidutils.generate_uuid())
        self._delete_server(server)
        self.booted.remove(server['id'])
        self.assertEqual(set(), self.ours_on_host([a1, a2]))
        ports = ovs_vsctl('list-ports', BRIDGE).split()
        self.assertNotIn(stray, ports)
        self.assertNotIn(stray, host_links())
        # Another instance's port stays.
        self.assertIn(other, ports)
        self.assertIn(other, host_links())

    def _forget_port(self, server, port_id):
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings['cell1']) as cctxt:
            cache = objects.InstanceInfoCache.get_by_instance_uuid(
                cctxt, server['id'])
            cache.network_info = network_model.NetworkInfo(
                [vif for vif in cache.network_info if vif['id'] != port_id])
            cache.save()

    def _ovs_veth(self, vm_uuid):
        """A veth on the switch marked for ``vm_uuid`` as os-vif marks."""
        name = 'tap' + uuidutils.generate_uuid()[:11]
        subprocess.run(['ip', 'link', 'add', name, 'type', 'veth', 'peer',
                        'name', 'tin' + name[3:]], check=True)
        self.addCleanup(subprocess.run, ['ip', 'link', 'del', name],
                        check=False, capture_output=True)
        ovs_vsctl('add-port', BRIDGE, name, '--', 'set', 'Interface', name,
                  'external_ids:vm-uuid=%s' % vm_uuid,
                  'external_ids:iface-id=%s' % uuidutils.generate_uuid())
        self.addCleanup(subprocess.run, ['ovs-vsctl', '--if-exists',
                                         'del-port', name], check=False)
        return name


class TestEngineRestart(NetworkTestCase):
    """A real restart of dockerd, on an engine of the test's own."""

    def _setup_compute_service(self):
        if not shutil.which('dockerd'):
            self.skipTest('needs dockerd to run an engine of its own')
        self.engine = self.useFixture(private_engine.PrivateEngine())
        self.docker = self.engine.client
        self.flags(api_url=self.engine.url, group='docker')
        return super()._setup_compute_service()

    def test_containers_the_restarted_engine_starts_are_plugged(self):
        server, peer, _ = self.pair()
        expected = {s['id']: self.links(s) for s in (server, peer)}
        pids = {}
        for s in (server, peer):
            # The operator's choice: containers come back with the engine.
            self.container(s).update(restart_policy={'Name': 'always'})
            pids[s['id']] = self.container(s).attrs['State']['Pid']
        self.engine.restart()
        for s in (server, peer):
            self._wait_for_new_process(s, pids[s['id']])
            self.wait_for_links(s, expected[s['id']])
        self.assert_reaches(peer, server, '10.10.0.11')
        self.assert_no_nova_action(server)

    def test_a_guest_the_engine_could_not_start_is_started(self):
        # The engine starts containers in no order, and a guest whose
        # sandbox does not run yet stays stopped; here the sandbox stays
        # stopped for sure (the fault), and the driver starts both.
        server, peer, _ = self.pair()
        expected = self.links(server)
        for s in (server, peer):
            self.container(s).update(restart_policy={'Name': 'always'})
        self.sandbox(server).update(restart_policy={'Name': 'no'})
        pid = self.container(server).attrs['State']['Pid']
        self.engine.restart()
        self._wait_for_new_process(server, pid)
        self.wait_for_links(server, expected)
        self.assert_reaches(peer, server, '10.10.0.11')
        self.assert_no_nova_action(server)

    def _wait_for_new_process(self, server, old_pid):
        for _ in range(300):
            state = self.container(server).attrs['State']
            if state.get('Running') and state.get('Pid') != old_pid:
                return
            time.sleep(0.2)
        self.fail('the engine did not start %s again' % server['id'])

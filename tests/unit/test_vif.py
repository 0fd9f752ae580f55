"""What the driver makes of a port: names, addresses, routes."""

import os
import socket

import fixtures
import testtools

from nova.network import model

from novadocker import vif as vifs

PORT = 'ce531f90-199f-48c0-816c-13e38010b442'


def make_vif(vif_type='ovs', active=False, details=None, mtu=1450,
             vnic_type='normal'):
    v4 = model.Subnet(
        cidr='10.10.0.0/24',
        gateway=model.IP(address='10.10.0.1', type='gateway'),
        dns=[model.IP(address='10.10.0.53', type='dns')],
        routes=[model.Route(cidr='172.16.0.0/16',
                            gateway=model.IP(address='10.10.0.254'))],
        ips=[model.FixedIP(address='10.10.0.11')])
    v6 = model.Subnet(
        cidr='fd10::/64',
        gateway=model.IP(address='fd10::1', type='gateway'),
        ips=[model.FixedIP(address='fd10::11')])
    # A subnet without an address of ours: its routes must not be used.
    other = model.Subnet(
        cidr='10.99.0.0/24',
        gateway=model.IP(address='10.99.0.1', type='gateway'))
    network = model.Network(id='net', bridge='br-int',
                            subnets=[v4, v6, other], meta={'mtu': mtu})
    return model.VIF(id=PORT, address='fa:16:3e:4c:2c:30', network=network,
                     type=vif_type, devname='tap' + PORT[:11],
                     details=details or {'port_filter': True,
                                         'ovs_hybrid_plug': False},
                     active=active, vnic_type=vnic_type)


class TestNames(testtools.TestCase):

    def test_host_end_is_novas_tap_name_and_peer_fits_ifnamsiz(self):
        vif = make_vif()
        self.assertEqual('tapce531f90-19', vifs.host_name(vif))
        self.assertEqual('tince531f90-19', vifs.peer_name(vif))
        self.assertLessEqual(len(vifs.peer_name(vif)), 15)


class TestAddressing(testtools.TestCase):

    def test_addresses_routes_and_gateways_of_both_families(self):
        addresses, routes = vifs.addressing(make_vif(), 0)
        self.assertEqual([('10.10.0.11', 24, 4), ('fd10::11', 64, 6)],
                         addresses)
        self.assertEqual([('172.16.0.0/16', '10.10.0.254', 100, 4),
                          ('0.0.0.0/0', '10.10.0.1', 100, 4),
                          ('::/0', 'fd10::1', 100, 6)], routes)

    def test_later_ports_get_worse_metrics(self):
        _, routes = vifs.addressing(make_vif(), 2)
        self.assertEqual({102}, {r[2] for r in routes})


class TestContainerSettings(testtools.TestCase):

    def test_ipv6_on(self):
        settings = vifs.container_settings()
        self.assertEqual('0', settings['sysctls'][
            'net.ipv6.conf.default.disable_ipv6'])


class TestEvents(testtools.TestCase):

    def test_only_ports_not_yet_active_are_waited_for(self):
        info = model.NetworkInfo([make_vif(active=False)])
        self.assertEqual([('network-vif-plugged', PORT)],
                         vifs.plugged_events(info))
        self.assertEqual([], vifs.plugged_events(
            model.NetworkInfo([make_vif(active=True)])))


class TestSupportedTypes(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.driver = vifs.VIFDriver()
        self.driver._os_vif()

    def test_ovs_and_hybrid_plug(self):
        obj = self.driver._to_os_vif(make_vif())
        self.assertEqual('VIFOpenVSwitch', obj.obj_name())
        obj = self.driver._to_os_vif(make_vif(details={
            'port_filter': True, 'ovs_hybrid_plug': True}))
        self.assertEqual('VIFBridge', obj.obj_name())
        self.assertEqual('qbrce531f90-19', obj.bridge_name)

    def test_other_types_get_a_clear_error(self):
        for vif_type, vnic in (('vhostuser', 'normal'), ('bridge', 'normal'),
                               ('hw_veb', 'direct'), ('ovs', 'direct')):
            e = self.assertRaises(vifs.UnsupportedVIF, self.driver._to_os_vif,
                                  make_vif(vif_type=vif_type,
                                           vnic_type=vnic))
            self.assertIn(vif_type, str(e))
            self.assertIn('cannot plug', str(e))

    def test_userspace_datapath_turns_tx_checksum_offload_off(self):
        netdev = self.driver._to_os_vif(make_vif(details={
            'port_filter': True, 'datapath_type': 'netdev'}))
        system = self.driver._to_os_vif(make_vif())
        self.assertFalse(self.driver._tx_checksum(netdev))
        self.assertTrue(self.driver._tx_checksum(system))


class TestOvsdbAnswers(testtools.TestCase):
    """No switch, no sweep: a delete must not wait for os-vif's timeout."""

    def test_unix_socket_there_or_not(self):
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'db.sock')
        self.assertFalse(vifs.ovsdb_answers('unix:' + path))
        server = socket.socket(socket.AF_UNIX)
        self.addCleanup(server.close)
        server.bind(path)
        server.listen(1)
        self.assertTrue(vifs.ovsdb_answers('unix:' + path))

    def test_tcp_listener_or_refused(self):
        server = socket.socket()
        self.addCleanup(server.close)
        server.bind(('127.0.0.1', 0))
        port = server.getsockname()[1]
        server.listen(1)
        self.assertTrue(vifs.ovsdb_answers('tcp:127.0.0.1:%d' % port))
        server.close()
        self.assertFalse(vifs.ovsdb_answers('tcp:127.0.0.1:%d' % port))
        self.assertFalse(vifs.ovsdb_answers('tcp:[::1]:%d' % port))

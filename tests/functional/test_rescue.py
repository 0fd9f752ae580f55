"""Rescue: a rescue container with the guest's root at /rescue, and the
guest back as it was, with what was written there, after unrescue."""

import os

import fixtures

from novadocker import conf
from tests.functional import base


class TestRescue(base.DockerDriverTestCase):

    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        self.use_real_privsep()

    def sh(self, server, script):
        result = self.container(server).exec_run(['/bin/sh', '-c', script])
        return result.exit_code, result.output.decode()

    def action(self, server, body, expected):
        self.api.post_server_action(server['id'], body)
        return self._wait_for_state_change(server, expected,
                                           max_retries=base.BOOT_RETRIES)

    def test_rescue_then_unrescue(self):
        server = self.boot()
        self.addCleanup(self.delete_servers, [server['id']])
        self.assertEqual(0, self.sh(server, 'echo mine > /root/marker')[0])
        original = self.container(server).id
        server = self.action(server, {'rescue': {}}, 'RESCUE')
        rescuer = self.container(server)
        self.assertNotEqual(original, rescuer.id)
        self.assertTrue(rescuer.attrs['State']['Running'])
        kept = self.docker.containers.get('nova-%s_rescue' % server['id'])
        self.assertEqual(original, kept.id)
        self.assertFalse(kept.attrs['State']['Running'])
        # The guest's root, writable, at /rescue; its own root is the
        # rescue image's.
        self.assertEqual((0, 'mine\n'),
                         self.sh(server, 'cat /rescue/root/marker'))
        self.assertNotEqual(0, self.sh(server, 'cat /root/marker')[0])
        self.assertEqual(
            0, self.sh(server, 'echo fixed > /rescue/root/fixed')[0])
        # The same sandbox: the server keeps its network.
        self.assertEqual(kept.attrs['HostConfig']['NetworkMode'],
                         rescuer.attrs['HostConfig']['NetworkMode'])
        server = self.action(server, {'unrescue': None}, 'ACTIVE')
        guest = self.container(server)
        self.assertEqual(original, guest.id)
        self.assertTrue(guest.attrs['State']['Running'])
        self.assertEqual((0, 'fixed\n'), self.sh(server, 'cat /root/fixed'))
        self.assertEqual([], self.docker.containers.list(
            all=True, filters={'name': 'nova-%s_rescue' % server['id']}))
        self.assertFalse(os.path.exists(os.path.join(
            conf.CONF.instances_path, server['id'], 'rescue-root')))

    def test_delete_while_rescued_leaves_nothing(self):
        server = self.boot()
        server = self.action(server, {'rescue': {}}, 'RESCUE')
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assertEqual([], self.docker.containers.list(
            all=True, filters={'name': server['id']}))
        self.assertFalse(os.path.ismount(os.path.join(
            conf.CONF.instances_path, server['id'], 'rescue-root')))

"""The boot check: a guest that ends at once fails its boot; a healthy one
does not wait out the check's window."""

from oslo_utils import timeutils

from tests.functional import base

# Longer than any boot here takes.
WINDOW = 120


class TestBootCheck(base.DockerDriverTestCase):

    def setUp(self):
        super().setUp()
        self.flags(boot_check_seconds=WINDOW, group='docker')

    def test_a_healthy_guest_is_active_once_it_settles(self):
        server = self.boot('guest')
        started = timeutils.parse_isotime(
            self.container(server).attrs['State']['StartedAt'])
        launched = timeutils.parse_isotime(
            self.api.get_server(server['id'])['OS-SRV-USG:launched_at'] +
            'Z')
        # Nova records the launch when spawn returns: long before the
        # window's end.
        self.assertLess(timeutils.delta_seconds(started, launched),
                        WINDOW / 2)

    def test_a_guest_that_ends_at_once_fails_without_waiting_either(self):
        server = self.boot('crashing', expected='ERROR')
        self.assertIn('exited at once with code 3',
                      server['fault']['message'])
        self.assertIn('fatal: no config found', server['fault']['message'])
        self.assertEqual([], self.containers_of(server['id']))

"""What the driver reads of the engine's user namespace remapping."""

import os

import fixtures
import testtools

from novadocker import engine_compat
from novadocker import userns

SECCOMP = 'name=seccomp,profile=builtin'


def info(options, root='/var/lib/docker'):
    return {'SecurityOptions': options, 'DockerRootDir': root}


class TestRemap(testtools.TestCase):

    def test_no_userns_option_is_no_remap(self):
        self.assertIsNone(userns.remap(info([SECCOMP, 'name=apparmor'])))
        self.assertIsNone(userns.remap({}))
        self.assertIsNone(userns.remap(info(None)))

    def test_the_data_root_names_the_host_ids_of_guests_root(self):
        self.assertEqual((100000, 100000), userns.remap(info(
            [SECCOMP, 'name=userns'], '/var/lib/docker/100000.100000')))
        self.assertEqual((231072, 231073), userns.remap(info(
            ['name=userns'], '/srv/docker/231072.231073/')))

    def test_older_engines_say_userns_alone(self):
        self.assertEqual((165536, 165536), userns.remap(info(
            ['apparmor', 'seccomp', 'userns'],
            '/var/lib/docker/165536.165536')))

    def test_a_data_root_of_another_shape_leaves_the_ids_unknown(self):
        for root in ('/var/lib/docker', '/var/lib/docker/1.x', '', None):
            found = userns.remap(info(['name=userns'], root))
            self.assertIsNotNone(found, root)
            self.assertEqual((None, None), found, root)

    def test_an_option_merely_starting_with_userns_is_not_one(self):
        self.assertIsNone(userns.remap(info(['name=usernsx', 'usernsx'])))


class TestCheckHost(testtools.TestCase):

    def test_says_which_host_uid_guests_root_is(self):
        with self.assertLogs('novadocker.userns', 'INFO') as logs:
            found = userns.check_host(info(
                ['name=userns'], '/var/lib/docker/100000.100000'))
        self.assertEqual((100000, 100000), found)
        self.assertIn('root in a guest is host uid 100000, gid 100000',
                      logs.output[0])

    def test_says_when_guests_root_is_the_hosts(self):
        with self.assertLogs('novadocker.userns', 'INFO') as logs:
            self.assertIsNone(userns.check_host(info([SECCOMP])))
        self.assertIn('does not remap user namespaces', logs.output[0])


class TestNoNewPrivileges(testtools.TestCase):

    def test_a_root_of_the_host_gains_nothing_by_setuid_whatever_the_option(
            self):
        for guest_setuid in (True, False):
            self.assertTrue(userns.no_new_privileges(False, guest_setuid))

    def test_an_unprivileged_root_setuid_follows_the_option(self):
        self.assertFalse(userns.no_new_privileges(True, True))
        self.assertTrue(userns.no_new_privileges(True, False))

    def test_only_an_unprivileged_root_configures_its_network(self):
        for option in (True, False):
            self.assertEqual((), userns.guest_capabilities(False, option))
        self.assertEqual(('NET_ADMIN',), userns.guest_capabilities(True, True))
        self.assertEqual((), userns.guest_capabilities(True, False))

    def test_only_an_engine_without_remap_sets_domain_names(self):
        self.assertTrue(userns.sets_domainname(None))
        self.assertFalse(userns.sets_domainname(userns.Remap(165536, 165536)))
        self.assertFalse(userns.sets_domainname(userns.Remap(None, None)))


class TestPerGuest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.logs = self.useFixture(fixtures.FakeLogger())

    def subids(self, uid_lines, gid_lines=None):
        files = []
        for name, lines in (('subuid', uid_lines),
                            ('subgid', uid_lines if gid_lines is None
                             else gid_lines)):
            path = os.path.join(self.dir, name)
            with open(path, 'w') as f:
                f.write(''.join(line + '\n' for line in lines))
            files.append(path)
        return tuple(files)

    def test_podman_with_a_range_for_containers_gives_each_guest_its_own(
            self):
        files = self.subids(['dockremap:100000:65536',
                             'containers:2147483647:2147483648'])
        self.assertTrue(userns.per_guest(
            True, 'podman', engine_compat.TRAITS['podman'], files))
        self.assertIn('Each guest gets a user namespace of its own',
                      self.logs.output)

    def test_off_is_off_whatever_the_engine_and_host(self):
        for kind in ('podman', 'docker'):
            self.assertFalse(userns.per_guest(
                False, kind, engine_compat.TRAITS[kind], ('/nonexistent',)))

    def test_docker_refuses_to_start_with_it(self):
        files = self.subids(['containers:2147483647:2147483648'])
        e = self.assertRaises(userns.PerGuestUnavailable, userns.per_guest,
                              True, 'docker', engine_compat.TRAITS['docker'],
                              files)
        self.assertIn('the docker engine gives containers no user namespace '
                      'of their own (only Podman does)', str(e))

    def test_podman_without_ranges_says_what_to_add(self):
        podman = engine_compat.TRAITS['podman']
        for uid_lines, gid_lines, missing in (
                ([], None, 'subuid'),
                (['containers:200000:1000'], None, 'subuid'),
                (['containers:200000:65536'], ['dockremap:1:65536'],
                 'subgid')):
            files = self.subids(uid_lines, gid_lines)
            e = self.assertRaises(userns.PerGuestUnavailable,
                                  userns.per_guest, True, 'podman',
                                  podman, files)
            self.assertIn('%s gives the user "containers" no range of '
                          '65536 ids; add one' % os.path.join(
                              self.dir, missing), str(e))

    def test_unreadable_files_are_said(self):
        missing = os.path.join(self.dir, 'nothing')
        e = self.assertRaises(userns.PerGuestUnavailable, userns.per_guest,
                              True, 'podman',
                              engine_compat.TRAITS['podman'],
                              (missing, missing))
        self.assertIn('cannot read %s' % missing, str(e))

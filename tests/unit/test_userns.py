"""What the driver reads of the engine's user namespace remapping."""

import testtools

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

    def test_without_a_remap_setuid_gains_nothing_whatever_the_option(self):
        for guest_setuid in (True, False):
            self.assertTrue(userns.no_new_privileges(None, guest_setuid))

    def test_under_a_remap_setuid_follows_the_option(self):
        for found in (userns.Remap(100000, 100000), userns.Remap(None, None)):
            self.assertFalse(userns.no_new_privileges(found, True))
            self.assertTrue(userns.no_new_privileges(found, False))

    def test_only_a_remapped_guests_root_configures_its_network(self):
        for option in (True, False):
            self.assertEqual((), userns.guest_capabilities(None, option))
        for found in (userns.Remap(100000, 100000), userns.Remap(None, None)):
            self.assertEqual(('NET_ADMIN',),
                             userns.guest_capabilities(found, True))
            self.assertEqual((), userns.guest_capabilities(found, False))

    def test_only_an_engine_without_remap_sets_domain_names(self):
        self.assertTrue(userns.sets_domainname(None))
        self.assertFalse(userns.sets_domainname(userns.Remap(165536, 165536)))
        self.assertFalse(userns.sets_domainname(userns.Remap(None, None)))

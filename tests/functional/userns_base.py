"""Guests whose root is an unprivileged host user, two ways: an engine of
the test's own that remaps user namespaces (``--userns-remap=default``),
and Podman giving each guest a user namespace of its own
(``per_guest_userns``); for the tests of such guests (test_userns, and
test_network's TestUsernsRemap).
"""

import os
import re
import shutil

import fixtures

from novadocker import userns
from tests.fixtures import private_engine
from tests.functional import base


def host_ids(pid):
    """The real uid and gid of a host process, from /proc/<pid>/status."""
    with open('/proc/%d/status' % pid) as f:
        status = f.read()
    uid = re.search(r'^Uid:\s+(\d+)', status, re.M).group(1)
    gid = re.search(r'^Gid:\s+(\d+)', status, re.M).group(1)
    return int(uid), int(gid)


class UnprivilegedRoot:
    """What the tests read of a guest's root on the host."""

    def host_process(self, server):
        """(pid, host uid, host gid) of the guest's init."""
        pid = self.container(server).attrs['State']['Pid']
        return (pid,) + host_ids(pid)


class RemappedEngine(UnprivilegedRoot):
    """A private engine with ``--userns-remap=default`` for the test."""

    def _setup_compute_service(self):
        if not shutil.which('dockerd'):
            self.skipTest('needs dockerd to run an engine of its own')
        if os.geteuid() != 0:
            self.skipTest('dockerd --userns-remap needs root')
        try:
            self.engine = self.useFixture(private_engine.PrivateEngine(
                userns_remap='default'))
        except fixtures.MultipleExceptions as e:
            # Such as a machine where the engine cannot add dockremap.
            self.skipTest('dockerd --userns-remap=default does not start '
                          'here: %s' % e.args[0][1])
        self.docker = self.engine.client
        self.flags(api_url=self.engine.url, group='docker')
        return super()._setup_compute_service()

    def mapped_root(self, server=None):
        """The host (uid, gid) of the guests' root, as the engine says:
        the same for every server."""
        root = os.path.basename(self.docker.info()['DockerRootDir'])
        uid, gid = root.split('.')
        return int(uid), int(gid)


def mapped_ids(pid):
    """The host (uid, gid) of uid and gid 0 in a process's user namespace,
    from /proc/<pid>/uid_map and gid_map."""
    found = []
    for name in ('uid_map', 'gid_map'):
        with open('/proc/%d/%s' % (pid, name)) as f:
            for line in f:
                inside, outside, _ = (int(v) for v in line.split())
                if inside == 0:
                    found.append(outside)
                    break
    return tuple(found)


class PerGuestUserns(UnprivilegedRoot):
    """Podman, each guest in a user namespace of its own
    (``[docker] per_guest_userns``)."""

    def _setup_compute_service(self):
        if not base.on_podman():
            self.skipTest('a user namespace per guest is Podman\'s: run '
                          'with NOVADOCKER_TEST_ENGINE=podman')
        shortage = userns.subid_shortage()
        if shortage:
            self.skipTest('Podman cannot give each guest its ids: %s' %
                          shortage)
        self.flags(per_guest_userns='true', group='docker')
        return super()._setup_compute_service()

    def mapped_root(self, server):
        """The host (uid, gid) of this server's root."""
        return mapped_ids(self.container(server).attrs['State']['Pid'])

"""An engine of the test's own that remaps user namespaces
(``--userns-remap=default``), for the tests of such guests (test_userns,
and test_network's TestUsernsRemap).
"""

import os
import re
import shutil

import fixtures

from tests.fixtures import private_engine


def host_ids(pid):
    """The real uid and gid of a host process, from /proc/<pid>/status."""
    with open('/proc/%d/status' % pid) as f:
        status = f.read()
    uid = re.search(r'^Uid:\s+(\d+)', status, re.M).group(1)
    gid = re.search(r'^Gid:\s+(\d+)', status, re.M).group(1)
    return int(uid), int(gid)


class RemappedEngine:
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

    def mapped_root(self):
        """The host (uid, gid) of the guests' root, as the engine says."""
        root = os.path.basename(self.docker.info()['DockerRootDir'])
        uid, gid = root.split('.')
        return int(uid), int(gid)

    def host_process(self, server):
        """(pid, host uid, host gid) of the guest's init."""
        pid = self.container(server).attrs['State']['Pid']
        return (pid,) + host_ids(pid)

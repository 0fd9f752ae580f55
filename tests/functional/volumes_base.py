"""Nova's functional harness with real Cinder volumes: loop devices that
hold file systems the test made, handed out by Nova's CinderFixture as
``local`` connection info, and the privsep daemons of the driver and of
os-brick real, run as the test's root.
"""

import contextlib
import os
import subprocess
import tempfile
import time

import fixtures
# Nova's functional package patches eventlet in. It must come before
# oslo.privsep's daemon module, which looks at import time.
import nova.tests.functional  # noqa: F401
from nova.tests.fixtures import cinder as cinder_fixture
from os_brick import privileged as brick_privileged  # noqa: F401
from oslo_utils import uuidutils
import psutil

from novadocker import mountinfo
from tests.functional import base

# os-brick's connector properties list the host's addresses (LightOS).
REAL_NET_IF_ADDRS = psutil.net_if_addrs
GUEST_VOLUMES = '/mnt/volumes'
SIZE_MB = {'xfs': 320, 'btrfs': 128}


def run(*command, check=True):
    return subprocess.run(command, check=check, capture_output=True,
                          text=True)


class VolumeTestCase(base.DockerDriverTestCase):

    # Attach and detach are casts: the API answers 202 and the outcome is
    # in the instance action's events, as in a real cloud.
    CAST_AS_CALL = False
    # os-brick looks for the host's initiators (Fibre Channel HBAs, NVMe).
    SYS_READ = base.DockerDriverTestCase.SYS_READ + ('/sys/class/',
                                                     '/sys/module/')

    def setUp(self):
        if os.geteuid() != 0 or not os.path.exists('/dev/loop-control'):
            if os.environ.get('NOVADOCKER_REQUIRE_VOLUMES'):
                self.fail('volume tests need root and loop devices')
            self.skipTest('volume tests need root and loop devices')
        self.loops = []
        super().setUp()
        self.cinder.VOLUME_CONNECTION_INFO = dict(
            cinder_fixture.CinderFixture.VOLUME_CONNECTION_INFO)
        self.booted = []
        # Runs first: servers deleted through Nova, then the devices.
        self.addCleanup(self._sweep)

    def _setup_compute_service(self):
        self.useFixture(fixtures.MonkeyPatch(
            'psutil.net_if_addrs', REAL_NET_IF_ADDRS))
        self.use_real_privsep('privsep_osbrick')
        return super()._setup_compute_service()

    def _sweep(self):
        self.delete_servers(self.booted)
        for point in mountinfo.below(self.volumes_root):
            run('umount', point, check=False)
        for loop, image in self.loops:
            run('losetup', '-d', loop, check=False)
            os.unlink(image)

    # -- volumes ----------------------------------------------------------

    def volume(self, content='ext4', read_only=False, files=None):
        """A Cinder volume on a new loop device.

        :param content: a file system to make, 'swap' for a swap signature
            or None for a blank device.
        :param files: {name: text} written on the file system.
        """
        fd, image = tempfile.mkstemp(prefix='novadocker-volume-')
        os.close(fd)
        os.truncate(image, SIZE_MB.get(content, 64) << 20)
        loop = run('losetup', '--find', '--show', image).stdout.strip()
        self.loops.append((loop, image))
        if content == 'swap':
            run('mkswap', loop)
        elif content:
            run('mkfs.' + content, '-q', loop)
        for name, text in (files or {}).items():
            with self.host_mount(loop) as where:
                with open(os.path.join(where, name), 'w') as f:
                    f.write(text)
        volume_id = uuidutils.generate_uuid()
        data = {'device_path': loop}
        if read_only:
            data['access_mode'] = 'ro'
        self.cinder.VOLUME_CONNECTION_INFO[volume_id] = {
            'driver_volume_type': 'local', 'data': data}
        return volume_id, loop

    @staticmethod
    @contextlib.contextmanager
    def host_mount(device):
        """Mount a device on the host for the test's own look."""
        where = tempfile.mkdtemp(prefix='novadocker-look-')
        run('mount', device, where)
        try:
            yield where
        finally:
            run('umount', where)
            os.rmdir(where)

    def read_on_device(self, device, name):
        with self.host_mount(device) as where:
            with open(os.path.join(where, name)) as f:
                return f.read()

    def boot(self, *args, **kw):
        server = super().boot(*args, **kw)
        self.booted.append(server['id'])
        return server

    def act(self, server, action, request, event_name=None, timeout=60):
        """Make an API request that starts ``action`` on the server; its
        compute event (compute_<action> unless named) once it has ended."""
        event_name = event_name or 'compute_' + action
        known = {a['request_id']
                 for a in self.api.get_instance_actions(server['id'])}
        request()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for found in self.api.get_instance_actions(server['id']):
                if (found['action'] != action or
                        found['request_id'] in known):
                    continue
                events = self.api.get_instance_action_details(
                    server['id'], found['request_id'])['events']
                for event in events:
                    if event['event'] == event_name and event.get(
                            'finish_time'):
                        return event
            time.sleep(0.2)
        self.fail('no end of %s on %s' % (event_name, server['id']))

    def attach(self, server, volume_id, expected='Success', event_name=None):
        event = self.act(server, 'attach_volume', lambda: (
            self.api.post_server_volume(server['id'], {
                'volumeAttachment': {'volumeId': volume_id}})),
            event_name)
        self.assertEqual(expected, event['result'], event.get('details'))
        if expected != 'Success':
            return None, event
        return self.api.get_server_volume(server['id'],
                                          volume_id)['device'], event

    def detach(self, server, volume_id, expected='Success'):
        event = self.act(server, 'detach_volume', lambda: (
            self.api.delete_server_volume(server['id'], volume_id)))
        self.assertEqual(expected, event['result'], event.get('details'))
        return event

    def attached(self, server):
        return [a['volumeId'] for a in
                self.api.get_server_volumes(server['id'])]

    def sh(self, server, script):
        result = self.container(server).exec_run(['sh', '-c', script])
        return result.exit_code, result.output.decode()

    def guest_mounts(self, server):
        """{mount point: options} of the guest's volumes."""
        _, out = self.sh(server, 'cat /proc/mounts')
        return {fields[1]: fields[3].split(',')
                for fields in (line.split() for line in out.splitlines())
                if fields[1].startswith(GUEST_VOLUMES + '/')}

    def host_dir(self, server):
        return os.path.join(self.volumes_root, server['id'])

"""Nova's functional harness with the Docker driver on the real engine.

Real API, conductor, scheduler, compute manager and placement; Nova's fake
Glance, extended here to hold real ``docker save`` tarballs and to keep the
data of snapshot uploads; Nova's fake Neutron.
"""

import atexit
import builtins
import glob
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from unittest import mock

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
import docker
import fixtures
from nova import context as nova_context
from nova import objects
from nova.tests.functional import integrated_helpers
from oslo_privsep import daemon as privsep_daemon
from oslo_utils import uuidutils

# The [docker] options the tests set, registered before the driver loads.
from novadocker import conf  # noqa: F401
from novadocker import engine_compat
from novadocker import mountinfo
from tests.fixtures import engine as test_engine
from tests.fixtures import images as test_images

CHUNK = 64 * 1024
# Polls (half a second apart) for a boot to reach its state: 30 s.
BOOT_RETRIES = 60
_TARBALLS = {}
_ENGINE_KIND = {}
# The C programs that tests put into guests (put_program).
PROGRAMS = os.path.join(os.path.dirname(__file__), 'programs')
# What the driver reads under /sys, which Nova's harness poisons: the CPU
# topology, where /proc/cpuinfo does not give it (not on x86).
SYS_READ_BY_DRIVER = '/sys/devices/system/cpu'
# As imported, before any test poisons them.
_UNPOISONED = {'builtins.open': builtins.open, 'os.listdir': os.listdir,
               'os.path.isdir': os.path.isdir, 'glob.glob': glob.glob,
               'glob.iglob': glob.iglob}


# The engine the tests use, and the driver by default
# (tests/fixtures/engine.py says how to choose another).
ENGINE_URL = test_engine.URL


def engine_client():
    return docker.DockerClient(base_url=ENGINE_URL, version='auto')


def on_podman():
    """Do the tests run on Podman's Docker-compatible service?"""
    if 'podman' not in _ENGINE_KIND:
        client = engine_client()
        try:
            _ENGINE_KIND['podman'] = engine_compat.kind_of(
                client.version()) == engine_compat.PODMAN
        finally:
            client.close()
    return _ENGINE_KIND['podman']


def tarballs():
    """Build the test tarballs once per test process."""
    if not _TARBALLS:
        directory = tempfile.mkdtemp(prefix='novadocker-images-')
        atexit.register(shutil.rmtree, directory, True)
        client = engine_client()
        _TARBALLS.update(test_images.build_tarballs(client, directory))
        cirros = test_images.build_cirros_tarball(client, directory)
        if cirros:
            _TARBALLS['cirros'] = cirros
    return _TARBALLS


def build_static(directory, name):
    """programs/<name>.c as a static binary in ``directory``, or None
    without a C compiler and a static libc (Debian's gcc and libc6-dev)."""
    compiler = shutil.which(os.environ.get('CC', 'cc'))
    if not compiler:
        return None
    source = os.path.join(PROGRAMS, name + '.c')
    path = os.path.join(directory, name)
    done = subprocess.run([compiler, '-static', '-O2', '-o', path, source],
                          capture_output=True)
    return path if done.returncode == 0 else None


# Nova's test base replaces privsep's channel with one that fails; tests
# that want real daemons put this back (use_real_privsep).
REAL_CHANNEL = privsep_daemon.RootwrapClientChannel


class DockerGlance:
    """Teach Nova's GlanceFixture to serve and keep image data.

    The fixture returns nothing from download() without a target and drops
    the data of update(): here downloads stream a tarball in chunks, as
    glanceclient does, and uploads are written to a file whose hashes are
    recorded the way Glance records them.
    """

    def __init__(self, fixture, directory):
        self.fixture = fixture
        self.directory = directory
        self.paths = {}
        self.downloads = []
        fixture.download = self.download
        self._update = fixture.update
        fixture.update = self.update

    def add(self, name, tarball=None, **fields):
        """Register an image; fields override what Glance would report."""
        image_id = uuidutils.generate_uuid()
        meta = {'id': image_id, 'name': name, 'status': 'active',
                'visibility': 'public', 'container_format': 'docker',
                'disk_format': 'raw', 'min_ram': 0, 'min_disk': 0,
                'properties': {}}
        if tarball:
            self.paths[image_id] = tarball['path']
            meta.update({k: tarball[k] for k in (
                'os_hash_algo', 'os_hash_value', 'checksum', 'size')})
        properties = fields.pop('properties', {})
        meta.update(fields)
        meta['properties'].update(properties)
        self.fixture.create(None, meta)
        return image_id

    def download(self, context, image_id, data=None, dst_path=None,
                 trusted_certs=None):
        self.fixture.show(context, image_id)
        self.downloads.append(image_id)
        path = self.paths[image_id]

        def chunks():
            with open(path, 'rb') as f:
                while chunk := f.read(CHUNK):
                    yield chunk
        return chunks()

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        image = self._update(context, image_id, metadata, data=None,
                             purge_props=purge_props)
        if data is not None:
            path = os.path.join(self.directory, image_id + '.tar')
            sha512, md5, size = hashlib.sha512(), hashlib.md5(), 0
            with open(path, 'wb') as f:
                # as glanceclient does: data is a file, read in 64 KiB pieces
                for chunk in iter(lambda: data.read(65536), b''):
                    f.write(chunk)
                    sha512.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
            self.paths[image_id] = path
            image.update({'os_hash_algo': 'sha512',
                          'os_hash_value': sha512.hexdigest(),
                          'checksum': md5.hexdigest(), 'size': size})
        return image


class DockerDriverTestCase(integrated_helpers._IntegratedTestBase):
    """Boot servers through Nova's API onto containers of the real engine."""

    ADMIN_API = True
    microversion = 'latest'
    # What of /sys the code under test reads for real.
    SYS_READ = (SYS_READ_BY_DRIVER,)

    def setUp(self):
        self.docker = engine_client()
        self.tarballs = tarballs()
        super().setUp()
        self.workdir = self.useFixture(fixtures.TempDir()).path
        self.images = DockerGlance(self.glance, self.workdir)
        self.image_ids = {}
        self.addCleanup(self._remove_engine_leftovers)

    def _let_the_driver_read_sys(self):
        """Real readings of the host for the driver, poison for the rest."""
        for name, real in _UNPOISONED.items():
            module, _, attribute = name.rpartition('.')
            poisoned = getattr(__import__(module, fromlist=['_']), attribute)

            def reader(path, *args, _real=real, _poisoned=poisoned, **kw):
                if str(path).startswith(self.SYS_READ):
                    return _real(path, *args, **kw)
                return _poisoned(path, *args, **kw)
            self.useFixture(fixtures.MonkeyPatch(name, reader))

    def _setup_services(self):
        self._let_the_driver_read_sys()
        # The driver on the tests' engine, unless a test points it at
        # another (_setup_compute_service).
        self.flags(api_url=ENGINE_URL, group='docker')
        # The nova wheel installs api-paste.ini under <prefix>/etc/nova, not
        # where the API fixture looks (beside site-packages).
        paste = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')
        if os.path.exists(paste):
            self.flags(api_paste_config=paste, group='wsgi')
        super()._setup_services()

    def _setup_compute_service(self):
        self.flags(compute_driver='docker.DockerDriver')
        # Not below nova's state_path (site-packages in the harness).
        self.flags(volumes_path=self.volumes_path(), group='docker')
        # A host name of its own: the engine may be shared with other runs.
        self.host = 'compute-%s' % uuidutils.generate_uuid()[:8]
        return self._start_compute(self.host)

    def start_another_compute(self):
        """A second compute service in this process, on the same engine,
        with a host name and node identity of its own (a real host keeps
        its node's uuid in a file: here the services share the process).
        Its name."""
        other = 'compute-%s' % uuidutils.generate_uuid()[:8]
        with mock.patch('nova.virt.node.get_local_node_uuid',
                        return_value=uuidutils.generate_uuid()):
            self._start_compute(other)
        return other

    def use_real_privsep(self, *groups):
        """Real privsep daemons for the driver's context and the option
        ``groups`` of other libraries' contexts: the test runs as root,
        privsep-helper drops to each context's capabilities, as under
        nova-compute (Nova's test base forbids them)."""
        self.useFixture(fixtures.MonkeyPatch(
            'oslo_privsep.daemon.RootwrapClientChannel', REAL_CHANNEL))
        helper = os.path.join(os.path.dirname(sys.executable),
                              'privsep-helper')
        for group in ('novadocker_privileged',) + groups:
            self.flags(helper_command=helper, group=group)

    def delete_servers(self, server_ids):
        """Delete through Nova what a test booted, as a cleanup: a server
        already gone or failing to go is left to the sweeps after."""
        for server_id in server_ids:
            try:
                self.api.delete_server(server_id)
                self._wait_until_deleted({'id': server_id})
            except Exception:
                pass

    def volumes_path(self):
        """Where the driver mounts volumes: here, a directory of the test,
        which the driver makes a shared mount at start; unmounted after
        the test (a failed test's mounts below it too: lazily, here only),
        or every run would leave one on the machine."""
        root = tempfile.mkdtemp(prefix='novadocker-volumes-')
        self.volumes_root = os.path.realpath(root)
        self.addCleanup(self._remove_volumes_root)
        return root

    def _remove_volumes_root(self):
        points = mountinfo.below(self.volumes_root) + [self.volumes_root]
        for point in points:
            # A bind may lie over another.
            for _ in range(3):
                if not mountinfo.mounted(point):
                    break
                if subprocess.run(['umount', point],
                                  capture_output=True).returncode:
                    subprocess.run(['umount', '-l', point],
                                   capture_output=True)
        for directory, _, _ in os.walk(self.volumes_root, topdown=False):
            os.rmdir(directory)

    def image(self, kind, **fields):
        """A Glance image of one of the test tarballs (one per test)."""
        if kind not in self.image_ids or fields:
            self.image_ids[kind] = self.images.add(
                'test-' + kind, self.tarballs[kind], **fields)
        return self.image_ids[kind]

    def boot(self, kind='guest', expected='ACTIVE', flavor_id=None, **kw):
        server = self._build_server(image_uuid=self.image(kind),
                                    flavor_id=flavor_id, networks='none')
        server.update(kw)
        server = self.api.post_server({'server': server})
        # Nova's 5 s are short for a first boot on an engine of the
        # test's own, which loads the image first (more so under load).
        return self._wait_for_state_change(server, expected,
                                           max_retries=BOOT_RETRIES)

    def keypair(self, name):
        """A new ed25519 key pair in Nova: its public key."""
        public_key = ed25519.Ed25519PrivateKey.generate().public_key(
        ).public_bytes(serialization.Encoding.OpenSSH,
                       serialization.PublicFormat.OpenSSH).decode()
        self.api.post_keypair({'keypair': {
            'name': name, 'type': 'ssh', 'public_key': public_key}})
        return public_key

    def snapshot(self, server, name='snap-1'):
        """createImage, until the server's task ends: the image's id."""
        snapshot_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': name}})['image_id']
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})
        return snapshot_id

    def boot_from_glance(self, image_id):
        """A server of an image that the engine has no copy of: booted
        from what Glance keeps (a snapshot's upload)."""
        self.docker.images.remove('glance/%s' % image_id)
        self.image_ids['snapshot'] = image_id
        server = self._build_server(image_uuid=image_id, networks='none')
        server = self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ACTIVE',
            max_retries=BOOT_RETRIES)
        self.assertIn(image_id, self.images.downloads)
        return server

    def console(self, server):
        return self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']

    def wait_for_console(self, server, text, timeout=20):
        """The console log once it shows ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            output = self.console(server)
            if text in output or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIn(text, output)
        return output

    def skip_on_podman(self, why):
        """Skip where the engine is Podman, saying why."""
        if on_podman():
            self.skipTest('Podman: %s' % why)

    def mounts_of(self, container):
        """(source, target, read-only) of every bind of a container,
        however the engine reports it (Docker: HostConfig's Mounts for
        what the driver asked as mounts; Podman: its Binds for all)."""
        host = container.attrs['HostConfig']
        found = [(m['Source'], m['Target'], bool(m.get('ReadOnly')))
                 for m in host.get('Mounts') or []]
        for bind in host.get('Binds') or []:
            source, target, *options = bind.split(':')
            found.append((source, target, 'ro' in ','.join(
                options).split(',')))
        return found

    def container(self, server):
        """The container of a server, found as the driver finds it."""
        found = [c for c in self.docker.containers.list(all=True, filters={
            'label': 'org.openstack.nova.instance_uuid=%s' % server['id']})
            if c.name == 'nova-%s' % server['id']]
        return found[0] if len(found) == 1 else found or None

    def sandbox(self, server):
        """The container that holds a server's network namespace."""
        found = [c for c in self.docker.containers.list(all=True, filters={
            'label': 'org.openstack.nova.sandbox_of=%s' % server['id']})
            if c.name == 'nova-%s-sandbox' % server['id']]
        return found[0] if len(found) == 1 else found or None

    def assert_network_of_its_sandbox(self, server):
        """The server's container has the network of its sandbox, which
        has no other (Docker's own networking stays off), runs as nobody
        without capabilities, and is no instance of Nova's."""
        sandbox = self.sandbox(server)
        self.assertEqual('container:%s' % sandbox.id, self.container(
            server).attrs['HostConfig']['NetworkMode'])
        host = sandbox.attrs['HostConfig']
        self.assertEqual('none', host['NetworkMode'])
        self.assertFalse(host['Privileged'])
        # No capability at all (engines list a drop of ALL differently).
        self.assertEqual({'CapPrm': 0, 'CapEff': 0, 'CapBnd': 0},
                         self.capabilities_of(sandbox.attrs['State']['Pid']))
        self.assertTrue(host['ReadonlyRootfs'])
        self.assertEqual('65534:65534', sandbox.attrs['Config']['User'])
        self.assertNotIn('org.openstack.nova.instance_uuid', sandbox.labels)
        return sandbox

    @staticmethod
    def capabilities_of(pid):
        """The capability sets of a process of the host, as numbers."""
        with _UNPOISONED['builtins.open']('/proc/%d/status' % pid) as f:
            fields = dict(line.split(':', 1) for line in f if ':' in line)
        return {name: int(fields[name].strip(), 16)
                for name in ('CapPrm', 'CapEff', 'CapBnd')}

    def put_program(self, server, name, mode=0o755):
        """programs/<name>.c, built statically, into the guest as
        /bin/<name>, root's with ``mode``; the test skips without a
        compiler."""
        program = build_static(self.workdir, name)
        if program is None:
            self.skipTest('needs a C compiler and a static libc (gcc, '
                          'libc6-dev) to build %s.c in %s' % (name, PROGRAMS))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            info = tar.gettarinfo(program, arcname='bin/' + name)
            info.uid = info.gid = 0
            info.uname = info.gname = 'root'
            info.mode = mode
            with open(program, 'rb') as f:
                tar.addfile(info, f)
        self.assertTrue(self.container(server).put_archive(
            '/', buf.getvalue()))
        return '/bin/' + name

    def setuid_ids(self, server, user='1000'):
        """'<uid> <euid>' of a program owned by the guest's root, mode
        4755, run in the guest as ``user``: what sudo would get."""
        path = self.put_program(server, 'euid', mode=0o4755)
        result = self.container(server).exec_run([path], user=user)
        self.assertEqual(0, result.exit_code, result.output)
        return result.output.decode().strip()

    def wait_for_trap(self, container, signum, timeout=20):
        """Until the guest's init handles a signal: as PID 1 of its
        namespace, it ignores one that it does not handle yet."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = container.exec_run(['cat', '/proc/1/status']).output
            caught = re.search(rb'SigCgt:\s*([0-9a-f]+)', status)
            if caught and int(caught.group(1), 16) & 1 << (signum - 1):
                return
            time.sleep(0.1)
        self.fail('the guest does not handle signal %d' % signum)

    def containers_of(self, server_id):
        return self.docker.containers.list(all=True, filters={
            'label': 'org.openstack.nova.instance_uuid=%s' % server_id})

    def dangling_images(self):
        return {i.id for i in self.docker.images.list(
            filters={'dangling': True})}

    def _remove_engine_leftovers(self):
        # Sparse: the listing of the engine, without an inspect of each
        # container, which other runs on the engine may remove meanwhile.
        ours = self._servers()
        # Removed as the driver removes them (engine_compat absorbs what
        # Podman's removes need).
        api = engine_compat.connect(ENGINE_URL, 'auto', 60)[0].api
        # Guests, then their sandboxes.
        for label in ('org.openstack.nova.instance_uuid',
                      'org.openstack.nova.sandbox_of'):
            for container in self.docker.containers.list(
                    all=True, sparse=True, filters={'label': label}):
                labels = container.attrs.get('Labels') or {}
                if labels.get(label) in ours:
                    try:
                        api.remove_container(container.id, force=True)
                    except docker.errors.NotFound:
                        pass
        # NotFound: Podman's words for a missing image are not those that
        # make docker-py raise ImageNotFound.
        for image_id in list(self.images.paths):
            try:
                self.docker.images.remove('glance/%s' % image_id, force=True)
            except docker.errors.NotFound:
                pass
        # The root images of moved servers whose delete found their compute
        # service stopped (cleanups run after the services' own).
        for server_id in ours:
            for image in self.docker.images.list(
                    name='nova-docker-root/%s' % server_id):
                for tag in image.tags:
                    try:
                        self.docker.images.remove(tag, force=True)
                    except docker.errors.NotFound:
                        pass

    def last_fault(self, server):
        """The message of the server's last instance fault (which the API
        shows only for a server in ERROR), or None."""
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings['cell1']) as cctxt:
            faults = objects.InstanceFaultList.get_latest_by_instance_uuids(
                cctxt, [server['id']])
        return faults[0].message if faults else None

    def _servers(self):
        """Uuids of every instance this test made, deleted or not."""
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings['cell1']) as cctxt:
            return {i.uuid for i in objects.InstanceList.get_by_filters(
                cctxt, {}, expected_attrs=[])}

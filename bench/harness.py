"""Nova's functional harness set up for measuring, not for asserting.

The tests' :class:`~tests.functional.base.DockerDriverTestCase` is reused as
is (real API, conductor, scheduler, placement and compute manager in this
process, Nova's fake Glance streaming real ``docker save`` tarballs); this
adds a small flavor, room in placement and quotas for many instances, tight
polling (the harness's own waits poll every 0.5 s, coarser than what we
measure) and timers around the driver's steps.
"""

import collections
import time
import types
from unittest import mock

from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from novadocker import conf
from novadocker import engine_compat
from novadocker import flavor as flavor_settings

from bench import options
from bench.record import say
from tests.functional import base

CONF = conf.CONF
# What a bench container carries so a failed run's leftovers can be found.
BENCH_LABEL = 'org.openstack.nova-docker.bench'
FLAVOR = {'memory_mb': 64, 'vcpu': 1, 'disk': 0, 'ephemeral': 0}
# A guest that sleeps until it is told to stop: "idle" for density.
IDLE_COMMAND = ("/bin/sh -c 'trap \"exit 0\" TERM; "
                "while true; do sleep 3600 & wait $!; done'")


class BootFailed(Exception):
    pass


def _status(instance):
    """The API's status of an instance, as far as a benchmark needs it."""
    if instance.vm_state == vm_states.ERROR:
        return 'ERROR'
    if instance.vm_state == vm_states.ACTIVE and not instance.task_state:
        return 'ACTIVE'
    return 'BUILD'


class Spans:
    """Wall time spent in chosen functions, summed per label."""

    def __init__(self, test):
        self.test = test
        # Labels are counted under the current scope (a variant's name).
        self.scope = ''
        self.seconds = collections.defaultdict(float)
        self.calls = collections.defaultdict(int)

    def wrap(self, target, attr, label=None, static=False):
        """Time ``target.attr`` (a static method of a class with
        ``static``) under ``label``."""
        label = label or attr
        original = getattr(target, attr)

        def timed(*args, **kwargs):
            start = time.monotonic()
            key = (self.scope, label)
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] += time.monotonic() - start
                self.calls[key] += 1

        patcher = mock.patch.object(target, attr,
                                    staticmethod(timed) if static else timed)
        patcher.start()
        self.test.addCleanup(patcher.stop)

    def mean(self, label, per, scope=None):
        """Seconds in ``label`` per ``per`` (boots, say) in a scope."""
        key = (self.scope if scope is None else scope, label)
        return self.seconds.get(key, 0.0) / per if per else 0.0

    def summary(self, labels, per, scope=None):
        return ', '.join('%s %.3f' % (label, self.mean(label, per, scope))
                         for label in labels)


def driver_spans(test):
    """Timers around the build and each step of the driver's spawn."""
    from docker.models import containers
    from nova.compute import manager
    from novadocker import driver
    from novadocker import image

    spans = Spans(test)
    spans.wrap(manager.ComputeManager, '_build_and_run_instance', 'build')
    spans.wrap(driver.DockerDriver, 'spawn')
    spans.wrap(image, 'ensure_cached', 'image')
    spans.wrap(driver.DockerDriver, '_remove_stale', 'stale')
    spans.wrap(driver.DockerDriver, '_create', 'create')
    spans.wrap(containers.Container, 'start')
    spans.wrap(driver.DockerDriver, '_check_started', 'check')
    spans.wrap(driver.DockerDriver, 'get_info')
    return spans


SPAWN_STEPS = ('build', 'spawn', 'image', 'stale', 'create', 'start',
               'check', 'get_info')


class BenchCase(base.DockerDriverTestCase):
    """One compute host running ``DRIVER``, sized for many small instances."""

    DRIVER = 'docker.DockerDriver'
    HOST = 'compute'
    # Placement must not be what stops a density run.
    CPU_ALLOCATION_RATIO = 1000.0

    def setUp(self):
        say('== %s' % self.id())
        # Read while the services start, in super().setUp().
        self.opts = options.current()
        super().setUp()
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.flavor = self._create_flavor(**FLAVOR)

    # A second compute service with Nova's fake driver, started first
    # (ours last: the driver reads its host from CONF.host, which starting
    # a compute service sets); None for none.
    FAKE_HOST = None

    def _setup_compute_service(self):
        if self.FAKE_HOST:
            self.flags(compute_driver=FakeBenchCase.DRIVER)
            self._start_compute(self.FAKE_HOST)
        self.flags(cpu_allocation_ratio=self.CPU_ALLOCATION_RATIO,
                   ram_allocation_ratio=64.0, disk_allocation_ratio=1.0)
        self.flags(api_url=self.opts.docker_host, group='docker')
        self.flags(compute_driver=self.DRIVER)
        return self._start_compute(self.HOST)

    # -- servers ------------------------------------------------------------

    def post(self, image_id, count=1, name=None, host=None,
             networks='none'):
        """POST /servers: the server, or for count > 1 the reservation id.
        """
        server = self._build_server(name=name, image_uuid=image_id,
                                    flavor_id=self.flavor, networks=networks,
                                    host=host)
        if count > 1:
            server.update(min_count=count, max_count=count,
                          return_reservation_id=True)
            return self.api.post_server({'server': server})['reservation_id']
        return self.api.post_server({'server': server})

    def instances(self, **filters):
        """Id and API status of the cell's instances, from its database.

        Polling the API's server list would take CPU from the builds it
        waits for (everything shares this process): its detail view of 50
        servers costs a good part of a second.
        """
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings['cell1']) as cctxt:
            found = objects.InstanceList.get_by_filters(
                cctxt, dict(filters, deleted=False), expected_attrs=[])
        return [{'id': i.uuid, 'status': _status(i)} for i in found]

    def wait_status(self, server_id, timeout=300, poll=0.01):
        """Wait until a server is ACTIVE.

        Polls the cell database, not the API: a GET of the server runs the
        whole API in this process and would delay the greenthreads of the
        boot it waits for (each engine call of the driver yields to them).
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.instances(uuid=[server_id])
            status = found[0]['status'] if found else 'BUILD'
            if status == 'ACTIVE':
                return
            if status == 'ERROR':
                raise BootFailed(self.api.get_server(server_id).get(
                    'fault', {}).get('message'))
            if time.monotonic() > deadline:
                raise BootFailed('%s still %s after %ds' % (
                    server_id, status, timeout))
            time.sleep(poll)

    def wait_task_done(self, server_id, timeout=600, poll=0.05):
        """Wait until the server has no task (a snapshot runs in the
        background of the API request, in the compute's long task pool)."""
        deadline = time.monotonic() + timeout
        while self.api.get_server(server_id)['OS-EXT-STS:task_state']:
            if time.monotonic() > deadline:
                raise BootFailed('%s still busy after %ds' % (
                    server_id, timeout))
            time.sleep(poll)

    def timed_boot(self, image_id, poll=0.01, host=None, networks='none'):
        """Seconds from POST /servers to ACTIVE, and the server.

        Each poll takes a little CPU from the boot: poll less often where a
        boot takes seconds.
        """
        start = time.monotonic()
        server_id = self.post(image_id, host=host, networks=networks)['id']
        self.wait_status(server_id, poll=poll)
        seconds = time.monotonic() - start
        return seconds, self.api.get_server(server_id)

    def wait_all(self, reservation_id, count, timeout, poll=0.5):
        """Wait until the ``count`` servers of a reservation are ACTIVE.

        Returns them; one in ERROR raises BootFailed with its fault.
        """
        deadline = time.monotonic() + timeout
        while True:
            servers = self.instances(reservation_id=reservation_id)
            failed = [s for s in servers if s['status'] == 'ERROR']
            if failed:
                raise BootFailed('%d in ERROR, first: %s' % (
                    len(failed), self.api.get_server(failed[0]['id']).get(
                        'fault', {}).get('message')))
            active = [s for s in servers if s['status'] == 'ACTIVE']
            if len(active) == count:
                return servers
            if time.monotonic() > deadline:
                raise BootFailed('%d of %d ACTIVE after %ds' % (
                    len(active), count, timeout))
            time.sleep(poll)

    def delete_all(self, server_ids, timeout=None):
        """DELETE every server and wait until the API no longer has them."""
        poll = 0.05 if len(server_ids) < 5 else 0.5
        # Deletes slow down with the count, as boots do (see RESULTS.md).
        timeout = timeout or 120 + 3 * len(server_ids)
        for server_id in server_ids:
            self.api.delete_server(server_id)
        remaining = list(server_ids)
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            remaining = [s['id'] for s in self.instances(uuid=remaining)]
            if remaining:
                time.sleep(poll)
        return remaining

    # -- raw Docker -----------------------------------------------------------

    def raw_host_config(self):
        """The engine settings the driver gives an instance of our flavor."""
        flavor = types.SimpleNamespace(
            memory_mb=FLAVOR['memory_mb'], vcpus=FLAVOR['vcpu'], swap=0,
            extra_specs={})
        return flavor_settings.to_host_config(
            flavor, CONF.docker.pids_limit, CONF.docker.cap_add,
            CONF.docker.guest_reboot)

    def raw_create_start(self, engine_image, command=None, **settings):
        """docker create + start through the SDK, as the driver calls it
        (on Podman with what the driver's client adds to every container:
        a host may refuse Podman's own limits, see engine_compat)."""
        if getattr(self, '_raw_client', None) is None:
            self._raw_client = engine_compat.connect(
                self.opts.docker_host, 'auto', 60)[0]
        container = self._raw_client.containers.create(
            engine_image, command=command, detach=True, stdin_open=True,
            labels={BENCH_LABEL: 'raw'},
            **dict(self.raw_host_config(), **settings))
        container.start()
        return container

    def engine_image(self, kind='guest'):
        """Boot once so the image is cached; returns the engine image."""
        server = self.boot(kind, flavor_id=self.flavor, host=self.HOST)
        image = self.container(server).image.id
        self.delete_all([server['id']])
        return image


class FakeBenchCase(BenchCase):
    """The same harness with Nova's fake driver: Nova's own floor."""

    DRIVER = 'fake.FakeDriver'

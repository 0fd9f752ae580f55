"""The guest's own reboot and power off.

With ``CAP_SYS_BOOT`` (``[docker] guest_reboot``), reboot(2) in a container
ends the container's PID namespace and nothing else: the kernel kills the
namespace's init and reports it to the engine as killed by SIGHUP for a
restart and by SIGINT for a power off or a halt, so that the container
exits with code 129 or 130. Every other command of reboot(2) fails there
(EINVAL), and Docker's default seccomp profile refuses kexec_load and
kexec_file_load whatever the capabilities.

A busybox init (CirrOS) also reboots itself when it gets the stop signal,
so 129 alone does not tell a guest's own reboot: ``docker stop``, ``docker
kill``, ``docker restart`` and ``docker rm -f`` (and so every stop the
driver asks for) make the engine report a ``kill`` event before the
``die``; a guest's reboot(2) makes none. The engine's events are what tell
the two apart, whoever stopped the container, rather than a record of the
driver's own stops, which would miss an operator's ``docker stop``.

The watcher of the engine's events (``novadocker.events``) decides with
:func:`requested`; on a guest's reboot the driver calls :func:`restart`,
which starts the container again unless Nova is acting on the instance. A
guest's power off is reported as any other end of the container's
process: Nova records the instance SHUTOFF.
"""

import collections
import signal
import time

from nova.compute import power_state
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from oslo_log import log as logging

from novadocker import conf

CONF = conf.CONF
LOG = logging.getLogger(__name__)

REBOOT = 'reboot'
POWER_OFF = 'power off'
# The exit codes the engine gives a container whose init the kernel killed
# for reboot(2) (the shell's 128 + signal).
EXIT_CODES = {128 + signal.SIGHUP: REBOOT, 128 + signal.SIGINT: POWER_OFF}
# A guest that reboots more often than this is stopped instead: each start
# costs the host a container start and a plug of every port (and Neutron
# the port's events), far more than a virtual machine's reset.
MAX_REBOOTS = 10
REBOOT_WINDOW = 60
# The engine's restart policies that start a container at the engine's own
# start.
ENGINE_START_POLICIES = ('always', 'unless-stopped')


def requested(exit_code, killed):
    """What the guest asked for when its container ended, or None.

    ``exit_code`` is the engine's (a string in its events, an int in its
    inspect data); ``killed`` says whether the engine sent the container a
    signal (its ``kill`` event) since it last started.
    """
    if killed or not CONF.docker.guest_reboot:
        return None
    try:
        return EXIT_CODES.get(int(exit_code))
    except (TypeError, ValueError):
        return None


def may_restart(instance, container_state, host):
    """Does a guest's reboot bring its container back now?

    Not while Nova acts on the instance (a stop, a reboot, a delete, a
    snapshot... plug and start for themselves or want it stopped), not for
    an instance Nova does not hold active, and not for a container that
    runs again already or was removed.
    """
    return (instance.host == host and
            instance.vm_state == vm_states.ACTIVE and
            instance.task_state is None and
            container_state.get('Status') == 'exited')


class RebootBudget:
    """At most ``limit`` restarts of one instance within ``window`` s."""

    def __init__(self, limit=MAX_REBOOTS, window=REBOOT_WINDOW,
                 clock=time.monotonic):
        self._limit = limit
        self._window = window
        self._clock = clock
        self._times = collections.defaultdict(collections.deque)

    def take(self, instance_uuid):
        """True, and counted, if one more restart is within the budget."""
        now = self._clock()
        times = self._times[instance_uuid]
        while times and now - times[0] >= self._window:
            times.popleft()
        if len(times) >= self._limit:
            return False
        times.append(now)
        return True

    def forget(self, instance_uuid):
        self._times.pop(instance_uuid, None)


def _instance(instance_uuid):
    """Nova's instance, with its ports, or None once deleted."""
    try:
        return objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), instance_uuid,
            expected_attrs=['info_cache'])
    except exception.InstanceNotFound:
        return None


def restart(engine_, start, budget, instance_uuid):
    """Start the container of a guest that rebooted itself, with ``start``
    (the driver's start with network: instance, container, network_info).

    True when it runs again; False leaves the end to be reported as a stop.
    ``budget`` (a RebootBudget) stops a guest that reboots in a loop.
    A Nova operation that begins while this runs finds either a stopped
    container or a running one, and a start that overtakes Nova's stop is
    undone by Nova when the start's lifecycle event reaches it.
    """
    instance = _instance(instance_uuid)
    if instance is None:
        return False
    container = engine_.find(instance_uuid)
    if container is None or not may_restart(
            instance, container.attrs['State'], engine_.host):
        LOG.info('The guest rebooted itself; its container stays stopped '
                 '(instance %s, task %s)', instance.vm_state,
                 instance.task_state, instance=instance)
        return False
    if not budget.take(instance_uuid):
        budget.forget(instance_uuid)
        LOG.warning('The guest rebooted itself more than %d times within '
                    '%d s; it stays stopped', MAX_REBOOTS, REBOOT_WINDOW,
                    instance=instance)
        return False
    LOG.info('The guest rebooted itself; starting its container again',
             instance=instance)
    try:
        # The driver's one start path, as for Nova's reboot: the ports up
        # again, and the domain name in the new UTS namespace.
        start(instance, container, instance.get_network_info())
    except Exception as e:
        LOG.error('Starting the container of a guest that rebooted itself '
                  'failed: %s', e, instance=instance)
        container.reload()
        # One that runs has no end to report as a stop.
        return bool(container.attrs['State'].get('Running'))
    return True


def restore(engine_, start, instance_uuid):
    """After the engine came back: start the guest its restart policy
    wanted running and the engine left stopped, with ``start`` (the
    driver's start with network), if Nova holds it running.

    True when it was started.
    """
    container = engine_.find(instance_uuid)
    if container is None or container.attrs['State'].get('Running'):
        return False
    policy = (container.attrs['HostConfig'].get('RestartPolicy') or
              {}).get('Name')
    if policy not in ENGINE_START_POLICIES:
        return False
    instance = _instance(instance_uuid)
    if instance is None:
        return False
    if not (may_restart(instance, container.attrs['State'],
                        engine_.host) and
            instance.power_state == power_state.RUNNING):
        return False
    LOG.info('The engine restarted without starting this guest (restart '
             'policy %s); starting it', policy, instance=instance)
    try:
        start(instance, container, instance.get_network_info())
    except Exception as e:
        LOG.error('Starting the guest after the engine\'s restart failed: '
                  '%s', e, instance=instance)
        return False
    return True

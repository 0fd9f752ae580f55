"""The boot check: does a new guest's first process end at once?

A broken image (a missing configuration, a bad command line) usually ends
its process within moments of the start; the boot then fails with the end
of its log as the fault, where Nova would otherwise show an ACTIVE server
that the next power state sync stops. A healthy guest soon waits for
something (its children, its console, a timer): once its first process is
seen asleep and using no CPU across ``SETTLE_SECONDS``, it has settled and
the check ends without waiting out ``[docker] boot_check_seconds``.

A process that ends after it settled, or after the window, is a guest that
stopped: the lifecycle events make the server SHUTOFF, and its console log
says why.
"""

import collections
import time

from oslo_utils import timeutils

# Two looks at the process this far apart, both asleep with no CPU time
# spent between them: the kernel counts CPU time in 10 ms ticks.
SETTLE_SECONDS = 0.02

Sample = collections.namedtuple('Sample', 'state cpu_ticks start')


def sample(pid):
    """The state letter, CPU ticks and start time of a process, from its
    /proc/<pid>/stat (readable by anyone); None once it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            # The fields after the command's parenthesis, from the third.
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return Sample(fields[0], int(fields[11]) + int(fields[12]),
                  int(fields[19]))


def ours(pid, container_id):
    """Is ``pid``, in this process's namespace, the container's? (The
    cgroup path names the container, with any engine and cgroup driver.)"""
    if not pid:
        return False
    try:
        with open('/proc/%d/cgroup' % pid) as f:
            return container_id in f.read()
    except OSError:
        return False


def settles(pid, deadline):
    """True once the process settled before ``deadline`` (``time.time()``);
    False when it is gone or ending; None when the deadline came first."""
    last = sample(pid)
    if last is None:
        return False
    while time.time() < deadline:
        time.sleep(max(0, min(SETTLE_SECONDS, deadline - time.time())))
        now = sample(pid)
        if now is None or now.start != last.start or now.state in 'ZXx':
            return False
        if now.state == last.state == 'S' and now.cpu_ticks == \
                last.cpu_ticks:
            return True
        last = now
    return None


def ended_at_once(client, container, window):
    """Did the container's process end within ``window`` seconds of its
    start? ``container`` was just started; it is reloaded with the state
    that answers."""
    container.reload()
    state = container.attrs['State']
    if not state.get('Running') or window <= 0:
        return not state.get('Running')
    started = timeutils.parse_isotime(state['StartedAt']).timestamp()
    pid = state.get('Pid')
    if ours(pid, container.id) and settles(pid, started + window):
        return False
    # Gone, busy until the window's end, or out of sight (another pid
    # namespace): the engine's events say whether it ended.
    if _dies(client, container, started, started + window):
        container.reload()
    return not container.attrs['State'].get('Running')


def _dies(client, container, since, until):
    """Does the engine report the container's end between two times? The
    stream answers as soon as the process ends, and the engine closes it
    at ``until``."""
    events = client.api.events(
        since='%.6f' % since, until='%.6f' % until, decode=True,
        filters={'container': container.id, 'event': 'die'})
    try:
        return any(True for _ in events)
    finally:
        events.close()

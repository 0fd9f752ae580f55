"""Small measuring tools: percentiles, memory high-water marks, processes.

Everything here reads /proc directly: the harness poisons os.uname, psutil's
interface listing and reads under /sys, and a benchmark must not depend on
what a test mocked.
"""

import os
import re
import statistics
import subprocess
import time

import docker

from novadocker import engine_compat

MIB = 1024 * 1024


def median(values):
    return statistics.median(values)


def percentile(values, pct):
    """Nearest-rank percentile: p95 of 20 samples is the 19th smallest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def _status_kib(field, pid='self'):
    with open('/proc/%s/status' % pid) as f:
        match = re.search(r'^%s:\s+(\d+) kB' % field, f.read(), re.M)
    return int(match.group(1)) if match else 0


def rss_bytes(pid='self'):
    return _status_kib('VmRSS', pid) * 1024


class PeakRSS:
    """Peak growth of this process's resident set over a block.

    The kernel's high-water mark (VmHWM) is reset to the current RSS by
    writing 5 to clear_refs, so the peak includes short bursts a sampler
    would miss.  Where that write is refused the growth is the end RSS
    (a lower bound), and ``exact`` says so.
    """

    def __init__(self):
        self.start = self.peak = 0
        self.exact = True

    def __enter__(self):
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            self.exact = False
        self.start = rss_bytes()
        return self

    def __exit__(self, *exc):
        if self.exact:
            self.peak = _status_kib('VmHWM') * 1024
        else:
            self.peak = rss_bytes()

    @property
    def growth(self):
        return max(0, self.peak - self.start)


class GrowthLog:
    """The peak RSS growths of a benchmark's rounds, held to one goal."""

    GOAL_MIB = 64

    def __init__(self):
        self.mib = []
        self.exact = True

    def add(self, peak):
        self.mib.append(peak.growth / MIB)
        self.exact &= peak.exact
        return self.mib[-1]

    def goal(self):
        return '< %d%s' % (self.GOAL_MIB, '' if self.exact else
                           ' (RSS at the end only)')

    def met(self):
        return max(self.mib) < self.GOAL_MIB


class Stopwatch:
    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.start


def timed_docker(*args, output=True):
    """Seconds a docker CLI command takes and its output (or None).

    Dirty pages of an earlier step are written out first, so that the disk
    work measured is this command's.
    """
    os.sync()
    start = time.monotonic()
    result = subprocess.run(
        ('docker',) + args, check=True, text=True,
        stdout=subprocess.PIPE if output else subprocess.DEVNULL)
    return time.monotonic() - start, result.stdout


def shim_pids(container_ids):
    """containerd shims still serving any of these containers.

    A shim names its container in its command line (-id <container id>).
    """
    wanted = set(container_ids)
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                args = f.read().decode('utf-8', 'replace').split('\0')
        except OSError:
            continue
        if 'containerd-shim' in args[0] and wanted & set(args):
            found.append(int(pid))
    return found


def alive(pid, start_time):
    """Is the process that had this pid and start time still there?"""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return False
    return fields[19] == start_time


def start_time(pid):
    with open('/proc/%d/stat' % pid) as f:
        return f.read().rsplit(')', 1)[1].split()[19]


def open_fds():
    return len(os.listdir('/proc/self/fd'))


def pids_of(name):
    """Pids of processes whose command name is ``name`` (for dockerd)."""
    pids = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/comm' % pid) as f:
                    if f.read().strip() == name:
                        pids.append(pid)
            except OSError:
                pass
    return pids


def rss_of(name):
    """Summed RSS of the processes called ``name``."""
    total = 0
    for pid in pids_of(name):
        try:
            total += rss_bytes(pid)
        except OSError:
            pass
    return total


def mem_available():
    with open('/proc/meminfo') as f:
        return int(re.search(r'^MemAvailable:\s+(\d+) kB', f.read(),
                             re.M).group(1)) * 1024


def host_tasks():
    """Processes and threads on the host: what pid_max bounds."""
    with open('/proc/loadavg') as f:
        return int(f.read().split()[3].split('/')[1])


def pid_max():
    with open('/proc/sys/kernel/pid_max') as f:
        return int(f.read())


def machine():
    """One line naming the machine, its engine and kernel."""
    with open('/proc/cpuinfo') as f:
        cpus = re.findall(r'^model name\s*:\s*(.+)$', f.read(), re.M)
    with open('/proc/meminfo') as f:
        mem = int(re.search(r'^MemTotal:\s+(\d+)', f.read(), re.M).group(1))
    with open('/proc/sys/kernel/osrelease') as f:
        kernel = f.read().strip()
    try:
        engine = subprocess.run(
            ['docker', 'info', '--format',
             '{{.ServerVersion}} {{.Driver}} cgroup{{.CgroupVersion}}'],
            capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        engine = '?'
    # Other work on the machine shows in the figures: say how much.
    with open('/proc/loadavg') as f:
        load = f.read().split()[0]
    return '%d x %s, %.0f GiB, %s %s, Linux %s, load %s at start' % (
        len(cpus), cpus[0].strip() if cpus else '?', mem / 1024 / 1024,
        engine_kind(), engine or '?', kernel, load)


def engine_kind():
    """Docker or Podman, as the engine at DOCKER_HOST says (Podman's
    Docker-compatible info gives its own version as the server's)."""
    try:
        api = docker.APIClient(base_url=os.environ.get(
            'DOCKER_HOST', 'unix:///var/run/docker.sock'), version='auto')
        try:
            return engine_compat.kind_of(api.version()).capitalize()
        finally:
            api.close()
    except docker.errors.DockerException:
        return 'Docker'

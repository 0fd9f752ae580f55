"""``python -m bench [BENCHMARK ...] [options]``: run the benchmarks.

Also what ``tox -e bench -- ...`` runs.  See ``python -m bench --help``.
"""

# Nova's services need eventlet's patching before anything imports socket
# users (urllib3 among them), as nova/tests/functional/__init__.py does.
from nova import monkey_patch  # noqa: I100
monkey_patch.patch()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import unittest  # noqa: E402

from bench import measure  # noqa: E402
from bench import options  # noqa: E402
from bench.record import RESULTS  # noqa: E402
from bench.record import say  # noqa: E402
from tests.fixtures import engine as test_engine  # noqa: E402


def benchmark_modules():
    """The benchmarks' modules, imported once the engine is known: the
    tests' harness takes its engine's URL at import."""
    from bench import boot_latency
    from bench import density
    from bench import first_boot
    from bench import migration
    from bench import port_boot
    from bench import snapshot
    from bench import untag
    return {'boot': boot_latency, 'boot-ports': port_boot,
            'first-boot': first_boot, 'snapshot': snapshot,
            'density': density, 'untag': untag, 'migration': migration}


def start_profiler(directory):
    """py-spy on this very process, stopped (and written) at the end."""
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, 'bench-%d' % os.getpid())
    # pip puts py-spy beside the interpreter, which may not be on PATH.
    pyspy = os.path.join(os.path.dirname(sys.executable), 'py-spy')
    if not os.path.exists(pyspy):
        pyspy = 'py-spy'
    proc = subprocess.Popen(
        [pyspy, 'record', '--pid', str(os.getpid()), '--rate', '200',
         '--format', 'raw', '--output', base + '.txt'],
        stdout=subprocess.DEVNULL)
    say('py-spy recording into %s.txt (collapsed stacks)' % base)
    return proc


def each_engine(argv, engines):
    """The benchmarks on each engine in turn, a process each (the
    benchmarks' figures and fixtures are per process)."""
    worst = 0
    for engine in engines:
        say('\n=== on %s' % engine)
        worst = max(worst, subprocess.call(
            [sys.executable, '-m', 'bench'] + options.without_engines(argv) +
            ['--engine', engine]))
    return worst


def main(argv):
    opts = options.parse(argv)
    if opts.engine and len(opts.engine) > 1:
        return each_engine(argv, opts.engine)
    # The SDK logs each client's config file search at DEBUG, unasked.
    logging.getLogger('docker').setLevel(logging.INFO)
    # The docker CLI, the tests' SDK client and the driver all use it
    # (tests.fixtures.engine read the environment before the options).
    os.environ['DOCKER_HOST'] = opts.docker_host
    os.environ['NOVADOCKER_TEST_ENGINE_URL'] = opts.docker_host
    test_engine.URL = opts.docker_host
    modules = benchmark_modules()
    machine = measure.machine()
    say('machine: %s' % machine)
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for name in opts.benchmarks:
        for case in modules[name].CASES:
            suite.addTests(loader.loadTestsFromTestCase(case))
    profiler = start_profiler(opts.profile) if opts.profile else None
    try:
        # Quiet: the cases say what they measure on stdout themselves.
        outcome = unittest.TextTestRunner(stream=sys.stderr,
                                          verbosity=0).run(suite)
    finally:
        if profiler:
            profiler.send_signal(signal.SIGINT)
            profiler.wait()
    for name in opts.benchmarks:
        modules[name].conclude()
    say(RESULTS.table())
    if not opts.no_record and RESULTS.order:
        RESULTS.append_to(machine, ' '.join(['python -m bench'] + argv))
        say('\nappended to bench/RESULTS.md')
    return 0 if outcome.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

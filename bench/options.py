"""Command line of ``python -m bench``, readable from inside test cases.

Benchmarks run as test cases (the harness is built on them), which take no
arguments; they read the parsed options from here.
"""

import argparse
import os

from tests.fixtures import engine as test_engine

BENCHMARKS = ('boot', 'boot-ports', 'first-boot', 'snapshot', 'density',
              'untag', 'migration')
_CURRENT = None
# The engines --engine names, at the sockets the tests use for them.
ENGINE_URLS = {'docker': test_engine.DOCKER_URL,
               'podman': test_engine.PODMAN_URL}


# Numeric options: flag, type, default, what it is (the default is added).
NUMBERS = (
    ('--boots', int, 20, 'boots per variant for the boot latency'),
    ('--image-mib', int, 1024, 'size of the random file in the big image, '
                               'MiB'),
    ('--rounds', int, 1, 'measurements of the first boot and of the '
                         'snapshot, each against its own baseline'),
    ('--snapshot-mib', int, 1024, 'new data written in the instance before '
                                  'its snapshot, MiB'),
    ('--move-mib', int, 256, 'new data written in the instance before its '
                             'migration and its resize, MiB'),
    ('--concurrent', int, 50, 'instances booted at once; 0 skips that part'),
    ('--max-builds', int, 10, '[DEFAULT] max_concurrent_builds'),
    ('--idle', int, 100, 'idle instances to reach on one compute, few to '
                         'keep the default run short (the goal is 200: use '
                         '--idle 200 or --max for it); 0 skips that part'),
    ('--max-minutes', float, 30, 'with --max, stop adding instances after '
                                 'this long'),
    ('--wave', int, 25, 'idle instances booted per request'),
    ('--reserve-mib', int, 2048, 'with --max, stop when the host has less '
                                 'memory available than this'),
)
# Variants of the boot check measured by the boot benchmark.
CHECKS = (
    ('--boot-check-seconds', '[docker] boot_check_seconds values to measure '
                             'boot latency with; repeatable (default: 0.2, '
                             'the option\'s default, and 0)'),
    ('--poll-check-seconds', 'the same with the boot check as it was before '
                             'it read the engine\'s events (an inspect every '
                             '0.05 s), for comparison; repeatable (default '
                             '0.2)'),
)


def parser():
    p = argparse.ArgumentParser(
        prog='python -m bench',
        description='nova-docker benchmarks: Nova with this driver on the '
                    'real Docker engine, against raw Docker and Nova\'s fake '
                    'driver measured in the same run.  Prints figures as it '
                    'goes and appends a row per benchmark to '
                    'bench/RESULTS.md.')
    p.add_argument('benchmarks', nargs='*', metavar='BENCHMARK',
                   help='any of %s (default: all)' % ', '.join(BENCHMARKS))
    for flag, kind, default, text in NUMBERS:
        p.add_argument(flag, type=kind, default=default,
                       help='%s (default %s)' % (text, default))
    for flag, text in CHECKS:
        p.add_argument(flag, type=float, action='append', help=text)
    p.add_argument('--snapshot-sink', choices=('discard', 'file'),
                   default='discard',
                   help='what the test Glance does with snapshot data: '
                        'discard it, as docker save > /dev/null does '
                        '(default), or write it to a file hashing it with '
                        'sha512 and md5 as the functional tests do')
    p.add_argument('--max', action='store_true',
                   help='keep adding idle instances until something fails '
                        'or the host runs low on memory')
    p.add_argument('--docker-host', metavar='URL',
                   default=os.environ.get('DOCKER_HOST',
                                          'unix:///var/run/docker.sock'),
                   help='engine to run on, for the driver, the SDK and the '
                        'docker CLI alike (default $DOCKER_HOST or the '
                        'standard socket). An engine of its own keeps other '
                        'work on the machine out of the figures (see '
                        'bench/RESULTS.md)')
    p.add_argument('--engine', choices=sorted(ENGINE_URLS), action='append',
                   help='run on this engine, at its socket (%s): sets '
                        '--docker-host. Repeatable: the benchmarks run on '
                        'each in turn, in a process of its own, each '
                        'against its own raw baseline, a row each' % ', '.join(
                            '%s %s' % i for i in sorted(ENGINE_URLS.items())))
    p.add_argument('--profile', metavar='DIR',
                   help='record the run with py-spy into DIR (flame graph '
                        'and collapsed stacks)')
    p.add_argument('--no-record', action='store_true',
                   help='do not append to bench/RESULTS.md')
    return p


def parse(argv):
    global _CURRENT
    p = parser()
    opts = p.parse_args(argv)
    unknown = set(opts.benchmarks) - set(BENCHMARKS) - {'all'}
    if unknown:
        p.error('unknown benchmark %s; choose from %s' % (
            ', '.join(sorted(unknown)), ', '.join(BENCHMARKS)))
    if not opts.benchmarks or 'all' in opts.benchmarks:
        opts.benchmarks = list(BENCHMARKS)
    if opts.boot_check_seconds is None:
        opts.boot_check_seconds = [0.2, 0.0]
    if opts.poll_check_seconds is None:
        opts.poll_check_seconds = [0.2]
    if opts.engine and len(opts.engine) == 1:
        opts.docker_host = ENGINE_URLS[opts.engine[0]]
    _CURRENT = opts
    return opts


def without_engines(argv):
    """The arguments without their --engine options."""
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == '--engine':
            skip = True
        elif not arg.startswith('--engine='):
            rest.append(arg)
    return rest


def current():
    """The options of this run (the defaults when run as a plain test)."""
    return _CURRENT or parse([])

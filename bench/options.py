"""Command line of ``python -m bench``, readable from inside test cases.

Benchmarks run as test cases (the harness is built on them), which take no
arguments; they read the parsed options from here.
"""

import argparse
import os

BENCHMARKS = ('boot', 'first-boot', 'snapshot', 'density')
_CURRENT = None


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
    p.add_argument('--boots', type=int, default=20,
                   help='boots per variant for the boot latency (default 20)')
    p.add_argument('--boot-check-seconds', type=float, action='append',
                   help='[docker] boot_check_seconds values to measure boot '
                        'latency with; repeatable (default: the option\'s '
                        'default 0.5, 0.1 and 0)')
    p.add_argument('--image-mib', type=int, default=1024,
                   help='size of the random file in the big image, MiB '
                        '(default 1024)')
    p.add_argument('--rounds', type=int, default=1,
                   help='measurements of the first boot and of the snapshot, '
                        'each against its own baseline (default 1)')
    p.add_argument('--snapshot-mib', type=int, default=1024,
                   help='new data written in the instance before its '
                        'snapshot, MiB (default 1024)')
    p.add_argument('--snapshot-sink', choices=('discard', 'file'),
                   default='discard',
                   help='what the test Glance does with snapshot data: '
                        'discard it, as docker save > /dev/null does '
                        '(default), or write it to a file hashing it with '
                        'sha512 and md5 as the functional tests do')
    p.add_argument('--concurrent', type=int, default=50,
                   help='instances booted at once (default 50); 0 skips that '
                        'part')
    p.add_argument('--max-builds', type=int, default=10,
                   help='[DEFAULT] max_concurrent_builds (default 10, '
                        'Nova\'s default)')
    p.add_argument('--idle', type=int, default=100,
                   help='idle instances to reach on one compute (default '
                        '100, to keep the default run short; the goal is '
                        '200: use --idle 200 or --max for it); 0 skips '
                        'that part')
    p.add_argument('--max', action='store_true',
                   help='keep adding idle instances until something fails '
                        'or the host runs low on memory')
    p.add_argument('--max-minutes', type=float, default=30,
                   help='with --max, stop adding instances after this long '
                        '(default 30)')
    p.add_argument('--wave', type=int, default=25,
                   help='idle instances booted per request (default 25)')
    p.add_argument('--reserve-mib', type=int, default=2048,
                   help='with --max, stop when the host has less memory '
                        'available than this (default 2048)')
    p.add_argument('--docker-host', metavar='URL',
                   default=os.environ.get('DOCKER_HOST',
                                          'unix:///var/run/docker.sock'),
                   help='engine to run on, for the driver, the SDK and the '
                        'docker CLI alike (default $DOCKER_HOST or the '
                        'standard socket). An engine of its own keeps other '
                        'work on the machine out of the figures (see '
                        'bench/RESULTS.md)')
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
    if not opts.boot_check_seconds:
        opts.boot_check_seconds = [0.5, 0.1, 0.0]
    _CURRENT = opts
    return opts


def current():
    """The options of this run (the defaults when run as a plain test)."""
    return _CURRENT or parse([])

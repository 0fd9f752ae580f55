"""Sum up a py-spy recording (``--profile``): where this process's CPU went.

``python -m bench.stacks FILE [--within TEXT] [--top N]``

Each sample is charged to the innermost frame of a known package (the
driver, the Docker SDK, HTTP, Nova, the database, eventlet), so "what is
ours" is the ``novadocker`` line.  ``--within`` keeps only samples whose
stack holds TEXT (for example ``spawn (novadocker``).
"""

import argparse
import collections

PACKAGES = (('novadocker/', 'novadocker (ours)'),
            ('tests/functional/base.py', 'test Glance'),
            ('bench/', 'bench'),
            ('docker/', 'docker SDK'),
            ('urllib3/', 'HTTP (urllib3, requests, http.client)'),
            ('requests/', 'HTTP (urllib3, requests, http.client)'),
            ('http/client', 'HTTP (urllib3, requests, http.client)'),
            ('sqlalchemy/', 'database'),
            ('oslo_db/', 'database'),
            ('nova/', 'nova'),
            ('eventlet/', 'eventlet'))


def package(frame):
    for marker, name in PACKAGES:
        if marker in frame:
            return name
    return 'other'


def read(path, within=None):
    """(frames, count) of each stack in py-spy's raw (collapsed) format."""
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip('\n').rpartition(' ')
            if stack and (within is None or within in stack):
                yield stack.split(';'), int(count)


def summarise(path, within=None, top=15):
    by_package = collections.Counter()
    leaves = collections.Counter()
    total = 0
    for frames, count in read(path, within):
        total += count
        owner = next((package(f) for f in reversed(frames)
                      if package(f) != 'other'), 'other')
        by_package[owner] += count
        leaves[frames[-1]] += count
    lines = ['%d samples%s' % (total, ' within %r' % within
                               if within else '')]
    for name, count in by_package.most_common():
        lines.append('%6.1f%%  %s' % (100.0 * count / total, name))
    lines.append('innermost frames:')
    for frame, count in leaves.most_common(top):
        lines.append('%6.1f%%  %s' % (100.0 * count / total, frame))
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(prog='python -m bench.stacks')
    p.add_argument('path')
    p.add_argument('--within')
    p.add_argument('--top', type=int, default=15)
    args = p.parse_args()
    print(summarise(args.path, args.within, args.top))


if __name__ == '__main__':
    main()

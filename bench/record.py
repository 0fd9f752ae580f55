"""Figures as they are measured, the final table and bench/RESULTS.md.

Benchmarks run inside Nova's test fixtures, which may capture sys.stdout;
figures go to the interpreter's own stdout so they show as they come.
"""

import datetime
import os
import statistics
import sys

RESULTS_MD = os.path.join(os.path.dirname(__file__), 'RESULTS.md')
TABLE_HEADER = ('| Date (UTC) | Machine | Benchmark | Figures '
                '| Against the goals |\n'
                '| --- | --- | --- | --- | --- |\n')


def say(text):
    sys.__stdout__.write(text + '\n')
    sys.__stdout__.flush()


class Results:
    """Figures and goal checks per benchmark, in the order measured."""

    def __init__(self):
        self.figures = {}
        self.checks = {}
        self.order = []

    def _bench(self, bench):
        if bench not in self.order:
            self.order.append(bench)
            self.figures[bench] = []
            self.checks[bench] = []

    def figure(self, bench, label, value, unit='s', fmt='%.3f'):
        self._bench(bench)
        text = (fmt % value) + (' ' + unit if unit else '')
        self.figures[bench].append((label, text))
        say('[%s] %s: %s' % (bench, label, text))
        return value

    def note(self, bench, label, text):
        self._bench(bench)
        self.figures[bench].append((label, text))
        say('[%s] %s: %s' % (bench, label, text))

    def check(self, bench, label, value, goal, met, fmt='%.2f'):
        """A figure held against its goal (met is None: no goal)."""
        self._bench(bench)
        verdict = '' if met is None else (' (met)' if met else ' (MISSED)')
        text = '%s %s goal %s%s' % (label, fmt % value, goal, verdict)
        self.checks[bench].append(text)
        say('[%s] %s' % (bench, text))

    def check_ratio(self, bench, label, ours, baseline, goal, at_most):
        """Median of ours / median of its baseline, held to a goal."""
        ratio = statistics.median(ours) / statistics.median(baseline)
        self.check(bench, label, ratio, '%s %.1f' % (
            '<=' if at_most else '>=', goal),
            ratio <= goal if at_most else ratio >= goal)

    def check_rss(self, bench, growths):
        """The largest peak RSS growth of a measure.GrowthLog."""
        if growths.mib:
            self.check(bench, 'peak RSS growth MiB', max(growths.mib),
                       growths.goal(), growths.met(), '%.1f')

    def table(self):
        lines = ['', '%-10s | %s' % ('benchmark', 'figures and goals')]
        for bench in self.order:
            lines.append('-' * 78)
            for label, text in self.figures[bench]:
                lines.append('%-10s | %s: %s' % (bench, label, text))
            for text in self.checks[bench]:
                lines.append('%-10s | => %s' % (bench, text))
        return '\n'.join(lines)

    def rows(self, machine, command='', when=None):
        when = when or datetime.datetime.now(datetime.timezone.utc)
        stamp = when.strftime('%Y-%m-%d %H:%M')
        for bench in self.order:
            figures = '; '.join('%s %s' % f for f in self.figures[bench])
            checks = '; '.join(self.checks[bench]) or '-'
            name = '%s (`%s`)' % (bench, command) if command else bench
            yield '| %s | %s | %s | %s | %s |\n' % (
                stamp, machine, name, figures.replace('|', '/'),
                checks.replace('|', '/'))

    def append_to(self, machine, command='', path=RESULTS_MD):
        """Append a row per benchmark; command: the options of the run."""
        if not os.path.exists(path):
            with open(path, 'w') as f:
                f.write('# Benchmark results\n\n## Runs\n\n' + TABLE_HEADER)
        with open(path, 'a') as f:
            for row in self.rows(machine, command):
                f.write(row)


RESULTS = Results()

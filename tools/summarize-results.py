"""Sum up the tiers of tools/run-tests.sh.

Each tier leaves ``<tier>.status`` (passed or failed: tox's verdict) and,
where it runs tests, JUnit XML.  A tier without XML counts as one check; a
tier that failed although its XML shows no failing test (it crashed, or
collected nothing) counts one failure more.  The last line is
``N passed, N failed``; the exit code is 1 if anything failed.
"""

import pathlib
import sys
import xml.etree.ElementTree as ElementTree


def junit_counts(path):
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.iter('testsuite')
    passed = failed = skipped = 0
    for suite in suites:
        for case in suite.iter('testcase'):
            if case.find('failure') is not None or \
                    case.find('error') is not None:
                failed += 1
            elif case.find('skipped') is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def tier_counts(results, tier):
    status_file = results / (tier + '.status')
    ok = status_file.exists() and status_file.read_text().strip() == 'passed'
    xml_files = [results / (tier + '.xml')] if tier != 'bats' else \
        sorted(results.glob('report*.xml'))
    xml_files = [p for p in xml_files if p.exists()]
    if not xml_files:
        return (1, 0, 0) if ok else (0, 1, 0)
    passed = failed = skipped = 0
    for path in xml_files:
        p, f, s = junit_counts(path)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    if not ok and failed == 0:
        failed = 1
    return passed, failed, skipped


def main():
    results = pathlib.Path(sys.argv[1])
    total = [0, 0, 0]
    for tier in sys.argv[2:]:
        counts = tier_counts(results, tier)
        print('%-12s %d passed, %d failed, %d skipped' % ((tier,) + counts))
        total = [a + b for a, b in zip(total, counts)]
    print('%d passed, %d failed, %d skipped' % tuple(total))
    return 1 if total[1] else 0


if __name__ == '__main__':
    sys.exit(main())

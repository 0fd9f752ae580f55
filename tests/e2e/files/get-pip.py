#!/usr/bin/env python3
"""Stand-in for get-pip.py where bootstrap.pypa.io cannot be reached.

DevStack runs $FILES/get-pip.py, when present, to install pip for the
system Python; this does the same with the distribution's pip and PyPI.
"""
import subprocess
import sys

sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install',
                          '--break-system-packages', '--upgrade', 'pip']))

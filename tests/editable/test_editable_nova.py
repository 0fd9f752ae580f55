"""An editable nova (DevStack's $DEST/nova) loads the editable driver.

tox -e editable installs nova from its source release with ``pip install
-e``, as DevStack's setup_develop does, and this repository the same way.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PROBE = '''
import nova, novadocker
from nova.virt import driver
d = driver.load_compute_driver(None, "docker.DockerDriver")
print(type(d).__module__ + "." + type(d).__name__)
print(os.path.dirname(nova.__file__))
print(os.path.dirname(novadocker.__file__))
'''


def probe():
    # A fresh interpreter: the alias comes from the installed .pth alone.
    result = subprocess.run(
        [sys.executable, '-W', 'ignore', '-c', 'import os\n' + PROBE],
        capture_output=True, text=True, cwd='/')
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_nova_is_an_editable_checkout():
    _, nova_dir, _ = probe()
    # Not in site-packages: in the unpacked source tree.
    assert 'site-packages' not in nova_dir
    assert os.path.exists(os.path.join(nova_dir, '..', 'setup.cfg'))


def test_editable_nova_loads_the_editable_driver():
    loaded, _, driver_dir = probe()
    assert loaded == 'novadocker.driver.DockerDriver'
    assert driver_dir == os.path.join(ROOT, 'novadocker')

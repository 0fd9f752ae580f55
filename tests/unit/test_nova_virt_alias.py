"""nova loads the driver as compute_driver = docker.DockerDriver."""

import subprocess
import sys

from novadocker import nova_virt_alias


LOAD = ('from nova.virt import driver; '
        'd = driver.load_compute_driver(None, "docker.DockerDriver"); '
        'import nova, nova.virt.docker, novadocker.driver; '
        'assert nova.virt.docker is novadocker.driver; '
        'print(type(d).__module__, type(d).__name__, nova.__file__)')


def test_installed_pth_lets_nova_load_the_driver():
    # A fresh interpreter: only the .pth in site-packages can have set up
    # the alias, as in a real nova-compute process.
    result = subprocess.run([sys.executable, '-W', 'ignore', '-c', LOAD],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('novadocker.driver DockerDriver ')


def test_finder_answers_only_for_the_alias():
    finder = nova_virt_alias.NovaVirtAliasFinder()
    assert finder.find_spec('nova.virt.docker') is not None
    assert finder.find_spec('nova.virt.libvirt') is None
    assert finder.find_spec('docker') is None


def test_install_is_idempotent():
    before = list(sys.meta_path)
    nova_virt_alias.install()
    nova_virt_alias.install()
    finders = [f for f in sys.meta_path
               if isinstance(f, nova_virt_alias.NovaVirtAliasFinder)]
    assert len(finders) == 1
    sys.meta_path[:] = before

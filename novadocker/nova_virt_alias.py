"""Make ``nova.virt.docker`` an alias of :mod:`novadocker.driver`.

Nova 34 loads its virt driver only as ``nova.virt.<compute_driver>``.  The
``novadocker-nova-virt.pth`` file that our wheel puts into site-packages calls
:func:`install` at interpreter start, which adds a finder in front of
``sys.meta_path``.  The finder answers for ``nova.virt.docker`` alone, so it
works the same whether nova was installed from a wheel or is an editable
checkout (DevStack), and nothing is written into nova's tree.

This module runs in every Python process of the environment: it must import
nothing heavy, and it only loads the driver when nova asks for it.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys

ALIAS = 'nova.virt.docker'
TARGET = 'novadocker.driver'


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec):
        # Return the real module: the import system then binds it under the
        # alias too, so there is one module and one DockerDriver class.
        return importlib.import_module(TARGET)

    def exec_module(self, module):
        pass


class NovaVirtAliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader())


def install():
    """Put the finder on sys.meta_path once."""
    if not any(isinstance(f, NovaVirtAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, NovaVirtAliasFinder())

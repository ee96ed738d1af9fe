"""Every docstring example in the library and in localcloud runs and holds."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import localcloud
import pai_autopilot

SKIP = {"localcloud.fc.worker"}  # a process entry point, not a library module


def _modules(package) -> list[str]:
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        if info.name not in SKIP:
            names.append(info.name)
    return sorted(names)


MODULES = _modules(pai_autopilot) + _modules(localcloud)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0

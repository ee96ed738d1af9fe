"""Every docstring example in the library and in localcloud runs and holds.

Only modules that have examples are parametrised: a module without any would pass vacuously.
"""

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


def has_examples(name: str) -> bool:
    """True when the module's docstrings hold at least one example that runs (not ``+SKIP``)."""
    tests = doctest.DocTestFinder().find(importlib.import_module(name))
    return any(not example.options.get(doctest.SKIP) for test in tests for example in test.examples)


MODULES = [name for name in _modules(pai_autopilot) + _modules(localcloud) if has_examples(name)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0

"""Nothing heavy at import time: no function module loads an Alibaba SDK (DESIGN.md principle 5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_MODULES = sorted(p.stem for p in (ROOT / "functions").glob("*.py") if p.stem != "__init__")
# (not rich: structlog imports it when installed; the FC package does not ship it)
HEAVY = ("alibabacloud_", "oss2", "Tea", "darabonba", "aiohttp", "requests", "pydantic", "jsonschema", "typer", "werkzeug")


def test_there_are_functions_to_check():
    assert "dataset_landed" in FUNCTION_MODULES


@pytest.mark.parametrize("module", FUNCTION_MODULES)
@pytest.mark.parametrize("layout", ["repo", "package"])
def test_importing_a_function_loads_no_sdk(module, layout):
    # Given a fresh interpreter with the repo layout (functions.x) or the flat package layout (x)
    name = f"functions.{module}" if layout == "repo" else module
    path = [str(ROOT), str(ROOT / "shared")] if layout == "repo" else [str(ROOT / "functions"), str(ROOT / "shared")]
    code = (
        f"import sys, json; sys.path[:0] = {path!r}; import {name} as m; assert callable(m.handler); "
        f"print(json.dumps(sorted(k for k in sys.modules if k.startswith({HEAVY!r}))))"
    )
    # When the function module is imported
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    # Then no SDK (nor CLI/validation library) is in sys.modules
    assert json.loads(out.stdout) == []

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


# The ignored path: events the deployed triggers deliver that a function does not act on — a
# marker under no pipeline (it passes s.yaml's datasets/ + _SUCCESS filter), an EventBridge event
# of another type on the PAI bus (it passes wire's acs.pai rule) — plus every sample event.
IGNORABLE = {
    "marker-under-no-pipeline": {"events": [{"eventName": "ObjectCreated:PutObject", "oss": {
        "bucket": {"name": "autopilot-demo"}, "object": {"key": "datasets/other/v1/_SUCCESS", "eTag": "E"}}}]},
    "other-eventbridge-type": {"id": "1", "source": "acs.pai", "type": "pai:DSW:InstanceStatusChanged",
                               "specversion": "1.0", "data": {"InstanceId": "dsw-1"}},
}
SAMPLES = {p.name: p.read_text() for p in sorted((ROOT / "events").glob("*.json"))}

FORKING_CHILD = r"""
import json, os, sys
sys.modules["rich"] = None
sys.path[:0] = {path!r}
import {name} as m
events = json.loads(sys.stdin.read())
for label, event in events.items():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # each event in a fresh copy of the process that only imported the handler
        os.close(read)
        devnull = os.open(os.devnull, os.O_WRONLY); os.dup2(devnull, 1)
        try:
            outcome = m.handler(event.encode(), None).get("outcome")
        except Exception as exc:
            outcome = "raised " + type(exc).__name__
        heavy = sorted(k for k in sys.modules if k.startswith({heavy!r}))
        os.write(write, json.dumps([label, outcome, heavy]).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    print(b"".join(chunks).decode())
"""


@pytest.fixture(scope="module")
def packaged_config(tmp_path_factory):
    """autopilot.yaml with its compiled JSON, as `pai-autopilot package` ships them."""
    import shutil

    from pai_autopilot.config.compiled import write_compiled

    path = tmp_path_factory.mktemp("code") / "autopilot.yaml"
    shutil.copy2(ROOT / "autopilot.yaml", path)
    write_compiled(str(path))
    return path


@pytest.mark.parametrize("module", FUNCTION_MODULES)
def test_the_ignored_path_of_every_function_loads_no_sdk(module, packaged_config):
    # Given every event a function may receive and not act on, each handled in a fresh fork of a
    # process that imported only the handler (no credentials, no endpoint: nothing to call)
    events = {**{k: json.dumps(v) for k, v in IGNORABLE.items()}, **SAMPLES}
    heavy = (*HEAVY, "yaml", "structlog", "asyncio")
    code = FORKING_CHILD.format(path=[str(ROOT / "functions"), str(ROOT / "shared")], name=module, heavy=heavy)
    env = {"AUTOPILOT_CONFIG": str(packaged_config), "AUTOPILOT_BUCKET": "autopilot-demo", "PATH": "/usr/bin"}
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(events), capture_output=True, text=True,
                         check=True, cwd="/", env=env)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(events)
    # Then each one it ignores (or rejects) leaves no SDK, CLI, YAML or structlog/asyncio loaded
    passive = [(label, heavy) for label, outcome, heavy in rows if outcome in ("ignored", "rejected")]
    assert passive, rows
    assert [(label, heavy) for label, heavy in passive if heavy] == []


def test_the_packaged_config_is_loaded_without_yaml(tmp_path):
    # Given the configuration as `package` ships it (YAML + its compiled JSON)
    import shutil

    from pai_autopilot.config.compiled import write_compiled

    shutil.copy2(ROOT / "autopilot.yaml", tmp_path / "autopilot.yaml")
    write_compiled(str(tmp_path / "autopilot.yaml"))
    code = (f"import sys; sys.path[:0] = [{str(ROOT / 'shared')!r}]; from pai_autopilot.config import load_config; "
            f"c = load_config({str(tmp_path / 'autopilot.yaml')!r}); print(sorted(c.pipelines), 'yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    # Then the functions read it without importing PyYAML
    assert out.stdout.split() == ["['demo']", "False"]
    # And an edited autopilot.yaml is never shadowed by a stale compiled form
    (tmp_path / "autopilot.yaml").write_text((ROOT / "autopilot.yaml").read_text().replace("demo:", "edited:", 1))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == ["['edited']", "True"]


def test_the_package_ships_the_compiled_config(tmp_path):
    from pai_autopilot.config import load_config
    from pai_autopilot.packaging import build_code_package

    build_code_package(ROOT, tmp_path / "code", install_deps=False)
    assert (tmp_path / "code" / "autopilot.yaml.json").is_file()
    assert sorted(load_config(tmp_path / "code" / "autopilot.yaml").pipelines) == ["demo"]

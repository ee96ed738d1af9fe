"""`s preview` (the real Serverless Devs tool, project-local in .tools/) renders s.yaml as we read it.

`s preview` runs offline and without configured credentials. `${config('AccountID')}` resolves
only when credentials are visible: here the `AccountID`/`AccessKeyID`/`AccessKeySecret` environment
variables (any values). HOME points at a temporary directory, because every `s` command writes
logs under `$HOME/.s`. Install the tool with `scripts/install-tools.sh` (`make tools`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pai_autopilot.syaml import SyamlError, load_syaml

ROOT = Path(__file__).resolve().parents[2]
S_VERSION = "3.1.10"  # keep in step with scripts/install-tools.sh
S_BIN = ROOT / ".tools" / "node_modules" / ".bin" / "s"
S_PACKAGE = ROOT / ".tools" / "node_modules" / "@serverless-devs" / "s" / "package.json"
ACCOUNT = "1234567890123456"
ENV = {"AUTOPILOT_BUCKET": "autopilot-test-bucket", "PAI_WORKSPACE_ID": "ws-42"}


@pytest.fixture(scope="module")
def s_bin() -> Path:
    if not S_BIN.exists():
        reason = f"Serverless Devs not installed at {S_BIN.relative_to(ROOT)}: run scripts/install-tools.sh"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    installed = json.loads(S_PACKAGE.read_text())["version"]
    assert installed == S_VERSION, f".tools has s {installed}, expected {S_VERSION}: run scripts/install-tools.sh"
    return S_BIN


def preview(s_bin: Path, home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **env}
    return subprocess.run([str(s_bin), "preview", "-t", "s.yaml", "-o", "json"], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


def rendered(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stdout + done.stderr
    # `s` may print a warning line (e.g. when run as root) before the document
    start = next(i for i, line in enumerate(done.stdout.splitlines()) if line.startswith("{"))
    return json.loads("\n".join(done.stdout.splitlines()[start:]))


CREDENTIALS = {"AccountID": ACCOUNT, "AccessKeyID": "test-ak", "AccessKeySecret": "test-sk"}


def test_s_preview_renders_the_function_with_everything_resolved(s_bin: Path, tmp_path: Path):
    # given the CI environment and credentials visible to `s` through the environment
    # when `s preview` renders s.yaml
    doc = rendered(preview(s_bin, tmp_path, {**ENV, **CREDENTIALS}))
    # then the function has its resolved name, handler and ARNs
    props = doc["resources"]["dataset_landed"]["props"]
    assert props["functionName"] == "pai-autopilot-dataset-landed"
    assert props["handler"] == "dataset_landed.handler"
    assert props["runtime"] == "python3.10"  # from the template
    assert props["role"] == f"acs:ram::{ACCOUNT}:role/pai-autopilot-fc"
    assert props["triggers"][0]["sourceArn"] == f"acs:oss:cn-hangzhou:{ACCOUNT}:autopilot-test-bucket"
    assert "${" not in json.dumps(doc["resources"])


def test_our_loader_resolves_exactly_like_s_preview(s_bin: Path, tmp_path: Path):
    # given a non-default environment
    env = {**ENV, "ALIBABA_CLOUD_REGION_ID": "cn-shanghai", "AUTOPILOT_NAME_PREFIX": "ap-ci"}
    # when both `s preview` and load_syaml render s.yaml
    theirs = rendered(preview(s_bin, tmp_path, {**env, **CREDENTIALS}))
    ours = load_syaml(ROOT / "s.yaml", env=env, account_id=ACCOUNT)
    # then vars and every resource's merged props are identical
    assert ours["vars"] == theirs["vars"]
    assert {k: v["props"] for k, v in ours["resources"].items()} == \
        {k: v["props"] for k, v in theirs["resources"].items()}


def test_missing_env_fails_in_s_and_in_our_loader_naming_the_variable(s_bin: Path, tmp_path: Path):
    # given no AUTOPILOT_BUCKET
    # when `s preview` renders s.yaml, then it fails naming the variable
    done = preview(s_bin, tmp_path, dict(CREDENTIALS))
    assert done.returncode != 0
    assert "AUTOPILOT_BUCKET" in done.stdout + done.stderr
    # and so does load_syaml
    with pytest.raises(SyamlError, match="AUTOPILOT_BUCKET"):
        load_syaml(ROOT / "s.yaml", env={}, account_id=ACCOUNT)

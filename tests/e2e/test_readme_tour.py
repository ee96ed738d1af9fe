"""The README's five-minute tour, run as written: `local up` in one process (terminal 1), the
tour's block in one bash (terminal 2), against real functions on localcloud's driven clock.

Nothing is created behind the tour's back: the test only picks a free port (exported as
``LOCALCLOUD_PORT``, which `local up` and `local env` read) and reads the tour's own output.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "pai-autopilot")
README = ROOT / "README.md"

pytestmark = pytest.mark.slow


def tour_script() -> str:
    """The block between ``<!-- tour -->`` and ``<!-- /tour -->``, without its code fences."""
    block = README.read_text(encoding="utf-8").split("<!-- tour -->\n", 1)[1].split("<!-- /tour -->", 1)[0]
    return "\n".join(line for line in block.splitlines() if not line.startswith("```"))


def test_the_tour_block_is_found_and_starts_in_terminal_2():
    script = tour_script()
    assert script.startswith("source .venv/bin/activate") and "pai-autopilot timeline demo v2" in script


def test_the_five_minute_tour_runs_as_written(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "AUTOPILOT_"))}
    env["LOCALCLOUD_PORT"] = str(port)
    server = subprocess.Popen([CLI, "local", "up", "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    html = ROOT / "v2-timeline.html"
    html.unlink(missing_ok=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_localcloud/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "localcloud did not come up"
            time.sleep(0.2)
        tour = subprocess.run(["bash", "-e", "-c", tour_script()], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=240)
        out = tour.stdout
        assert tour.returncode == 0, (out[-3000:], tour.stderr[-3000:])
        # the first version trained and served, then v2 went through every step to promotion
        assert re.search(r"ap-demo-v1-\S+\s+demo\s+v1\s+served", out), out
        assert re.search(r"stable\s+v1\s+demo_model_v1\s+Running\s+weight 100", out), out
        assert re.search(r"canary\s+v2\s+demo_model_v2\s+Running\s+weight 10\b", out), out
        phases = re.findall(r"^demo\s+v2\s+(\w+)\s+(\d+)", out, re.M)
        assert ("watching", "100") in phases, phases
        weights = [int(w) for _, w in phases]
        assert weights == sorted(weights), weights  # never a step back on a healthy canary
        assert "wrote v2-timeline.html" in out and html.read_text().lower().startswith("<!doctype html>")
        shown = subprocess.run([CLI, "rollouts", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                               env={**env, **_exports(env)})
        (rollout,) = json.loads(shown.stdout)
        assert rollout["phase"] == "watching" and rollout["canary_weight"] == 100
    finally:
        html.unlink(missing_ok=True)
        server.terminate()
        server.communicate(timeout=15)


def _exports(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run([CLI, "local", "env"], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())

"""model_landed on keys it ignores: a reason, and no SDK imported (DESIGN.md principle 5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pai_autopilot.events import oss_records, parse_event

from ..conftest import load_event

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("alibabacloud_", "oss2", "Tea", "darabonba")


def test_the_sample_model_event_is_a_model_marker():
    (record,) = oss_records(parse_event(load_event("ossModelCreated.json")))
    assert (record.bucket, record.key, record.event_name) == ("autopilot-demo", "models/demo/v1/_SUCCESS", "ObjectCreated:PutObject")


def test_ignored_keys_say_why_and_import_no_sdk():
    sample = json.loads(load_event("ossModelCreated.json"))
    events = []
    for key in ("models/demo/v1/model.pt", "models/other/v1/_SUCCESS", "datasets/demo/v1/_SUCCESS"):
        sample["events"][0]["oss"]["object"]["key"] = key
        events.append(json.dumps(sample))
    code = (
        f"import sys, json; sys.path[:0] = {[str(ROOT / 'functions'), str(ROOT / 'shared')]!r}\n"
        "import model_landed\n"
        f"out = [model_landed.handler(e.encode(), None) for e in {events!r}]\n"
        f"print(json.dumps({{'out': out, 'heavy': sorted(k for k in sys.modules if k.startswith({HEAVY!r}))}}))\n"
    )
    env = {"AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/", env=env)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    reasons = [r["records"][0]["reason"] for r in result["out"]]
    assert [r["outcome"] for r in result["out"]] == ["ignored"] * 3
    assert reasons[0] == "not a model marker (_SUCCESS)"
    assert reasons[1] == "no pipeline's models prefix holds 'models/other/v1/_SUCCESS'"
    assert reasons[2] == "no pipeline's models prefix holds 'datasets/demo/v1/_SUCCESS'"
    assert result["heavy"] == []

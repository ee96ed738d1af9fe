"""`pai-autopilot demo`, the shipped command, run as a newcomer runs it: every part of the story
checked from its narration (stderr), its JSON summary (stdout) and localcloud's state at the end
(read by the demo through the real SDKs and the ledger, in the summary's ``state``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pai_autopilot.rollout.state import rollout_entity, rollout_id
from pai_autopilot.training.runs import run_id

from .conftest import ROOT

CLI = Path(sys.executable).with_name("pai-autopilot")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Any]:
    timeline = tmp_path_factory.mktemp("demo") / "timeline-v2.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "AUTOPILOT_"))}
    done = subprocess.run([str(CLI), "demo", "--json", "--project-dir", str(ROOT), "--timeline", str(timeline)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    summary = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    return {"rc": done.returncode, "out": done.stderr, "summary": summary, "timeline": timeline}


def chapter(demo: dict[str, Any], prefix: str) -> dict[str, Any]:
    (found,) = [c for c in demo["summary"]["chapters"] if c["title"].startswith(prefix)]
    return found


def test_the_demo_tells_the_whole_story_and_exits_zero(demo):
    summary = demo["summary"]
    failed = [(c["title"], x["name"], x["detail"]) for c in summary.get("chapters", []) for x in c["checks"] if not x["ok"]]
    assert demo["rc"] == 0 and summary["ok"] and not failed, (failed, demo["out"][-3000:])
    assert summary["elapsed_seconds"] < 90
    assert summary["counts"]["failed"] == 0 and summary["counts"]["dead_letters"] == 0
    out = demo["out"]
    for line in ("summary", "the whole story happened", "localcloud up at"):
        assert line in out


def test_v1_trained_on_spot_preempted_once_resumed_and_served_with_its_autoscaler(demo):
    state = demo["summary"]["state"]
    v1 = [j for j in state["dlc_jobs"] if j["display_name"].startswith(run_id("demo", "v1"))]
    assert [j["status"] for j in v1] == ["Failed", "Succeeded"]  # preempted, then the resumed attempt
    assert "resuming from oss://autopilot-demo/checkpoints/demo/" in demo["out"] and "/step-30/" in demo["out"]
    assert state["ledger_heads"][f"runs/demo/{run_id('demo', 'v1')}"]["state"] == "served"
    assert "duplicate marker" in demo["out"]  # the marker uploaded twice: still one run, no third job
    assert "lost its spot instance" in demo["out"] and "checkpoint complete" in demo["out"]
    assert "autoscaler of demo_model_v1 (DescribeServiceAutoScaler): min 1, max 3" in demo["out"]


def test_v2_went_10_25_50_100_promoted_with_the_old_version_warm_through_the_watch_window(demo):
    v2 = chapter(demo, "v2")
    assert v2["facts"]["weights"] == [10, 25, 50, 100] and v2["facts"]["phase"] == "succeeded"
    state = demo["summary"]["state"]
    assert state["ledger_heads"][rollout_entity("demo", rollout_id("demo", "v2"))]["state"] == "succeeded"
    assert state["ledger_heads"]["serving/demo"]["version"] == "v2"
    assert state["eas_services"]["demo_model_v2"] == {"status": "Running", "weight": 100, "group": "demo"}
    assert state["eas_services"]["demo_model_v1"]["status"] in ("Stopping", "Stopped")  # retired after the window
    assert "watch window: the old stable is kept warm (demo_model_v1 Running, weight 0)" in demo["out"]


def test_v3_was_rolled_back_by_its_metrics_with_the_failing_values_shown(demo):
    head = demo["summary"]["state"]["ledger_heads"][rollout_entity("demo", rollout_id("demo", "v3"))]
    assert head["state"] == "rolled_back" and not str(head["by"]).startswith("alarm:")
    assert "error ratio" in head["reason"] and "> max_error_ratio 0.05" in head["reason"]
    assert "rolled back by the metrics: canary " in demo["out"]
    assert demo["summary"]["state"]["eas_services"]["demo_model_v3"]["weight"] == 0


def test_v4_was_rolled_back_by_a_cloudmonitor_alarm(demo):
    state = demo["summary"]["state"]
    head = state["ledger_heads"][rollout_entity("demo", rollout_id("demo", "v4"))]
    assert head["state"] == "rolled_back" and head["by"] == "alarm:pai-autopilot-demo-5xx"
    assert "CloudMonitor alarm" in head["reason"]
    assert state["fc"]["by_function"].get("pai-autopilot-alarm", 0) >= 1
    assert "holding" in demo["out"]  # too little canary traffic for the gates: the alarm decided
    assert state["eas_services"]["demo_model_v4"]["weight"] == 0


def test_an_idle_notebook_was_warned_then_stopped_and_the_savings_estimated(demo):
    state = demo["summary"]["state"]
    ((iid, nb),) = state["dsw_instances"].items()
    assert nb["status"] == "Stopped"
    assert state["ledger_heads"][f"notebooks/{iid}"]["state"] == "stopped"
    assert chapter(demo, "an idle notebook")["facts"]["states"] == ["warned", "stopping", "stopped"]
    report = chapter(demo, "savings")["facts"]["report"]
    assert report["totals"]["stops"] == 1 and report["totals"]["cost"] > 0 and report["currency"] == "CNY"
    assert "avoided so far (estimates)" in demo["out"]


def test_the_html_timeline_is_written_where_the_demo_says(demo):
    assert chapter(demo, "HTML timeline")["facts"]["events"] > 10
    assert demo["summary"]["timeline"] == str(demo["timeline"]) and demo["timeline"].exists()
    assert str(demo["timeline"]) in demo["out"]
    page = demo["timeline"].read_text()
    assert "<html" in page.lower() and "<svg" in page and "promoted by rollout" in page

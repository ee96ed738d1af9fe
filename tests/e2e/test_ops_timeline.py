"""One timeline per model version: a preempted, resumed, canaried and promoted version, through the
webhook (JSON and HTML), the CLI and headless Chromium.

The run is real (localcloud DLC preempts its first job; job_events resubmits from the checkpoint),
and so is serving (model_landed: evaluation gate, canary service at weight 0, the rollout opened).
The traffic steps and the promotion are written on that rollout through the rollout ledger contract
(``rollout.state``) and ``serving.stable``, as the controller of issue 12 writes them, until it lands.
"""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from localcloud.dlc.rules import FaultRule
from pai_autopilot.cli.ops import register
from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.ledger import Ledger
from pai_autopilot.ops.timeline_html import ERROR_COLOUR, WEIGHT_COLOUR
from pai_autopilot.rollout.state import advance, read_head, rollout_id
from pai_autopilot.runtime import Runtime
from pai_autopilot.serving.stable import record_stable
from pai_autopilot.settings import Settings
from pai_autopilot.training.runs import run_id

from .browser_support import dump_dom, needs_chromium, pixels_near, read_png, screenshot
from .conftest import BUCKET, ROOT
from .serving_support import serve_first
from .test_training_lifecycle import land, run_for
from .webhook_support import Webhook

CONFIG = str(ROOT / "autopilot.yaml")
STEPS = [(10, 500, 1), (30, 1500, 3), (50, 2500, 5)]  # weight, canary requests, canary errors


def canary_and_promote(rt: Runtime, cid: str) -> None:
    """What the rollout controller records on the rollout serving opened for v2: three gated steps,
    promotion by the webhook's key, the stable change, the watch window.

    One tick every 300 s (the pipeline's interval), starting a minute after the rollout opened.
    """
    head = read_head(rt.ledger, "demo", rollout_id("demo", "v2"))
    assert head is not None and head.state == "initializing" and head.correlation_id == cid
    ticks, opened = iter(range(60, 10_000, 300)), head.at
    ledger = Ledger(rt.ledger.store, prefix=rt.ledger.prefix, now=lambda: opened + next(ticks))
    canary = head.data["canary_service"]
    for weight, requests, errors in STEPS:
        head = advance(ledger, head, "progressing", {
            "canary_weight": weight, "canary_requests": requests, "canary_errors": errors,
            "canary_error_ratio": errors / requests, "reason": f"gates passed: error ratio {errors / requests:.2%} ≤ 1%; step to {weight}%",
        }, by="canary")
    head = advance(ledger, head, "watching", {"canary_weight": 100, "reason": f"promoted: 100% to {canary}, watch window 600 s"},
                   by="webhook:ci")
    record_stable(ledger, "demo", version="v2", service=canary, reason="promoted by webhook:ci", correlation_id=cid)
    advance(ledger, head, "succeeded", {"reason": "watch window passed"}, by="canary")


@pytest.fixture
def promoted(project_cloud, sdk) -> str:
    """Version v2: preempted once, resumed, trained, its model landed as a canary beside v1; then
    canaried and promoted."""
    project_cloud.clock.freeze()
    serve_first(project_cloud, sdk, "v1", {"accuracy": 0.5, "loss": 1.0})  # a weaker stable: v2 passes the gate
    project_cloud.dlc.backend.rules.add(FaultRule(kind="preempt", next=1, at_step=35))
    land(sdk, "v2")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 300, step=25)
    env = project_cloud.env(BUCKET)
    rt = Runtime(Settings.resolve(environ=env), load_config(CONFIG), Credentials.from_env(env))
    cid = run_id("demo", "v2")
    canary_and_promote(rt, cid)
    return cid


def test_the_timeline_lists_every_step_in_order_under_one_correlation_id(project_cloud, promoted, tmp_path):
    response = Webhook(project_cloud).call("GET", "/v1/timeline/demo/v2")
    assert response.status_code == 200, response.text
    timeline = response.json()
    events = timeline["events"]
    assert timeline["correlation_id"] == promoted and {e["correlation_id"] for e in events} == {promoted}
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    steps = [(e["source"], e["state"]) for e in events]
    # the run: claimed, submitted, the first job preempted, resubmitted from its checkpoint, trained
    training = [s for s in steps if s[0] == "training"]
    assert training[:2] == [("training", "claimed"), ("training", "submitted")]
    assert ("training", "waiting_for_model") in training and training[-1][1] in ("waiting_for_model", "model_ready", "served")
    summaries = [e["summary"] for e in events]
    preempted = next(i for i, s in enumerate(summaries) if "preempted" in s)
    assert "resume from oss://autopilot-demo/checkpoints/demo/" in summaries[preempted], summaries
    jobs = [e["job_id"] for e in events if e["source"] == "training" and e["job_id"]]
    assert len(set(jobs)) == 2 and events[preempted]["job_id"] == jobs[-1]  # the resumed attempt's job
    # each notification sent, where it happened
    notified = [(i, e["summary"].split(":")[0]) for i, e in enumerate(events) if e["source"] == "notification"]
    names = [n for _, n in notified]
    assert [n for n in names if "run_" in n] == ["notified run_started", "notified run_preempted", "notified run_succeeded"], notified
    assert "notified canary_created" in names  # serving's notice of the canary service
    assert steps.index(("training", "submitted")) < notified[0][0] and notified[1][0] > preempted - 1
    assert all(events[i]["state"] == "sent" for i, _ in notified)
    # then the rollout, each traffic step with its metric values, promotion, the stable change, success
    rollout = [e for e in events if e["source"] in ("rollout", "serving")]
    # the model: landed, evaluated against v1, a canary service beside it (serving's records)
    model = [e for e in events if e["source"] == "model"]
    assert model and model[0]["state"] == "claimed" and model[-1]["state"] == "canary", [e["state"] for e in model]
    assert steps.index(("rollout", "initializing")) > steps.index(("model", "claimed")) > preempted
    assert [(e["state"], e["canary_weight"]) for e in rollout if e["source"] == "rollout"] == [
        ("initializing", 0), ("progressing", 10), ("progressing", 30), ("progressing", 50), ("watching", 100), ("succeeded", 100)]
    progressing = [e for e in rollout if e["state"] == "progressing"]
    assert [e["values"]["canary_requests"] for e in progressing] == [500, 1500, 2500]
    assert [e["error_ratio"] for e in progressing] == [0.002, 0.002, 0.002]
    (stable,) = [e for e in rollout if e["source"] == "serving"]
    assert stable["summary"] == "stable is v2 (demo_model_v2): promoted by webhook:ci"
    assert [e["state"] for e in rollout][-3:] == ["watching", "stable", "succeeded"]
    assert timeline["series"]["canary_weight"] == [[e["at"], e["canary_weight"]] for e in rollout if e["source"] == "rollout"]
    # the CLI prints the same timeline
    cli = typer.Typer()
    register(cli)
    env = {**project_cloud.env(BUCKET), "AUTOPILOT_CONFIG": CONFIG}
    printed = CliRunner().invoke(cli, ["timeline", "demo", "v2", "--json"], env=env)
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == timeline
    table = CliRunner().invoke(cli, ["timeline", "demo", "v2"], env=env)
    assert table.output.splitlines()[0] == f"demo v2 (correlation id {promoted}): {len(events)} events"
    assert "(by webhook:ci)" in table.output
    page = tmp_path / "v2.html"
    written = CliRunner().invoke(cli, ["timeline", "demo", "v2", "--html", str(page)], env=env)
    assert written.output.strip() == f"wrote {page} ({len(events)} events)"
    html = Webhook(project_cloud).call("GET", "/v1/timeline/demo/v2", accept="text/html")
    assert html.headers["Content-Type"].startswith("text/html") and html.text == page.read_text()
    assert not re.search(r"""(src|href)=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)""", html.text)  # self-contained


@needs_chromium
def test_the_timeline_page_renders_in_chromium(project_cloud, promoted, tmp_path):
    page = tmp_path / "timeline.html"
    page.write_text(Webhook(project_cloud).call("GET", "/v1/timeline/demo/v2", accept="text/html").text)
    series = Webhook(project_cloud).call("GET", "/v1/timeline/demo/v2").json()["series"]
    # the DOM the browser built plots exactly the timeline's series
    dom = dump_dom(page)
    plotted = {"canary_weight": [], "error_ratio": []}
    for name, at, value in re.findall(r'data-series="(\w+)" data-at="([\d.e+]+)" data-value="([\d.e+-]+)"', dom):
        plotted[name].append([float(at), float(value)])
    assert plotted == {k: [[pytest.approx(a), pytest.approx(v)] for a, v in pts] for k, pts in series.items()}
    assert dom.count("<tr") == len(Webhook(project_cloud).call("GET", "/v1/timeline/demo/v2").json()["events"]) + 1
    # and the screenshot shows both series in the chart: the weight line climbing to 100 %, the error ratio
    width, height, rows = read_png(screenshot(page, tmp_path / "timeline.png", width=1000, height=700))
    blue, red = pixels_near(rows, WEIGHT_COLOUR), pixels_near(rows, ERROR_COLOUR)
    legend = min(y for _, y in blue)  # the legend's swatches come first, above the chart
    blue, red = [(x, y) for x, y in blue if y > legend + 10], [(x, y) for x, y in red if y > legend + 10]
    assert len(blue) > 500 and len(red) > 50, (len(blue), len(red))
    chart_top, chart_bottom = min(y for _, y in blue), max(y for _, y in blue)
    assert chart_bottom - chart_top > 200  # 0 % … 100 % spans the plot height (272 px)
    top_x = [x for x, y in blue if y <= chart_top + 3]
    bottom_x = [x for x, y in blue if y >= chart_bottom - 3]
    assert min(top_x) > min(bottom_x) + 300  # 100 % comes after 0 %, well to the right

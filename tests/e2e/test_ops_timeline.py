"""One timeline per model version: a preempted, resumed, canaried and promoted version, through the
webhook (JSON and HTML), the CLI and headless Chromium.

Everything is real: localcloud DLC preempts the first job and job_events resubmits it from the
checkpoint; model_landed gates the model and creates the canary beside v1 and opens the rollout; the
canary function (kicked) takes the first traffic step; CI promotes through the webhook.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
import typer
from typer.testing import CliRunner

from localcloud.dlc.rules import FaultRule
from pai_autopilot.cli.ops import register
from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.ops.timeline_html import ERROR_COLOUR, WEIGHT_COLOUR
from pai_autopilot.rollout.state import read_head, rollout_id
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings
from pai_autopilot.training.runs import run_id

from .browser_support import dump_dom, needs_chromium, pixels_near, read_png, screenshot
from .conftest import BUCKET, ROOT
from .serving_support import serve_first
from .test_training_lifecycle import land, run_for
from .webhook_support import Webhook

CONFIG = str(ROOT / "autopilot.yaml")


def traffic(cloud, n: int) -> None:
    with requests.Session() as session:
        for _ in range(n):
            session.post(f"{cloud.url}/api/predict/demo", data=b"{}", timeout=10)


@pytest.fixture
def promoted(project_cloud, sdk) -> str:
    """Version v2: preempted once, resumed, trained; its model landed as a canary beside v1 (serving),
    the rollout controller took its first traffic step (the kick), then CI promoted it by the webhook."""
    project_cloud.clock.freeze()
    serve_first(project_cloud, sdk, "v1", {"accuracy": 0.5, "loss": 1.0})  # a weaker stable: v2 passes the gate
    project_cloud.dlc.backend.rules.add(FaultRule(kind="preempt", next=1, at_step=35))
    land(sdk, "v2")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 300, step=25)
    env = project_cloud.env(BUCKET)
    rt = Runtime(Settings.resolve(environ=env), load_config(CONFIG), Credentials.from_env(env))
    head = read_head(rt.ledger, "demo", rollout_id("demo", "v2"))
    assert head is not None and head.state in ("progressing", "holding"), head
    traffic(project_cloud, 100)  # requests through the group endpoint while the canary takes its share
    run_for(project_cloud, 60, step=30)
    promoted = Webhook(project_cloud).call("POST", "/v1/rollouts/demo/promote", {"reason": "hotfix from CI"})
    assert promoted.status_code == 200 and promoted.json()["outcome"] == "applied", promoted.text
    return run_id("demo", "v2")


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
    assert len(set(jobs)) == 2 and events[preempted]["state"] == "resubmitting"  # the intent, before the next job
    resumed = next(e for e in events[preempted + 1:] if e["source"] == "training")
    assert resumed["state"] == "submitted" and resumed["job_id"] == jobs[-1]  # the resumed attempt's job
    # each notification sent, where it happened
    notified = [(i, e["summary"].split(":")[0]) for i, e in enumerate(events) if e["source"] == "notification"]
    names = [n for _, n in notified]
    assert [n for n in names if "run_" in n] == ["notified run_started", "notified run_preempted", "notified run_succeeded"], notified
    assert "notified canary_created" in names  # serving's notice of the canary service
    # and the rollout's own notices (its first traffic step, the promotion's watch window), each after its record
    for state in ("progressing", "watching"):
        at = next(i for i, n in notified if n == f"notified rollout_{state}")
        assert at > steps.index(("rollout", state)), (state, notified)
    assert steps.index(("training", "submitted")) < notified[0][0] and notified[1][0] > preempted - 1
    assert all(events[i]["state"] == "sent" for i, _ in notified)
    # the model: landed, evaluated against v1 (its metrics), a canary service beside it (serving's records)
    model = [e for e in events if e["source"] == "model"]
    assert model and model[0]["state"] == "claimed" and model[-1]["state"] == "canary", [e["state"] for e in model]
    assert model[-1]["values"]["accuracy"] > 0.5  # the evaluation gate's value, v2 against v1's 0.5
    assert steps.index(("rollout", "initializing")) > steps.index(("model", "claimed")) > preempted
    # then the rollout: the canary created at 0 %, the controller's first traffic step, the promotion by
    # the webhook's key, the stable change, the watch window; the run marked served
    rollout = [e for e in events if e["source"] in ("rollout", "serving")]
    weights = [(e["state"], e["canary_weight"]) for e in rollout if e["source"] == "rollout"]
    assert weights[:2] == [("initializing", 0), ("progressing", 10)] and weights[-2:] == [("promoting", 100), ("watching", 100)]
    promoting = next(e for e in rollout if e["state"] == "promoting")
    assert promoting["by"] == "webhook:ci" and "hotfix from CI" in promoting["summary"]
    (stable,) = [e for e in rollout if e["source"] == "serving"]
    assert stable["summary"].startswith("stable is v2 (demo_model_v2)")
    assert [e["state"] for e in rollout][-3:] == ["promoting", "stable", "watching"]
    assert steps.index(("training", "served")) > steps.index(("rollout", "promoting"))
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
    assert len(blue) > 500, len(blue)
    assert (len(red) > 50) == bool(series["error_ratio"]), (len(red), series["error_ratio"])  # drawn iff recorded
    chart_top, chart_bottom = min(y for _, y in blue), max(y for _, y in blue)
    assert chart_bottom - chart_top > 200  # 0 % … 100 % spans the plot height (272 px)
    top_x = [x for x, y in blue if y <= chart_top + 3]
    bottom_x = [x for x, y in blue if y >= chart_bottom - 3]
    assert min(top_x) > min(bottom_x) + 300  # 100 % comes after 0 %, well to the right

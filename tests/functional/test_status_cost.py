"""``status`` costs what is open, not what is recorded (DESIGN.md §2.7): request counts from
localcloud's call log, with the real oss2 client. Not timed (bench/status.py measures 10 and 1,000)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.ops.status import status_view
from pai_autopilot.runtime import Runtime
from pai_autopilot.serving.stable import record_stable
from pai_autopilot.settings import Settings
from pai_autopilot.training import slots
from pai_autopilot.training.runs import run_entity, run_id

from .ledger_seeds import add_closed_runs as seed

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"


@pytest.fixture
def rt(cloud):
    cloud.oss.create_bucket(BUCKET)
    env = {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml")}
    settings = Settings.resolve(environ=env)
    return Runtime(settings, load_config(settings.config_path), Credentials.from_env(env), request_id="test")


def add_closed_runs(rt: Runtime, versions: list[str]) -> None:
    seed(rt.ledger, "demo", versions)


def requests_of_status(cloud, rt: Runtime) -> tuple[int, dict]:
    mark = cloud.calls.mark()
    view = status_view(rt)
    return cloud.calls.count(mark), view["pipelines"][0]


def test_status_costs_the_same_whatever_the_closed_history(cloud, rt):
    # Given a stable version whose run is closed, ten closed runs, and an open (running) run claimed after them
    add_closed_runs(rt, ["v0", *[f"old{i}" for i in range(10)]])
    record_stable(rt.ledger, "demo", version="v0", service="demo_model", reason="first version")
    entity = run_entity("demo", run_id("demo", "v9"))
    head = rt.ledger.claim(entity, "claimed", {"pipeline": "demo", "version": "v9"})
    slots.index_head(rt.ledger, rt.ledger.append(entity, "running", {**head.data, "job_id": "dlc9"}, after=head))
    few, demo = requests_of_status(cloud, rt)
    assert (demo["newest_run"]["run_id"], demo["run_from"]) == (run_id("demo", "v9"), "open")
    # When 40 more runs are recorded (closed ones, claimed later still), Then status asks exactly as much
    add_closed_runs(rt, [f"old{i}" for i in range(10, 50)])
    many, demo = requests_of_status(cloud, rt)
    assert many == few, cloud.calls.by_operation()
    assert demo["newest_run"]["state"] == "running"
    # and with nothing open the stable version's run is shown, still at a cost independent of history
    slots.index_head(rt.ledger, rt.ledger.append(entity, "failed", {**head.data, "job_id": "dlc9"}, after=rt.ledger.latest(entity)))
    idle, demo = requests_of_status(cloud, rt)
    assert (demo["newest_run"]["run_id"], demo["run_from"]) == (run_id("demo", "v0"), "stable")
    add_closed_runs(rt, [f"old{i}" for i in range(50, 60)])
    assert requests_of_status(cloud, rt)[0] == idle


def test_the_newest_run_is_shown_whatever_its_state_at_a_constant_cost(cloud, rt):
    # Given a stable version and closed runs, then a retrain claimed last that failed (nothing open)
    add_closed_runs(rt, ["v0", *[f"old{i}" for i in range(10)]])
    record_stable(rt.ledger, "demo", version="v0", service="demo_model", reason="first version")
    entity = run_entity("demo", run_id("demo", "v9"))
    head = rt.ledger.claim(entity, "claimed", {"pipeline": "demo", "version": "v9"})
    slots.mark_latest(rt.ledger, "demo", run_id("demo", "v9"))  # what every run's claim writes
    rt.ledger.append(entity, "failed", {**head.data, "status": "Failed"}, after=head)
    few, demo = requests_of_status(cloud, rt)
    # Then status shows that failed run, not the stable version's
    assert (demo["newest_run"]["run_id"], demo["newest_run"]["state"], demo["run_from"]) == (run_id("demo", "v9"), "failed", "latest")
    add_closed_runs(rt, [f"old{i}" for i in range(10, 50)])
    assert requests_of_status(cloud, rt)[0] == few

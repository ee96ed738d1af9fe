"""A reconcile tick costs what is open, not what is recorded (DESIGN.md §2.7): request counts
from localcloud's call log, with the real oss2 and DLC clients. Not timed (bench/reconcile.py is)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings
from pai_autopilot.training import slots
from pai_autopilot.training.datasets import match_marker
from pai_autopilot.training.runs import run_entity
from pai_autopilot.training.submit import submit_run
from pai_autopilot.training.watch import on_reconcile

from ..conftest import load_event
from .ledger_seeds import add_closed_runs as seed

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"


@pytest.fixture
def env(cloud, tmp_path):
    cloud.oss.create_bucket(BUCKET)
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["pipelines"]["demo"]["max_active_runs"] = 50
    (tmp_path / "autopilot.yaml").write_text(yaml.safe_dump(config))
    return {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(tmp_path / "autopilot.yaml")}


def runtime(env) -> Runtime:
    settings = Settings.resolve(environ=env)
    return Runtime(settings, load_config(settings.config_path), Credentials.from_env(env), request_id="test")


def tick(cloud, env) -> tuple[int, dict]:
    cloud.calls.reset()
    result = on_reconcile(load_event("timerReconcile.json"), None, settings=Settings.resolve(environ=env),
                          credentials=Credentials.from_env(env))
    return cloud.calls.count(), result


def add_closed_runs(rt: Runtime, n: int, start: int) -> None:
    """Closed runs seeded in the ledger (through oss2): claimed → submitted → waiting_for_model."""
    seed(rt.ledger, "demo", [f"old{i}" for i in range(start, start + n)], threads=1)


def test_a_tick_costs_the_same_whatever_the_closed_history(cloud, env):
    rt = runtime(env)
    cloud.clock.freeze()  # jobs stay where they are: ticks after the first apply no transition
    for version in ("v1", "v2", "v3"):
        assert submit_run(rt, match_marker(rt.config, BUCKET, f"datasets/demo/{version}/_SUCCESS")).outcome == "submitted"
    tick(cloud, env)  # may record the jobs' first status
    steady, result = tick(cloud, env)
    assert result["open_runs"] == 3 and {r["outcome"] for r in result["records"]} == {"noop"}
    # one listing of the active index, per open run one head GET, one ListJobs (≤ 100 jobs), one listing of the
    # queue, and the serving pass's one listing of what is deploying or queued (nothing here)
    assert steady == 1 + 3 + 1 + 1 + 1, cloud.calls.by_operation()
    add_closed_runs(rt, 40, 0)
    with_history, result = tick(cloud, env)
    assert result["open_runs"] == 3
    assert with_history == steady, cloud.calls.by_operation()


def test_a_stale_or_missing_copy_is_repaired_and_a_closed_run_leaves_the_index(cloud, env):
    rt = runtime(env)
    cloud.clock.freeze()
    outcome = submit_run(rt, match_marker(rt.config, BUCKET, "datasets/demo/v1/_SUCCESS"))
    entity = run_entity("demo", outcome.run_id)
    slots.mark_active(rt.ledger, "demo", outcome.run_id)  # an entry without its copy (older version, crash)
    _, result = tick(cloud, env)
    assert result["open_runs"] == 1
    assert slots.read_indexed_head(rt.ledger, "demo", outcome.run_id) == rt.ledger.latest(entity)
    # the run closed but its index write was lost (a crash): the copy still says open; once the
    # job's status moves, the copy's append is refused and the entry is repaired from the ledger
    head = rt.ledger.latest(entity)
    rt.ledger.append(entity, "failed", {**head.data, "reason": "closed by another invocation"}, after=head)
    rt.clients.dlc.stop_job(outcome.job_id)
    cloud.advance(60)
    _, result = tick(cloud, env)
    assert [r["reason"] for r in result["records"]] == ["another invocation advanced this run first"]
    assert slots.active_entries(rt.ledger) == []
    assert tick(cloud, env)[1]["open_runs"] == 0


def marker_cost(cloud, env, rt: Runtime, version: str) -> tuple[int, str]:
    """Requests of one marker event for a new version (distinct content), and its outcome."""
    import json

    from localcloud.core.events import ObjectEvent
    from localcloud.fc.triggers import native_oss_event
    from pai_autopilot.training.landed import on_dataset_event

    bucket = rt.clients.bucket(BUCKET)
    bucket.put_object(f"datasets/demo/{version}/part-0.csv", version.encode())
    put = bucket.put_object(f"datasets/demo/{version}/_SUCCESS", b"")
    event = ObjectEvent("ObjectCreated:PutObject", BUCKET, f"datasets/demo/{version}/_SUCCESS", 0, put.etag,
                        put.request_id, "127.0.0.1", 0.0)
    payload = json.dumps(native_oss_event(event, region=cloud.region, account_id="1", rule_id="t")).encode()
    cloud.calls.reset()
    result = on_dataset_event(payload, None, settings=Settings.resolve(environ=env), credentials=Credentials.from_env(env))
    return cloud.calls.count(), result["outcome"]


def test_the_capacity_check_costs_the_same_at_3_or_1001_active_runs(cloud, env, tmp_path):
    # Given max_active_runs 2 and the pipeline already over it
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["pipelines"]["demo"]["max_active_runs"] = 2
    (tmp_path / "limit2.yaml").write_text(yaml.safe_dump(config))
    env = {**env, "AUTOPILOT_CONFIG": str(tmp_path / "limit2.yaml")}
    rt = runtime(env)
    for n in range(3):
        slots.mark_active(rt.ledger, "demo", f"ap-demo-seeded-{n:04d}")
    few, outcome = marker_cost(cloud, env, rt, "a1")
    assert outcome == "queued"
    # When a page's worth more runs are active (one listing of all of them would take two pages)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: slots.mark_active(rt.ledger, "demo", f"ap-demo-seeded-{n:04d}"), range(3, 1001)))
    many, outcome = marker_cost(cloud, env, rt, "a2")
    # Then the marker costs the same requests: the check lists at most limit + 1 keys
    assert outcome == "queued" and many == few, (few, many)

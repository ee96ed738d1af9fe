"""The training queue never strands a run (issue 14's soak found one stuck at ``queued``): a failed
queue-index write is repaired by the retried marker, a dequeue whose CreateJob failed is finished by
its own retry or by ``reconcile`` after the lease, and a marker's claim whose owner died is submitted
by ``reconcile``. Real oss2 and DLC clients against localcloud, in process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from alibabacloud_pai_dlc20201203 import models

from localcloud.core.faults import Fault
from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.errors import TransientError
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings
from pai_autopilot.training import slots
from pai_autopilot.training.datasets import match_marker
from pai_autopilot.training.landed import admit_and_submit
from pai_autopilot.training.queue import start_next
from pai_autopilot.training.runs import run_entity, run_id
from pai_autopilot.training.watch import on_reconcile

from ..conftest import load_event

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"
LEASE = 60


@pytest.fixture
def env(cloud, tmp_path):
    cloud.oss.create_bucket(BUCKET)
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["pipelines"]["demo"]["max_active_runs"] = 1
    (tmp_path / "autopilot.yaml").write_text(yaml.safe_dump(config))
    return {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(tmp_path / "autopilot.yaml"),
            "AUTOPILOT_LEASE_SECONDS": str(LEASE)}


#: Seconds added to the functions' clock: the tests move time on by raising it.
LATER = {"s": 0.0}


def later() -> float:
    return time.time() + LATER["s"]


@pytest.fixture(autouse=True)
def movable_clock(monkeypatch):
    """Every runtime in these tests, reconcile's included, reads :func:`later`."""
    from pai_autopilot.training import watch

    LATER["s"] = 0.0
    made = watch._runtime

    def runtime_on_later(*args, **kwargs):
        rt = made(*args, **kwargs)
        rt.now = later
        return rt

    monkeypatch.setattr(watch, "_runtime", runtime_on_later)


def runtime(cloud, env, request_id: str) -> Runtime:
    settings = Settings.resolve(environ=env)
    return Runtime(settings, load_config(settings.config_path), Credentials.from_env(env), request_id=request_id, now=later)


def land(rt: Runtime, version: str):
    bucket = rt.clients.bucket(BUCKET)
    bucket.put_object(f"datasets/demo/{version}/part-0.csv", f"rows of {version}".encode())
    bucket.put_object(f"datasets/demo/{version}/_SUCCESS", b"")
    return match_marker(rt.config, BUCKET, f"datasets/demo/{version}/_SUCCESS")


def jobs_named(rt: Runtime, name: str) -> list:
    jobs = rt.clients.dlc.list_jobs(models.ListJobsRequest(page_size=100, display_name=name)).body.jobs or []
    return [j for j in jobs if j.display_name == name]


def state(rt: Runtime, version: str) -> str:
    head = rt.ledger.latest(run_entity("demo", run_id("demo", version)))
    return head.state if head else "none"


def reconcile(cloud, env) -> dict:
    return on_reconcile(load_event("timerReconcile.json"), None, settings=Settings.resolve(environ=env),
                        credentials=Credentials.from_env(env))


def finish_v1(cloud, rt: Runtime) -> None:
    """v1's job ends (Failed, so no model is awaited) and its run closes: its slot is free."""
    head = rt.ledger.latest(run_entity("demo", run_id("demo", "v1")))
    closed = rt.ledger.append(head.entity, "failed", {**head.data, "status": "Failed"}, after=head)
    slots.index_head(rt.ledger, closed)


def test_a_queued_run_whose_index_write_failed_is_indexed_by_the_retried_marker(cloud, env):
    rt = runtime(cloud, env, "req-v1")
    assert admit_and_submit(rt, land(rt, "v1")).outcome == "submitted"
    # Given v2's marker at capacity: its queued claim is written, then every write of the queue index fails
    rt2 = runtime(cloud, env, "req-v2")
    ds2 = land(rt2, "v2")
    fault = cloud.faults.add(Fault(service="oss", operation="PutObject", path_contains="index/queued/", count=10))
    with pytest.raises(TransientError):
        admit_and_submit(rt2, ds2)
    cloud.faults.remove(fault)
    assert state(rt, "v2") == "queued" and slots.queued_runs(rt.ledger, "demo") == []
    # When FC retries the marker: the run is already queued (a duplicate), and its queue entry is written
    assert admit_and_submit(rt2, ds2).outcome == "duplicate"
    assert slots.queued_runs(rt.ledger, "demo") == [run_id("demo", "v2")]
    # Then once v1's slot is free, the queue starts v2: one job
    finish_v1(cloud, rt)
    assert start_next(runtime(cloud, env, "req-next"), "demo") == run_id("demo", "v2")
    assert state(rt, "v2") == "submitted" and len(jobs_named(rt, run_id("demo", "v2"))) == 1


def test_a_dequeue_whose_create_job_failed_is_resumed_by_its_retry_and_not_by_others(cloud, env):
    rt = runtime(cloud, env, "req-v1")
    admit_and_submit(rt, land(rt, "v1"))
    admit_and_submit(runtime(cloud, env, "req-v2"), land(rt, "v2"))
    assert state(rt, "v2") == "queued"
    finish_v1(cloud, rt)
    # Given a start of v2 whose CreateJob keeps failing
    starter = runtime(cloud, env, "req-start")
    fault = cloud.faults.add(Fault(service="dlc", operation="CreateJob", status=503, error_code="ServiceUnavailable", count=20))
    with pytest.raises(TransientError):
        start_next(starter, "demo")
    cloud.faults.remove(fault)
    # Then v2 is claimed, holds the slot and keeps its queue entry: nothing forgets it
    run2 = run_id("demo", "v2")
    assert state(rt, "v2") == "claimed"
    assert slots.active_runs(rt.ledger, "demo") == [run2] and slots.queued_runs(rt.ledger, "demo") == [run2]
    # When another invocation looks within the lease, it leaves the start to its owner
    assert start_next(runtime(cloud, env, "req-other"), "demo") is None
    assert reconcile(cloud, env)["started_queued"] == [] and state(rt, "v2") == "claimed"
    # And the owner's retry (same request id) finishes it at once: one job, the queue entry gone
    assert start_next(starter, "demo") == run2
    assert state(rt, "v2") == "submitted" and len(jobs_named(rt, run2)) == 1
    assert slots.queued_runs(rt.ledger, "demo") == []


def test_reconcile_submits_a_claim_whose_owner_died_once_its_lease_ran_out(cloud, env):
    # Given a marker's invocation that claimed v1 (and took its slot), then died before any DLC call
    rt = runtime(cloud, env, "req-dead")
    fault = cloud.faults.add(Fault(service="dlc", operation="ListJobs", status=500, count=20))
    with pytest.raises(TransientError):
        admit_and_submit(rt, land(rt, "v1"))
    cloud.faults.remove(fault)
    run1 = run_id("demo", "v1")
    assert state(rt, "v1") == "claimed" and slots.active_runs(rt.ledger, "demo") == [run1]
    # When reconcile ticks within the lease: the owner may still be submitting, so nothing happens
    first = reconcile(cloud, env)
    assert [r["outcome"] for r in first["records"]] == ["noop"] and jobs_named(rt, run1) == []
    # Then after the lease, reconcile takes the claim over and submits exactly one job
    LATER["s"] = LEASE + 1
    second = reconcile(cloud, env)
    assert [r["outcome"] for r in second["records"]] == ["submit"], json.dumps(second)
    assert state(rt, "v1") == "submitted" and len(jobs_named(rt, run1)) == 1
    history = rt.ledger.history(run_entity("demo", run1))
    assert [r.state for r in history] == ["claimed", "claimed", "submitted"] and "takeover" in history[1].data
    # And a later tick changes nothing more
    reconcile(cloud, env)
    assert len(jobs_named(rt, run1)) == 1


def test_markers_landing_at_once_start_no_more_than_max_active_runs(cloud, env):
    import threading

    versions = [f"c{i}" for i in range(4)]
    runtimes = {v: runtime(cloud, env, f"req-{v}") for v in versions}
    datasets = {v: land(runtimes[v], v) for v in versions}
    barrier = threading.Barrier(len(versions))
    outcomes: dict[str, str] = {}

    def admit(v: str) -> None:
        barrier.wait()
        outcomes[v] = admit_and_submit(runtimes[v], datasets[v]).outcome

    threads = [threading.Thread(target=admit, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # At most one run (max_active_runs 1) was submitted; the others wait in the queue
    rt = runtimes["c0"]
    submitted = [v for v in versions if state(rt, v) == "submitted"]
    assert len(submitted) <= 1, outcomes
    assert sum(len(jobs_named(rt, run_id("demo", v))) for v in versions) == len(submitted)
    assert sorted(slots.queued_runs(rt.ledger, "demo")) == sorted(run_id("demo", v) for v in versions if v not in submitted)
    # And the queue drains them one at a time
    started = len(submitted)
    for _ in range(len(versions)):
        active = slots.active_runs(rt.ledger, "demo")
        assert len(active) <= 1
        if active:
            head = rt.ledger.latest(run_entity("demo", active[0]))
            slots.index_head(rt.ledger, rt.ledger.append(head.entity, "failed", {**head.data, "status": "Failed"}, after=head))
        started += start_next(runtime(cloud, env, f"req-next-{started}"), "demo") is not None
    assert started == len(versions) and slots.queued_runs(rt.ledger, "demo") == []
    assert all(len(jobs_named(rt, run_id("demo", v))) == 1 for v in versions)

"""Submitting a run against localcloud in-process: the ledger on OSS, crash recovery, takeovers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import msgspec
import pytest
from alibabacloud_pai_dlc20201203 import models

from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.errors import TransientError
from pai_autopilot.ledger import LedgerConflict
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings
from pai_autopilot.training.datasets import match_marker
from pai_autopilot.training.jobs import create_job_body
from pai_autopilot.training.runs import run_entity, run_id
from pai_autopilot.training.submit import submit_run

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"


@pytest.fixture
def make_runtime(cloud):
    cloud.oss.create_bucket(BUCKET)

    def make(request_id: str = "req-1", config=None, **overrides) -> Runtime:
        env = cloud.env(BUCKET)
        return Runtime(
            Settings.resolve(environ=env, **overrides), config or load_config(ROOT / "autopilot.yaml"),
            Credentials.from_env(env), request_id=request_id,
        )

    return make


def dataset(rt: Runtime, version: str = "v1"):
    return match_marker(rt.config, BUCKET, f"datasets/demo/{version}/_SUCCESS")


def dlc_jobs(rt: Runtime) -> list:
    return rt.clients.dlc.list_jobs(models.ListJobsRequest(page_size=100)).body.jobs or []


def test_submit_creates_the_job_and_records_it(make_runtime):
    rt = make_runtime()
    outcome = submit_run(rt, dataset(rt))
    assert outcome.outcome == "submitted" and not outcome.found_existing_job
    (job,) = dlc_jobs(rt)
    assert job.job_id == outcome.job_id and job.display_name == run_id("demo", "v1")
    history = rt.ledger.history(run_entity("demo", outcome.run_id))
    assert [(r.state, r.by) for r in history] == [("claimed", "req-1"), ("submitted", "req-1")]
    assert history[0].data["dataset_uri"] == f"oss://{BUCKET}/datasets/demo/v1/"
    assert history[1].data["job_id"] == job.job_id and history[1].correlation_id == outcome.run_id


def test_a_crash_after_create_job_is_recovered_without_a_second_job(make_runtime):
    # Given an invocation that claimed the run and created the job, then died before recording it
    crashed = make_runtime("req-crashed")
    ds = dataset(crashed)
    run = run_id("demo", "v1")
    crashed.ledger.now = lambda: time.time() - 3600
    crashed.ledger.claim(run_entity("demo", run), "claimed", {"pipeline": "demo"}, correlation_id=run, by="req-crashed")
    body = create_job_body(crashed.config, ds, run=run, workspace_id=crashed.workspace_id)
    job_id = crashed.clients.dlc.create_job(models.CreateJobRequest().from_map(body)).body.job_id
    # When the event comes again, in another invocation, after the lease
    rt = make_runtime("req-2", lease_seconds=60)
    outcome = submit_run(rt, ds)
    # Then it takes the run over, finds the job by its display name and records it: one job
    assert outcome.outcome == "submitted" and outcome.found_existing_job and outcome.job_id == job_id
    assert [j.job_id for j in dlc_jobs(rt)] == [job_id]
    history = rt.ledger.history(run_entity("demo", run))
    assert [(r.state, r.by) for r in history] == [("claimed", "req-crashed"), ("claimed", "req-2"), ("submitted", "req-2")]
    assert "its owner stopped" in history[1].data["takeover"]


def test_a_retry_of_the_owning_invocation_takes_over_at_once(make_runtime):
    rt = make_runtime("req-1")
    run = run_id("demo", "v1")
    rt.ledger.claim(run_entity("demo", run), "claimed", {}, correlation_id=run, by="req-1")
    outcome = submit_run(rt, dataset(rt))
    assert outcome.outcome == "submitted" and len(dlc_jobs(rt)) == 1


def test_a_fresh_claim_by_someone_else_makes_others_wait_then_retry(make_runtime):
    owner = make_runtime("req-owner")
    run = run_id("demo", "v1")
    owner.ledger.claim(run_entity("demo", run), "claimed", {}, correlation_id=run, by="req-owner")
    other = make_runtime("req-other")
    started = time.monotonic()
    with pytest.raises(TransientError, match="is busy: claimed"):
        submit_run(other, dataset(other), wait_seconds=0.3, poll_seconds=0.05)
    assert time.monotonic() - started >= 0.3
    assert dlc_jobs(other) == []


def test_a_template_dlc_refuses_is_recorded_as_rejected(make_runtime):
    rt = make_runtime()
    config = rt.config
    pipeline = config.pipelines["demo"]
    # a pod role DLC refuses (empty), which the schema does not forbid
    broken = msgspec.structs.replace(
        config, pipelines={"demo": msgspec.structs.replace(pipeline, training=msgspec.structs.replace(pipeline.training, role=""))}
    )
    rt = make_runtime(config=broken)
    outcome = submit_run(rt, dataset(rt))
    assert outcome.outcome == "rejected"
    assert "CreateJob failed: InvalidParameter (HTTP 400" in outcome.reason and "JobSpecs[0] needs Type and Image" in outcome.reason
    assert rt.ledger.latest(run_entity("demo", outcome.run_id)).state == "rejected"
    # and the next delivery of the same marker is a no-op, not another attempt
    again = submit_run(make_runtime("req-2", config=broken), dataset(rt))
    assert again.outcome == "duplicate" and "run already rejected" in again.reason


def test_only_one_of_many_concurrent_oss_claims_wins(make_runtime):
    rt = make_runtime()
    winners, losers = [], []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        barrier.wait()
        try:
            rt.ledger.claim("runs/demo/race", "claimed", {"who": i})
            winners.append(i)
        except LedgerConflict:
            losers.append(i)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 7
    assert rt.ledger.latest("runs/demo/race").data == {"who": winners[0]}

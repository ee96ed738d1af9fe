"""Two invocations that decide the same resubmission (a preempted job's status event and the
reconcile tick, or a duplicated event) create one next-attempt job, not two: the
``resubmitting`` record is the compare-and-set, written before CreateJob. A crash after it is
finished by a later invocation once the owner's lease is over (or by the owner's FC retry)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from alibabacloud_pai_dlc20201203 import models

from localcloud.dlc.rules import FaultRule
from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings
from pai_autopilot.training.advance import RESUBMIT_LEASE_S, advance_run
from pai_autopilot.training.datasets import match_marker
from pai_autopilot.training.runs import run_entity
from pai_autopilot.training.submit import submit_run

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"


def _preempted_run(cloud):
    cloud.oss.create_bucket(BUCKET)
    cloud.clock.freeze()
    cloud.dlc.backend.rules.add(FaultRule(kind="preempt", next=1, at_step=35))
    env = cloud.env(BUCKET)
    config = load_config(ROOT / "autopilot.yaml")

    def make(request_id: str, now=cloud.clock.now) -> Runtime:
        return Runtime(Settings.resolve(environ=env), config, Credentials.from_env(env), request_id=request_id, now=now)

    rt = make("submit")
    outcome = submit_run(rt, match_marker(config, BUCKET, "datasets/demo/v1/_SUCCESS"))
    entity = run_entity("demo", outcome.run_id)
    for _ in range(40):  # until DLC reports the preemption
        cloud.advance(5)
        status = rt.clients.dlc.get_job(outcome.job_id, models.GetJobRequest()).body.status
        if status == "Failed":
            break
    assert status == "Failed"
    return make, entity, outcome.run_id


def _jobs(rt, run_id):
    return [j for j in rt.clients.dlc.list_jobs(models.ListJobsRequest(page_size=100)).body.jobs or []
            if j.display_name.startswith(run_id)]


def test_two_invocations_resubmitting_at_once_create_one_job(cloud):
    make, entity, run_id = _preempted_run(cloud)
    barrier = threading.Barrier(4)
    results: list[dict] = []

    def advance(n: int) -> None:
        rt = make(f"req-{n}")
        barrier.wait()
        results.append(advance_run(rt, entity))

    threads = [threading.Thread(target=advance, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rt = make("check")
    names = sorted(j.display_name for j in _jobs(rt, run_id))
    assert names == [run_id, f"{run_id}-a2"], names
    assert sorted(r["outcome"] for r in results).count("resubmit") == 1, results
    head = rt.ledger.latest(entity)
    assert head.state == "submitted" and head.data["attempts"] == 2


def test_a_crash_after_the_intent_is_finished_after_the_lease(cloud):
    make, entity, run_id = _preempted_run(cloud)
    rt = make("owner")
    # Given the owner crashed after recording its intent, before CreateJob (CreateJob fails for it)
    from localcloud.core.faults import Fault

    cloud.faults.add(Fault(service="dlc", operation="CreateJob", status=400, error_code="InvalidParameter", count=1))
    with contextlib.suppress(Exception):  # the CreateJob refusal: an invalid-input error
        advance_run(rt, entity)
    assert rt.ledger.latest(entity).state == "resubmitting"
    # Then another invocation inside the lease leaves it to its owner …
    assert advance_run(make("other"), entity)["outcome"] == "noop"
    assert [j.display_name for j in _jobs(rt, run_id)] == [run_id]
    # … and after the lease finishes it: one next-attempt job, recorded
    later = make("later", now=lambda: cloud.clock.now() + RESUBMIT_LEASE_S + 1)
    assert advance_run(later, entity)["outcome"] == "resubmit"
    assert sorted(j.display_name for j in _jobs(rt, run_id)) == [run_id, f"{run_id}-a2"]
    assert rt.ledger.latest(entity).state == "submitted"

"""Runs followed to the end through job events and the reconcile timer, on localcloud's clock.

The simulated DLC runner (localcloud) writes checkpoints and the model to OSS; its status events
go to ``pai-system-demo`` → ``job_events``; the ``reconcile`` timer fires as the clock advances.
"""

from __future__ import annotations

import json
import time

from alibabacloud_pai_dlc20201203 import models

from localcloud.core.faults import DeliveryFaults
from localcloud.dlc.rules import FaultRule
from pai_autopilot.training.lifecycle import STATUS_TABLE

from .conftest import BUCKET

#: A run that trained to the end: serving (issue 11) moves it on once its model lands.
TRAINED = ("waiting_for_model", "model_ready", "served")


def land(sdk, version: str) -> None:
    bucket = sdk.bucket(BUCKET)
    bucket.put_object(f"datasets/demo/{version}/part-0.csv", b"x,y\n1,3\n")
    bucket.put_object(f"datasets/demo/{version}/_SUCCESS", b"")


def run_records(sdk, version: str) -> list[dict]:
    bucket = sdk.bucket(BUCKET)
    keys = sorted(o.key for o in bucket.list_objects_v2(prefix=".autopilot/runs/demo/", max_keys=1000).object_list)
    records = [json.loads(bucket.get_object(k).read()) for k in keys]
    return [r for r in records if r["data"].get("version") == version]


def run_for(cloud, seconds: float, step: float = 5.0) -> None:
    """Advance the frozen clock in steps, letting functions settle after each."""
    for _ in range(int(seconds / step)):
        cloud.advance(step)
        assert cloud.fc.wait_idle(60)


def dlc_jobs(sdk) -> list:
    return sdk.dlc.list_jobs(models.ListJobsRequest(page_size=100, order="asc")).body.jobs or []


def assert_once_in_lifecycle_order(sdk, statuses: list[str]) -> None:
    """Each status recorded once, in the order the job went through them (DLC's StatusHistory),
    which is also the lifecycle's rank order."""
    (job,) = dlc_jobs(sdk)
    history = [h.status for h in sdk.dlc.get_job(job.job_id, models.GetJobRequest()).body.status_history]
    assert len(statuses) == len(set(statuses)), statuses
    assert statuses == [s for s in history if s in statuses], (statuses, history)
    ranks = [STATUS_TABLE[s].rank for s in statuses]
    assert ranks == sorted(ranks), statuses


def test_happy_path_marker_to_model(project_cloud, sdk):
    project_cloud.clock.freeze()
    land(sdk, "v1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 150)
    states = [r["state"] for r in run_records(sdk, "v1")]
    assert states[:2] == ["claimed", "submitted"] and states[-1] in TRAINED, states
    # every recorded status once, in order
    statuses = [r["data"]["status"] for r in run_records(sdk, "v1")[2:] if r["state"] not in TRAINED[1:]]  # training's own
    assert_once_in_lifecycle_order(sdk, statuses)
    assert statuses[-1] == "Succeeded"
    # the model and its marker are in OSS
    assert sdk.bucket(BUCKET).object_exists("models/demo/v1/_SUCCESS")
    assert len(dlc_jobs(sdk)) == 1


def test_preempted_twice_resumes_from_the_newest_complete_checkpoint(project_cloud, sdk):
    project_cloud.clock.freeze()
    project_cloud.dlc.backend.rules.add(FaultRule(kind="preempt", next=2, at_step=35))  # the next 2 jobs
    land(sdk, "v2")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 400)
    jobs = dlc_jobs(sdk)
    assert len(jobs) == 3, [(j.display_name, j.status) for j in jobs]
    records = run_records(sdk, "v2")
    # a resubmission is the record that names a new job (status not yet known)
    resubmits = [r for r in records if r["state"] == "submitted" and r["data"].get("previous_job_id")
                 and r["data"].get("status") is None]
    assert [r["data"]["attempts"] for r in resubmits] == [2, 3]
    # each recorded first as an intent (the compare-and-set), then with its job
    intents = [r for r in records if r["state"] == "resubmitting"]
    assert [(r["data"]["attempts"], r["seq"] + 1) for r in intents] == [(r["data"]["attempts"], r["seq"]) for r in resubmits]
    assert all(r["data"]["resume_from"].endswith("/step-30/") for r in resubmits)
    assert [r["data"]["spot"] for r in resubmits] == [True, True]  # within the preemption budget
    assert records[-1]["state"] in TRAINED
    assert len({r["entity"] for r in records}) == 1  # one run in the ledger


def test_a_lost_event_is_repaired_by_reconcile(project_cloud, sdk):
    # Given the clock just past a 5-minute boundary (the reconcile timer's), so 150 s cross none
    project_cloud.clock.freeze((int(time.time()) // 300 + 1) * 300 + 1)
    project_cloud.tick()
    assert project_cloud.fc.wait_idle(60)
    land(sdk, "v3")
    assert project_cloud.fc.wait_idle(60)
    project_cloud.delivery = DeliveryFaults(drop=1.0)  # every job event from now on is lost…
    run_for(project_cloud, 150)
    # Then the job finished but the run does not know it
    assert dlc_jobs(sdk)[0].status == "Succeeded"
    assert run_records(sdk, "v3")[-1]["state"] not in TRAINED
    assert project_cloud.fc.state()["dropped_deliveries"] > 0
    project_cloud.delivery = DeliveryFaults()
    run_for(project_cloud, 330, step=30)  # …the reconcile timer (every 5 min, wherever its phase) brings the run up to date
    assert run_records(sdk, "v3")[-1]["state"] in TRAINED


def test_every_event_three_times_and_reordered_one_job_one_record_per_transition(project_cloud, sdk):
    project_cloud.clock.freeze()
    project_cloud.delivery = DeliveryFaults(duplicate=1.0, extra_copies=2, reorder_window=0.2)  # 3 copies each
    land(sdk, "v4")
    assert project_cloud.fc.wait_idle(60)
    marker_deliveries = project_cloud.fc.invocation_records("pai-autopilot-dataset-landed")
    assert len(marker_deliveries) == 3
    run_for(project_cloud, 150)
    records = run_records(sdk, "v4")
    statuses = [r["data"]["status"] for r in records[2:] if r["state"] not in TRAINED[1:]]  # training's own
    assert_once_in_lifecycle_order(sdk, statuses)
    assert records[-1]["state"] in TRAINED
    assert len(dlc_jobs(sdk)) == 1


def test_one_active_run_per_pipeline_the_rest_queue_in_order(project_cloud, sdk):
    project_cloud.clock.freeze()
    for version in ("q1", "q2", "q3"):
        bucket = sdk.bucket(BUCKET)
        bucket.put_object(f"datasets/demo/{version}/part-0.csv", version.encode())  # distinct content
        bucket.put_object(f"datasets/demo/{version}/_SUCCESS", b"")
        assert project_cloud.fc.wait_idle(60)
    assert [run_records(sdk, v)[0]["state"] for v in ("q1", "q2", "q3")] == ["claimed", "queued", "queued"]
    assert len(dlc_jobs(sdk)) == 1
    run_for(project_cloud, 450, step=10)
    # each finished run started the next, oldest first; all three trained, one at a time
    jobs = dlc_jobs(sdk)
    assert [j.display_name.split("-")[2] for j in jobs] == ["q1", "q2", "q3"]
    assert all(run_records(sdk, v)[-1]["state"] in TRAINED for v in ("q1", "q2", "q3"))


def test_budget_exhausted_falls_back_to_on_demand(project_cloud, sdk, notices):
    project_cloud.clock.freeze()
    project_cloud.dlc.backend.rules.add(FaultRule(kind="preempt", next=3, at_step=35))  # budget is 2
    land(sdk, "od1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 600, step=10)
    jobs = dlc_jobs(sdk)
    assert len(jobs) == 4, [(j.display_name, j.status) for j in jobs]
    resubmits = [r for r in run_records(sdk, "od1") if r["state"] == "submitted" and r["data"].get("previous_job_id")
                 and r["data"].get("status") is None]
    assert [r["data"]["spot"] for r in resubmits] == [True, True, False]
    last = sdk.dlc.get_job(jobs[-1].job_id, models.GetJobRequest()).body
    assert not last.job_specs[0].use_spot_instance and last.status == "Succeeded"
    events = [n["event"] for n in notices]
    assert events[0] == "run_started" and events.count("run_started") == 1
    assert events.count("run_preempted") == 3 and "run_succeeded" in events


def test_other_failures_are_final_and_notified_with_the_log_tail(project_cloud, sdk, notices):
    project_cloud.clock.freeze()
    project_cloud.dlc.backend.rules.add(FaultRule(kind="fail", next=1, at_step=20, reason_code="OOMKilled", reason_message="out of memory"))
    land(sdk, "f1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 150)
    records = run_records(sdk, "f1")
    assert records[-1]["state"] == "failed" and records[-1]["data"]["reason_code"] == "OOMKilled"
    assert len(dlc_jobs(sdk)) == 1  # not resubmitted
    (failed,) = [n for n in notices if n["event"] == "run_failed"]
    assert "OOMKilled" in failed["details"]["reason"] and failed["details"]["log tail"].strip()


def test_a_job_over_its_time_limit_ends_the_run(project_cloud, sdk):
    # DLC enforces JobMaxRunningTimeMinutes (which the run passes on) before reconcile's own
    # guard (decide → StopJob, unit-tested in test_training_lifecycle.py) gets its turn.
    project_cloud.clock.freeze()
    project_cloud.dlc.backend.rules.add(FaultRule(kind="hang", next=1))  # never progresses
    land(sdk, "t1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 30)
    project_cloud.advance(240 * 60)  # max_running_minutes in autopilot.yaml; reconcile ticks on the way
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 60)
    records = run_records(sdk, "t1")
    assert records[-1]["state"] == "failed" and records[-1]["data"]["reason_code"] == "JobTimeout"
    assert len(dlc_jobs(sdk)) == 1  # a timeout is final: not resubmitted

"""The read side of runs: records → timeline rows, summaries and tables (pure, plus a MemoryStore ledger)."""

from __future__ import annotations

import pytest

from pai_autopilot.ledger import Ledger, MemoryStore, Record
from pai_autopilot.training.history import (
    find_run,
    iso,
    list_runs,
    run_lines,
    summarize,
    summary_lines,
    table,
    timeline,
    timeline_lines,
)

E = "runs/demo/ap-demo-v2-x"
CLAIM = {"pipeline": "demo", "version": "v2", "marker_key": "datasets/demo/v2/_SUCCESS",
         "output_uri": "oss://b/models/demo/v2/", "checkpoint_uri": "oss://b/checkpoints/demo/ap-demo-v2-x/"}


def rec(seq: int, state: str, at: float, **data) -> Record:
    return Record(entity=E, seq=seq, state=state, at=at, data=data, by=f"req-{seq}")


def preempted_run() -> list[Record]:
    """A run preempted once and resumed, as advance.py writes it (data carried record to record)."""
    job1 = {**CLAIM, "job_id": "dlc1", "attempts": 1, "preemptions": 0, "spot": True}
    return [
        rec(0, "claimed", 0.0, **CLAIM),
        rec(1, "submitted", 1.0, **job1),
        rec(2, "running", 60.0, **job1, status="Running", reason="job dlc1 is Running"),
        rec(3, "submitted", 120.0, **{**job1, "job_id": "dlc2", "attempts": 2, "preemptions": 1, "status": None,
                                      "previous_job_id": "dlc1", "resume_from": "oss://b/ck/step-30/",
                                      "reason": "job dlc1 preempted (JobPreempted; preemption 1 of budget 2): resume on spot"}),
        rec(4, "running", 180.0, **{**job1, "job_id": "dlc2", "attempts": 2, "preemptions": 1, "status": "Running",
                                    "reason": "job dlc2 is Running"}),
        rec(5, "waiting_for_model", 3600.0, **{**job1, "job_id": "dlc2", "attempts": 2, "preemptions": 1,
                                               "status": "Succeeded", "reason": "job dlc2 Succeeded: waiting for the model marker"}),
    ]


def test_iso_is_utc_to_the_second():
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1767225600.999) == "2026-01-01T00:00:00Z"


def test_timeline_rows_carry_time_state_status_job_and_reason():
    rows = timeline(preempted_run())
    assert [(r.state, r.status, r.job_id) for r in rows] == [
        ("claimed", "", ""), ("submitted", "", "dlc1"), ("running", "Running", "dlc1"),
        ("submitted", "", "dlc2"), ("running", "Running", "dlc2"), ("waiting_for_model", "Succeeded", "dlc2"),
    ]
    assert [r.reason for r in rows] == [
        "marker datasets/demo/v2/_SUCCESS landed",
        "job dlc1 submitted (attempt 1)",
        "job dlc1 is Running",
        "job dlc1 preempted (JobPreempted; preemption 1 of budget 2): resume on spot",
        "job dlc2 is Running",
        "job dlc2 Succeeded: waiting for the model marker",
    ]
    assert rows[5].at == "1970-01-01T01:00:00Z" and [r.seq for r in rows] == list(range(6))
    assert rows[0].by == "req-0" and rows[0].as_dict()["reason"].startswith("marker")


def test_a_carried_over_reason_is_not_repeated():
    first = rec(0, "claimed", 0.0, **CLAIM)
    running = rec(1, "running", 1.0, **CLAIM, job_id="dlc1", status="Running", reason="job dlc1 is Running")
    stopping = rec(2, "stopping", 2.0, **CLAIM, job_id="dlc1", status="Running", reason="job dlc1 is Running")
    assert [r.reason for r in timeline([first, running, stopping])][1:] == ["job dlc1 is Running", ""]


def test_claim_reasons_name_takeovers_forced_and_on_demand_runs():
    taken = rec(1, "claimed", 900.0, **CLAIM, takeover="claim by req-0 is 900s old (lease 900s): its owner stopped")
    forced = rec(0, "claimed", 0.0, **CLAIM, forced=True, retrain=2, retrain_of="ap-demo-v2-x", requested_by="cli:bob")
    asked = rec(0, "claimed", 0.0, **CLAIM, requested_by="cli:bob")
    assert timeline([rec(0, "claimed", 0.0, **CLAIM), taken])[1].reason.startswith("taken over: claim by req-0")
    assert timeline([forced])[0].reason == "forced retrain #2 of ap-demo-v2-x by cli:bob"
    assert timeline([asked])[0].reason == "submitted on demand by cli:bob"


def test_a_rejected_run_keeps_its_identity_and_reason():
    records = [rec(0, "claimed", 0.0, **CLAIM), rec(1, "rejected", 2.0, reason="InvalidImage: no such image")]
    summary = summarize(records)
    assert (summary.pipeline, summary.version, summary.state, summary.job_id) == ("demo", "v2", "rejected", "")
    assert summary.reason == "InvalidImage: no such image" and summary.attempts == 0
    assert timeline(records)[1].reason == "InvalidImage: no such image"


def test_summary_of_a_resumed_run():
    s = summarize(preempted_run())
    assert (s.run_id, s.pipeline, s.version, s.state, s.job_id, s.status) == (
        "ap-demo-v2-x", "demo", "v2", "waiting_for_model", "dlc2", "Succeeded")
    assert (s.attempts, s.preemptions, s.model_uri, s.records) == (2, 1, "oss://b/models/demo/v2/", 6)
    assert (s.created, s.last_change, s.forced) == ("1970-01-01T00:00:00Z", "1970-01-01T01:00:00Z", False)
    lines = summary_lines(s)
    assert "state:        waiting_for_model (Succeeded)" in lines and "preemptions:  1" in lines
    assert not any(line.startswith("requested by") for line in lines)
    with pytest.raises(ValueError):
        summarize([])


def test_tables_align_columns_and_leave_the_last_unpadded():
    assert table(["A", "B", "C"], [["xx", "", "z"], ["", "yyy", ""]]) == ["A   B    C", "xx       z", "    yyy"]
    lines = timeline_lines(timeline(preempted_run()))
    assert lines[0].split() == ["TIME", "STATE", "STATUS", "JOB", "REASON"]
    assert len({line.index("dlc") for line in lines[2:]}) == 1  # the JOB column lines up
    assert run_lines(list_runs(Ledger(MemoryStore()))) == ["RUN  PIPELINE  VERSION  STATE  JOB  ATTEMPTS  LAST CHANGE"]


def test_list_runs_newest_first_filtered_and_limited():
    clock = iter(range(100))
    ledger = Ledger(MemoryStore(), now=lambda: float(next(clock)))
    for pipeline, version in [("demo", "v1"), ("other", "a"), ("demo", "v2")]:
        claim = ledger.claim(f"runs/{pipeline}/r-{version}", "claimed", {"pipeline": pipeline, "version": version})
        ledger.append(f"runs/{pipeline}/r-{version}", "submitted", {**claim.data, "job_id": f"dlc-{version}"}, after=claim)
    ledger.append("runs/demo/r-v1", "failed", {"reason": "boom"}, after=ledger.latest("runs/demo/r-v1"))
    assert [s.run_id for s in list_runs(ledger)] == ["r-v2", "r-a", "r-v1"]
    assert [s.run_id for s in list_runs(ledger, pipeline="demo")] == ["r-v2", "r-v1"]
    assert [s.run_id for s in list_runs(ledger, state="failed")] == ["r-v1"]
    assert [s.run_id for s in list_runs(ledger, limit=1)] == ["r-v2"]
    assert find_run(ledger, "r-a") == "runs/other/r-a" and find_run(ledger, "r-zz") is None
    line = run_lines(list_runs(ledger, pipeline="other"))[1]
    assert line.split() == ["r-a", "other", "a", "submitted", "dlc-a", "1", "1970-01-01T00:00:03Z"]

"""The decision for a run when DLC reports its job's status (pure): every branch and its reason."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from localcloud.dlc import assumed
from pai_autopilot.config.models import Training
from pai_autopilot.events.pai import DLC_STATUSES, DLC_TERMINAL_STATUSES
from pai_autopilot.training.lifecycle import (
    ASSUMED_PREEMPT_REASON_CODES,
    STATUS_TABLE,
    TERMINAL_STATUSES,
    Decision,
    JobView,
    RetryPolicy,
    RunView,
    decide_on_job_status,
    normalise_status,
)

POLICY = RetryPolicy()
NOW = 10_000.0
RUN = RunView(state="running", job_id="dlc1", status="Running", attempts=1, preemptions=0, spot=True)


def decide(run: RunView = RUN, policy: RetryPolicy = POLICY, now: float = NOW, **job) -> Decision:
    return decide_on_job_status(run, JobView(**{"job_id": "dlc1", **job}), policy, now=now)


def with_(run: RunView = RUN, **changes) -> RunView:
    return dataclasses.replace(run, **changes)


# -- the status table --------------------------------------------------------------------------------


def test_the_table_knows_exactly_dlcs_statuses_and_terminal_set():
    assert set(STATUS_TABLE) == set(DLC_STATUSES)
    assert set(DLC_TERMINAL_STATUSES) == TERMINAL_STATUSES


def test_the_table_orders_the_lifecycle():
    order = ["Creating", "Queuing", "Bidding", "EnvPreparing", "SanityChecking", "Running", "Stopping", "Succeeded"]
    ranks = [STATUS_TABLE[s].rank for s in order]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert STATUS_TABLE["Restarting"].rank == STATUS_TABLE["Running"].rank
    assert all(STATUS_TABLE[s].rank == STATUS_TABLE["Succeeded"].rank for s in TERMINAL_STATUSES)


def test_localclouds_preemption_code_is_one_of_the_assumed_codes():
    assert assumed.PREEMPT_REASON_CODE in ASSUMED_PREEMPT_REASON_CODES
    assert RetryPolicy().preempt_reason_codes == ASSUMED_PREEMPT_REASON_CODES


def test_the_policy_comes_from_the_training_config():
    t = msgspec.convert({"image": "i", "command": "c"}, Training)
    assert RetryPolicy.from_training(t) == RetryPolicy(2, True)
    t = msgspec.convert({"image": "i", "command": "c", "preemption_budget": 0, "on_demand_fallback": False}, Training)
    assert RetryPolicy.from_training(t) == RetryPolicy(0, False)


@pytest.mark.parametrize(("raw", "expected"), [("Running", "Running"), ("SUCCEEDED", "Succeeded"),
                                               (" failedreserving ", "FailedReserving"), ("Done", None), ("", None)])
def test_normalise_status(raw, expected):
    assert normalise_status(raw) == expected


# -- noop: nothing changes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "job", "reason"),
    [
        pytest.param(with_(state="waiting_for_model", status="Succeeded"), {"status": "Failed"},
                     "its job succeeded, waiting for the model: job dlc1 Failed changes nothing", id="waiting-for-model"),
        pytest.param(with_(state="succeeded"), {"status": "Running"}, "run is succeeded", id="run-succeeded"),
        pytest.param(with_(state="failed"), {"status": "Failed", "reason_code": "JobPreempted"}, "run is failed", id="run-failed"),
        pytest.param(with_(state="claimed", job_id=None, status=None), {"status": "Running"}, "run is claimed", id="claimed"),
        pytest.param(with_(state="submitted", job_id=None, status=None), {"status": "Running"},
                     "no job is recorded for the run yet", id="no-job-id"),
        pytest.param(with_(job_id="dlc2"), {"status": "Failed", "reason_code": "JobPreempted"},
                     "job dlc1 is not the run's current job dlc2", id="earlier-attempt"),
        pytest.param(RUN, {"status": "Exploded"}, "unknown DLC status 'Exploded'", id="unknown-status"),
        pytest.param(RUN, {"status": "Queuing"}, "stale status Queuing: Running is already recorded", id="stale"),
        pytest.param(with_(status="Stopping"), {"status": "Running"}, "stale status Running: Stopping", id="stale-after-stopping"),
        pytest.param(RUN, {"status": "Running"}, "duplicate status Running of job dlc1", id="duplicate"),
        pytest.param(RUN, {"status": "RUNNING"}, "duplicate status Running", id="duplicate-other-case"),
        pytest.param(with_(status="Failed"), {"status": "Failed"}, "job dlc1 already reported Failed", id="terminal-duplicate"),
        pytest.param(with_(status="FailedReserving"), {"status": "Failed"}, "already reported FailedReserving",
                     id="outcome-already-known"),
        pytest.param(with_(state="stopping"), {"status": "Running", "running_since": 0.0, "max_running_minutes": 1},
                     "StopJob was already requested", id="stop-already-requested"),
    ],
)
def test_noop(run, job, reason):
    # Given a run and a status that is old news (or not about this run's job)
    # When the status is decided on
    d = decide(run, **job)
    # Then nothing happens, and the reason says why
    assert d.action == "noop" and reason in d.reason
    assert (d.status, d.next_state, d.spot, d.preempted) == (None, None, None, False)


# -- record: a newer non-terminal status ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "status", "next_state", "reason"),
    [
        pytest.param(with_(state="submitted", status=None), "Creating", "submitted", "job dlc1 is Creating", id="first"),
        pytest.param(with_(state="submitted", status="Queuing"), "Bidding", "submitted", "job dlc1 is Bidding (was Queuing)",
                     id="bidding"),
        pytest.param(with_(state="submitted", status="Creating"), "EnvPreparing", "submitted", "(was Creating)", id="skipped-some"),
        pytest.param(with_(state="submitted", status="EnvPreparing"), "Running", "running", "job dlc1 is Running", id="running"),
        pytest.param(RUN, "Restarting", "running", "is Restarting (was Running)", id="lateral-restarting"),
        pytest.param(with_(status="Restarting"), "Running", "running", "is Running (was Restarting)", id="lateral-back"),
        pytest.param(RUN, "Stopping", "running", "is Stopping", id="stopping-not-by-us"),
        pytest.param(with_(state="stopping"), "Stopping", "stopping", "is Stopping", id="stopping-by-us"),
    ],
)
def test_record(run, status, next_state, reason):
    d = decide(run, status=status, running_since=NOW - 60, max_running_minutes=60)
    assert (d.action, d.status, d.next_state) == ("record", status, next_state)
    assert reason in d.reason


# -- await_model ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Succeeded", "SucceededReserving", "succeeded"])
@pytest.mark.parametrize("recorded", [None, "Queuing", "Running"])
def test_success_waits_for_the_model(status, recorded):
    # Given a run whose job succeeded (even if intermediate events were lost)
    d = decide(with_(status=recorded), status=status)
    # Then the run waits for its model marker
    assert (d.action, d.status, d.next_state) == ("await_model", normalise_status(status), "waiting_for_model")
    assert d.reason == f"job dlc1 {normalise_status(status)}: waiting for the model marker"


# -- stop ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "status", "record"),
    [("Running", "Running", None), ("EnvPreparing", "Running", "Running"), ("Running", "Restarting", "Restarting")],
)
def test_a_job_over_its_time_limit_is_stopped(recorded, status, record):
    # Given a job running for 61 minutes with a 60-minute limit
    d = decide(with_(status=recorded), status=status, running_since=NOW - 61 * 60, max_running_minutes=60)
    # Then it is stopped; a new status is recorded with the decision
    assert (d.action, d.status, d.next_state) == ("stop", record, "stopping")
    assert d.reason == "job dlc1 has run 61.0 min, over its limit of 60 min: stop it"


@pytest.mark.parametrize(
    "job",
    [
        {"running_since": NOW - 60 * 60, "max_running_minutes": 60},  # exactly at the limit
        {"running_since": None, "max_running_minutes": 60},
        {"running_since": 0.0, "max_running_minutes": None},
    ],
)
def test_no_stop_within_the_limit_or_without_one(job):
    assert decide(with_(status="EnvPreparing"), status="Running", **job).action == "record"


# -- resubmit and fail after a failure ----------------------------------------------------------------


PREEMPTED = {"status": "Failed", "reason_code": "JobPreempted", "reason_message": "spot instance reclaimed"}


@pytest.mark.parametrize(
    ("preemptions", "policy", "action", "spot", "next_state", "reason"),
    [
        (0, RetryPolicy(2, True), "resubmit", True, "submitted", "preemption 1 of budget 2): resume on spot"),
        (1, RetryPolicy(2, True), "resubmit", True, "submitted", "preemption 2 of budget 2): resume on spot"),
        (2, RetryPolicy(2, True), "resubmit", False, "submitted", "preemption 3, budget 2 spent): resume on on-demand"),
        (0, RetryPolicy(0, True), "resubmit", False, "submitted", "preemption 1, budget 0 spent): resume on on-demand"),
        (2, RetryPolicy(2, False), "fail", None, "failed", "preemption 3, budget 2 spent, no on-demand fallback): final"),
        (0, RetryPolicy(0, False), "fail", None, "failed", "budget 0 spent, no on-demand fallback): final"),
    ],
)
def test_spot_preemption_budget_and_fallback(preemptions, policy, action, spot, next_state, reason):
    # Given a spot attempt preempted after `preemptions` earlier preemptions
    d = decide(with_(preemptions=preemptions), policy=policy, **PREEMPTED)
    # Then it resumes on spot within budget, on on-demand after (if allowed), else fails for good
    assert (d.action, d.spot, d.next_state, d.status, d.preempted) == (action, spot, next_state, "Failed", True)
    assert d.reason.startswith("job dlc1 preempted (JobPreempted; ") and d.reason.endswith(reason)


@pytest.mark.parametrize(
    "job",
    [
        pytest.param({"status": "Failed", "reason_code": "SpotInstanceReclaimed"}, id="other-assumed-code"),
        pytest.param({"status": "Stopped", "reason_code": "JobPreempted"}, id="stopped-by-preemption"),
        pytest.param({"status": "FailedReserving", "reason_code": "JobPreempted"}, id="failed-reserving"),
        pytest.param({"status": "Failed", "reason_code": "", "evicted": True}, id="evicted-pod-only"),
    ],
)
def test_every_preemption_signal_resumes(job):
    d = decide(**job)
    assert (d.action, d.spot, d.preempted) == ("resubmit", True, True)


def test_an_evicted_pod_is_named_in_the_reason():
    assert "(a pod was evicted; preemption 1" in decide(status="Failed", evicted=True).reason


def test_custom_preempt_codes_replace_the_assumed_ones():
    policy = RetryPolicy(preempt_reason_codes=frozenset({"Reclaimed"}))
    assert decide(policy=policy, status="Failed", reason_code="Reclaimed").action == "resubmit"
    assert decide(policy=policy, status="Failed", reason_code="JobPreempted").action == "fail"


@pytest.mark.parametrize(
    ("run", "job", "reason"),
    [
        pytest.param(RUN, {"status": "Failed", "reason_code": "JobFailed", "reason_message": "exit 1"},
                     "job dlc1 Failed (JobFailed: exit 1): not a preemption, final", id="user-error"),
        pytest.param(RUN, {"status": "Failed", "reason_code": "JobTimeout"}, "job dlc1 Failed (JobTimeout): not a preemption",
                     id="dlc-timeout"),
        pytest.param(RUN, {"status": "Failed"}, "job dlc1 Failed (no reason code): not a preemption", id="no-code"),
        pytest.param(RUN, {"status": "Stopped", "reason_code": "JobStoppedByUser"}, "job dlc1 Stopped (JobStoppedByUser)",
                     id="stopped-by-someone"),
        pytest.param(RUN, {"status": "FailedReserving", "reason_code": "JobFailed"}, "job dlc1 FailedReserving (JobFailed)",
                     id="failed-reserving"),
        pytest.param(with_(state="stopping"), {"status": "Stopped", "reason_code": "JobStoppedByUser"},
                     "job dlc1 Stopped after StopJob (over its time limit; JobStoppedByUser)", id="stopped-by-us"),
        pytest.param(with_(state="stopping"), PREEMPTED, "after StopJob", id="preempted-while-stopping"),
        pytest.param(with_(spot=False), PREEMPTED,
                     "(JobPreempted: spot instance reclaimed; JobPreempted) on on-demand instances: only spot preemptions",
                     id="on-demand-preempted"),
    ],
)
def test_other_failures_are_final(run, job, reason):
    # Given a failure that is not a resumable spot preemption
    d = decide(run, **job)
    # Then the run fails for good, with the reason (to be notified)
    assert (d.action, d.next_state, d.spot, d.status) == ("fail", "failed", None, normalise_status(job["status"]))
    assert reason in d.reason


# -- out of order and duplicated delivery ------------------------------------------------------------


def apply(run: RunView, d: Decision, job_id: str = "dlc1") -> RunView:
    """What the caller would record (enough of it for this test)."""
    if d.action == "noop":
        return run
    if d.action == "resubmit":
        return RunView("submitted", "dlc2", None, run.attempts + 1, run.preemptions + 1, bool(d.spot))
    return with_(run, state=d.next_state, status=d.status or run.status)


def test_shuffled_and_repeated_statuses_record_each_change_once():
    # Given the statuses of one job delivered three times each, in a scrambled order
    sequence = ["Queuing", "Creating", "Running", "Queuing", "EnvPreparing", "Running", "Creating", "Running",
                "EnvPreparing", "Succeeded", "Running", "Succeeded", "Queuing", "Succeeded", "EnvPreparing"]
    run = RunView("submitted", "dlc1")
    actions = []
    for status in sequence:
        d = decide(run, status=status)
        actions.append((status, d.action))
        run = apply(run, d)
    # Then only forward moves are acted on, each once, and the run ends waiting for its model
    assert [a for a in actions if a[1] != "noop"] == [("Queuing", "record"), ("Running", "record"), ("Succeeded", "await_model")]
    assert run.state == "waiting_for_model"


def test_a_late_event_of_the_preempted_attempt_changes_nothing():
    # Given a run resubmitted after its first job was preempted
    run = apply(RUN, decide(**PREEMPTED))
    assert (run.job_id, run.attempts, run.preemptions) == ("dlc2", 2, 1)
    # When the old job's events arrive late
    for status in ("Running", "Failed", "Stopped"):
        # Then they are ignored
        assert decide(run, status=status, reason_code="JobPreempted").action == "noop"

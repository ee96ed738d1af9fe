"""The reliability suite, CI-sized (issue 14): whole flows of the project's functions on localcloud, every
event delivered three times and reordered, 20 % request faults on every service, the worker killed after
each side effect. The long version is ``make soak`` (bench/soak.py); the harness is reliability_support.py.
"""

from __future__ import annotations

import json
import os

import pytest

from localcloud.core.faults import DeliveryFaults, Fault

from .reliability_support import (
    BETTER,
    FLOWS,
    CallLog,
    check_invariants,
    crash_every_point,
    dlc_jobs,
    fast_training,
    fire_timer,
    freeze_after_reconcile,
    land_dataset,
    land_model,
    settle,
    uncovered_functions,
)

LANDED = "pai-autopilot-dataset-landed"


@pytest.fixture
def calls(project_cloud):
    log = CallLog(project_cloud).install()
    yield log
    log.uninstall()


def whole_story(cloud, sdk) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two dataset versions (the second queued behind the first) trained and served (v1 first, v2 its
    canary), then a hand-uploaded model queued behind v2's rollout. Drives all four functions."""
    freeze_after_reconcile(cloud)
    fast_training(cloud)
    land_dataset(sdk, "v1")
    assert cloud.fc.wait_idle(120)
    land_dataset(sdk, "v2")
    assert cloud.fc.wait_idle(120)
    settle(cloud, 100, step=5)       # v1 then v2 train; their models land
    settle(cloud, 200, step=50)      # the reconcile tick at +299 s: v1 Running → serving, v2 → canary
    if cloud.delivery.duplicate:     # and that tick again, three copies side by side
        fire_timer(cloud, "reconcile", copies=3)
    land_model(sdk, "h1", BETTER)    # a rollout is open: queued
    assert cloud.fc.wait_idle(120)
    return ("v1", "v2"), ("v1", "v2", "h1")


def test_every_function_in_s_yaml_has_a_reliability_scenario():
    assert uncovered_functions() == [], "add a FunctionScenario (and its flows) in tests/e2e/reliability_support.py"


def test_every_event_three_times_and_reordered_no_duplicate_none_lost(project_cloud, sdk, calls, notices):
    project_cloud.delivery = DeliveryFaults(duplicate=1.0, extra_copies=2, reorder_window=0.3)
    datasets, models = whole_story(project_cloud, sdk)
    figures = check_invariants(project_cloud, sdk, calls, datasets=datasets, models=models, notices=notices)
    records = project_cloud.fc.invocation_records()
    # every delivered copy ran to success (0 lost), every function was driven, each event 3 times
    assert all(r["status"] == "succeeded" for r in records), [r for r in records if r["status"] != "succeeded"][:3]
    by_source: dict[str, int] = {}
    for r in records:
        if r["source"].startswith(("oss:", "eventbridge:")) or r["function"] == "pai-autopilot-job-events":
            by_source[r["function"]] = by_source.get(r["function"], 0) + 1
    assert {LANDED, "pai-autopilot-job-events", "pai-autopilot-reconcile", "pai-autopilot-model-landed"} <= set(
        figures.deliveries_by_function)
    assert all(n % 3 == 0 for n in by_source.values()), by_source
    assert (figures.jobs, figures.services, figures.rollouts) == (2, 2, 1)  # h1 queued: no service yet
    # and of the three copies of each marker exactly one acted (the ledger's compare-and-set), two were no-ops
    acted: dict[tuple[str, str], list[str]] = {}
    for r in records:
        if r["function"] in (LANDED, "pai-autopilot-model-landed"):
            for rec in (r.get("result") or {}).get("records") or []:
                acted.setdefault((r["function"], rec.get("version")), []).append(rec.get("outcome"))
    for key, outcomes in acted.items():
        assert len(outcomes) == 3 and outcomes.count("duplicate") == 2, (key, outcomes)


def test_twenty_percent_faults_on_every_service_every_flow_converges(project_cloud, sdk, calls, notices):
    # ~20 % of every call to every service fails (10 % throttled with x-acs-retry-after, ~11 % 5xx), all slowed
    project_cloud.faults.add(Fault(service="*", operation="*", throttle_rate=0.10, error_rate=0.112, latency_ms=15,
                                   retry_after_ms=50))
    datasets, models = whole_story(project_cloud, sdk)
    hits = sum(f["hits"] for f in project_cloud.faults.list())
    project_cloud.faults.clear()
    assert project_cloud.fc.wait_idle(120)
    settle(project_cloud, 600, step=60)  # two more reconcile ticks repair what a dead-lettered job event left
    for letter in project_cloud.fc.dead_letters():  # what exhausted its retries is there with the full event
        assert letter["attempts"] == 3 and json.loads(letter["event"]), letter
    check_invariants(project_cloud, sdk, calls, datasets=datasets, models=models, notices=notices, allow_dead=True)
    assert hits >= 20, f"only {hits} injected faults"


def test_an_event_that_exhausts_its_retries_is_dead_lettered_whole(project_cloud, sdk, calls):
    freeze_after_reconcile(project_cloud)
    fast_training(project_cloud)
    project_cloud.faults.add(Fault(service="dlc", operation="CreateJob", error_rate=1.0, status=503,
                                   error_code="ServiceUnavailable"))
    marker = land_dataset(sdk, "dl1")
    assert project_cloud.fc.wait_idle(120)
    (letter,) = project_cloud.fc.dead_letters()
    assert letter["function"] == LANDED and letter["attempts"] == 3
    assert all("CreateJob" in (e or "") for e in letter["errors"]), letter["errors"]
    event = json.loads(letter["event"])  # the full OSS notification, as delivered
    assert [e["oss"]["object"]["key"] for e in event["events"]] == [marker]
    assert event["events"][0]["eventName"] == "ObjectCreated:PutObject" and event["events"][0]["oss"]["bucket"]["name"]
    # And nothing was created for it; the run's claim and the dead letter both name it (not lost)
    project_cloud.faults.clear()
    settle(project_cloud, 60, step=10)
    assert dlc_jobs(project_cloud) == []
    check_invariants(project_cloud, sdk, calls, datasets=("dl1",), allow_dead=True)


CI_CRASH_FLOWS = tuple(os.environ.get("RELIABILITY_CRASH_FLOWS", "submit,serve_first,canary").split(","))  # soak: all


@pytest.mark.parametrize("flow_name", CI_CRASH_FLOWS)
def test_a_crash_after_each_side_effect_no_duplicate_and_the_retry_converges(project_cloud, sdk, calls, flow_name):
    points, failures, missed = crash_every_point(project_cloud, sdk, calls, FLOWS[flow_name])
    assert points and not failures, "\n".join(failures)
    assert len(missed) <= len(points) // 4, f"{len(missed)} of {len(points)} crash points did not recur: {missed}"

"""The reliability suite for the rollout controller (issue 14): ``canary`` with every tick fired three
times side by side, ``alarm`` with every CloudMonitor alarm event delivered three times and reordered →
weight steps never doubled, one rollback record. Runs on test_rollout_flow's localcloud (functions
follow the driven clock) and its helpers, which open the rollout the way model_landed leaves it."""

from __future__ import annotations

import collections

import pytest

from localcloud.core.faults import DeliveryFaults

from .reliability_support import CallLog, duplicates, fire_timer, ledger
from .test_rollout_flow import cloud, env, head, serve, traffic  # noqa: F401  (fixtures)

FAST = {"latency_ms": 1, "sleep_scale": 0}


@pytest.fixture
def calls(cloud, env):  # noqa: F811
    log = CallLog(cloud).install()
    yield log
    log.uninstall()


def rollout_records(sdk, rid: str) -> list[dict]:
    return ledger(sdk, f"rollouts/demo/{rid}/").get(f"rollouts/demo/{rid}", [])


def steps(records: list[dict]) -> list[tuple[int, int]]:
    """(step, canary weight) each time the weight changed, in order."""
    out: list[tuple[int, int]] = []
    for r in records:
        pair = (int(r["data"].get("step", 0)), int(r["data"].get("canary_weight", 0)))
        if not out or out[-1][1] != pair[1]:
            out.append(pair)
    return out


def test_every_canary_tick_three_times_weight_steps_never_doubled(cloud, env, calls):  # noqa: F811
    rid = serve(cloud, env, "v2", FAST)
    for _ in range(6):  # a minute each: traffic, the timer's tick and two more copies of it
        traffic(cloud, 400)
        fire_timer(cloud, "canary", copies=2)
        cloud.advance(60)
        assert cloud.fc.wait_idle(60)
        if head(env, rid).state in ("watching", "succeeded"):
            break
    records = rollout_records(env.clients, rid)
    assert head(env, rid).state in ("watching", "succeeded"), [(r["state"], r["data"].get("reason")) for r in records]
    assert [w for _, w in steps(records)] == [0, 10, 25, 50, 100], steps(records)  # each step recorded once
    weight_records = collections.Counter((r["state"], r["data"].get("canary_weight")) for r in records
                                         if r["state"] in ("progressing", "promoting", "watching"))
    assert all(n == 1 for n in weight_records.values()), weight_records
    assert duplicates(calls)["weight steps repeating the service's weight"] == {}
    phases = collections.Counter(r["state"] for r in records)
    assert phases["promoting"] <= 1 and phases["watching"] <= 1, phases
    ticks = cloud.fc.invocation_records("pai-autopilot-canary")
    assert len(ticks) >= 9 and all(t["status"] == "succeeded" for t in ticks)


def test_every_alarm_three_times_and_reordered_one_rollback(cloud, env, calls):  # noqa: F811
    from pai_autopilot.rollout.alarm_rules import apply_rule, wanted_rules
    from pai_autopilot.rollout.handlers import kick

    for rule in wanted_rules(env.config, webhook=None):  # what `wire` creates
        apply_rule(env.clients.cms, rule)
    rid = serve(cloud, env, "v5", {**FAST, "error_rate": 0.9})
    kick(env, "demo", rid)
    assert cloud.fc.wait_idle(60) and head(env, rid).data["canary_weight"] == 10
    cloud.delivery = DeliveryFaults(duplicate=1.0, extra_copies=2, reorder_window=0.3)
    for _ in range(4):
        traffic(cloud, 300)
        cloud.advance(60)
        assert cloud.fc.wait_idle(60)
        if head(env, rid).state == "rolled_back":
            break
    cloud.delivery = DeliveryFaults()
    records = rollout_records(env.clients, rid)
    phases = collections.Counter(r["state"] for r in records)
    assert phases["rolled_back"] == 1 and phases["rolling_back"] <= 1, phases
    assert head(env, rid).state == "rolled_back"
    alarms = cloud.fc.invocation_records("pai-autopilot-alarm")
    assert len(alarms) >= 3 and len(alarms) % 3 == 0 and all(a["status"] == "succeeded" for a in alarms), alarms
    from alibabacloud_eas20210701 import models

    body = env.clients.eas.list_services(models.ListServicesRequest(group_name="demo")).body
    assert {s.service_name: s.weight for s in body.services} == {"demo_model": 100, "demo_model_v5": 0}
    # the rolling_back intent is applied by the copy that recorded it (the others leave it to its owner):
    # the weights are set once
    assert duplicates(calls)["weight steps repeating the service's weight"] == {}

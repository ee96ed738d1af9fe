"""The rollout controller's pure decisions: gates, statistics, phases, steps, deadlines, watch window."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from pai_autopilot.config.models import Rollout
from pai_autopilot.rollout.gates import Sample, Thresholds, evaluate, two_proportion_p_value
from pai_autopilot.rollout.lifecycle import Check, Observation, RolloutView, completion_phase, decide
from pai_autopilot.rollout.policy import Policy

POLICY = Policy()
HEALTHY_C, HEALTHY_S = Sample(500, 1, 20.0), Sample(4500, 9, 20.0)


def view(phase="progressing", **kw) -> RolloutView:
    base = dict(step=1, canary_weight=10, opened_at=0.0, progress_at=0.0, analysis_from=0.0, phase_at=0.0)
    return RolloutView(phase=phase, **{**base, **kw})


# -- the noise cases of the issue ----------------------------------------------------------------
def test_one_error_in_40_against_5_in_400_is_noise_even_with_tight_thresholds():
    t = Thresholds(min_requests=20, max_error_ratio=0.02, max_error_ratio_delta=0.01, confidence=0.95)
    result = evaluate(Sample(40, 1), Sample(400, 5), t)
    assert result.verdict == "pass" and result.p_value > 0.05
    # without the statistics the same numbers fail both ratio gates: the test is what saves it
    naive = evaluate(Sample(40, 1), Sample(400, 5), dataclasses.replace(t, confidence=None))
    assert naive.verdict == "fail" and "max_error_ratio" in naive.reason and "exceeds the stable" in naive.reason


def test_five_percent_against_one_percent_at_2000_each_fails_with_the_p_value():
    result = evaluate(Sample(2000, 100), Sample(2000, 20), Thresholds(max_error_ratio=0.2))
    assert result.verdict == "fail" and result.p_value < 1e-6
    record = result.to_dict()
    assert record["canary"] == {"requests": 2000, "errors": 100, "error_ratio": 0.05, "p99_ms": None}
    assert record["stable"]["error_ratio"] == 0.01 and record["thresholds"]["max_error_ratio_delta"] == 0.02


def test_two_proportion_p_value_is_one_sided():
    assert two_proportion_p_value(Sample(2000, 20), Sample(2000, 100)) > 0.99  # canary better: never "worse"
    assert two_proportion_p_value(Sample(0, 0), Sample(10, 1)) is None


@pytest.mark.parametrize("canary, stable, t, needle", [
    (Sample(500, 0, 900.0), Sample(500, 0, 100.0), Thresholds(max_p99_ms=500), "max_p99_ms"),
    (Sample(500, 0, 300.0), Sample(500, 0, 100.0), Thresholds(max_p99_ratio=2.0), "max_p99_ratio"),
    (Sample(500, 100, 10.0), None, Thresholds(max_error_ratio=0.05), "max_error_ratio"),
])
def test_latency_and_absolute_gates_fail_with_the_value(canary, stable, t, needle):
    result = evaluate(canary, stable, t)
    assert result.verdict == "fail" and needle in result.reason


def test_below_min_requests_is_insufficient_never_pass_or_fail():
    result = evaluate(Sample(99, 99, 5000.0), Sample(1000, 0, 1.0), Thresholds(min_requests=100, max_p99_ms=10))
    assert result.verdict == "insufficient"


# -- steps, holds, deadlines ---------------------------------------------------------------------
def test_healthy_canary_steps_through_the_weights_then_promotes():
    weights, v, now = [], view(step=1, canary_weight=10), 60.0
    while True:
        d = decide(v, Observation(now=now, canary=HEALTHY_C, stable=HEALTHY_S), POLICY)
        if d.action == "promote":
            break
        assert d.action == "step"
        weights.append(d.changes["canary_weight"])
        v = dataclasses.replace(v, step=d.changes["step"], canary_weight=d.changes["canary_weight"],
                                progress_at=now, analysis_from=now)
        now += 60
    assert weights == [25, 50] and d.phase == "promoting" and d.changes["canary_weight"] == 100
    assert completion_phase(d) == "watching"


def test_no_step_before_a_full_interval():
    d = decide(view(), Observation(now=30.0, canary=HEALTHY_C, stable=HEALTHY_S), POLICY)
    assert d.action == "noop" and "analysis window" in d.reason


def test_threshold_failed_checks_roll_back_with_the_values():
    bad = Observation(now=60.0, canary=Sample(500, 100, 20.0), stable=Sample(4500, 4, 20.0))
    first = decide(view(), bad, POLICY)
    assert first.action == "fail_check" and first.changes["failed_checks"] == 1
    second = decide(view(failed_checks=1, analysis_from=60.0), dataclasses.replace(bad, now=120.0), POLICY)
    assert second.action == "rollback" and second.phase == "rolling_back" and completion_phase(second) == "rolled_back"
    gate = second.changes["last_gate"]
    assert gate["canary"]["error_ratio"] == 0.2 and gate["stable"]["error_ratio"] == round(4 / 4500, 6)
    assert second.changes["canary_weight"] == 0


def test_no_traffic_holds_then_rolls_back_at_the_progress_deadline():
    idle = Observation(now=60.0, canary=Sample(0, 0), stable=Sample(0, 0))
    hold = decide(view(), idle, POLICY)
    assert (hold.action, hold.phase) == ("hold", "holding")
    held = view(phase="holding", hold_kind="traffic", resume_phase="progressing")
    assert decide(held, dataclasses.replace(idle, now=300.0), POLICY).action == "noop"  # no record per tick
    late = decide(held, dataclasses.replace(idle, now=601.0), POLICY)
    assert late.action == "rollback" and "progress_deadline" in late.reason


def test_holding_resumes_stepping_when_traffic_returns():
    held = view(phase="holding", hold_kind="traffic", resume_phase="progressing")
    d = decide(held, Observation(now=120.0, canary=HEALTHY_C, stable=HEALTHY_S), POLICY)
    assert (d.action, d.phase, d.changes["canary_weight"]) == ("step", "progressing", 25)


def test_max_duration_rolls_back_and_pause_holds():
    assert decide(view(), Observation(now=POLICY.max_duration + 1, canary=HEALTHY_C), POLICY).action == "rollback"
    paused = view(phase="holding", paused=True, reason="paused by ci: freeze")
    assert decide(paused, Observation(now=10_000.0, canary=Sample(0, 0)), POLICY).action == "noop"


# -- initializing, smoke, shadow, confirm_promotion ----------------------------------------------
def test_initializing_waits_for_running_then_takes_the_first_step():
    init = view(phase="initializing", step=0, canary_weight=0)
    assert decide(init, Observation(now=5.0), POLICY).needs == ("canary_status",)
    assert decide(init, Observation(now=5.0, canary_status="Creating"), POLICY).action == "noop"
    assert decide(init, Observation(now=700.0, canary_status="Creating"), POLICY).action == "rollback"
    d = decide(init, Observation(now=5.0, canary_status="Running"), POLICY)
    assert (d.action, d.changes["canary_weight"], d.changes["step"]) == ("step", 10, 1)


def test_a_failing_smoke_request_rolls_back_before_any_weight():
    policy = dataclasses.replace(POLICY, smoke=True)
    init = view(phase="initializing", step=0, canary_weight=0)
    assert decide(init, Observation(now=5.0, canary_status="Running"), policy).needs == ("smoke",)
    d = decide(init, Observation(now=5.0, canary_status="Running", smoke=Check(False, "HTTP 500, expected 200")), policy)
    assert d.action == "rollback" and d.changes["canary_weight"] == 0 and "smoke" in d.reason


def test_shadow_failure_rolls_back_with_no_weight_and_a_pass_starts_the_steps():
    policy = dataclasses.replace(POLICY, shadow_ratio=30, shadow_duration=120.0)
    start = decide(view(phase="initializing", step=0, canary_weight=0), Observation(now=5.0, canary_status="Running"), policy)
    assert (start.action, start.phase) == ("start_shadow", "shadowing")
    shadow = view(phase="shadowing", step=0, canary_weight=0)
    bad = Observation(now=60.0, canary=Sample(300, 90), stable=Sample(1000, 1))
    assert decide(shadow, bad, policy).action == "fail_check"
    d = decide(dataclasses.replace(shadow, failed_checks=1), bad, policy)
    assert d.action == "rollback" and d.changes["canary_weight"] == 0
    good = Observation(now=60.0, canary=Sample(300, 0), stable=Sample(1000, 1))
    assert decide(shadow, good, policy).action == "noop"  # shadow duration not over
    first = decide(shadow, dataclasses.replace(good, now=120.0), policy)
    assert (first.action, first.changes["canary_weight"]) == ("step", 10)


def test_confirm_promotion_holds_at_the_last_step_until_2xx():
    policy = dataclasses.replace(POLICY, confirm_promotion=True)
    last = view(step=3, canary_weight=50)
    obs = Observation(now=60.0, canary=HEALTHY_C, stable=HEALTHY_S)
    assert decide(last, obs, policy).needs == ("confirm_promotion",)
    held = decide(last, dataclasses.replace(obs, confirm_promotion=Check(False, "HTTP 503")), policy)
    assert (held.action, held.phase) == ("hold", "holding") and "weight 50" in held.reason
    holding = view(phase="holding", step=3, canary_weight=50, hold_kind="confirm_promotion", resume_phase="progressing")
    assert decide(holding, dataclasses.replace(obs, now=120.0, confirm_promotion=Check(True, "HTTP 200")), policy).action == "promote"


# -- watch window, intents -----------------------------------------------------------------------
def test_a_breach_inside_the_watch_window_reverts_in_one_step():
    watching = view(phase="watching", step=4, canary_weight=100, phase_at=0.0)
    d = decide(watching, Observation(now=60.0, canary=Sample(500, 100)), POLICY)
    assert d.action == "revert" and d.changes["revert"] is True and completion_phase(d) == "rolled_back"
    assert decide(watching, Observation(now=60.0, canary=HEALTHY_C), POLICY).action == "noop"
    assert decide(watching, Observation(now=1800.0), POLICY).action == "finalise"


def test_an_intent_left_by_a_crash_is_completed():
    assert decide(view(phase="promoting", canary_weight=100), Observation(now=1.0), POLICY).action == "promote"
    d = decide(view(phase="rolling_back", outcome="aborted"), Observation(now=1.0), POLICY)
    assert d.action == "rollback" and completion_phase(d) == "aborted"
    assert decide(view(phase="rolled_back"), Observation(now=1.0), POLICY).action == "noop"


def test_policy_from_config_builds_steps_and_thresholds():
    p = Policy.from_config(msgspec.convert({"step_weights": [5, 50, 100], "confidence": None, "min_requests": 7}, Rollout))
    assert p.steps == (5, 50, 100) and p.thresholds.confidence is None and p.thresholds.min_requests == 7

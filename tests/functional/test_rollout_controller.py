"""The rollout controller's ticks against localcloud: real EAS weights, real CloudMonitor metrics."""

from __future__ import annotations

from . import rollout_fixtures
from .rollout_fixtures import HEALTHY

rollout_env = rollout_fixtures.rollout_env


def test_healthy_canary_goes_10_25_50_100_then_watching_then_the_old_stable_retires(rollout_env):
    env = rollout_env
    env.start("v2", HEALTHY)
    assert env.tick()["transitions"] == 1  # canary Running: first step
    for _ in range(3):
        served = env.traffic(1000)  # the gateway's seed is fixed: the split is reproducible
        assert abs(served["demo_model_v2"] / 1000 - env.weights()["demo_model_v2"] / 100) <= 0.03
        env.advance(60)
        assert env.tick()["transitions"] == 1
    assert env.head().state == "watching" and env.weights() == {"demo_model": 0, "demo_model_v2": 100}
    assert env.traffic(200)["demo_model_v2"] == 200
    assert [r.data["canary_weight"] for r in env.history() if r.state in ("progressing", "promoting")] == [10, 25, 50, 100]
    # the watch window passes without a breach: the old stable is scaled to zero
    env.advance(300)
    env.tick()
    assert env.head().state == "succeeded"
    assert env.status("demo_model") in ("Stopping", "Stopped")
    from pai_autopilot.serving.stable import read_stable

    stable = read_stable(env.runtime().ledger, "demo")
    assert (stable.version, stable.previous_version) == ("v2", "v1")


def test_canary_answering_20_percent_errors_rolls_back_after_threshold_checks(rollout_env):
    env = rollout_env
    env.start("v3", {"latency_ms": 5, "sleep_scale": 0, "error_rate": 0.2, "error_status": 503})
    env.tick()
    env.traffic(400)
    env.advance(60)
    first = env.tick()["rollouts"][0]
    assert first["action"] == "fail_check" and env.weights()["demo_model_v3"] == 10
    env.traffic(400)
    env.advance(60)
    env.tick()
    head = env.head()
    assert head.state == "rolled_back"
    assert env.weights() == {"demo_model": 100, "demo_model_v3": 0}
    gate = head.data["last_gate"]
    assert gate["canary"]["error_ratio"] > 0.1 and gate["stable"]["error_ratio"] == 0.0
    assert "2 failed checks" in head.data["reason"] and "p=" in head.data["reason"]
    assert env.status("demo_model_v3") in ("Stopping", "Stopped")  # cleanup_after 0: stopped at once
    assert [r.state for r in env.history()][-2:] == ["rolling_back", "rolled_back"]


def test_canary_with_no_traffic_holds_then_rolls_back_at_the_progress_deadline(rollout_env):
    env = rollout_env
    env.start("v4", HEALTHY)
    env.tick()
    states = []
    for _ in range(6):
        env.advance(60)
        env.tick()
        states.append(env.head().state)
    assert states[0] == "holding" and "min_requests" in env.history()[2].data["reason"]
    assert states[-1] == "rolled_back" and "progress_deadline" in env.head().data["reason"]
    assert all(r.data["canary_weight"] <= 10 for r in env.history())  # never promoted
    assert len([r for r in env.history() if r.state == "holding"]) == 1  # one hold record, not one per tick


def test_duplicated_and_overlapping_ticks_never_step_twice(rollout_env):
    from concurrent.futures import ThreadPoolExecutor

    env = rollout_env
    env.start("v2", HEALTHY)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: env.tick(), range(3)))
    assert sum(r["transitions"] for r in results) == 1
    env.traffic(300)
    env.advance(60)
    results = [env.tick() for _ in range(3)]
    assert [r["transitions"] for r in results] == [1, 0, 0]
    assert [r.data["canary_weight"] for r in env.history()] == [0, 10, 25]

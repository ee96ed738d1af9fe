"""Manual rollout commands (the ops API's control contract) against localcloud."""

from __future__ import annotations

import pytest

from pai_autopilot.errors import InvalidInputError
from pai_autopilot.rollout.control import RolloutCommandConflict, RolloutNotFound, apply_command

from . import rollout_fixtures
from .rollout_fixtures import HEALTHY

rollout_env = rollout_fixtures.rollout_env


def test_pause_holds_across_ticks_until_resume(rollout_env):
    env = rollout_env
    env.start("v2", HEALTHY)
    env.tick()
    rt = env.runtime()
    paused = apply_command(rt, "demo", "pause", actor="alice", reason="freeze for the launch")
    assert (paused["outcome"], paused["phase"], paused["canary_weight"]) == ("applied", "holding", 10)
    assert apply_command(rt, "demo", "pause", actor="alice")["outcome"] == "noop"
    for _ in range(3):  # healthy traffic, several intervals, past the progress deadline: nothing moves
        env.traffic(200)
        env.advance(120)
        assert env.tick()["transitions"] == 0
    assert env.weights()["demo_model_v2"] == 10
    resumed = apply_command(env.runtime(), "demo", "resume", actor="alice")
    assert (resumed["outcome"], resumed["phase"]) == ("applied", "progressing")
    assert apply_command(env.runtime(), "demo", "resume", actor="alice")["outcome"] == "noop"
    env.traffic(300)
    env.advance(60)
    env.tick()
    assert env.weights()["demo_model_v2"] == 25
    record = next(r for r in env.history() if r.data.get("paused"))
    assert record.by == "alice" and record.data["reason"] == "pause by alice: freeze for the launch"


def test_promote_jumps_to_100_and_rollback_inside_the_window_reverts(rollout_env):
    env = rollout_env
    env.start("v2", HEALTHY)
    env.tick()
    promoted = apply_command(env.runtime(), "demo", "promote", actor="ci", reason="hotfix")
    assert (promoted["outcome"], promoted["phase"], promoted["canary_weight"]) == ("applied", "watching", 100)
    assert env.weights() == {"demo_model": 0, "demo_model_v2": 100}
    assert apply_command(env.runtime(), "demo", "promote", actor="ci")["outcome"] == "noop"
    back = apply_command(env.runtime(), "demo", "rollback", actor="ci", reason="bad answers")
    assert (back["outcome"], back["phase"], back["canary_weight"]) == ("applied", "rolled_back", 0)
    assert env.weights() == {"demo_model": 100, "demo_model_v2": 0}
    from pai_autopilot.serving.stable import read_stable

    assert read_stable(env.runtime().ledger, "demo").version == "v1"
    assert apply_command(env.runtime(), "demo", "rollback", actor="ci", reason="again")["outcome"] == "noop"
    with pytest.raises(RolloutCommandConflict):
        apply_command(env.runtime(), "demo", "pause", actor="ci")


def test_abort_mid_rollout_is_recorded_with_actor_and_reason(rollout_env):
    env = rollout_env
    env.start("v2", HEALTHY)
    env.tick()
    result = apply_command(env.runtime(), "demo", "abort", actor="bob", reason="wrong model")
    assert (result["outcome"], result["phase"], result["canary_weight"]) == ("applied", "aborted", 0)
    assert env.weights() == {"demo_model": 100, "demo_model_v2": 0}
    assert env.head().by == "bob" and "wrong model" in env.head().data["reason"]
    assert apply_command(env.runtime(), "demo", "abort", actor="bob", reason="again")["outcome"] == "noop"


def test_bad_commands_are_clear_errors(rollout_env):
    env = rollout_env
    rt = env.runtime()
    with pytest.raises(RolloutNotFound, match="has no rollout"):
        apply_command(rt, "demo", "promote", actor="ci")
    with pytest.raises(RolloutNotFound, match="known: demo"):
        apply_command(rt, "nope", "promote", actor="ci")
    with pytest.raises(InvalidInputError, match="needs a reason"):
        apply_command(rt, "demo", "abort", actor="ci")
    with pytest.raises(InvalidInputError, match="unknown rollout action 'explode'"):
        apply_command(rt, "demo", "explode", actor="ci")


def test_rollback_after_the_watch_window_redeploys_the_previous_version_through_a_new_rollout(rollout_env):
    env = rollout_env
    env.config(step_weights=[100], watch_window_seconds=60)
    env.start("v2", HEALTHY)
    env.tick()
    env.advance(60)
    env.tick()
    assert env.head().state == "succeeded"
    env.advance(30)  # demo_model (v1) is Stopped
    assert env.status("demo_model") == "Stopped"
    dry = __import__("pai_autopilot.rollout.control", fromlist=["plan_command"]).plan_command(
        env.runtime(), "demo", "rollback", actor="ci", reason="v2 regressed")
    assert dry["outcome"] == "would-apply" and env.status("demo_model") == "Stopped"
    back = apply_command(env.runtime(), "demo", "rollback", actor="ci", reason="v2 regressed")
    assert (back["outcome"], back["version"], back["phase"]) == ("applied", "v1", "initializing")
    assert apply_command(env.runtime(), "demo", "rollback", actor="ci", reason="again")["outcome"] == "noop"
    env.advance(10)  # v1 Running again: the new rollout promotes it (single step) through the same path
    result = env.tick()["rollouts"][0]
    assert (result["version"], result["phase"]) == ("v1", "watching")
    assert env.weights() == {"demo_model": 100, "demo_model_v2": 0}
    from pai_autopilot.serving.stable import read_stable

    assert read_stable(env.runtime().ledger, "demo").version == "v1"


def test_a_rolled_back_canary_is_stopped_cleanup_after_later(rollout_env):
    env = rollout_env
    env.config(cleanup_after_seconds=120)
    env.start("v3", HEALTHY)
    env.tick()
    apply_command(env.runtime(), "demo", "abort", actor="ci", reason="drill")
    env.advance(60)
    assert env.tick()["cleaned_up"] == [] and env.status("demo_model_v3") == "Running"
    env.advance(61)
    assert env.tick()["cleaned_up"] == ["demo_model_v3"]
    assert env.status("demo_model_v3") in ("Stopping", "Stopped")
    env.advance(60)
    assert env.tick()["cleaned_up"] == []  # once


def test_the_training_run_follows_its_rollout_served_then_rolled_back(rollout_env):
    env = rollout_env
    rt = env.runtime()
    rt.ledger.claim("runs/demo/ap-demo-v2-1", "model_ready", {"pipeline": "demo", "version": "v2", "job_id": "dlc2",
                                                              "status": "Succeeded", "reason": "job dlc2 Succeeded"})
    env.start("v2", HEALTHY, run_id="ap-demo-v2-1")
    env.tick()
    assert rt.ledger.latest("runs/demo/ap-demo-v2-1").state == "model_ready"  # a canary, not served yet
    apply_command(env.runtime(), "demo", "promote", actor="ci")
    served = rt.ledger.latest("runs/demo/ap-demo-v2-1")
    # the served record says why: the rollout's decision, not the job's last status
    assert served.state == "served" and served.data["reason"] == env.head().data["reason"], served.data
    assert "Succeeded" not in served.data["reason"] and served.data["rollout_id"] == env.head().data["rollout_id"]
    apply_command(env.runtime(), "demo", "rollback", actor="ci", reason="regression")
    run = rt.ledger.latest("runs/demo/ap-demo-v2-1")
    assert run.state == "rolled_back" and "regression" in run.data["reason"]
    assert run.data["reason"] == env.head().data["reason"]
    # and `run show` (the run's timeline) shows both reasons
    from pai_autopilot.training.history import timeline

    rows = timeline(rt.ledger.history("runs/demo/ap-demo-v2-1"))
    assert [(r.state, r.reason) for r in rows[-2:]] == [("served", served.data["reason"]), ("rolled_back", run.data["reason"])]

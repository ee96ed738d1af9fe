"""A promoted version becomes the stable with its offline metrics (from its model record), so the
evaluation gate of the version after it compares against them instead of refusing it for
``accuracy missing from the stable version's metrics.json``."""

from __future__ import annotations

from pai_autopilot.serving.stable import read_stable
from pai_autopilot.serving.versions import model_entity

from . import rollout_fixtures
from .rollout_fixtures import HEALTHY

rollout_env = rollout_fixtures.rollout_env


def test_the_promoted_stable_carries_the_versions_metrics(rollout_env):
    env = rollout_env
    env.config(step_weights=[100])  # one step: the first tick after the canary runs promotes
    env.start("v2", HEALTHY)
    metrics = {"accuracy": 0.93, "loss": 0.2}
    env.runtime().ledger.claim(model_entity("demo", "v2"), "canary", {"pipeline": "demo", "version": "v2", "metrics": metrics})
    for _ in range(4):
        if env.head().state in ("watching", "succeeded"):
            break
        env.traffic(100)
        env.advance(60)
        env.tick()
    assert env.head().state in ("watching", "succeeded"), (env.head().state, env.head().data.get("reason"))
    stable = read_stable(env.runtime().ledger, "demo")
    assert (stable.version, stable.metrics) == ("v2", metrics)

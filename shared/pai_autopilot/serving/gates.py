"""The decisions before a later version gets a service (pure; each returns a verdict with its reason).

1. :func:`evaluate` — offline champion/challenger: the version's ``metrics.json`` against the
   stable version's, per ``serving.evaluation``;
2. :func:`check_capacity` — the canary's instances plus the stable's within ``serving.max_instances``;
3. :func:`decide_on_open_rollout` — one rollout per pipeline: ``queue`` or ``supersede``.

Example
-------
>>> from ..config.models import Evaluation, GuardMetric
>>> policy = Evaluation(metric="accuracy", min_improvement=0.01,
...                     guards=[GuardMetric(metric="latency_ms_p99", max_regression=10)])
>>> v = evaluate({"accuracy": 0.93, "latency_ms_p99": 85}, {"accuracy": 0.91, "latency_ms_p99": 80}, policy)
>>> v.passed, v.reason
(True, 'accuracy 0.93 vs stable 0.91 (+0.02, needs >= +0.01); latency_ms_p99 85 vs 80 (regression 5 <= 10)')
>>> evaluate({"accuracy": 0.90, "latency_ms_p99": 80}, {"accuracy": 0.91, "latency_ms_p99": 80}, policy).reason
'accuracy 0.9 vs stable 0.91 (-0.01, needs >= +0.01); latency_ms_p99 80 vs 80 (regression 0 <= 10)'
>>> check_capacity(canary=2, stable=3, limit=4)
GateVerdict(passed=False, reason='canary 2 + stable 3 = 5 instances > serving.max_instances 4', values={'canary_instances': 2, 'stable_instances': 3, 'max_instances': 4})
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from ..config.models import Evaluation


@dataclasses.dataclass(frozen=True)
class GateVerdict:
    passed: bool
    reason: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _signed(x: float) -> str:
    return ("+" if x >= 0 else "-") + _fmt(abs(x))


def evaluate(candidate: dict[str, float] | None, stable: dict[str, float], policy: Evaluation) -> GateVerdict:
    """Does the challenger (``candidate``) beat the champion (``stable``)? Both values are in the verdict."""
    candidate = candidate or {}
    values: dict[str, Any] = {"candidate": dict(candidate), "stable": dict(stable), "metric": policy.metric}
    ok, parts = True, []
    c, s = candidate.get(policy.metric), stable.get(policy.metric)
    if c is None or s is None:
        side = "this version" if c is None else "the stable version"
        if policy.missing == "require":
            return GateVerdict(False, f"{policy.metric} missing from {side}'s metrics.json (evaluation.missing: require)", values)
        parts.append(f"{policy.metric} missing from {side}: not compared (missing: skip)")
    else:
        gain = (c - s) if policy.mode == "max" else (s - c)
        passed = gain >= policy.min_improvement - 1e-12
        ok &= passed
        parts.append(f"{policy.metric} {_fmt(c)} vs stable {_fmt(s)} ({_signed(gain)}, needs >= {_signed(policy.min_improvement)})")
    for guard in policy.guards:
        gc, gs = candidate.get(guard.metric), stable.get(guard.metric)
        if gc is None or gs is None:
            if policy.missing == "require":
                ok = False
                parts.append(f"guard {guard.metric} missing ({'this version' if gc is None else 'stable'})")
            continue
        regression = (gs - gc) if guard.mode == "max" else (gc - gs)
        within = regression <= guard.max_regression + 1e-12
        ok &= within
        parts.append(f"{guard.metric} {_fmt(gc)} vs {_fmt(gs)} (regression {_fmt(max(regression, 0))} "
                     f"{'<=' if within else '>'} {_fmt(guard.max_regression)})")
    return GateVerdict(ok, "; ".join(parts) if ok else "; ".join(p for p in parts if p), values)


def check_capacity(*, canary: int, stable: int, limit: int) -> GateVerdict:
    """The canary and the stable together within ``serving.max_instances``."""
    values = {"canary_instances": canary, "stable_instances": stable, "max_instances": limit}
    total = canary + stable
    if total > limit:
        return GateVerdict(False, f"canary {canary} + stable {stable} = {total} instances > serving.max_instances {limit}", values)
    return GateVerdict(True, f"canary {canary} + stable {stable} = {total} instances <= serving.max_instances {limit}", values)


def check_group_capacity(*, need: dict[str, int], total: dict[str, int], used: dict[str, int], group: str) -> GateVerdict:
    """The canary's cpu/memory/gpu fit the dedicated resource group's free capacity.

    >>> check_group_capacity(need={"cpu": 4, "memory": 8000, "gpu": 0}, total={"cpu": 8, "memory": 16000, "gpu": 0},
    ...                      used={"cpu": 6, "memory": 4000, "gpu": 0}, group="eas-r-1").reason
    'resource group eas-r-1: cpu needs 4, free 2 of 8'
    """
    values = {"resource_group": group, "need": dict(need), "total": dict(total), "used": dict(used)}
    short = [f"{k} needs {need[k]}, free {total.get(k, 0) - used.get(k, 0)} of {total.get(k, 0)}"
             for k in ("cpu", "memory", "gpu") if need.get(k, 0) > total.get(k, 0) - used.get(k, 0)]
    if short:
        return GateVerdict(False, f"resource group {group}: " + "; ".join(short), values)
    return GateVerdict(True, f"resource group {group}: the canary fits", values)


NewerAction = Literal["proceed", "queue", "supersede"]


def decide_on_open_rollout(open_rollout: str | None, own_rollout: str, policy: Literal["queue", "supersede"]) -> tuple[NewerAction, str]:
    """What a new version does about the pipeline's rollout in progress.

    >>> decide_on_open_rollout(None, "ro-b", "queue")
    ('proceed', 'no rollout in progress')
    >>> decide_on_open_rollout("ro-a", "ro-b", "queue")
    ('queue', 'rollout ro-a is in progress (serving.on_newer_version: queue)')
    """
    if open_rollout is None or open_rollout == own_rollout:
        return "proceed", "no rollout in progress"
    return policy, f"rollout {open_rollout} is in progress (serving.on_newer_version: {policy})"

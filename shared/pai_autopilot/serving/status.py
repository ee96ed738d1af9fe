"""What serves each pipeline now, for ``pai-autopilot services`` and ``deploy --dry-run``.

* :func:`pipeline_services` — the stable and canary services of every serving pipeline, with
  EAS's own view of each (status, weight, instances), the rollout phase and the queue;
* :func:`plan_deploy` — what deploying a version would do, decided like :func:`~.deploy.proceed`
  (read-only: no ledger write, no EAS mutation).
"""

from __future__ import annotations

from typing import Any

from ..rollout.state import open_rollout_of, read_head, rollout_id
from ..runtime import Runtime
from . import eas, index
from .gates import check_capacity, decide_on_open_rollout, evaluate
from .inspect import inspect_model
from .stable import read_stable
from .versions import ModelVersion


def _service_view(rt: Runtime, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    svc = eas.describe_service(rt, name)
    if svc is None:
        return {"service": name, "status": "absent"}
    return {"service": name, "status": svc.get("Status"), "weight": svc.get("Weight"),
            "instances": svc.get("TotalInstance"), "running": svc.get("RunningInstance"), "group": svc.get("ServiceGroup")}


def pipeline_services(rt: Runtime) -> list[dict[str, Any]]:
    """One entry per pipeline with a ``serving:`` block."""
    out = []
    for pipeline, spec in rt.config.pipelines.items():
        if spec.serving is None:
            continue
        stable = read_stable(rt.ledger, pipeline)
        rid = open_rollout_of(rt.ledger, pipeline)
        head = read_head(rt.ledger, pipeline, rid) if rid else None
        out.append({
            "pipeline": pipeline, "group": spec.serving.group_name,
            "stable": {"version": stable.version, **(_service_view(rt, stable.service) or {})} if stable else None,
            "canary": {"version": head.data.get("version"), "rollout": rid, "phase": head.state,
                       **(_service_view(rt, head.data.get("canary_service")) or {})} if head else None,
            "deploying": [m for _p, m in index.deploying(rt.ledger, pipeline)],
            "queued": index.queued(rt.ledger, pipeline),
        })
    return out


def plan_deploy(rt: Runtime, mv: ModelVersion) -> dict[str, Any]:
    """The decision deploying ``mv`` would take now, with its reason and values (writes nothing)."""
    spec = rt.config.pipelines[mv.pipeline].serving
    assert spec is not None
    plan: dict[str, Any] = {"pipeline": mv.pipeline, "version": mv.version, "service": mv.service, "group": mv.group,
                            "model_uri": mv.model_uri}
    latest = rt.ledger.latest(mv.entity)
    if latest is not None:
        return {**plan, "action": "none", "reason": f"version already {latest.state}"}
    check = inspect_model(rt, mv)
    plan["metrics"] = check.metrics
    if check.rejected:
        return {**plan, "action": "reject", "reason": "; ".join(check.reasons)}
    stable = read_stable(rt.ledger, mv.pipeline)
    if stable is None:
        if index.deploying(rt.ledger, mv.pipeline):
            return {**plan, "action": "queue", "reason": "a first version is still deploying"}
        return {**plan, "action": "create first service", "reason": f"no stable version yet: {mv.service} in group {mv.group}"}
    plan["stable"] = {"version": stable.version, "service": stable.service, "metrics": stable.metrics}
    action, reason = decide_on_open_rollout(open_rollout_of(rt.ledger, mv.pipeline), rollout_id(mv.pipeline, mv.version),
                                            spec.on_newer_version)
    if action == "queue":
        return {**plan, "action": "queue", "reason": reason}
    if spec.evaluation is not None:
        verdict = evaluate(check.metrics, stable.metrics, spec.evaluation)
        plan["evaluation"] = verdict.reason
        if not verdict.passed:
            return {**plan, "action": "reject (evaluation)", "reason": verdict.reason}
    current = eas.describe_service(rt, stable.service) or {}
    capacity = check_capacity(canary=spec.instances, stable=int(current.get("TotalInstance") or 0) or spec.instances,
                              limit=spec.max_instances)
    plan["capacity"] = capacity.reason
    if not capacity.passed:
        return {**plan, "action": "refuse (capacity)", "reason": capacity.reason}
    prefix = f"supersede the open rollout ({reason}), then " if action == "supersede" else ""
    return {**plan, "action": f"{prefix}create canary at weight 0".strip(), "reason": f"beside stable {stable.service}"}

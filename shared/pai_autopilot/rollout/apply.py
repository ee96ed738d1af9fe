"""Applying one :class:`~.lifecycle.Decision`: record it, then its EAS side effects, then notify.

Crash and race semantics (DESIGN.md §2.2-4):

* **Record first.** The decision's record is appended with :func:`~.state.advance`, the
  compare-and-set on the head: of two ticks (or a tick, an alarm and an operator) that read the
  same head, exactly one appends; the others get ``LedgerConflict`` and apply **nothing**. So
  no transition is ever applied twice, and no loser's side effect can contradict the winner's.
* **Then absolute, idempotent side effects** (:mod:`.traffic`): weights, mirrors, stop.
* **Intents** (``promoting``, ``rolling_back``, ``finalising``) are recorded before their side
  effects and completed by one more record once applied (``watching``, ``rolled_back`` /
  ``aborted``, ``succeeded``). A tick that dies in between leaves the intent as the head; the next
  tick sees it, re-applies the same absolute effects and completes it. A terminal phase is only
  written after its effects, so a closed rollout's traffic is always where its record says.
* **An intent belongs to the invocation that recorded it** (its ``request_id``, which FC keeps
  across the retries of one invocation): that invocation's retry completes it at once; any other
  (a duplicated tick, an alarm's second copy, a command) leaves it alone for
  :data:`INTENT_LEASE_S` — its owner is applying it — and completes it after, when its owner
  crashed for good. So two invocations never apply the same intent's side effects side by side.
* A crash between a **step**'s record and its ReleaseService leaves the previous (lower) weight
  for that step; the next transition sets absolute weights again, so nothing unsafe persists.
* Notifications are sent by the writer of the record, after it: at most once per phase change
  (a crash before sending loses it; the record remains), and audited under the version's
  correlation id (``notifications/<correlation id>/…``), so the version's timeline lists them.

Example
-------
>>> cleanup_key(".autopilot/", due=1700000300.4, pipeline="demo", service="demo_model_v3")
'.autopilot/index/rollouts/cleanup/001700000301/demo/demo_model_v3'
>>> parse_cleanup_key(".autopilot/", ".autopilot/index/rollouts/cleanup/001700000301/demo/demo_model_v3")
(1700000301.0, 'demo', 'demo_model_v3')
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..notify import Notification, notify
from ..runtime import Runtime
from . import traffic
from .lifecycle import INTENT_PHASES, Decision, RolloutView, completion_phase
from .policy import Policy
from .state import TERMINAL_PHASES, advance

#: How long an intent recorded by another invocation is left to it (its owner applies 2-4 EAS calls,
#: seconds even under retries); after that, the next tick completes it (within one tick interval).
INTENT_LEASE_S = 30.0


def owner_of(rt: Runtime) -> str:
    """Who records: the FC request id (kept across the retries of one invocation), else this process.

    >>> from types import SimpleNamespace
    >>> owner_of(SimpleNamespace(request_id="r-1"))
    'r-1'
    """
    import os

    return rt.request_id or f"pid-{os.getpid()}"


def intent_left_to_owner(rt: Runtime, intent: Record, now: float) -> bool:
    """True while ``intent`` belongs to another live invocation (recorded by it under the lease).

    Records written before owners were recorded (no ``request_id``) may be completed by anyone.
    """
    owner = intent.data.get("request_id")
    return bool(owner) and owner != owner_of(rt) and now - intent.at < INTENT_LEASE_S


def cleanup_key(prefix: str, *, due: float, pipeline: str, service: str) -> str:
    """The cleanup-index entry that stops ``service`` at ``due`` (the due time is in the key: no GET needed)."""
    return f"{prefix}index/rollouts/cleanup/{math.ceil(due):012d}/{pipeline}/{service}"


def parse_cleanup_key(prefix: str, key: str) -> tuple[float, str, str]:
    due, pipeline, service = key[len(f"{prefix}index/rollouts/cleanup/"):].split("/", 2)
    return float(due), pipeline, service


def result_of(record: Record | None, outcome: str, reason: str, *, action: str = "noop", data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary every entry point returns (control API, tick, alarm)."""
    d = record.data if record is not None else (data or {})
    return {
        "outcome": outcome, "action": action, "pipeline": d.get("pipeline"), "rollout_id": d.get("rollout_id"),
        "version": d.get("version"), "phase": record.state if record is not None else None,
        "canary_weight": d.get("canary_weight"), "reason": reason,
    }


def _pipeline(rt: Runtime, name: str) -> Any:
    return rt.config.pipelines.get(name)


def _serving_instances(pipeline: Any) -> tuple[int, int | None]:
    """(instances of a version's service, the most the canary may have): ``serving.max_instances``
    bounds stable + canary, and the stable keeps ``serving.instances`` (warm) until retired."""
    serving = getattr(pipeline, "serving", None)
    if serving is None:
        return 1, None
    instances = int(getattr(serving, "instances", 1) or 1)
    budget = getattr(serving, "max_instances", None)
    return instances, (max(1, budget - instances) if budget else None)


def _instances_for(data: dict[str, Any], weight: int, pipeline: Any) -> int:
    total, budget = _serving_instances(pipeline)
    return traffic.desired_instances(weight=weight, total=total, max_instances=budget)


def _scale_canary(rt: Runtime, head: Record, record: Record, pipeline: Any) -> None:
    """The canary's instances follow its weight (within ``serving.max_instances``): scale when they change."""
    total, _ = _serving_instances(pipeline)
    want = record.data.get("canary_instances")
    if want is not None and want != head.data.get("canary_instances", total):
        traffic.scale(rt, record.data["canary_service"], int(want))


def _leaving_shadow(head: Record) -> bool:
    return head.state == "shadowing" or (head.state == "holding" and head.data.get("resume_phase") == "shadowing")


def _schedule_cleanup(rt: Runtime, data: dict[str, Any], policy: Policy, now: float) -> None:
    service = data["canary_service"]
    if policy.cleanup_after <= 0:
        traffic.stop(rt, service)
        return
    key = cleanup_key(rt.ledger.prefix, due=now + policy.cleanup_after, pipeline=data["pipeline"], service=service)
    rt.ledger.store.put(key, b"{}")


def _effects(rt: Runtime, head: Record, record: Record, decision: Decision, policy: Policy, now: float,
             *, recovering: bool = False) -> dict[str, Any]:
    """Apply the side effects of ``decision`` (recorded as ``record``); extra data for the next record.

    ``recovering``: ``record`` was written by an invocation that may have applied part of it (a weight
    already set is not set again)."""
    from ..serving.stable import read_stable, record_stable

    d = record.data
    canary, stable = d["canary_service"], d.get("stable_service")
    pipeline = _pipeline(rt, d["pipeline"])
    extra: dict[str, Any] = {}
    action = decision.action
    if action == "start_shadow" and stable:
        traffic.start_mirror(rt, source=stable, target=canary, ratio=int(d.get("shadow_ratio") or policy.shadow_ratio or 10))
    elif action == "step":
        if _leaving_shadow(head) and stable:
            traffic.stop_mirror(rt, stable)
        weight = int(d["canary_weight"])
        traffic.set_weights(rt, canary=canary, stable=stable, canary_weight=weight, recovering=recovering)
        _scale_canary(rt, head, record, pipeline)
    elif action == "promote":
        traffic.set_weights(rt, canary=canary, stable=stable, canary_weight=100, recovering=recovering)
        _scale_canary(rt, head, record, pipeline)
        current = read_stable(rt.ledger, d["pipeline"])
        if current is None or current.version != d["version"]:
            record_stable(rt.ledger, d["pipeline"], version=d["version"], service=canary,
                          reason=f"promoted by rollout {d['rollout_id']}", correlation_id=record.correlation_id,
                          metrics=_version_metrics(rt, d["pipeline"], d["version"]))
        extra.update(phase_at=now, analysis_from=now, promoted_at=now)
    elif action in ("rollback", "revert"):
        if policy.shadow_ratio and stable:
            traffic.stop_mirror(rt, stable)
        if stable:
            traffic.set_weights(rt, canary=canary, stable=stable, canary_weight=0, recovering=recovering)
        else:
            traffic.release(rt, canary, 0)
        if action == "revert" and d.get("stable_version"):
            current = read_stable(rt.ledger, d["pipeline"])
            if current is not None and current.version == d["version"]:
                record_stable(rt.ledger, d["pipeline"], version=d["stable_version"], service=stable,
                              reason=f"reverted by rollout {d['rollout_id']}: {record.data.get('reason', '')}",
                              correlation_id=record.correlation_id)
        _schedule_cleanup(rt, d, policy, now)
        extra["closed_at"] = now
    elif action == "finalise":
        if stable:
            if policy.retire == "delete":
                traffic.delete(rt, stable)
            else:
                traffic.stop(rt, stable)
            extra["autoscaler_moved"] = traffic.move_autoscaler(rt, old=stable, new=canary)
        extra["retired"] = {"service": stable, "how": policy.retire}
        extra["closed_at"] = now
    return extra


_LIMITERS: dict[int, Any] = {}


def _limiter(rt: Runtime) -> Any:
    """One rate limiter per process and per ``notify_per_minute`` (phase changes of many rollouts share it)."""
    from ..notify import RateLimiter

    per_minute = rt.settings.notify_per_minute
    if per_minute not in _LIMITERS:
        _LIMITERS[per_minute] = RateLimiter(per_minute=per_minute)
    return _LIMITERS[per_minute]


def _correlation_id(record: Record) -> str | None:
    """The version's correlation id (its timeline's): the rollout's, else the version's run id."""
    from ..training.runs import run_id

    d = record.data
    if record.correlation_id:
        return record.correlation_id
    return run_id(d["pipeline"], d["version"]) if d.get("pipeline") and d.get("version") else None


def _notify(rt: Runtime, record: Record) -> None:
    d = record.data
    gate = d.get("last_gate") or {}
    details: dict[str, Any] = {"reason": d.get("reason"), "canary weight": d.get("canary_weight"),
                               "rollout": d.get("rollout_id"), "by": record.by}
    for side in ("canary", "stable"):
        sample = gate.get(side)
        if sample:
            details[side] = (f"{sample['requests']} requests, 5xx ratio {sample['error_ratio']}, "
                             f"p99 {sample['p99_ms']} ms")
    if gate.get("p_value") is not None:
        details["p-value"] = gate["p_value"]
    title = f"{d.get('pipeline')} {d.get('version')}: rollout {record.state.replace('_', ' ')}"
    try:
        notify(rt.config.notifications, Notification(f"rollout_{record.state}", title, details), limiter=_limiter(rt),
               ledger=rt.ledger, correlation_id=_correlation_id(record))
    except Exception as exc:  # a notice must never break the rollout
        get_logger().warning("rollout notification failed", error=type(exc).__name__)


def apply_decision(rt: Runtime, head: Record, decision: Decision, policy: Policy, *, by: str,
                   now: float | None = None) -> dict[str, Any]:
    """Record ``decision`` on ``head`` (compare-and-set), apply its effects, complete intents, notify."""
    now = rt.now() if now is None else now
    log = get_logger(rollout_id=head.data.get("rollout_id"), action=decision.action)
    if not decision.records:
        return result_of(head, "noop", decision.reason, action=decision.action)
    view = RolloutView.from_record(head)
    if head.state == decision.phase and head.state in INTENT_PHASES:
        if intent_left_to_owner(rt, head, now):
            log.info("intent recorded by another invocation: left to it", owner=head.data.get("request_id"))
            return {**result_of(head, "noop", f"another invocation is applying {head.state}", action=decision.action),
                    "deferred": True}
        record = head  # completing an intent left by an earlier invocation (or our own, retried)
        recovering = True
    else:
        recovering = False
        changes = {**decision.changes, "reason": decision.reason, "decided_at": now, "decided_by": by,
                   "request_id": owner_of(rt), "decided_action": decision.action}
        if decision.action in ("step", "promote"):
            changes["canary_instances"] = _instances_for(head.data, int(changes.get("canary_weight", 100)),
                                                         _pipeline(rt, head.data["pipeline"]))
        try:
            record = advance(rt.ledger, head, decision.phase, changes, by=by)
        except LedgerConflict:
            log.info("rollout changed under us: another writer recorded first", seq=head.seq + 1)
            return {**result_of(head, "noop", "another tick, alarm or command recorded this rollout first"), "conflict": True}
    extra = _effects(rt, head, record, decision, policy, now, recovering=recovering)
    if record.state in INTENT_PHASES:
        final = completion_phase(decision, view.outcome)
        try:
            record = advance(rt.ledger, record, final, {**extra, "reason": record.data.get("reason")}, by=by)
        except LedgerConflict:
            return result_of(record, "noop", "another writer completed this transition first")
    _mark_run(rt, record)
    log.info("rollout transition", phase=record.state, canary_weight=record.data.get("canary_weight"),
             reason=record.data.get("reason"))
    _notify(rt, record)
    if record.state in TERMINAL_PHASES:
        _on_closed(rt, record)
    return result_of(record, "applied", str(record.data.get("reason")), action=decision.action)


#: Recorded transitions whose side effects follow the record without a completion record of their own.
REAPPLIED_ACTIONS = frozenset({"step", "start_shadow"})


def reapply_own(rt: Runtime, head: Record, policy: Policy, now: float) -> bool:
    """An FC retry of the invocation that recorded ``head`` (a step, a shadow start): it may have died
    between the record and its side effects, so apply them again, setting only what is not set yet
    (the weights are read first). Whether it did. Any other head, or another invocation's: nothing.
    """
    d = head.data
    if head.state in INTENT_PHASES or d.get("decided_action") not in REAPPLIED_ACTIONS \
            or not rt.request_id or d.get("request_id") != rt.request_id:
        return False
    get_logger(rollout_id=d.get("rollout_id")).info("retried invocation: re-applying its recorded transition",
                                                   action=d["decided_action"], canary_weight=d.get("canary_weight"))
    _effects(rt, head, head, Decision(d["decided_action"], head.state), policy, now, recovering=True)
    return True


def _mark_run(rt: Runtime, record: Record) -> None:
    """The training run of the version follows its rollout: ``served`` once promoted, ``rolled_back``."""
    d = record.data
    if not d.get("run_id"):
        return  # a model uploaded by hand
    from ..serving.runs import mark_run

    if record.state == "watching":
        mark_run(rt, d["pipeline"], d["run_id"], "served", {"service": d["canary_service"], "served_version": d["version"],
                 "rollout_id": d["rollout_id"]}, reason=d.get("reason"))
    elif record.state in ("rolled_back", "aborted"):
        mark_run(rt, d["pipeline"], d["run_id"], "rolled_back", {"rollout_id": d["rollout_id"]}, reason=d.get("reason"))


def _on_closed(rt: Runtime, record: Record) -> None:
    """A rollout closed: run the post_rollout webhook (its answer is only logged), then start the
    pipeline's next queued version (serving's queue; reconcile's serving pass also does it)."""
    from .hooks import call_webhook, webhook_payload

    _close_model(rt, record)
    pipeline = _pipeline(rt, record.data["pipeline"])
    rollout = getattr(pipeline, "rollout", None)
    for hook in getattr(rollout, "webhooks", None) or []:
        if hook.type == "post_rollout":
            check = call_webhook(hook, webhook_payload(record.data, phase=record.state, kind=hook.type))
            get_logger().info("post_rollout webhook", ok=check.ok, detail=check.detail)
    if getattr(pipeline, "serving", None) is not None:
        from ..serving.queue import start_queued

        started = start_queued(rt, record.data["pipeline"])
        if started is not None:
            get_logger().info("next queued version started", outcome=started.get("outcome"), version=started.get("version"))


#: The model version's state once its rollout closed (``canary`` meant "a rollout is open").
MODEL_CLOSED_STATES = {"succeeded": "promoted", "rolled_back": "rolled_back", "aborted": "rolled_back"}


def _close_model(rt: Runtime, record: Record) -> None:
    """The version's model record follows its closed rollout: ``canary`` → ``promoted`` (it is the
    stable now) or ``rolled_back``, with the rollout's reason (one exclusive append; a repeat or a
    model already moved on — ``superseded`` — changes nothing)."""
    from ..serving.versions import model_entity

    d = record.data
    state = MODEL_CLOSED_STATES.get(record.state)
    if state is None or not d.get("version"):
        return
    entity = model_entity(d["pipeline"], d["version"])
    head = rt.ledger.latest(entity)
    if head is None or head.state != "canary":
        return
    with contextlib.suppress(LedgerConflict):  # another invocation closing the same rollout recorded it
        rt.ledger.append(entity, state, {**head.data, "reason": d.get("reason"), "rollout_id": d.get("rollout_id"),
                                         "rollout_phase": record.state}, after=head, by=rt.request_id)


def _version_metrics(rt: Runtime, pipeline: str, version: str) -> dict[str, float]:
    """The promoted version's offline metrics (its model record's, from ``metrics.json``), so the
    next version's evaluation gate compares against them; empty when none were recorded."""
    from ..serving.versions import model_entity

    head = rt.ledger.latest(model_entity(pipeline, version))
    return dict((head.data.get("metrics") if head is not None else None) or {})

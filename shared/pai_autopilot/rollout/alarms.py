"""A CloudMonitor alarm on a service in rollout: roll back (or revert) within the invocation.

:func:`handle_alarm` takes a parsed :class:`~pai_autopilot.events.alarm.CmsAlarm` (from the
EventBridge event on the default bus or the form-encoded HTTP callback) and, when it fires:

* on the **canary** of an open rollout (before promotion) → rollback at once;
* on the **new stable** inside its watch window → revert to the previous version in one step;
* otherwise (no rollout, the old stable, a closed rollout) → a notification only.

Idempotent on (rule, service, alarm time): the first delivery claims ``alarms/<key>`` in the
ledger and marks it ``handled`` once done, so a duplicate is a no-op — also while the claimer is
still at work (a concurrent copy: :func:`being_handled`) — and a retry after a crash (claimed, not
handled: the same request id, or anyone once the claim is older than the lease) handles it again —
safely, since the rollback itself is a compare-and-set on the rollout (a second delivery never
writes a second rollback record).

Example
-------
>>> from ..events.alarm import CmsAlarm
>>> a = CmsAlarm(kind="callback", rule_id="r1", state="ALERT", dimensions={"serviceName": "demo_v2"}, timestamp_ms=5)
>>> alarm_service(a), alarm_key(a)
('demo_v2', 'alarms/4e793c18834f4d55')
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from ..events.alarm import CmsAlarm
from ..ledger import LedgerConflict
from ..log import get_logger
from ..notify import Notification, notify
from ..runtime import Runtime
from .apply import apply_decision
from .lifecycle import rollback
from .tick import open_heads, policy_of

SERVICE_KEYS = ("serviceName", "instanceId", "service")


def alarm_service(alarm: CmsAlarm) -> str | None:
    """The EAS service an alarm names (its ``serviceName`` dimension)."""
    return next((alarm.dimensions[k] for k in SERVICE_KEYS if alarm.dimensions.get(k)), None)


def alarm_key(alarm: CmsAlarm) -> str:
    """The ledger entity that makes an alarm idempotent: (rule, service, alarm time)."""
    natural = f"{alarm.rule_id}\0{alarm_service(alarm)}\0{alarm.timestamp_ms}"
    return f"alarms/{hashlib.sha256(natural.encode()).hexdigest()[:16]}"


def being_handled(claim: Any, *, request_id: str | None, now: float, lease_seconds: int) -> bool:
    """Whether an alarm's ``received`` claim belongs to another delivery that may still be handling it
    (pure): not our own FC retry (same request id), younger than the lease. Otherwise the claimer died:
    handle it again (the rollback is a compare-and-set; only the notification may repeat).

    >>> from ..ledger import Record
    >>> claim = Record(entity="alarms/k", seq=0, state="received", at=100.0, data={"request_id": "r1"})
    >>> [being_handled(claim, request_id=r, now=t, lease_seconds=360) for r, t in (("r2", 110.0), ("r1", 110.0), ("r2", 500.0))]
    [True, False, False]
    """
    owner = (claim.data or {}).get("request_id")
    return bool(owner) and owner != request_id and now - claim.at < lease_seconds


def _text(alarm: CmsAlarm) -> str:
    value = alarm.current_value_text if alarm.current_value is None else f"{alarm.current_value:g}"
    rule = alarm.rule_name or alarm.rule_id
    expression = f" ({alarm.expression})" if alarm.expression else ""
    return f"CloudMonitor alarm {rule}: {alarm.metric_name or 'metric'} = {value}{expression}"


#: Decisions on a rollout that another writer changed under us, before giving up (FC retries then).
ATTEMPTS = 3


def _act(rt: Runtime, service: str, text: str, facts: dict[str, Any], *, by: str) -> dict[str, Any]:
    """Roll back (or revert) the open rollout whose canary is ``service``; ``notified`` when none is."""
    for head in open_heads(rt):
        d = head.data
        if d.get("canary_service") != service or d.get("pipeline") not in rt.config.pipelines:
            continue
        if head.state == "finalising":  # the old stable is being retired: nothing to revert to
            continue
        if head.state in ("promoting", "watching"):
            decision = rollback(f"{text} inside the watch window: reverting", revert=True, alarm=facts)
        else:
            decision = rollback(f"{text} during the canary", alarm=facts)
        return {**apply_decision(rt, head, decision, policy_of(rt, d["pipeline"]), by=by), "service": service}
    return {"outcome": "notified", "reason": f"{text}; no rollout acts on {service}", "service": service}


def handle_alarm(rt: Runtime, alarm: CmsAlarm) -> dict[str, Any]:
    """Act on one alarm (see the module docstring); a summary with the outcome."""
    log = get_logger(rule_id=alarm.rule_id)
    service = alarm_service(alarm)
    if not alarm.is_firing:
        return {"outcome": "ignored", "reason": f"alarm state {alarm.state}", "service": service}
    if not service:
        return {"outcome": "ignored", "reason": f"alarm {alarm.rule_id} names no EAS service (dimensions {alarm.dimensions})"}
    key = alarm_key(alarm)
    facts = {"rule_id": alarm.rule_id, "service": service, "timestamp_ms": alarm.timestamp_ms,
             "metric": alarm.metric_name, "value": alarm.current_value}
    try:
        claim = rt.ledger.claim(key, "received", {**facts, "request_id": rt.request_id}, by=f"alarm:{alarm.rule_id}")
    except LedgerConflict:
        claim = rt.ledger.latest(key)
        if claim is not None and claim.state == "handled":
            log.info("duplicate alarm: no-op", service=service)
            return {"outcome": "noop", "reason": "duplicate alarm (rule, service, time already handled)",
                    "service": service, "result": claim.data.get("result")}
        if claim is not None and being_handled(claim, request_id=rt.request_id, now=rt.now(),
                                               lease_seconds=rt.settings.lease_seconds):
            log.info("duplicate alarm: another delivery is handling it", service=service)
            return {"outcome": "noop", "reason": "duplicate alarm (another delivery is handling it)", "service": service}
    text = _text(alarm)
    for _ in range(ATTEMPTS):  # a tick or a command that recorded first: decide again on the new head
        result = _act(rt, service, text, facts, by=f"alarm:{alarm.rule_id}")
        if not result.get("conflict"):
            break
    if result["outcome"] == "notified":
        notify(rt.config.notifications, Notification("rollout_alarm", f"Alarm on {service}", {"alarm": text}))
    # marked handled once acted on: a deferred intent is marked by its owner, a lost race by FC's retry
    if claim is not None and not result.get("deferred") and not result.get("conflict"):
        with contextlib.suppress(LedgerConflict):  # a concurrent delivery marked it first
            rt.ledger.append(key, "handled", {**facts, "result": result["outcome"]}, after=claim, by=f"alarm:{alarm.rule_id}")
    log.info("alarm handled", service=service, outcome=result["outcome"])
    return result

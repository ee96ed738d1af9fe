"""The governor's notices, delivered at least once and deduplicated: the idle warning, the stop notice.

A ``warned`` record announces a ``notebook_idle_warning``, a ``stopped`` record a ``notebook_stopped``.
Record first, then apply — the notice being what is applied:

1. :func:`announce`, just *before* the record: an open-index key names the notice of record ``seq``
   (:func:`~.state.notice_key`, the same key for every writer; its body is the notification). A crash
   after the record therefore always leaves the notice in the next tick's one LIST. (Nobody subscribed
   to the event: nothing is announced, nothing costs a request.)
2. the record itself — the tick's compare-and-set: of two ticks, one writes it.
3. :func:`deliver`: the notice's own entity ``notifications/<instance id>/<seq>-<event>`` (the audit
   keys of :mod:`pai_autopilot.notify.audit`, with the instance as correlation id) gets a ``sending``
   record — the exclusive write is the compare-and-set "I am sending this notice" —, the notification
   goes out, and its outcome is recorded: ``sent``, ``failed`` (retried by a later tick) or, after
   :data:`MAX_ATTEMPTS`, ``given_up`` (logged ``notebook notice given up``). A settled notice's index
   key is deleted.

A later tick — or FC's retry of the same request — that lists a pending key :func:`resume` s it: a
``failed`` notice is sent again; a ``sending`` one whose sender is gone (its claim older than
:data:`NOTICE_LEASE_S`, or written by this very request in an attempt FC is now retrying) is taken over
(a crashed attempt counts as one); a key whose record was never written (the writer crashed first, or
another tick wrote a different record there) is dropped once the lease is over. At least once: a
notice sent whose outcome could not be recorded may be sent again by a later tick.

Cost: per notice, 4 ledger requests when all goes well (the index key in and out, ``sending``, the
outcome); a pending one costs its resumption (GET of the key, the notice's head, the record, the writes)
on each tick while it is pending, nothing once settled.

Example
-------
>>> next_step(None, now=0.0, request_id="r1")
Step(action='send', attempt=1, reason='not sent yet')
>>> from ..ledger import Record
>>> claim = Record(entity="notifications/dsw-1/00000000-notebook_idle_warning", seq=0, state="sending", at=0.0,
...                data={"attempt": 1}, by="r1")
>>> next_step(claim, now=10.0, request_id="r2").action, next_step(claim, now=10.0, request_id="r1").action
('wait', 'send')
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

from ..errors import TransientError
from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..notify import Notification, notify, subscribed
from ..notify.audit import NOTIFICATIONS_KIND, audit_fields
from . import state
from .state import PendingNotice

#: A ``sending`` claim of another request younger than this is left to it (a send takes seconds).
NOTICE_LEASE_S = 60.0
#: Sends of one notice before it is given up (a crashed attempt counts).
MAX_ATTEMPTS = 3
#: The notice each record state announces.
NOTICE_OF = {"warned": "notebook_idle_warning", "stopped": "notebook_stopped"}
SETTLED = ("sent", "given_up", "skipped")


@dataclasses.dataclass(frozen=True)
class Step:
    """What to do with a notice, from its entity's head record (pure)."""

    action: Literal["send", "wait", "done", "give_up"]
    attempt: int  # the attempt to make (send), or the last one made
    reason: str


def next_step(head: Record | None, *, now: float, request_id: str | None, max_attempts: int = MAX_ATTEMPTS,
              lease_s: float = NOTICE_LEASE_S) -> Step:
    """The next step for a notice whose entity's newest record is ``head`` (None: never claimed)."""
    if head is None:
        return Step("send", 1, "not sent yet")
    attempt = int(head.data.get("attempt", 1))
    if head.state in SETTLED:
        return Step("done", attempt, f"already {head.state}")
    if head.state == "sending":
        own = request_id is not None and head.by == request_id
        if not own and now - head.at < lease_s:
            return Step("wait", attempt, f"{head.by} is sending it")
        why = ("an earlier attempt of this request died sending it" if own
               else f"its sender is gone (claim over {lease_s:.0f} s old)")
    else:  # failed
        why = f"attempt {attempt} failed: " + ", ".join(sorted(set((head.data.get("outcomes") or {}).values())))
    if attempt >= max_attempts:
        return Step("give_up", attempt, f"{why}; {max_attempts} attempts made")
    return Step("send", attempt + 1, why)


def entity(instance_id: str, seq: int, event: str) -> str:
    """The notice's ledger entity (an audit key of :mod:`pai_autopilot.notify.audit`)."""
    return f"{NOTIFICATIONS_KIND}{instance_id}/{seq:08d}-{event}"


def announce(rt: Any, instance_id: str, seq: int, record_state: str, note: Notification) -> PendingNotice | None:
    """Before record ``seq`` (``record_state``) is written: the index key naming its notice; None when no
    target takes the event (then there is nothing to deliver)."""
    if not subscribed(rt.config.notifications, note.event):
        return None
    key = state.notice_key(rt.ledger, instance_id, seq, note.event)
    body = {"instance_id": instance_id, "seq": seq, "state": record_state, "at": rt.now(), "by": rt.request_id,
            "event": note.event, "title": note.title, "details": note.details}
    rt.ledger.store.put(key, json.dumps(body, default=str).encode())
    return PendingNotice(instance_id, seq, note.event, key)


def deliver(rt: Any, pending: PendingNotice, note: Notification, head: Record | None = None,
            step: Step | None = None) -> dict[str, Any]:
    """Claim the notice (``sending``), send it, record the outcome; what happened.

    ``head``/``step``: the notice's head record and the step it calls for (default: never claimed, the
    first attempt — the writer of the record, right after writing it). Raises only
    :class:`~pai_autopilot.errors.TransientError` from the claim (nothing was sent: FC retries).
    """
    step = step or next_step(head, now=rt.now(), request_id=rt.request_id)
    if step.action in ("wait", "done"):
        if step.action == "done":
            rt.ledger.store.delete(pending.key)
        return {"state": "sending" if step.action == "wait" else head.state if head else "done", "reason": step.reason}
    name = entity(pending.instance_id, pending.seq, pending.event)
    data: dict[str, Any] = {"event": note.event, "title": note.title, "attempt": step.attempt, "reason": step.reason}
    try:
        if step.action == "give_up":
            return _settle(rt, pending, name, "given_up", {**(head.data if head else {}), **data}, head, step)
        claim = (rt.ledger.claim(name, "sending", data, by=rt.request_id, correlation_id=pending.instance_id)
                 if head is None else rt.ledger.append(name, "sending", data, after=head, by=rt.request_id))
    except LedgerConflict:
        return {"state": "sending", "reason": "another tick is sending it"}
    outcomes = notify(rt.config.notifications, dataclasses.replace(note, id=name), now=rt.now)  # every resend: one id
    fields = audit_fields(note, outcomes)
    outcome, record = fields if fields is not None else ("skipped", {"event": note.event, "title": note.title})
    if outcome == "failed" and step.attempt >= MAX_ATTEMPTS:
        outcome = "given_up"
    try:
        result = _settle(rt, pending, name, outcome, {**record, "attempt": step.attempt}, claim, step)
    except (LedgerConflict, TransientError) as exc:  # sent (or not), but not recorded: never make FC resend now
        get_logger().warning("notebook notice outcome not recorded", instance_id=pending.instance_id,
                             notification=note.event, outcome=outcome, error=type(exc).__name__)
        result = {"state": outcome, "recorded": False}
    return {**result, "outcomes": outcomes}


def _settle(rt: Any, pending: PendingNotice, name: str, outcome: str, data: dict[str, Any], after: Record | None,
            step: Step) -> dict[str, Any]:
    if after is None:
        rt.ledger.claim(name, outcome, data, by=rt.request_id, correlation_id=pending.instance_id)
    else:
        rt.ledger.append(name, outcome, data, after=after, by=rt.request_id)
    if outcome == "given_up":
        get_logger().warning("notebook notice given up", instance_id=pending.instance_id, notification=pending.event,
                             attempts=step.attempt, outcomes=data.get("outcomes"), reason=step.reason)
    if outcome in SETTLED:
        rt.ledger.store.delete(pending.key)
    return {"state": outcome, "attempt": step.attempt}


def resume(rt: Any, pending: PendingNotice) -> dict[str, Any]:
    """A pending notice found in the open index: deliver it if it is due and nobody is on it (see the
    module doc); what happened (``state``: sent, failed, given_up, sending, dropped, …)."""
    ledger = rt.ledger
    body = ledger.store.read(pending.key)
    if body is None:
        return {"state": "done", "reason": "settled meanwhile"}
    try:
        announced = json.loads(body)
        kind = str(announced["state"])
        if NOTICE_OF.get(kind) != pending.event:
            raise ValueError(f"a {kind} record announces no {pending.event}")
        note = Notification(NOTICE_OF[kind], str(announced["title"]), dict(announced.get("details") or {}))
    except (ValueError, KeyError, TypeError):
        ledger.store.delete(pending.key)
        get_logger().warning("notebook notice unreadable, dropped", instance_id=pending.instance_id, key=pending.key)
        return {"state": "dropped", "reason": "unreadable announcement"}
    head = ledger.latest(entity(pending.instance_id, pending.seq, pending.event))
    step = next_step(head, now=rt.now(), request_id=rt.request_id)
    if head is None:  # never claimed: is its record there?
        raw = ledger.store.read(f"{ledger.prefix}{state.entity(pending.instance_id)}/{pending.seq:08d}.json")
        record_state = json.loads(raw).get("state") if raw is not None else None
        if record_state != announced.get("state"):
            young = rt.now() - float(announced.get("at") or 0.0) < NOTICE_LEASE_S
            if raw is None and young and announced.get("by") != rt.request_id:
                return {"state": "announced", "reason": "its record is not written yet"}
            ledger.store.delete(pending.key)
            return {"state": "dropped", "reason": f"record {pending.seq} is {record_state or 'missing'}, "
                                                  f"not {announced.get('state')}: nothing to announce"}
    return deliver(rt, pending, note, head, step)

"""One governor tick: observe every running in-scope instance, decide, apply by the mode, record.

Cost per tick (DESIGN.md §2, rule 7), for N running instances in scope:

* DSW: ⌈N/100⌉ ListInstances + one call per action (Create/DeleteIdleInstanceCuller — two for a
  culler changed by hand —, StopInstance) + GetInstanceMetrics (1, or 2 on GPU instances whose CPU
  is idle) only for an instance whose culler does not report an idle time by the policy's
  thresholds (no culler yet, or one changed by hand), and for a warned instance whose culler
  reports a shorter streak than the warning saw (a culler re-created since resets its count) —
  in ``dry-run`` and ``warn`` modes no culler is created, so that is every instance without one;
* ledger (OSS): one LIST of the open index (its keys carry each open instance's state and record
  time), then the head record (LIST + GET) only of *candidates*: instances idle enough to act on
  and open ones that may change now — not a warned one still idle well inside its grace, not a
  stopped one that stays stopped — and the writes of actions (4 requests per record: the record,
  the action log, the index entry in and out; a warning or a stop notice adds 4 more, see
  :mod:`.delivery`). Busy instances without open state cost nothing beyond the listing; a notice
  not yet delivered (the same listing shows it) costs its resumption, only while it is pending.

Notices (the idle warning, the stop notice) are delivered at least once, deduplicated
(:mod:`.delivery`): announced before their record, sent by whoever writes the record, resumed by a
later tick — or FC's retry of the same request — if the sender crashed or the webhook failed.

Modes: ``dry-run`` (and ``notebooks plan``) reads only and reports what it would do; ``warn`` records
and sends the warnings, never stops nor touches cullers; ``enforce`` does everything. A transient
failure on one instance does not stop the others; the tick then raises
:class:`~pai_autopilot.errors.TransientError` so FC retries it (every step is idempotent).

Example
-------
>>> counts([{"action": "warn"}, {"action": "warn"}, {"action": "stop"}])
{'stop': 1, 'warn': 2}
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

from ..config.models import Notebooks
from ..errors import EventParseError, TransientError
from ..ledger import LedgerConflict, Record
from ..log import get_logger
from . import dsw, state
from .decide import CullerVerdict, Verdict, decide, decide_culler, decide_unlisted, qualifies, snoozed_now
from .policy import keep_alive, policy_of
from .views import InstanceView, iso

GRACE_SLACK_S = 60.0


def counts(entries: Iterable[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(collections.Counter(e["action"] for e in entries).items()))


class _Tick:
    """The state of one tick: runtime, policy, mode, time, what was done."""

    def __init__(self, rt: Any, policy: Notebooks, mode: str) -> None:
        self.rt = rt
        self.policy = policy
        self.mode = mode
        self.now = rt.now()
        self.client = rt.clients.dsw
        self.entries: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.log = get_logger()

    # -- observing ---------------------------------------------------------------------------
    def measure(self, inst: InstanceView) -> InstanceView:
        p = self.policy
        quiet = p.quiet_hours.idle_minutes if p.quiet_hours is not None else 0
        lookback = max(p.idle_minutes, quiet) + p.warn_minutes + p.native_culler.margin_minutes + 10
        idle = dsw.idle_from_metrics(self.client, inst.instance_id, gpu=inst.gpu, cpu_percent=p.cpu_percent,
                                     gpu_percent=p.gpu_percent, lookback_minutes=lookback, now=self.now)
        return inst.with_idle(idle)

    def in_grace(self, index: state.IndexEntry) -> bool:
        """Warned long enough before the grace ends (a minute of slack) that no head read is needed."""
        return self.now < index.at + self.policy.warn_minutes * 60.0 - GRACE_SLACK_S

    def head(self, instance_id: str) -> Record | None:
        return self.rt.ledger.latest(state.entity(instance_id))

    # -- one instance --------------------------------------------------------------------------
    def listed(self, inst: InstanceView, index: state.IndexEntry | None) -> None:
        exempt, _ = keep_alive(inst.labels, self.policy, now=self.now)
        if inst.idle_minutes is None and not exempt:
            inst = self.measure(inst)
        if index is not None and index.state == "warned" and not exempt and self.in_grace(index):
            ok, reason = qualifies(inst, self.policy, self.now)
            if ok:  # still idle, well inside the grace: the index key says enough, no head read
                stop_at = index.at + self.policy.warn_minutes * 60.0
                self.entries.append({"instance_id": inst.instance_id, "name": inst.name, "owner": inst.owner,
                                     "action": "wait", "reason": f"{reason}; warned, stops at about {iso(stop_at)}"})
                self.apply_culler(inst, decide_culler(inst, exempt=False, snoozed=False, policy=self.policy))
                return
        head: Record | None = None
        if index is not None or qualifies(inst, self.policy, self.now)[0]:
            head = self.head(inst.instance_id)
            current = state.view(head)
            idle_since = (head.data.get("idle_since") if head is not None else None) or self.now
            if (current.kind == "warned" and inst.idle_minutes is not None
                    and self.now - inst.idle_minutes * 60 > idle_since + 120):
                inst = self.measure(inst)  # the culler's count restarted (re-created): ask the metrics
        current = state.view(head)
        verdict = decide(inst, current, self.policy, now=self.now, request_id=self.rt.request_id)
        culler = decide_culler(inst, exempt=exempt, snoozed=snoozed_now(current, self.now), policy=self.policy)
        self.apply_culler(inst, culler)
        self.apply(inst, verdict, head)

    def unlisted(self, index: state.IndexEntry) -> None:
        instance_id = index.instance_id
        if index.state == "stopped":  # the key says enough: no head read for a stopped one staying stopped
            verdict = decide_unlisted(state.NotebookState(kind="stopped", at=index.at), self.policy, now=self.now)
            head = None
        else:
            head = self.head(instance_id)
            verdict = (decide_unlisted(state.view(head), self.policy, now=self.now) if head is not None
                       else Verdict("forget", "index entry without a record"))
        if verdict.action == "none":
            return
        entry = {"instance_id": instance_id, "action": verdict.action, "reason": verdict.reason}
        if self.mode == "dry-run":
            entry["action"] = f"would {verdict.action}"
        elif verdict.action == "forget" or head is None:
            state.clear_open(self.rt.ledger, index)
        elif head.state == "stopping":  # the stop went through: whoever records it tells the owner
            from .notices import stopped_notice

            data = {**head.data, "reason": verdict.reason}
            note = stopped_notice(InstanceView.from_facts(instance_id, data), verdict.reason,
                                  save_image=bool(data.get("save_image")))
            _, entry["notified"] = self.write_noticed(instance_id, "stopped", data, head, note)
        else:
            self.write(instance_id, "cleared", {**head.data, "reason": verdict.reason}, head)
        self.entries.append(entry)

    def resume_notice(self, pending: state.PendingNotice) -> None:
        """A notice the open index shows as not delivered yet: deliver it if it is due (:mod:`.delivery`)."""
        if self.mode == "dry-run":
            self.entries.append({"instance_id": pending.instance_id, "action": "would notify",
                                 "reason": f"{pending.event} of record {pending.seq} not delivered yet"})
            return
        from . import delivery  # the notification path is imported only when there is one

        done = delivery.resume(self.rt, pending)
        if "outcomes" in done or done["state"] == "given_up":
            self.entries.append({"instance_id": pending.instance_id, "action": "notify", "event": pending.event,
                                 "reason": f"{pending.event} of record {pending.seq}, attempt {done.get('attempt')}: "
                                           f"{done['state']}", "notified": done.get("outcomes", done["state"])})

    # -- applying ------------------------------------------------------------------------------
    def write(self, instance_id: str, kind: str, data: dict[str, Any], head: Record | None) -> Record | None:
        try:
            return state.write(self.rt.ledger, instance_id, kind, data, head=head, by=self.rt.request_id)
        except LedgerConflict:
            return None  # an overlapping tick recorded this step first: a no-op here

    def write_noticed(self, instance_id: str, kind: str, data: dict[str, Any], head: Record | None,
                      note: Any) -> tuple[Record | None, Any]:
        """Announce ``note``, write the record, then deliver the notice (:mod:`.delivery`): the record and
        what the notice's delivery did (its outcomes), or None and None when another tick wrote it first
        (that tick tells the owner)."""
        from . import delivery

        pending = delivery.announce(self.rt, instance_id, 0 if head is None else head.seq + 1, kind, note)
        record = self.write(instance_id, kind, data, head)
        if record is None or pending is None:
            return record, None
        done = delivery.deliver(self.rt, pending, note)
        return record, done.get("outcomes", done["state"])

    def apply_culler(self, inst: InstanceView, culler: CullerVerdict) -> None:
        if culler.action in ("keep", "skip"):
            return
        entry = {"instance_id": inst.instance_id, "action": f"culler {culler.action}", "reason": culler.reason}
        if self.mode != "enforce":
            entry["action"] = f"would culler {culler.action}"
        elif culler.action == "delete":
            dsw.delete_culler(self.client, inst.instance_id)
        else:
            dsw.set_culler(self.client, inst.instance_id, culler.wanted or {}, replace=culler.action == "replace")
        self.entries.append(entry)

    def apply(self, inst: InstanceView, verdict: Verdict, head: Record | None) -> None:
        if verdict.action == "none":
            return
        entry: dict[str, Any] = {"instance_id": inst.instance_id, "name": inst.name, "owner": inst.owner,
                                 "action": verdict.action, "reason": verdict.reason}
        self.entries.append(entry)
        if verdict.action == "wait":
            return
        dry = self.mode == "dry-run" or (self.mode == "warn" and verdict.action == "stop")
        if dry:
            entry["action"] = f"would {verdict.action}"
            return
        facts = {**inst.facts(), "reason": verdict.reason, "mode": self.mode}
        if verdict.action == "warn":
            self.warn(inst, verdict, head, facts, entry)
        elif verdict.action == "stop":
            self.stop(inst, verdict, head, facts, entry)
        else:  # clear, restarted
            if self.write(inst.instance_id, "cleared" if verdict.action == "clear" else "restarted", facts, head) is None:
                entry.update(action="noop", reason=f"another tick did it first ({verdict.action})")

    def warn(self, inst: InstanceView, verdict: Verdict, head: Record | None, facts: dict[str, Any],
             entry: dict[str, Any]) -> None:
        from .notices import idle_warning

        idle_since = self.now - (inst.idle_minutes or 0) * 60
        data = {**facts, "episode": f"{inst.instance_id}@{int(idle_since // 60) * 60}", "warned_at": self.now,
                "stop_at": verdict.stop_at, "idle_since": idle_since, "save_image": verdict.save_image}
        note = idle_warning(inst, verdict.reason, stop_at=verdict.stop_at or self.now, mode=self.mode,
                            settings=self.rt.settings, keep_alive_label=self.policy.keep_alive_label)
        record, entry["notified"] = self.write_noticed(inst.instance_id, "warned", data, head, note)
        if record is None:
            entry.update(action="noop", reason="another tick warned first")
            return
        entry["stop_at"] = verdict.stop_at

    def stop(self, inst: InstanceView, verdict: Verdict, head: Record | None, facts: dict[str, Any],
             entry: dict[str, Any]) -> None:
        from .notices import stopped_notice

        if head is not None and head.state == "stopping":
            claim: Record | None = head  # a claimed stop that did not go through: retry it
        else:
            data = {**(head.data if head is not None else {}), **facts, "save_image": verdict.save_image}
            claim = self.write(inst.instance_id, "stopping", data, head)
            if claim is None:
                entry.update(action="noop", reason="another tick is stopping it")
                return
        entry["stop"] = dsw.stop(self.client, inst.instance_id, save_image=verdict.save_image)
        # whoever records the stop tells the owner; a conflict: an overlapping tick saw it stopped first (and tells)
        note = stopped_notice(inst, verdict.reason, save_image=verdict.save_image)
        _, entry["notified"] = self.write_noticed(
            inst.instance_id, "stopped", {**claim.data, "stopped_at": self.now, "save_image": verdict.save_image}, claim, note)

    def guarded(self, what: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except TransientError as exc:
            self.errors.append(f"{what}: {exc}")
            self.log.warning("notebook step failed, retried next tick", instance_id=what, error=str(exc))


def governor_tick(rt: Any, *, plan: bool = False, mode: str | None = None) -> dict[str, Any]:
    """Run one tick (``plan``: a dry run whatever the mode); returns the actions and their reasons."""
    policy = policy_of(rt.config)
    tick = _Tick(rt, policy, "dry-run" if plan else (mode or policy.mode))
    workspace = policy.scope.workspace_id or rt.workspace_id
    items = dsw.list_running(tick.client, workspace_id=workspace, labels=policy.scope.labels)
    views = [InstanceView.from_item(i, cpu_percent=policy.cpu_percent, gpu_percent=policy.gpu_percent) for i in items]
    index, pending = state.open_index(rt.ledger)
    for notice in pending:  # first: a warning still owed goes out before its instance is stopped
        tick.guarded(notice.instance_id, tick.resume_notice, notice)
    listed = {v.instance_id for v in views}
    for inst in views:
        tick.guarded(inst.instance_id, tick.listed, inst, index.get(inst.instance_id))
    for instance_id in sorted(set(index) - listed):
        tick.guarded(instance_id, tick.unlisted, index[instance_id])
    open_ids = index
    result = {"outcome": _outcome(tick.entries, tick.mode), "mode": tick.mode, "running": len(views),
              "open": len(open_ids), "counts": counts(tick.entries), "actions": tick.entries}
    result["summary"] = {"mode": tick.mode, "running": len(views), "counts": result["counts"]}
    tick.log.info("notebooks tick", mode=tick.mode, running=len(views), counts=result["counts"])
    if tick.errors:
        raise TransientError(f"{len(tick.errors)} notebook step(s) failed; FC retries the tick",
                             details=tick.errors[:5])
    return result


def _outcome(entries: list[dict[str, Any]], mode: str) -> str:
    acted = [e for e in entries if not str(e["action"]).startswith(("would", "noop", "wait"))]
    if acted:
        return "applied"
    return "planned" if any(str(e["action"]).startswith("would") for e in entries) else "noop"


def on_governor_tick(event: bytes | str, context: Any, *, settings: Any = None, credentials: Any = None) -> dict[str, Any]:
    """The ``dsw_governor`` FC timer: parse the timer event, build the runtime, run one tick.

    The timer payload may be JSON ``{"mode": "dry-run"|"warn"|"enforce"}`` to override the policy's
    mode for that trigger (a shadow trigger in dry-run, say); anything else is rejected, not retried.
    """
    from ..clients import Credentials
    from ..config import load_config
    from ..events import TimerEvent, parse_event
    from ..runtime import Runtime
    from ..settings import current_settings

    parsed = parse_event(event)
    if not isinstance(parsed, TimerEvent):
        raise EventParseError(f"dsw_governor expects a timer event, got a {type(parsed).__name__}")
    payload = parsed.payload_json(default={})
    mode = payload.get("mode") if isinstance(payload, dict) else None
    if mode is not None and mode not in ("dry-run", "warn", "enforce"):
        raise EventParseError(f"dsw_governor: payload mode must be dry-run, warn or enforce, got {mode!r}")
    settings = settings or current_settings()
    creds = credentials or Credentials.from_env(context=context)
    rt = Runtime(settings, load_config(settings.config_path), creds, request_id=getattr(context, "request_id", None))
    return governor_tick(rt, mode=mode)

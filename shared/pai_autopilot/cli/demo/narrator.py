"""The demo's voice: what the functions did, as it happens, with the time since the demo began.

Two sources, both the functions' own traces: localcloud's event hub (each FC invocation an
OSS, EventBridge or InvokeFunction delivery started, and each failure) and the ledger (after every
clock step the narrator reads the records the functions wrote since, and says what each means).

Example
-------
>>> describe("runs/demo/ap-demo-v1-1", {"state": "submitted", "data": {"job_id": "dlc1", "attempts": 2, "spot": True,
...          "resume_from": "oss://b/checkpoints/demo/r/step-30/"}})
'submitted DLC job dlc1 (attempt 2, spot, resuming from oss://b/checkpoints/demo/r/step-30/)'
>>> describe("rollouts/demo/ro-1", {"state": "progressing", "data": {"canary_weight": 25, "reason": "gates passed"}})
'canary weight 25 % — gates passed'
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: FC trigger kinds as the narrator names them.
SOURCES = {"oss": "OSS event", "eventbridge": "EventBridge event", "api": "InvokeFunction", "http": "HTTP request"}
#: Run states serving and the rollout record: their ``reason`` says why (not the job's last status).
SERVING_RUN_STATES = ("model_ready", "served", "rolled_back")
ICONS = {"runs": "⚑", "models": "★", "serving": "◆", "rollouts": "⇄", "notebooks": "☕", "alarms": "⚠"}


def _short(text: Any, limit: int = 150) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(entity: str, record: dict[str, Any]) -> str:
    """One ledger record, in words (the kind of entity decides which fields matter)."""
    kind = entity.split("/", 1)[0]
    state, data = record.get("state", "?"), record.get("data") or {}
    reason = data.get("reason") or data.get("outcome_reason") or ""
    if kind == "runs":
        if data.get("job_id") and data.get("status") is None and state != "claimed":
            extra = [f"attempt {data['attempts']}"] if data.get("attempts") else []
            extra += ["spot"] if data.get("spot") else (["on-demand"] if "spot" in data else [])
            extra += [f"resuming from {data['resume_from']}"] if data.get("resume_from") else []
            lost = f"job {data['previous_job_id']} lost its spot instance → " if data.get("previous_job_id") else ""
            return f"{lost}{state} DLC job {data.get('job_id')}" + (f" ({', '.join(extra)})" if extra else "")
        status = f" (job {data['job_id']} {data['status']})" if data.get("status") and data.get("job_id") else ""
        if state in SERVING_RUN_STATES:  # the job's status is history by now: say why the run moved
            return state + (f" — {_short(reason)}" if reason else "")
        return f"{state}{status}" + (f" — {_short(reason)}" if reason else "")
    if kind == "rollouts":
        weight = data.get("canary_weight")
        head = f"canary weight {weight} %" if state in ("progressing", "initializing") else f"{state} (canary weight {weight} %)"
        return head + (f" — {_short(reason, 220)}" if reason else "")
    if kind == "serving":
        return f"stable is now {data.get('version')} ({data.get('service')})" + (f" — {_short(reason)}" if reason else "")
    return f"{state}" + (f" — {_short(reason)}" if reason else "")


class Narrator:
    """Prints the story; subscribe it to localcloud's hub and call :meth:`look` after each clock step."""

    def __init__(self, console: Any, ledger_prefix: str, *, clock: Any = None) -> None:
        self.console = console
        self.ledger_prefix = ledger_prefix
        self.clock = clock
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.counts = {"uploads": 0, "deliveries": 0, "succeeded": 0, "failed": 0, "records": 0}
        self.seen: set[str] = set()
        self.records: list[tuple[str, dict[str, Any]]] = []  # (entity, record), in the order seen
        self.failures: list[str] = []
        self.checkpoints = False  #: narrate each checkpoint's completion marker (the preempted run's chapter)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, icon: str, text: str) -> None:
        """One line: real seconds since the start, the driven clock's time, the text."""
        clock = time.strftime("%H:%M:%S", time.gmtime(self.clock.now())) if self.clock is not None else ""
        with self.lock:
            self.console.print(f"[dim]{self.elapsed():5.1f}s {clock}[/dim] {icon} {text}", highlight=False)

    def chapter(self, title: str) -> None:
        with self.lock:
            self.console.rule(f"[bold]{title}[/bold]", align="left")

    # -- the event hub ------------------------------------------------------------------------
    def __call__(self, event: Any) -> None:
        from localcloud.core.events import ObjectEvent
        from localcloud.fc.runtime import FcInvocationEvent

        if isinstance(event, ObjectEvent):
            if event.event_name.startswith("ObjectCreated") and event.key.startswith("datasets/"):
                self.counts["uploads"] += 1
                self.say("⬆", f"uploaded oss://{event.bucket}/{event.key} ({event.size} B)")
            elif event.key.endswith("/_SUCCESS") and event.key.startswith("models/"):
                self.say("★", f"the training job wrote its model: model at oss://{event.bucket}/{event.key.rsplit('/', 1)[0]}/")
            elif self.checkpoints and event.key.endswith("/_COMPLETE") and event.key.startswith("checkpoints/"):
                self.say("✓", f"[dim]checkpoint complete: oss://{event.bucket}/{event.key.rsplit('/', 1)[0]}/[/dim]")
            return
        if not isinstance(event, FcInvocationEvent):
            return
        rec = event.record
        source = str(rec.get("source", "")).split(":")[0]
        if event.kind == "started":
            self.counts["deliveries"] += 1
            quiet = source == "eventbridge" and rec["function"].endswith("job-events")  # two per job status
            if source in SOURCES and not quiet:
                attempt = "" if rec.get("attempts", 1) == 1 else f" (attempt {rec['attempts']})"
                self.say("→", f"{SOURCES[source]} → [cyan]{_function(rec['function'])}[/cyan]{attempt}")
        elif event.kind == "succeeded":
            self.counts["succeeded"] += 1
            for item in (rec.get("result") or {}).get("records") or []:
                if isinstance(item, dict) and item.get("outcome") == "duplicate":
                    self.say("=", f"{_function(rec['function'])}: duplicate marker ({_short(item.get('reason'))}) — nothing new")
        else:
            self.counts["failed"] += 1
            line = f"{_function(rec['function'])} failed ({rec.get('error_type')}: {_short(rec.get('error'))}); {rec.get('status')}"
            self.failures.append(line)
            self.say("✗", f"[red]{line}[/red]")

    # -- the ledger -------------------------------------------------------------------------------
    def look(self, world: Any) -> None:
        """Narrate every ledger record written since the last look."""
        fresh = [k for k in world.ledger_keys() if k not in self.seen]
        for key in sorted(fresh):
            self.seen.add(key)
            entity = key[len(self.ledger_prefix):].rsplit("/", 1)[0]
            if entity.startswith("fingerprints/"):
                continue
            record = world.read_json(key)
            self.counts["records"] += 1
            self.records.append((entity, record))
            kind = entity.split("/", 1)[0]
            by = str(record.get("by") or "")
            by = f" [dim]· by {by}[/dim]" if ":" in by else ""  # an alarm, an operator; not an FC request id
            name = entity.split("/")[-1] if kind != "serving" else entity
            self.say(ICONS.get(kind, "✎"), f"[dim]{kind} {name}[/dim] {describe(entity, record)}{by}")


def _function(name: str) -> str:
    return name.removeprefix("pai-autopilot-").replace("-", "_")

"""DLC fault rules: make chosen jobs get preempted, fail, hang or wait (control ``/_localcloud/dlc/faults``).

A rule targets exactly one of: ``job_id``; ``name_prefix`` (every job whose DisplayName starts with
it, now or later; ``""`` is every job); ``next`` (the next N jobs created). Kinds:

=========  ==================================================================================
kind       effect
=========  ==================================================================================
preempt    the job ends when it reaches ``at_step`` (simulated steps), or ``after_seconds`` clock
           seconds after it starts ``Running``, or at epoch ``at`` (default: as soon as it runs),
           in ``status`` (default the ``preempt_status`` setting: ``Failed``) with
           ``reason_code``/``reason_message`` (default ``JobPreempted`` / "spot instance
           reclaimed"); its pods end ``Failed``/``Evicted``
fail       the same timing; ends ``Failed`` (or ``status``) with ``reason_code`` (default
           ``JobFailed``)
hang       the job never leaves ``phase`` (default ``Running``: no progress after ``at_step``,
           default 0); StopJob still works
delay      ``phase`` (default ``Queuing``) lasts ``seconds`` longer
metrics    the model the job writes carries these ``metrics`` in its ``metrics.json`` (merged
           over the simulated ones): ``{"kind": "metrics", "next": 1, "metrics": {"accuracy":
           0.5}}`` lands a worse model
=========  ==================================================================================

Step-based rules fire when the job *reaches* the step (a job resumed past it is not hit); they
need the simulated runner. Time-based ones also end an ``exec`` job (its processes are killed); a
``Running`` hang does not apply to an ``exec`` job (its process runs as it runs), a pre-run one does.
Rules are read whenever a job advances, so a rule added later applies to jobs already running.

Example
-------
>>> rules = RuleSet()
>>> rid = rules.add(FaultRule(kind="preempt", next=1, at_step=30))
>>> rules.on_create("dlc1", "run-a"); rules.on_create("dlc2", "run-b")
>>> [r.id for r in rules.for_job("dlc1", "run-a")], rules.for_job("dlc2", "run-b")
([1], [])
>>> FaultRule(kind="preempt", at_step=3)
Traceback (most recent call last):
...
ValueError: a rule targets exactly one of job_id, name_prefix, next
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from typing import Any

from . import assumed
from .settings import PRE_RUN_PHASES, RunnerSettings

KINDS = ("preempt", "fail", "hang", "delay", "metrics")
END_STATUSES = ("Failed", "Stopped")


@dataclasses.dataclass
class FaultRule:
    kind: str
    job_id: str | None = None
    name_prefix: str | None = None
    next: int | None = None
    at_step: int | None = None
    after_seconds: float | None = None
    at: float | None = None
    phase: str | None = None
    seconds: float | None = None
    status: str | None = None
    reason_code: str | None = None
    reason_message: str | None = None
    metrics: dict[str, Any] | None = None
    id: int = 0
    bound: list[str] = dataclasses.field(default_factory=list)
    remaining: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        targets = [t for t in (self.job_id, self.name_prefix, self.next) if t is not None]
        if len(targets) != 1:
            raise ValueError("a rule targets exactly one of job_id, name_prefix, next")
        if self.next is not None and (isinstance(self.next, bool) or not isinstance(self.next, int) or self.next < 1):
            raise ValueError(f"next must be an integer >= 1, got {self.next!r}")
        self.remaining = self.next or 0
        timing = [t for t in (self.at_step, self.after_seconds, self.at) if t is not None]
        if self.kind in ("preempt", "fail"):
            if len(timing) > 1:
                raise ValueError("give at most one of at_step, after_seconds, at")
            if self.status is not None and self.status not in END_STATUSES:
                raise ValueError(f"status must be Failed or Stopped, got {self.status!r}")
        elif self.status or self.reason_code or self.reason_message or self.after_seconds is not None or self.at is not None:
            raise ValueError(f"{self.kind} rules take no status, reason or time (only phase, seconds, at_step)")
        if (self.kind == "metrics") != (self.metrics is not None) or (self.metrics is not None and not isinstance(self.metrics, dict)):
            raise ValueError("a metrics rule (and only it) takes metrics: a JSON object")
        if self.kind == "hang":
            self.phase = self.phase or "Running"
            if self.phase not in (*PRE_RUN_PHASES, "Running"):
                raise ValueError(f"phase must be one of {', '.join((*PRE_RUN_PHASES, 'Running'))}; got {self.phase!r}")
            if self.at_step is not None and self.phase != "Running":
                raise ValueError("at_step applies to a Running hang only")
        if self.kind == "delay":
            self.phase = self.phase or "Queuing"
            if self.phase not in PRE_RUN_PHASES:
                raise ValueError(f"phase must be one of {', '.join(PRE_RUN_PHASES)}; got {self.phase!r}")
            if not isinstance(self.seconds, (int, float)) or isinstance(self.seconds, bool) or self.seconds < 0:
                raise ValueError(f"a delay needs seconds >= 0, got {self.seconds!r}")
        if self.at_step is not None and (isinstance(self.at_step, bool) or not isinstance(self.at_step, int) or self.at_step < 0):
            raise ValueError(f"at_step must be an integer >= 0, got {self.at_step!r}")
        if self.after_seconds is not None and (not isinstance(self.after_seconds, (int, float)) or self.after_seconds < 0):
            raise ValueError(f"after_seconds must be >= 0, got {self.after_seconds!r}")

    def matches(self, job_id: str, display_name: str) -> bool:
        if self.job_id is not None:
            return self.job_id == job_id
        if self.name_prefix is not None:
            return display_name.startswith(self.name_prefix)
        return job_id in self.bound

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def outcome(rule: FaultRule, settings: RunnerSettings) -> tuple[str, str, str, bool]:
    """How a preempt/fail rule ends a job: ``(status, reason code, reason message, pods evicted)``."""
    if rule.kind == "preempt":
        return (rule.status or settings.preempt_status, rule.reason_code or settings.preempt_reason_code,
                rule.reason_message or settings.preempt_reason_message, True)
    return (rule.status or "Failed", rule.reason_code or assumed.FAIL_REASON_CODE,
            rule.reason_message or assumed.FAIL_REASON_MESSAGE, False)


def end_time(rule: FaultRule, run_start: float) -> float | None:
    """When a time-based preempt/fail rule fires for a job that started running at ``run_start``
    (``None`` for a step-based rule)."""
    if rule.at_step is not None:
        return None
    if rule.at is not None:
        return max(float(rule.at), run_start)
    return run_start + float(rule.after_seconds or 0)


class RuleSet:
    """The active rules. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[int, FaultRule] = {}
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> int:
        with self._lock:
            rule.id = next(self._ids)
            self._rules[rule.id] = rule
            return rule.id

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            return self._rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._ids = itertools.count(1)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules.values()]

    def on_create(self, job_id: str, display_name: str) -> None:
        """A job was created: the ``next`` rules with budget left take it."""
        with self._lock:
            for rule in self._rules.values():
                if rule.next is not None and rule.remaining > 0:
                    rule.remaining -= 1
                    rule.bound.append(job_id)

    def for_job(self, job_id: str, display_name: str, kind: str | None = None) -> list[FaultRule]:
        with self._lock:
            return [r for r in self._rules.values()
                    if r.matches(job_id, display_name) and (kind is None or r.kind == kind)]

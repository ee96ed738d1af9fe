"""One timeline per model version: every ledger record under the version's correlation id, in order.

The correlation id of a version is its training run id (``training.runs.run_id(pipeline, version)``);
it follows the version from the dataset marker → the run → each DLC job (attempts, preemptions,
resume points) → the model → its evaluation gate and service → every traffic step of the rollout with
its metric values → promotion, rollback or revert → each notification sent.

:func:`build_timeline` is pure (records in, a :class:`Timeline` out); :func:`gather` reads the ledger:
the run and the version's forced retrains, the rollout, the pipeline's stable history (the records
naming this version), the notifications recorded under the correlation id, and any per-version entity
other packages keep (``<kind>/<pipeline>/<version or correlation id>``), all read tolerantly (unknown
fields ignored, missing ones empty).

Example
-------
>>> from ..ledger import Record
>>> cid = "ap-demo-v2-1"
>>> claim = {"pipeline": "demo", "version": "v2", "marker_key": "datasets/demo/v2/_SUCCESS"}
>>> records = [
...     Record(entity=f"runs/demo/{cid}", seq=0, state="claimed", at=0.0, data=claim, correlation_id=cid),
...     Record(entity="rollouts/demo/ro-demo-v2-1", seq=0, state="progressing", at=60.0, correlation_id=cid,
...            data={"canary_weight": 10, "reason": "step 1", "canary_error_ratio": 0.002, "canary_requests": 500}),
...     Record(entity="rollouts/demo/ro-demo-v2-1", seq=1, state="succeeded", at=120.0, correlation_id=cid,
...            data={"canary_weight": 100, "reason": "promoted", "canary_error_ratio": 0.002, "canary_requests": 500}),
... ]
>>> t = build_timeline("demo", "v2", cid, records)
>>> [(e.source, e.state, e.summary, e.canary_weight, e.error_ratio) for e in t.events]
[('training', 'claimed', 'marker datasets/demo/v2/_SUCCESS landed', None, None), ('rollout', 'progressing', 'step 1', 10.0, 0.002), ('rollout', 'succeeded', 'promoted', 100.0, None)]
>>> t.events[1].values, t.events[2].values
({'canary_error_ratio': 0.002, 'canary_requests': 500}, {})
>>> t.series()["canary_weight"]
[[60.0, 10.0], [120.0, 100.0]]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from ..ledger import Record
from ..training.history import iso

#: Keys holding an error ratio, in order of preference (the canary's own first).
ERROR_RATIO_KEYS = ("canary_error_ratio", "error_ratio", "canary_error_rate", "error_rate")
#: Nested dicts where gate and metric values may be recorded.
VALUE_CONTAINERS = ("last_gate", "gate", "gates", "metrics", "values", "observed", "evaluation")
#: Top-level keys that are metric or gate values (recorded by the controller, the evaluation gate).
VALUE_KEYS = frozenset({
    "canary_requests", "canary_errors", "stable_requests", "stable_errors", "canary_error_ratio", "stable_error_ratio",
    "canary_p99_ms", "stable_p99_ms", "p99_latency_ms", "p_value", "requests", "errors", "error_ratio", "error_rate",
    "qps", "score", "baseline_score",
})
#: Entity kinds other packages keep per model version (read when named by version or correlation id).
PER_VERSION_KINDS = ("models/", "serving/", "services/", "evaluations/")
_SOURCES = {"runs": "training", "rollouts": "rollout", "serving": "serving", "notifications": "notification"}
_ORDER = {"training": 0, "model": 1, "evaluation": 1, "service": 1, "serving": 2, "rollout": 3, "notification": 4}


@dataclasses.dataclass(frozen=True)
class TimelineEvent:
    """One step in a version's life: one ledger record, what it says happened and its values."""

    at: float
    time: str
    source: str
    entity: str
    seq: int
    state: str
    summary: str
    by: str
    correlation_id: str | None
    job_id: str | None = None
    canary_weight: float | None = None
    error_ratio: float | None = None
    values: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Timeline:
    """A model version's events, oldest first."""

    pipeline: str
    version: str
    correlation_id: str
    events: tuple[TimelineEvent, ...]

    def series(self) -> dict[str, list[list[float]]]:
        """The chart's series: ``canary_weight`` and ``error_ratio`` as ``[at, value]`` pairs."""
        return {
            "canary_weight": [[e.at, e.canary_weight] for e in self.events if e.canary_weight is not None],
            "error_ratio": [[e.at, e.error_ratio] for e in self.events if e.error_ratio is not None],
        }

    def as_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "version": self.version, "correlation_id": self.correlation_id,
                "events": [e.as_dict() for e in self.events], "series": self.series()}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def record_values(data: dict[str, Any]) -> dict[str, Any]:
    """The metric and gate values a record carries (top-level known keys and nested containers).

    The rollout controller's ``last_gate`` (``{"p_value", "canary": {...}, "stable": {...}}``) is
    flattened as ``canary_requests``, ``stable_error_ratio``, …

    >>> record_values({"canary_weight": 10, "p_value": 0.2, "gate": {"canary_p99_ms": 120, "verdict": "pass"}})
    {'p_value': 0.2, 'canary_p99_ms': 120}
    >>> record_values({"last_gate": {"p_value": 0.5, "canary": {"requests": 50, "error_ratio": 0.0, "p99_ms": None}}})
    {'p_value': 0.5, 'canary_requests': 50, 'canary_error_ratio': 0.0}
    """
    values = {k: v for k, v in data.items() if k in VALUE_KEYS and _number(v) is not None}
    for container in VALUE_CONTAINERS:
        nested = data.get(container)
        if not isinstance(nested, dict):
            continue
        for key, value in nested.items():
            if isinstance(key, str) and _number(value) is not None:
                values[key] = value
            elif isinstance(key, str) and isinstance(value, dict):  # one level of sides: canary, stable
                values.update({f"{key}_{k}": v for k, v in value.items() if isinstance(k, str) and _number(v) is not None})
    return values


def _error_ratio(values: dict[str, Any]) -> float | None:
    for key in ERROR_RATIO_KEYS:
        if key in values:
            return _number(values[key])
    return None


def _source(entity: str) -> str:
    kind = entity.split("/", 1)[0]
    return _SOURCES.get(kind, kind.rstrip("s") or kind)


def _training_events(records: Sequence[Record]) -> list[TimelineEvent]:
    from ..training.history import timeline as run_rows

    events = []
    previous: Record | None = None
    for record, row in zip(records, run_rows(records), strict=True):
        d = record.data
        parts = [row.reason or (f"job {row.job_id} is {row.status}" if row.status else record.state)]
        if d.get("resume_from") and (previous is None or previous.data.get("resume_from") != d["resume_from"]):
            parts.append(f"resume from {d['resume_from']}")
        if d.get("request_reason") and previous is None:
            parts.append(f"why: {d['request_reason']}")
        events.append(TimelineEvent(
            at=record.at, time=iso(record.at), source="training", entity=record.entity, seq=record.seq, state=record.state,
            summary="; ".join(parts), by=record.by or "", correlation_id=record.correlation_id, job_id=row.job_id or None,
        ))
        previous = record
    return events


def _other_events(records: Sequence[Record]) -> list[TimelineEvent]:
    """Rollout, serving, notification and other records: the reason if new, values if new."""
    events = []
    previous: Record | None = None
    for record in records:
        d = record.data
        values = record_values(d)
        new_values = values if previous is None or record_values(previous.data) != values else {}
        reason = d.get("reason") if previous is None or previous.data.get("reason") != d.get("reason") else None
        source = _source(record.entity)
        if source == "notification":
            summary = f"notified {d.get('event', '?')}: {d.get('title', '')}".rstrip(": ")
        elif source == "serving" and record.entity.count("/") == 1:  # the pipeline's stable history
            summary = f"stable is {d.get('version')} ({d.get('service')})" + (f": {reason}" if reason else "")
        else:
            summary = str(reason or record.state)
        events.append(TimelineEvent(
            at=record.at, time=iso(record.at), source=source, entity=record.entity, seq=record.seq, state=record.state,
            summary=summary, by=record.by or "", correlation_id=record.correlation_id,
            canary_weight=_number(d.get("canary_weight")), error_ratio=_error_ratio(new_values), values=new_values,
        ))
        previous = record
    return events


def build_timeline(pipeline: str, version: str, correlation_id: str, records: Iterable[Record]) -> Timeline:
    """Every record as a :class:`TimelineEvent`, oldest first (pure).

    Records are grouped by entity (each entity's reasons and values are shown when they change),
    then merged by time; at the same instant the training side comes before serving and rollout.
    """
    by_entity: dict[str, list[Record]] = {}
    for record in records:
        by_entity.setdefault(record.entity, []).append(record)
    events: list[TimelineEvent] = []
    for entity, group in by_entity.items():
        group.sort(key=lambda r: r.seq)
        events += _training_events(group) if entity.startswith("runs/") else _other_events(group)
    events.sort(key=lambda e: (e.at, _ORDER.get(e.source, 5), e.entity, e.seq))
    return Timeline(pipeline, version, correlation_id, tuple(events))


def gather(rt: Any, pipeline: str, version: str) -> Timeline:
    """Read every record of ``pipeline``/``version`` from the ledger and build its timeline."""
    from ..rollout.state import rollout_entity, rollout_id
    from ..serving.stable import stable_entity
    from ..training.runs import run_entity, run_id
    from .retrain import forced_runs

    ledger = rt.ledger
    cid = run_id(pipeline, version)
    rid = rollout_id(pipeline, version)
    records: list[Record] = list(ledger.history(run_entity(pipeline, cid)))
    for _, forced in forced_runs(ledger, pipeline, version):
        records += forced
    records += ledger.history(rollout_entity(pipeline, rid))
    records += [r for r in ledger.history(stable_entity(pipeline))
                if r.data.get("version") == version or r.correlation_id == cid]
    for entity in ledger.entities(f"notifications/{cid}/"):
        records += ledger.history(entity)
    seen = {r.entity for r in records} | {stable_entity(pipeline)}
    names = {version, cid, rid}
    for kind in PER_VERSION_KINDS:
        for entity in ledger.entities(f"{kind}{pipeline}/"):
            if entity not in seen and entity.rsplit("/", 1)[-1] in names:
                records += [r for r in ledger.history(entity) if r.correlation_id in (None, cid)]
    return build_timeline(pipeline, version, cid, records)


def timeline_lines(t: Timeline) -> list[str]:
    """The timeline as a table: TIME, SOURCE, STATE, WEIGHT, ERRORS, WHAT (pure).

    >>> e = TimelineEvent(at=0.0, time="1970-01-01T00:00:00Z", source="rollout", entity="rollouts/demo/r", seq=0,
    ...                   state="progressing", summary="step 1", by="", correlation_id="c", canary_weight=10.0, error_ratio=0.002)
    >>> print("\\n".join(timeline_lines(Timeline("demo", "v2", "c", (e,)))))
    demo v2 (correlation id c): 1 event
    TIME                  SOURCE   STATE        WEIGHT  ERRORS  WHAT
    1970-01-01T00:00:00Z  rollout  progressing  10%     0.20%   step 1
    """
    from ..training.history import table

    rows = [[e.time, e.source, e.state, "" if e.canary_weight is None else f"{e.canary_weight:g}%",
             "" if e.error_ratio is None else f"{e.error_ratio:.2%}", e.summary + (f" (by {e.by})" if e.by.startswith(("webhook:", "cli:", "link:")) else "")]
            for e in t.events]
    count = f"{len(t.events)} event" + ("" if len(t.events) == 1 else "s")
    return [f"{t.pipeline} {t.version} (correlation id {t.correlation_id}): {count}",
            *table(["TIME", "SOURCE", "STATE", "WEIGHT", "ERRORS", "WHAT"], rows)]

"""The read side of training runs: a run's ledger records as a timeline and a summary.

``timeline`` and ``summarize`` are pure (records in, rows out); ``list_runs`` and ``find_run``
read a :class:`~pai_autopilot.ledger.Ledger`. The CLI (``pai-autopilot runs`` and
``pai-autopilot run show``) only prints what these return.

Each record becomes one row: when (ISO 8601, UTC), the run's state, the DLC status and job id
it recorded, and why. The reason is the decision's own (``data.reason``) when the record made a
new one — records carry the previous record's data over, so a repeated reason is not repeated —
else one derived from the record (the marker that claimed the run, the job that was submitted).

Example
-------
>>> from ..ledger import Record
>>> e = "runs/demo/ap-demo-v1-d1c72ca7"
>>> claim = {"pipeline": "demo", "version": "v1", "marker_key": "datasets/demo/v1/_SUCCESS",
...          "output_uri": "oss://b/models/demo/v1/"}
>>> records = [
...     Record(entity=e, seq=0, state="claimed", at=0.0, data=claim, by="req-1"),
...     Record(entity=e, seq=1, state="submitted", at=1.5, data={**claim, "job_id": "dlc1", "attempts": 1}),
...     Record(entity=e, seq=2, state="running", at=60.0,
...            data={**claim, "job_id": "dlc1", "attempts": 1, "status": "Running", "reason": "job dlc1 is Running"}),
... ]
>>> for line in timeline_lines(timeline(records)):
...     print(line)
TIME                  STATE      STATUS   JOB   REASON
1970-01-01T00:00:00Z  claimed                   marker datasets/demo/v1/_SUCCESS landed
1970-01-01T00:00:01Z  submitted           dlc1  job dlc1 submitted (attempt 1)
1970-01-01T00:01:00Z  running    Running  dlc1  job dlc1 is Running
>>> s = summarize(records)
>>> s.run_id, s.pipeline, s.version, s.state, s.job_id, s.attempts, s.model_uri
('ap-demo-v1-d1c72ca7', 'demo', 'v1', 'running', 'dlc1', 1, 'oss://b/models/demo/v1/')
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from ..ledger import Ledger, Record

RUNS_KIND = "runs/"

#: Every state a run's record may carry, in lifecycle order (``runs --state`` accepts these).
RUN_STATES = ("queued", "claimed", "submitted", "running", "stopping", "resubmitting", "waiting_for_model", "failed",
              "rejected", "skipped")


def iso(at: float) -> str:
    """Epoch seconds as ISO 8601 UTC, to the second.

    >>> iso(1767225600.9)
    '2026-01-01T00:00:00Z'
    """
    return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class TimelineRow:
    """One ledger record of a run, as the timeline shows it."""

    seq: int
    at: str
    state: str
    status: str
    job_id: str
    reason: str
    by: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """Where a run stands: its identity, current state and job, counters and model location."""

    run_id: str
    entity: str
    pipeline: str
    version: str
    state: str
    job_id: str
    status: str
    attempts: int
    preemptions: int
    model_uri: str
    created: str
    last_change: str
    records: int
    forced: bool = False
    requested_by: str = ""
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _reason(record: Record, previous: Record | None) -> str:
    data = record.data
    reason = data.get("reason")
    if reason and (record.state == "rejected" or previous is None or previous.data.get("reason") != reason):
        return str(reason)
    if record.state == "claimed":
        if data.get("takeover") and (previous is None or previous.data.get("takeover") != data["takeover"]):
            return f"taken over: {data['takeover']}"
        if data.get("forced"):
            of = f" of {data['retrain_of']}" if data.get("retrain_of") else ""
            return f"forced retrain #{data.get('retrain', '?')}{of} by {data.get('requested_by') or record.by or '?'}"
        if data.get("requested_by"):
            return f"submitted on demand by {data['requested_by']}"
        return f"marker {data['marker_key']} landed" if data.get("marker_key") else ""
    if record.state == "submitted" and previous is not None and previous.state == "claimed" and data.get("job_id"):
        return f"job {data['job_id']} submitted (attempt {data.get('attempts', 1)})"
    return ""


def timeline(records: Sequence[Record]) -> list[TimelineRow]:
    """Every record of one run (oldest first) as a :class:`TimelineRow` (pure)."""
    rows = []
    previous: Record | None = None
    for record in records:
        data = record.data
        rows.append(
            TimelineRow(
                seq=record.seq, at=iso(record.at), state=record.state, status=str(data.get("status") or ""),
                job_id=str(data.get("job_id") or ""), reason=_reason(record, previous), by=record.by or "",
            )
        )
        previous = record
    return rows


def summarize(records: Sequence[Record]) -> RunSummary:
    """The :class:`RunSummary` of one run's records (oldest first; at least one) (pure).

    Keys are taken from the newest record that has them: a ``rejected`` record carries only
    its reason, the claim still names the pipeline and version.
    """
    if not records:
        raise ValueError("a run has at least one record")
    merged: dict[str, Any] = {}
    for record in records:
        merged.update(record.data)
    first, latest = records[0], records[-1]
    entity = latest.entity
    _, pipeline, run = (entity.split("/", 2) + ["", ""])[:3]
    return RunSummary(
        run_id=run or entity,
        entity=entity,
        pipeline=str(merged.get("pipeline") or pipeline),
        version=str(merged.get("version") or ""),
        state=latest.state,
        job_id=str(latest.data.get("job_id") or ""),
        status=str(latest.data.get("status") or ""),
        attempts=int(merged.get("attempts") or (1 if merged.get("job_id") else 0)),
        preemptions=int(merged.get("preemptions") or 0),
        model_uri=str(merged.get("model_uri") or merged.get("output_uri") or ""),
        created=iso(first.at),
        last_change=iso(latest.at),
        records=len(records),
        forced=bool(first.data.get("forced")),
        requested_by=str(first.data.get("requested_by") or ""),
        reason=_reason(latest, records[-2] if len(records) > 1 else None),
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded.

    >>> table(["A", "BB"], [["x", 1], ["long", ""]])
    ['A     BB', 'x     1', 'long']
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)] + [row[-1]]
        lines.append("  ".join(padded).rstrip())
    return lines


def timeline_lines(rows: Sequence[TimelineRow]) -> list[str]:
    """The timeline as a table: TIME, STATE, STATUS, JOB, REASON."""
    return table(["TIME", "STATE", "STATUS", "JOB", "REASON"], [[r.at, r.state, r.status, r.job_id, r.reason] for r in rows])


def run_lines(summaries: Sequence[RunSummary]) -> list[str]:
    """One line per run: RUN, PIPELINE, VERSION, STATE, JOB, ATTEMPTS, LAST CHANGE.

    >>> s = RunSummary("ap-demo-v1-d1c72ca7", "runs/demo/ap-demo-v1-d1c72ca7", "demo", "v1", "running", "dlc1",
    ...                "Running", 1, 0, "", "1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z", 3)
    >>> print("\\n".join(run_lines([s])))
    RUN                  PIPELINE  VERSION  STATE    JOB   ATTEMPTS  LAST CHANGE
    ap-demo-v1-d1c72ca7  demo      v1       running  dlc1  1         1970-01-01T00:01:00Z
    """
    headers = ["RUN", "PIPELINE", "VERSION", "STATE", "JOB", "ATTEMPTS", "LAST CHANGE"]
    return table(headers, [[s.run_id, s.pipeline, s.version, s.state, s.job_id or "-", s.attempts, s.last_change]
                           for s in summaries])


def summary_lines(summary: RunSummary) -> list[str]:
    """``key: value`` lines heading ``run show``."""
    fields = [
        ("run", summary.run_id), ("pipeline", summary.pipeline), ("version", summary.version),
        ("state", summary.state + (f" ({summary.status})" if summary.status else "")),
        ("job", summary.job_id or "-"), ("attempts", summary.attempts), ("preemptions", summary.preemptions),
        ("model", summary.model_uri or "-"), ("created", summary.created), ("last change", summary.last_change),
    ]
    if summary.forced or summary.requested_by:
        fields.append(("requested by", (summary.requested_by or "?") + (" (forced)" if summary.forced else "")))
    return [f"{key + ':':<14}{value}" for key, value in fields]


# -- reading the ledger ---------------------------------------------------------------------


def run_entities(ledger: Ledger, pipeline: str | None = None) -> list[str]:
    """Entities of every run in the ledger (of one pipeline if given)."""
    return ledger.entities(f"{RUNS_KIND}{pipeline}/" if pipeline else RUNS_KIND)


def find_run(ledger: Ledger, run: str, entities: Iterable[str] | None = None) -> str | None:
    """The entity of run ``run`` in any pipeline, or None."""
    for entity in run_entities(ledger) if entities is None else entities:
        if entity.rsplit("/", 1)[-1] == run:
            return entity
    return None


def list_runs(
    ledger: Ledger, *, pipeline: str | None = None, state: str | None = None, limit: int | None = None
) -> list[RunSummary]:
    """Summaries of the ledger's runs, newest (by claim time) first, filtered by current state.

    Reads every record of every run of the pipeline (one listing and one GET per record); for a
    state that holds a slot (claimed, submitted, running, stopping) only the runs of the active
    index (:mod:`.slots`) are read, not the whole history.

    >>> from ..ledger import MemoryStore
    >>> ledger = Ledger(MemoryStore(), now=lambda: 5.0)
    >>> _ = ledger.claim("runs/demo/r1", "claimed", {"pipeline": "demo", "version": "v1"})
    >>> [s.run_id for s in list_runs(ledger)], list_runs(ledger, state="submitted")
    (['r1'], [])
    """
    from .slots import ACTIVE_STATES, active_entries

    if state in ACTIVE_STATES:
        entities = [f"{RUNS_KIND}{p}/{r}" for p, r in active_entries(ledger) if pipeline in (None, p)]
    else:
        entities = run_entities(ledger, pipeline)
    summaries = []
    for entity in entities:
        records = ledger.history(entity)
        if records and (state is None or records[-1].state == state):
            summaries.append((records[0].at, summarize(records)))
    summaries.sort(key=lambda item: (-item[0], item[1].run_id))
    result = [s for _, s in summaries]
    return result[:limit] if limit else result

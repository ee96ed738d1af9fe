"""Which version serves a pipeline today: the ``serving/<pipeline>`` ledger entity.

Each record is one change of the stable (champion) version: the first deploy, a promotion, a
revert. Its data names the version, its EAS service and the version it replaced, so a revert
inside the watch window knows where to go back. One entity per pipeline keeps the read one
listing plus one GET however long the history.

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 0.0)
>>> read_stable(ledger, "demo") is None
True
>>> _ = record_stable(ledger, "demo", version="v1", service="demo_model", reason="first version")
>>> _ = record_stable(ledger, "demo", version="v2", service="demo_model_v2", reason="promoted")
>>> s = read_stable(ledger, "demo")
>>> s.version, s.service, s.previous_version, s.previous_service
('v2', 'demo_model_v2', 'v1', 'demo_model')
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..ledger import Ledger, Record

SERVING_KIND = "serving/"


@dataclasses.dataclass(frozen=True)
class StableService:
    """The pipeline's serving version and the one before it."""

    pipeline: str
    version: str
    service: str
    previous_version: str | None
    previous_service: str | None
    metrics: dict[str, float]
    record: Record


def stable_entity(pipeline: str) -> str:
    """The ledger entity holding a pipeline's stable-version history."""
    return f"{SERVING_KIND}{pipeline}"


def read_stable(ledger: Ledger, pipeline: str) -> StableService | None:
    """The pipeline's current stable version, or None before its first deploy."""
    head = ledger.latest(stable_entity(pipeline))
    if head is None:
        return None
    d = head.data
    return StableService(
        pipeline=pipeline, version=d["version"], service=d["service"], previous_version=d.get("previous_version"),
        previous_service=d.get("previous_service"), metrics=dict(d.get("metrics") or {}), record=head,
    )


def record_stable(
    ledger: Ledger, pipeline: str, *, version: str, service: str, reason: str,
    metrics: dict[str, float] | None = None, extra: dict[str, Any] | None = None,
    correlation_id: str | None = None, by: str | None = None,
) -> Record:
    """Append a change of stable version (compare-and-set on the current head).

    ``metrics`` are the version's offline evaluation metrics (``metrics.json``), kept so the next
    version's evaluation gate compares against them. Raises ``LedgerConflict`` when another writer
    changed the stable since it was read; the caller re-reads and decides again.

    ``version`` on ``service`` already the stable: nothing to record, its record is returned. (Two
    callers that both saw the older stable, e.g. overlapping reconcile ticks finding the first version
    Running, then record the change once: the second reads the head the first wrote.)

    >>> from ..ledger import Ledger, MemoryStore
    >>> ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 0.0)
    >>> [record_stable(ledger, "demo", version="v1", service="demo_model", reason=r).seq for r in ("tick a", "tick b")]
    [0, 0]
    """
    current = read_stable(ledger, pipeline)
    if current is not None and (current.version, current.service) == (version, service):
        return current.record
    data: dict[str, Any] = {
        "pipeline": pipeline, "version": version, "service": service, "reason": reason, "metrics": dict(metrics or {}),
        "previous_version": current.version if current else None,
        "previous_service": current.service if current else None, **(extra or {}),
    }
    entity = stable_entity(pipeline)
    if current is None:
        return ledger.claim(entity, "stable", data, correlation_id=correlation_id, by=by)
    return ledger.append(entity, "stable", data, after=current.record, by=by, correlation_id=correlation_id)

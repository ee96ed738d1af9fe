"""Indexes of a pipeline's active and queued runs, so a tick or a capacity check costs listings
of what is open, never a read of every run ever recorded (DESIGN.md §2.7).

``<ledger>/index/active/<pipeline>/<run>`` exists while a run holds a slot (claimed for, or
running, a DLC job). Its body is a copy of the run's head record, rewritten on every change of
the run's state (:func:`index_head`), so ``reconcile`` finds every open run with one listing of
``index/active/`` and reads each head with one GET (:func:`read_indexed_head`).
``<ledger>/index/queued/<pipeline>/<claim time>-<run>`` exists while a run waits.

They are hints kept beside the ledger, which stays the truth. The active entry is written
*before* the append that makes a run active (so a crash in between leaves an entry that
``reconcile`` checks, never an open run nobody looks at), and rewritten after every append; a
copy that turns out stale (the append after it conflicts, or its state is not open) is repaired
from :meth:`~pai_autopilot.ledger.Ledger.latest`.

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 0.0)
>>> a = ledger.claim("runs/demo/run-a", "submitted", {"job_id": "dlc1"})
>>> index_head(ledger, a); mark_active(ledger, "demo", "run-b")
>>> active_runs(ledger, "demo"), active_entries(ledger)
(['run-a', 'run-b'], [('demo', 'run-a'), ('demo', 'run-b')])
>>> read_indexed_head(ledger, "demo", "run-a").data, read_indexed_head(ledger, "demo", "run-b")
({'job_id': 'dlc1'}, None)
>>> at_limit(ledger, "demo", 2), at_limit(ledger, "demo", 2, own="run-a"), at_limit(ledger, "demo", 3)
(True, False, False)
>>> index_head(ledger, ledger.append("runs/demo/run-a", "failed", {}, after=a)); active_runs(ledger, "demo")
['run-b']
"""

from __future__ import annotations

import msgspec

from ..ledger import Ledger, Record

#: States in which a run holds one of its pipeline's ``max_active_runs`` slots.
ACTIVE_STATES = frozenset({"claimed", "submitted", "running", "stopping", "resubmitting"})
RUNS_KIND = "runs/"


def _index(ledger: Ledger) -> str:
    return f"{ledger.prefix}index/active/"


def _active(ledger: Ledger, pipeline: str) -> str:
    return f"{_index(ledger)}{pipeline}/"


def _queued(ledger: Ledger, pipeline: str) -> str:
    return f"{ledger.prefix}index/queued/{pipeline}/"


def mark_active(ledger: Ledger, pipeline: str, run: str, head: Record | None = None) -> None:
    """Write the run's active entry (with a copy of ``head``, its newest record, when known)."""
    ledger.store.put(_active(ledger, pipeline) + run, msgspec.json.encode(head) if head is not None else b"{}")


def clear_active(ledger: Ledger, pipeline: str, run: str) -> None:
    ledger.store.delete(_active(ledger, pipeline) + run)


def index_head(ledger: Ledger, head: Record | None, entity: str | None = None) -> None:
    """Keep the active index in step with a run's new head: a copy while the run is active,
    no entry once it is not (``head`` None: the run does not exist; ``entity`` names it)."""
    name = head.entity if head is not None else entity
    if not name or not name.startswith(RUNS_KIND):
        raise ValueError(f"not a run entity: {name!r}")
    pipeline, _, run = name[len(RUNS_KIND):].partition("/")
    if head is not None and head.state in ACTIVE_STATES:
        mark_active(ledger, pipeline, run, head)
    else:
        clear_active(ledger, pipeline, run)


def read_indexed_head(ledger: Ledger, pipeline: str, run: str) -> Record | None:
    """The head copy in the run's active entry (one GET); None when absent or unreadable."""
    body = ledger.store.read(_active(ledger, pipeline) + run)
    if not body:
        return None
    try:
        record = msgspec.json.decode(body, type=Record)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # an entry of an older version ("{}"): the caller reads the ledger
    return record if record.entity == f"{RUNS_KIND}{pipeline}/{run}" else None


def active_entries(ledger: Ledger) -> list[tuple[str, str]]:
    """``(pipeline, run)`` of every active entry of every pipeline: one listing per 1,000."""
    prefix = _index(ledger)
    out = []
    for key in ledger.store.list_keys(prefix):
        pipeline, _, run = key[len(prefix):].partition("/")
        if run:
            out.append((pipeline, run))
    return out


def active_runs(ledger: Ledger, pipeline: str, *, limit: int | None = None) -> list[str]:
    """The runs holding a slot of ``pipeline`` (the first ``limit`` only, when given)."""
    prefix = _active(ledger, pipeline)
    return [key[len(prefix):] for key in ledger.store.list_keys(prefix, limit=limit)]


def at_limit(ledger: Ledger, pipeline: str, limit: int, *, own: str | None = None) -> bool:
    """True when ``pipeline`` has ``limit`` active runs besides ``own``: one listing of at most
    ``limit + 1`` keys, whatever the number of active runs."""
    return sum(run != own for run in active_runs(ledger, pipeline, limit=limit + 1)) >= limit


def over_limit(ledger: Ledger, pipeline: str, limit: int) -> bool:
    """True when ``pipeline`` has more than ``limit`` active entries: the check a run makes *after*
    writing its own entry (see :mod:`.queue`). One listing of at most ``limit + 2`` keys."""
    return len(active_runs(ledger, pipeline, limit=limit + 2)) > limit


def mark_queued(ledger: Ledger, pipeline: str, run: str, at: float) -> None:
    ledger.store.put(f"{_queued(ledger, pipeline)}{at:020.6f}-{run}", b"{}")


def ensure_queued(ledger: Ledger, head: Record) -> None:
    """Write the queue entry of a run whose head is ``queued`` (idempotent: the key is the claim's
    time), so a retried marker repairs an entry its first try did not write. Other heads: nothing."""
    if head.state == "queued" and head.entity.startswith(RUNS_KIND):
        pipeline, _, run = head.entity[len(RUNS_KIND):].partition("/")
        mark_queued(ledger, pipeline, run, head.at)


def clear_queued(ledger: Ledger, pipeline: str, run: str) -> None:
    prefix = _queued(ledger, pipeline)
    for key in ledger.store.list_keys(prefix):
        if key.endswith("-" + run):
            ledger.store.delete(key)


def queued_runs(ledger: Ledger, pipeline: str, *, limit: int | None = None) -> list[str]:
    """Queued runs, oldest claim first (the first ``limit`` only, when given)."""
    prefix = _queued(ledger, pipeline)
    return [key[len(prefix):].split("-", 1)[1] for key in ledger.store.list_keys(prefix, limit=limit)]

"""At most ``max_active_runs`` runs per pipeline: the rest wait, in order, as ``queued`` runs.

A version admitted while its pipeline is at capacity is claimed as ``queued`` (no job). When a
run leaves the active states (its job ended), :func:`start_next` submits the oldest queued run
of that pipeline; ``reconcile`` calls it too, so a lost event never strands the queue. Counting
uses the indexes in :mod:`.slots` (one LIST), not a read of every run.

Limit: two versions landing at the same instant may both see a free slot and both start (the
count is read, not locked); the queue then drains normally.

Example
-------
>>> sorted(ACTIVE)
['claimed', 'running', 'stopping', 'submitted']
"""

from __future__ import annotations

from ..ledger import LedgerConflict
from ..log import get_logger
from ..runtime import Runtime
from . import slots
from .datasets import DatasetVersion
from .lifecycle import ACTIVE_RUN_STATES
from .runs import run_entity
from .submit import ensure_job, record_submitted

ACTIVE = frozenset(ACTIVE_RUN_STATES | {"claimed"})


def at_capacity(rt: Runtime, pipeline: str, *, own_entity: str | None = None) -> bool:
    """True when ``pipeline`` has ``max_active_runs`` active runs besides ``own_entity`` (a retry
    of the invocation that claimed it must not queue behind itself). One LIST of the index."""
    limit = rt.config.pipelines[pipeline].max_active_runs
    own = own_entity.rsplit("/", 1)[-1] if own_entity else None
    return sum(run != own for run in slots.active_runs(rt.ledger, pipeline)) >= limit


def start_next(rt: Runtime, pipeline: str) -> str | None:
    """Submit the oldest queued run of ``pipeline`` if a slot is free; its run id, or None."""
    limit = rt.config.pipelines[pipeline].max_active_runs
    if len(slots.active_runs(rt.ledger, pipeline)) >= limit:
        return None
    for run in slots.queued_runs(rt.ledger, pipeline):
        entity = run_entity(pipeline, run)
        record = rt.ledger.latest(entity)
        if record is None or record.state != "queued":
            slots.clear_queued(rt.ledger, pipeline, run)  # a stale hint
            continue
        try:
            claimed = rt.ledger.append(entity, "claimed", {**record.data, "dequeued": True}, after=record, by=rt.request_id)
        except LedgerConflict:
            continue  # someone else started it
        dataset = DatasetVersion.from_run_data(record.data, rt.bucket_name)
        job_id, _ = ensure_job(rt, dataset, run, since=claimed.at)
        record_submitted(rt, dataset, entity, run, job_id, after=claimed)
        slots.clear_queued(rt.ledger, pipeline, run)
        get_logger(run_id=run).info("queued run started", job_id=job_id)
        return run
    return None


def tidy(rt: Runtime, pipeline: str) -> None:
    """Drop index entries whose run is no longer active or queued (reconcile calls this)."""
    for run in slots.active_runs(rt.ledger, pipeline):
        record = rt.ledger.latest(run_entity(pipeline, run))
        if record is None or record.state not in ACTIVE:
            slots.clear_active(rt.ledger, pipeline, run)
    for run in slots.queued_runs(rt.ledger, pipeline):
        record = rt.ledger.latest(run_entity(pipeline, run))
        if record is None or record.state != "queued":
            slots.clear_queued(rt.ledger, pipeline, run)

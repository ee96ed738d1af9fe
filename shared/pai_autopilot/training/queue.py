"""At most ``max_active_runs`` runs per pipeline: the rest wait, in order, as ``queued`` runs.

A version admitted while its pipeline is at capacity is claimed as ``queued`` (no job). When a
run leaves the active states (its job ended), :func:`start_next` submits the oldest queued run
of that pipeline; ``reconcile`` calls it too, so a lost event never strands the queue. Counting
uses the indexes in :mod:`.slots`: one LIST of at most ``max_active_runs + 1`` keys, not a read
of every run, so a marker's capacity check costs the same at 10 or 1,000 active runs.

Limit: two versions landing at the same instant may both see a free slot and both start (the
count is read, not locked); the queue then drains normally.

Example
-------
>>> sorted(ACTIVE)
['claimed', 'resubmitting', 'running', 'stopping', 'submitted']
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
    return slots.at_limit(rt.ledger, pipeline, limit, own=own)


def start_next(rt: Runtime, pipeline: str, *, queued: list[str] | None = None) -> str | None:
    """Submit the oldest queued run of ``pipeline`` if a slot is free; its run id, or None.

    ``queued``: the pipeline's queued runs when the caller listed them already (reconcile lists
    every pipeline's queue at once)."""
    if queued == []:
        return None
    limit = rt.config.pipelines[pipeline].max_active_runs
    if slots.at_limit(rt.ledger, pipeline, limit):
        return None
    for run in slots.queued_runs(rt.ledger, pipeline) if queued is None else queued:
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


def queued_by_pipeline(rt: Runtime) -> dict[str, list[str]]:
    """Every pipeline's queued runs, oldest first, from one listing of the queue index (stale
    entries are dropped by :func:`start_next` when it meets them)."""
    prefix = f"{rt.ledger.prefix}index/queued/"
    out: dict[str, list[str]] = {}
    for key in rt.ledger.store.list_keys(prefix):
        pipeline, _, entry = key[len(prefix):].partition("/")
        if "-" in entry:
            out.setdefault(pipeline, []).append(entry.split("-", 1)[1])
    return out

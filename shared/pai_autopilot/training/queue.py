"""At most ``max_active_runs`` runs per pipeline: the rest wait, in order, as ``queued`` runs.

A version admitted while its pipeline is at capacity is claimed as ``queued`` (no job). When a
run leaves the active states (its job ended), :func:`start_next` submits the oldest queued run
of that pipeline; ``reconcile`` calls it too, so a lost event never strands the queue.

Limit: two versions landing at the same instant may both see a free slot and both start (the
count is read, not locked); the queue then drains normally.

Example
-------
>>> sorted(ACTIVE)
['claimed', 'running', 'stopping', 'submitted']
"""

from __future__ import annotations

from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..runtime import Runtime
from .datasets import DatasetVersion
from .lifecycle import ACTIVE_RUN_STATES
from .submit import ensure_job

ACTIVE = frozenset(ACTIVE_RUN_STATES | {"claimed"})


def runs_of(rt: Runtime, pipeline: str) -> list[tuple[str, Record]]:
    """Every run of ``pipeline`` with its latest record."""
    out = []
    for entity in rt.ledger.entities(f"runs/{pipeline}/"):
        latest = rt.ledger.latest(entity)
        if latest is not None:
            out.append((entity, latest))
    return out


def at_capacity(rt: Runtime, pipeline: str, *, own_entity: str | None = None) -> bool:
    """True when ``pipeline`` has ``max_active_runs`` active runs besides ``own_entity`` (a retry
    of the invocation that claimed it must not queue behind itself)."""
    limit = rt.config.pipelines[pipeline].max_active_runs
    return sum(r.state in ACTIVE for e, r in runs_of(rt, pipeline) if e != own_entity) >= limit


def start_next(rt: Runtime, pipeline: str) -> str | None:
    """Submit the oldest queued run of ``pipeline`` if a slot is free; its run id, or None."""
    runs = runs_of(rt, pipeline)
    limit = rt.config.pipelines[pipeline].max_active_runs
    if sum(r.state in ACTIVE for _, r in runs) >= limit:
        return None
    queued = sorted(((r.at, e, r) for e, r in runs if r.state == "queued"), key=lambda x: (x[0], x[1]))
    for _at, entity, record in queued:
        try:
            claimed = rt.ledger.append(entity, "claimed", {**record.data, "dequeued": True}, after=record, by=rt.request_id)
        except LedgerConflict:
            continue  # someone else started it
        d = record.data
        dataset = DatasetVersion(d["pipeline"], d["version"], rt.bucket_name, d["marker_key"].rsplit("/", 1)[0] + "/", d["marker_key"])
        run = entity.rsplit("/", 1)[-1]
        job_id, _ = ensure_job(rt, dataset, run, since=claimed.at)
        spot = rt.config.pipelines[pipeline].training.spot.enabled
        rt.ledger.append(entity, "submitted", {**claimed.data, "job_id": job_id, "display_name": run, "attempts": 1,
                                               "preemptions": 0, "spot": spot}, after=claimed, by=rt.request_id)
        get_logger(run_id=run).info("queued run started", job_id=job_id)
        return run
    return None

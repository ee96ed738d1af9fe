"""At most ``max_active_runs`` runs per pipeline: the rest wait, in order, as ``queued`` runs.

A version admitted while its pipeline is at capacity is claimed as ``queued`` (no job). When a
run leaves the active states (its job ended), :func:`start_next` submits the oldest queued run
of that pipeline; ``reconcile`` calls it too, so a lost event never strands the queue. Counting
uses the indexes in :mod:`.slots`: one LIST of at most ``max_active_runs + 1`` keys, not a read
of every run, so a marker's capacity check costs the same at 10 or 1,000 active runs.

The count is a compare-and-set, not a read: a run claims, writes its active entry, then lists the
entries again (:func:`keep_slot`); if there are more than ``max_active_runs``, another run wrote
its entry at the same instant, and this one gives way (``queued`` again). So versions landing at
the same instant never start more than ``max_active_runs`` runs.

A run's queue entry is written right after its ``queued`` claim, and written again by a retried
marker that finds the claim (:func:`~.admission.enqueue`), so a failed index write never leaves a
queued run that nothing will start.

Example
-------
>>> sorted(ACTIVE)
['claimed', 'resubmitting', 'running', 'stopping', 'submitted']
"""

from __future__ import annotations

from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..runtime import Runtime
from . import slots
from .datasets import DatasetVersion
from .lifecycle import ACTIVE_RUN_STATES
from .runs import run_entity
from .submit import RunOutcome, submit_claimed, take_over_claim

ACTIVE = frozenset(ACTIVE_RUN_STATES | {"claimed"})


def at_capacity(rt: Runtime, pipeline: str, *, own_entity: str | None = None) -> bool:
    """True when ``pipeline`` has ``max_active_runs`` active runs besides ``own_entity`` (a retry
    of the invocation that claimed it must not queue behind itself). One LIST of the index."""
    limit = rt.config.pipelines[pipeline].max_active_runs
    own = own_entity.rsplit("/", 1)[-1] if own_entity else None
    return slots.at_limit(rt.ledger, pipeline, limit, own=own)


def keep_slot(rt: Runtime, head: Record) -> Record | None:
    """The capacity check's compare-and-set half: ``head`` is a ``claimed`` run whose active entry
    is written. If the pipeline now has more than ``max_active_runs`` entries, another run wrote
    its entry at the same time: this one gives way — recorded ``queued`` again (an exclusive
    append), its entry removed — and None is returned. Otherwise ``head``: go on and submit.

    Safe whatever the interleaving: of the runs that go on, the last to write its entry listed
    every other one, so at most ``max_active_runs`` go on. Two may both give way; the queue
    (``reconcile``, or the next run's end) starts them.
    """
    pipeline = head.data["pipeline"]
    limit = rt.config.pipelines[pipeline].max_active_runs
    if not slots.over_limit(rt.ledger, pipeline, limit):
        return head
    reason = f"pipeline at max_active_runs={limit}: queued (another run took the last slot at the same time)"
    try:
        queued = rt.ledger.append(head.entity, "queued", {**head.data, "reason": reason}, after=head, by=rt.request_id)
    except LedgerConflict:
        return None  # someone else moved the run on; its entry is theirs to keep
    slots.ensure_queued(rt.ledger, queued)
    slots.index_head(rt.ledger, queued)  # not active: the entry goes
    run = head.entity.rsplit("/", 1)[-1]
    get_logger(run_id=run).info("run gave way: queued", reason=reason)
    from ..notify import Notification, notify

    notify(rt.config.notifications, Notification("run_queued", f"run queued: {run}",
                                                 {"version": head.data.get("version"), "reason": reason}),
           ledger=rt.ledger, correlation_id=head.correlation_id or run)
    return None


def _interrupted(record: Record) -> bool:
    """A dequeue that did not finish (its invocation failed or died after the claim)."""
    return record.state == "claimed" and bool(record.data.get("dequeued"))


def start_next(rt: Runtime, pipeline: str, *, queued: list[str] | None = None) -> str | None:
    """Submit the oldest queued run of ``pipeline`` if a slot is free; its run id, or None.

    The run's queue entry is removed only once it is ``submitted``: a start cut short by a crash or
    a failed CreateJob (``claimed``, ``dequeued``) is resumed here — by the same invocation's retry
    at once, by anyone after the lease (:func:`~.submit.take_over_claim`) — and ``reconcile`` calls
    this every tick, so it is never stranded. Its active entry is written right after the claim and
    checked by :func:`keep_slot`.

    ``queued``: the pipeline's queued runs when the caller listed them already (reconcile lists
    every pipeline's queue at once)."""
    if queued == []:
        return None
    limit = rt.config.pipelines[pipeline].max_active_runs
    for run in slots.queued_runs(rt.ledger, pipeline) if queued is None else queued:
        entity = run_entity(pipeline, run)
        record = rt.ledger.latest(entity)
        if record is not None and _interrupted(record):
            head = take_over_claim(rt, entity, record)
            if head is None:
                continue  # its owner is starting it (and holds the slot)
        elif record is None or record.state != "queued":
            slots.clear_queued(rt.ledger, pipeline, run)  # a stale hint
            continue
        else:
            if slots.at_limit(rt.ledger, pipeline, limit):
                return None
            try:
                head = rt.ledger.append(entity, "claimed", {**record.data, "dequeued": True}, after=record, by=rt.request_id)
            except LedgerConflict:
                continue  # someone else started it
        outcome = start_claimed(rt, head)
        if outcome.outcome == "queued":
            return None  # it gave way: another run took the last slot at the same time
        get_logger(run_id=run).info("queued run started", job_id=outcome.job_id, outcome=outcome.outcome)
        return run
    return None


def start_claimed(rt: Runtime, head: Record, *, dataset: DatasetVersion | None = None,
                  within_limit: bool = True) -> RunOutcome:
    """From a ``claimed`` head this invocation holds (a marker's claim, a dequeue, a taken-over claim):
    write the run's active entry, keep its slot (:func:`keep_slot`, when ``within_limit``), submit its
    one job (:func:`~.submit.submit_claimed`), and drop its queue entry if it came from the queue.
    The outcome is ``queued`` when it gave way. ``dataset``: the version, when the caller has it."""
    pipeline, run = head.data["pipeline"], head.entity.rsplit("/", 1)[-1]
    dataset = dataset or DatasetVersion.from_run_data(head.data, rt.bucket_name)
    slots.index_head(rt.ledger, head)  # the run holds its slot, and reconcile sees it, from its claim on
    if within_limit and keep_slot(rt, head) is None:
        limit = rt.config.pipelines[pipeline].max_active_runs
        return RunOutcome("queued", run, dataset.pipeline, dataset.version,
                          reason=f"pipeline at max_active_runs={limit}: queued (another run took the last slot)")
    outcome = submit_claimed(rt, dataset, head.entity, run, head)
    if head.data.get("dequeued"):
        slots.clear_queued(rt.ledger, pipeline, run)
    return outcome


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

"""Submitting a training run exactly once: claim in the ledger, then create the DLC job.

Two guards make a repeated marker, a re-delivered event or a crash harmless:

1. the ledger claim (record 0 of ``runs/<pipeline>/<run>``, an exclusive write): one
   invocation owns the submission; the others see its record and stop, wait, or — when the
   claim is older than the lease (the claimant crashed) — take it over with an exclusive
   append;
2. the DLC display name is the run id: before creating a job, the owner looks it up with
   ListJobs, so a crash between CreateJob and the ledger write never yields a second job.

:func:`decide_on_existing` is the pure decision; :func:`submit_run` applies it.

Example
-------
>>> from ..ledger import Record
>>> r = Record(entity="runs/demo/x", seq=1, state="submitted", at=0.0, data={"job_id": "dlc1"})
>>> decide_on_existing(r, now=10.0, lease_seconds=900, request_id="r2")
Verdict(action='noop', reason='run already submitted (job dlc1)')
>>> c = Record(entity="runs/demo/x", seq=0, state="claimed", at=0.0, by="r1")
>>> decide_on_existing(c, now=5.0, lease_seconds=900, request_id="r2").action
'wait'
>>> decide_on_existing(c, now=901.0, lease_seconds=900, request_id="r2").action
'takeover'
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal

from ..errors import ConflictError, InvalidInputError, TransientError, classify_sdk_error
from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..runtime import Runtime
from .datasets import DatasetVersion
from .jobs import TAG_RUN_ID, create_job_body, run_uris
from .runs import run_entity, run_id

Action = Literal["noop", "wait", "takeover"]


@dataclasses.dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What happened to one dataset version: ``submitted``, ``duplicate`` or ``rejected``."""

    outcome: Literal["submitted", "duplicate", "rejected", "queued"]
    run_id: str
    pipeline: str
    version: str
    job_id: str | None = None
    reason: str = ""
    found_existing_job: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, "", False)}


def decide_on_existing(latest: Record | None, *, now: float, lease_seconds: int, request_id: str | None) -> Verdict:
    """What to do when the run's claim was already taken (pure)."""
    if latest is None:
        return Verdict("wait", "the claim exists but is not listed yet")
    if latest.state != "claimed":
        job = latest.data.get("job_id")
        return Verdict("noop", f"run already {latest.state}" + (f" (job {job})" if job else ""))
    if request_id and latest.by == request_id:
        return Verdict("takeover", "a retry of the invocation that claimed the run")
    age = now - latest.at
    if age >= lease_seconds:
        return Verdict("takeover", f"claim by {latest.by} is {age:.0f}s old (lease {lease_seconds}s): its owner stopped")
    return Verdict("wait", f"claimed {age:.1f}s ago by {latest.by}; its owner is submitting")


def submit_run(
    rt: Runtime, dataset: DatasetVersion, *, run: str | None = None, claim: dict[str, Any] | None = None,
    wait_seconds: float = 5.0, poll_seconds: float = 0.25, within_limit: bool = False,
) -> RunOutcome:
    """Claim the run for ``dataset`` and make sure exactly one DLC job exists for it.

    ``run`` overrides the run id (default: ``run_id(pipeline, version)``; a forced retrain
    passes its own, see :func:`~.runs.retrain_run_id`); ``claim`` adds keys to the claim's data
    (e.g. who forced the run), carried into every later record. ``within_limit``: the run gives way
    (``queued``) if, once its slot is taken, the pipeline is over ``max_active_runs`` (a marker's
    run; a forced ``--now`` retrain starts regardless), see :func:`~.queue.keep_slot`.
    """
    run = run or run_id(dataset.pipeline, dataset.version)
    entity = run_entity(dataset.pipeline, run)
    log = get_logger(run_id=run, pipeline=dataset.pipeline, version=dataset.version)
    data = {
        "pipeline": dataset.pipeline,
        "version": dataset.version,
        "marker_key": dataset.marker_key,
        **run_uris(rt.config, dataset, run),
        **(claim or {}),
    }
    ledger = rt.ledger
    try:
        record = ledger.claim(entity, "claimed", data, correlation_id=run, by=rt.request_id)
        log.info("run claimed", entity=entity)
        from .slots import mark_latest

        mark_latest(ledger, dataset.pipeline, run)
    except LedgerConflict:
        owned = _wait_or_take_over(rt, entity, data, wait_seconds, poll_seconds, log)
        if isinstance(owned, RunOutcome):
            return owned
        record = owned
    from .queue import start_claimed

    return start_claimed(rt, record, dataset=dataset, within_limit=within_limit)


def submit_claimed(rt: Runtime, dataset: DatasetVersion, entity: str, run: str, claim: Record) -> RunOutcome:
    """From a ``claimed`` head (a marker's claim, a dequeued run, a taken-over claim): find or create
    the run's one DLC job and record it ``submitted``; a job DLC refuses records the run ``rejected``."""
    from .slots import index_head

    log = get_logger(run_id=run, pipeline=dataset.pipeline, version=dataset.version)
    try:
        job_id, existed = ensure_job(rt, dataset, run, since=claim.at)
    except InvalidInputError as exc:
        index_head(rt.ledger, rt.ledger.append(entity, "rejected", {**claim.data, "reason": str(exc)}, after=claim, by=rt.request_id))
        log.warning("run rejected", reason=str(exc))
        return RunOutcome("rejected", run, dataset.pipeline, dataset.version, reason=str(exc))
    try:
        record_submitted(rt, dataset, entity, run, job_id, after=claim)
    except LedgerConflict as exc:  # only if a takeover raced us past the lease: report, don't guess
        raise ConflictError(f"run {run} changed while submitting job {job_id}") from exc
    log.info("job submitted" if not existed else "job found", job_id=job_id)
    return RunOutcome("submitted", run, dataset.pipeline, dataset.version, job_id=job_id, found_existing_job=existed)


def take_over_claim(rt: Runtime, entity: str, latest: Record) -> Record | None:
    """A ``claimed`` head whose owner is this invocation's retry (same request id) or whose lease ran
    out: claim it again (an exclusive append, so one invocation wins) and return the new head; None
    while its owner may still be submitting, or when another invocation took it first.

    Reconcile and the queue call this for claims nobody finished (a crash, a failed CreateJob), so a
    claimed run is never stranded: it is submitted, at the latest, one lease after its claim."""
    verdict = decide_on_existing(latest, now=rt.now(), lease_seconds=rt.settings.lease_seconds, request_id=rt.request_id)
    if verdict.action != "takeover":
        return None
    try:
        head = rt.ledger.append(entity, "claimed", {**latest.data, "takeover": verdict.reason}, after=latest, by=rt.request_id)
    except LedgerConflict:
        return None
    get_logger(entity=entity).warning("run taken over", reason=verdict.reason)
    return head


def record_submitted(rt: Runtime, dataset: DatasetVersion, entity: str, run: str, job_id: str, *, after: Record) -> Record:
    """Append a run's first "submitted" record (attempt 1) and take its slot in the active index.

    The index entry is written first (with the claim as its head), so a crash between the two
    writes leaves an entry ``reconcile`` repairs, never an open run missing from the index.
    """
    from .slots import index_head

    spot = rt.config.pipelines[dataset.pipeline].training.spot.enabled
    data = {**after.data, "job_id": job_id, "display_name": run, "attempts": 1, "preemptions": 0, "spot": spot}
    index_head(rt.ledger, after)
    record = rt.ledger.append(entity, "submitted", data, after=after, by=rt.request_id)
    index_head(rt.ledger, record)
    return record


def _wait_or_take_over(
    rt: Runtime, entity: str, data: dict[str, Any], wait_seconds: float, poll_seconds: float, log: Any
) -> Record | RunOutcome:
    pipeline, version = data["pipeline"], data["version"]
    run = entity.rsplit("/", 1)[-1]
    deadline = time.monotonic() + wait_seconds
    while True:
        latest = rt.ledger.latest(entity)
        verdict = decide_on_existing(latest, now=rt.now(), lease_seconds=rt.settings.lease_seconds, request_id=rt.request_id)
        if verdict.action == "noop":
            log.info("duplicate marker", reason=verdict.reason)
            if latest is not None:
                from .slots import ensure_queued

                ensure_queued(rt.ledger, latest)  # a queued run whose first try died before indexing it
            job = latest.data.get("job_id") if latest else None
            return RunOutcome("duplicate", run, pipeline, version, job_id=job, reason=verdict.reason)
        if verdict.action == "takeover" and latest is not None:
            try:
                record = rt.ledger.append(entity, "claimed", {**data, "takeover": verdict.reason}, after=latest, by=rt.request_id)
            except LedgerConflict:
                continue
            log.warning("run taken over", reason=verdict.reason)
            return record
        if time.monotonic() >= deadline:
            raise TransientError(f"run {run} is busy: {verdict.reason}")
        time.sleep(poll_seconds)


def ensure_job(
    rt: Runtime, dataset: DatasetVersion, run: str, *, since: float, display_name: str | None = None,
    resume_from: str = "", spot: bool | None = None,
) -> tuple[str, bool]:
    """The job id for ``display_name`` (default: the run id): an existing job with that
    display name and run tag, else a new one. Returns (job id, whether it existed)."""
    name = display_name or run
    from alibabacloud_pai_dlc20201203 import models as dlc_models

    dlc = rt.clients.dlc
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since - 86_400))
    query = dlc_models.ListJobsRequest(
        display_name=name, workspace_id=rt.workspace_id or None, start_time=start, page_size=100, show_own=False
    )
    try:
        jobs = dlc.list_jobs(query).body.jobs or []
    except Exception as exc:  # SDK errors come in several classes; classify them all
        raise classify_sdk_error(exc, "ListJobs") from exc
    for job in jobs:
        tags = (job.settings.tags if job.settings else None) or {}
        if job.display_name == name and tags.get(TAG_RUN_ID, run) == run:
            return job.job_id, True
    body = create_job_body(
        rt.config, dataset, run=run, workspace_id=rt.workspace_id, display_name=name, resume_from=resume_from, spot=spot
    )
    try:
        response = dlc.create_job(dlc_models.CreateJobRequest().from_map(body))
    except Exception as exc:
        raise classify_sdk_error(exc, "CreateJob") from exc
    return response.body.job_id, False

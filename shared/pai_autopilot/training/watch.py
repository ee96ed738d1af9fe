"""The ``job_events`` and ``reconcile`` use cases: keep every open run in step with DLC.

* :func:`on_job_event` — DLC status events from the PAI workspace bus (``pai-system-<ws>``),
  single or batched CloudEvents. Each is only a hint: the job is re-read with GetJob, its tags
  name the run, and :func:`~.advance.advance_run` decides. Jobs without autopilot tags are ignored.
* :func:`on_reconcile` — a timer: every run in the active index (:mod:`.slots`) is advanced
  from GetJob, so an event that never came (or came out of order) is repaired on the next tick.
"""

from __future__ import annotations

from typing import Any

from ..errors import EventParseError
from ..events import CloudEvent, CloudEventBatch, TimerEvent, dlc_job_status, is_dlc_job_event, parse_event
from ..log import bind, get_logger
from ..settings import Settings, current_settings
from .jobs import TAG_PIPELINE, TAG_RUN_ID
from .runs import run_entity


def _runtime(context: Any, settings: Settings | None, credentials: Any) -> Any:
    from ..clients import Credentials
    from ..config import load_config  # not at import: an ignored event needs no configuration
    from ..runtime import Runtime

    settings = settings or current_settings()
    creds = credentials or Credentials.from_env(context=context)
    return Runtime(settings, load_config(settings.config_path), creds, request_id=getattr(context, "request_id", None))


def _summary(results: list[dict[str, Any]]) -> str:
    actions = [r["outcome"] for r in results]
    for action in ("resubmit", "fail", "stop", "await_model", "record"):
        if action in actions:
            return action
    return "noop" if "noop" in actions else "ignored"


def on_job_event(event: bytes | str, context: Any, *, settings: Settings | None = None, credentials: Any = None) -> dict[str, Any]:
    """Handle one invocation of ``job_events``."""
    parsed = parse_event(event)
    if isinstance(parsed, CloudEventBatch):
        events = list(parsed.events)
    elif isinstance(parsed, CloudEvent):
        events = [parsed]
    else:
        raise EventParseError(f"job_events expects CloudEvents from EventBridge, got a {type(parsed).__name__}")
    rt = None
    results: list[dict[str, Any]] = []
    for ce in events:
        bind(event_id=ce.dedupe_key)
        if not is_dlc_job_event(ce):
            results.append({"outcome": "ignored", "reason": f"not a DLC job event ({ce.source} {ce.type})"})
            continue
        job_id, _status = dlc_job_status(ce)  # the status is a hint; GetJob is the truth
        from .advance import advance_run, get_job  # not before: an ignored event imports no client code
        rt = rt or _runtime(context, settings, credentials)
        body = get_job(rt, job_id)
        tags = (body.get("Settings") or {}).get("Tags") or {}
        if TAG_RUN_ID not in tags or TAG_PIPELINE not in tags:
            results.append({"outcome": "ignored", "job_id": job_id, "reason": "not a job of pai-autopilot (no run tags)"})
            continue
        bind(correlation_id=tags[TAG_RUN_ID])
        results.append(advance_run(rt, run_entity(tags[TAG_PIPELINE], tags[TAG_RUN_ID]), body=body))
    return {"outcome": _summary(results), "records": results}


def on_reconcile(event: bytes | str, context: Any, *, settings: Settings | None = None, credentials: Any = None) -> dict[str, Any]:
    """Handle one tick of ``reconcile``: advance every open run, then start queued runs.

    Cost follows open work, not history (DESIGN.md §2.7): one listing of the active index per
    1,000 open runs, one GET of each open run's head copy, one ListJobs per 100 open runs, one
    listing of the queue index, plus the transitions applied (each re-reads its job with GetJob).
    Closed runs are never read.
    """
    parsed = parse_event(event)
    if not isinstance(parsed, TimerEvent):
        raise EventParseError(f"reconcile expects a timer event, got a {type(parsed).__name__}")
    from . import slots
    from .advance import advance_listed, list_jobs_by_id

    rt = _runtime(context, settings, credentials)
    log = get_logger(trigger=parsed.trigger_name)
    heads = [(run_entity(pipeline, run), head) for pipeline, run in slots.active_entries(rt.ledger)
             if (head := open_head(rt, pipeline, run)) is not None]
    listed = list_jobs_by_id(rt, [str(h.data["job_id"]) for _, h in heads if h.data.get("job_id")]) if heads else {}
    results = []
    for entity, head in heads:
        bind(correlation_id=entity.rsplit("/", 1)[-1])
        results.append(advance_listed(rt, entity, head, listed.get(str(head.data.get("job_id")))))
    from .queue import queued_by_pipeline, start_next

    queued = queued_by_pipeline(rt)
    started = [run for pipeline in rt.config.pipelines
               if pipeline in queued and (run := start_next(rt, pipeline, queued=queued[pipeline]))]
    from ..serving.watch import serving_pass  # serving (issue 11): first versions deploying, queues

    serving = serving_pass(rt)
    log.info("reconciled", open_runs=len(results), started_queued=started, deploying=serving["deploying"])
    return {"outcome": _summary(results), "open_runs": len(results), "started_queued": started, "records": results,
            "serving": serving}


def open_head(rt: Any, pipeline: str, run: str) -> Any:
    """The head record of a run of the active index, from its copy (one GET); None when the run
    is not open. A copy that is missing, unreadable or not open is repaired from the ledger."""
    from . import slots

    def holds_slot(record: Any) -> bool:  # open, or claimed (a claim nobody finished is taken over)
        return record is not None and record.state in slots.ACTIVE_STATES

    copy = head = slots.read_indexed_head(rt.ledger, pipeline, run)
    if not holds_slot(head):
        entity = run_entity(pipeline, run)
        head = rt.ledger.latest(entity)
        if head is None or head != copy:
            slots.index_head(rt.ledger, head, entity)
    return head if holds_slot(head) else None

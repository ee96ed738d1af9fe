"""Advancing a run from what DLC says of its job: record, await the model, resubmit, fail, stop.

Both ``job_events`` (an event names a job) and ``reconcile`` (a timer walks the open runs) call
:func:`advance_run`; it re-reads the truth with GetJob, asks the pure
:func:`~.lifecycle.decide_on_job_status`, and applies the decision with one exclusive ledger
append, so a duplicated, reordered or lost event changes nothing.

A resubmission (spot preemption within budget, or the on-demand fallback) resumes from the newest
*complete* checkpoint under the run's checkpoint URI, as a job named ``<run>-a<attempt>`` — found
again by ListJobs if a crash hit between CreateJob and the ledger append.

Example
-------
>>> job_view({"JobId": "dlc1", "Status": "Running", "GmtRunningTime": "2026-01-01T00:00:00Z",
...           "Pods": [{"SubStatus": "Evicted"}]}, max_running_minutes=60)
JobView(job_id='dlc1', status='Running', reason_code='', reason_message='', running_since=1767225600.0, max_running_minutes=60, evicted=True)
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from ..errors import classify_sdk_error
from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..notify import Notification, notify
from ..runtime import Runtime
from .checkpoints import find_resume_point
from .datasets import DatasetVersion
from .lifecycle import ACTIVE_RUN_STATES, Decision, JobView, RetryPolicy, RunView, decide_on_job_status
from .submit import ensure_job

_NOTIFY = {"await_model": "run_succeeded", "fail": "run_failed", "resubmit": "run_preempted"}


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(calendar.timegm(time.strptime(value.replace("Z", "").split(".")[0], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def job_view(body: dict[str, Any], *, max_running_minutes: int | None) -> JobView:
    """A :class:`JobView` from a GetJob body (``to_map()`` form, wire keys)."""
    pods = body.get("Pods") or []
    return JobView(
        job_id=body["JobId"],
        status=body.get("Status") or "",
        reason_code=body.get("ReasonCode") or "",
        reason_message=body.get("ReasonMessage") or "",
        running_since=_epoch(body.get("GmtRunningTime")),
        max_running_minutes=body.get("JobMaxRunningTimeMinutes") or max_running_minutes,
        evicted=any((p or {}).get("SubStatus") == "Evicted" for p in pods),
    )


def log_tail(rt: Runtime, job_id: str, *, body_pods: list[str], lines: int = 20) -> list[str]:
    """The last ``lines`` log lines of the job's first pod, for a failure notice ([] if unavailable)."""
    if not body_pods:
        return []
    from alibabacloud_pai_dlc20201203 import models as dlc_models

    try:
        logs = rt.clients.dlc.get_pod_logs(job_id, body_pods[0], dlc_models.GetPodLogsRequest(max_lines=lines)).body.logs
    except Exception as exc:  # a notice without logs beats no notice
        get_logger().warning("pod logs unavailable", job_id=job_id, error=str(exc))
        return []
    return list(logs or [])[-lines:]


def run_view(record: Record) -> RunView:
    d = record.data
    return RunView(
        state=record.state, job_id=d.get("job_id"), status=d.get("status"),
        attempts=int(d.get("attempts", 1)), preemptions=int(d.get("preemptions", 0)), spot=bool(d.get("spot", False)),
    )


def is_open(record: Record | None) -> bool:
    """True while the run's job may still change (reconcile looks at these)."""
    return record is not None and record.state in ACTIVE_RUN_STATES


def get_job(rt: Runtime, job_id: str) -> dict[str, Any]:
    """GetJob as a wire-key dict; SDK errors classified (throttling/5xx → retry)."""
    from alibabacloud_pai_dlc20201203 import models as dlc_models

    try:
        return rt.clients.dlc.get_job(job_id, dlc_models.GetJobRequest()).body.to_map()
    except Exception as exc:
        raise classify_sdk_error(exc, "GetJob") from exc


#: Job ids per ListJobs request of :func:`list_jobs_by_id` (the request's page size).
LIST_PAGE = 100


def list_jobs_by_id(rt: Runtime, job_ids: list[str], *, days: int = 30) -> dict[str, dict[str, Any]]:
    """ListJobs items (wire-key dicts) of ``job_ids``: one request per :data:`LIST_PAGE` ids.

    A job missing from the answer (created more than ``days`` ago — ListJobs filters on creation
    time — or an endpoint that ignores ``JobIds``) is simply absent: the caller reads it with GetJob.
    """
    from alibabacloud_pai_dlc20201203 import models as dlc_models

    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rt.now() - days * 86_400))
    wanted = sorted(set(job_ids))
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(wanted), LIST_PAGE):
        chunk = wanted[i:i + LIST_PAGE]
        query = dlc_models.ListJobsRequest(job_ids=",".join(chunk), page_size=LIST_PAGE, start_time=start,
                                           workspace_id=rt.workspace_id or None, show_own=False)
        try:
            jobs = rt.clients.dlc.list_jobs(query).body.jobs or []
        except Exception as exc:
            raise classify_sdk_error(exc, "ListJobs") from exc
        found.update((j.job_id, j.to_map()) for j in jobs if j.job_id in chunk)
    return found


def advance_listed(rt: Runtime, entity: str, head: Record, item: dict[str, Any] | None) -> dict[str, Any]:
    """:func:`advance_run` for reconcile, from the job's ListJobs ``item``: when the decision on it
    is ``noop`` that is the answer (no GetJob); any other decision is made again on a fresh GetJob
    (pods, full reason) and applied. Without an item, GetJob as usual."""
    pipeline = rt.config.pipelines.get(head.data.get("pipeline", ""))
    if item is None or pipeline is None or not head.data.get("job_id") or head.state == "resubmitting":
        return advance_run(rt, entity, head=head)
    job = job_view(item, max_running_minutes=pipeline.training.max_running_minutes)
    decision = decide_on_job_status(run_view(head), job, RetryPolicy.from_training(pipeline.training), now=rt.now())
    if decision.action != "noop":
        return advance_run(rt, entity, head=head)
    return {"outcome": "noop", "entity": entity, "job_id": job.job_id, "status": job.status, "reason": decision.reason}


def advance_run(
    rt: Runtime, entity: str, *, body: dict[str, Any] | None = None, head: Record | None = None
) -> dict[str, Any]:
    """Bring one run up to date with DLC; returns ``{"outcome": <action>, "reason": …}``.

    ``body`` is a GetJob answer the caller already has (it may be of an earlier attempt's
    job: the decision then changes nothing); otherwise the run's current job is read.
    ``head`` is the run's newest record as the caller read it (reconcile: the active index's
    copy); otherwise it is read from the ledger. A stale ``head`` costs nothing but a refused
    append: the index entry is then repaired from the ledger.
    """
    from . import slots

    log = get_logger(entity=entity)
    latest = head if head is not None else rt.ledger.latest(entity)
    if latest is not None and latest.state == "resubmitting":
        return _resume_resubmit(rt, entity, latest)
    if latest is not None and latest.state == "claimed":
        return _resume_claim(rt, entity, latest)
    if latest is None or not latest.data.get("job_id"):
        return {"outcome": "noop", "entity": entity, "reason": "no job recorded for this run"}
    pipeline = rt.config.pipelines.get(latest.data.get("pipeline", ""))
    if pipeline is None:
        return {"outcome": "noop", "entity": entity, "reason": f"pipeline {latest.data.get('pipeline')!r} is not configured"}
    job_id = latest.data["job_id"]
    body = body if body is not None else get_job(rt, job_id)
    job_id = body.get("JobId", job_id)
    job = job_view(body, max_running_minutes=pipeline.training.max_running_minutes)
    decision = decide_on_job_status(run_view(latest), job, RetryPolicy.from_training(pipeline.training), now=rt.now())
    result = {"outcome": decision.action, "entity": entity, "job_id": job_id, "status": job.status, "reason": decision.reason}
    if decision.action == "noop":
        if latest.state not in slots.ACTIVE_STATES and latest.by == rt.request_id:  # FC's retry of the
            _start_queued(rt, latest.data["pipeline"], result)  # invocation that closed the run: finish its start
        return result
    try:
        pods = [p.get("PodId") for p in body.get("Pods") or [] if p and p.get("PodId")]
        record = _apply(rt, entity, latest, job, decision, result, pods)
    except LedgerConflict:
        slots.index_head(rt.ledger, rt.ledger.latest(entity), entity)  # our head was stale: repair its copy
        result.update(outcome="noop", reason="another invocation advanced this run first")
        return result
    slots.index_head(rt.ledger, record)
    log.info("run advanced", action=decision.action, job_id=job_id, status=job.status, reason=decision.reason)
    if record.state not in slots.ACTIVE_STATES:  # a slot is free: start the next queued run
        _start_queued(rt, latest.data["pipeline"], result)
    event = _NOTIFY.get(decision.action)
    if event:
        details = {"run": entity.rsplit("/", 1)[-1], "job": job_id, "status": job.status, "reason": decision.reason}
        if decision.action == "fail" and result.get("log_tail"):
            details["log tail"] = "\n" + "\n".join(result["log_tail"])
        notify(rt.config.notifications, Notification(event, f"{event.replace('_', ' ')}: {details['run']}", details),
               ledger=rt.ledger, correlation_id=latest.correlation_id or details["run"])
    return result


def _start_queued(rt: Runtime, pipeline: str, result: dict[str, Any]) -> None:
    from .queue import start_next

    started = start_next(rt, pipeline)
    if started:
        result["started_queued_run"] = started


def _resume_claim(rt: Runtime, entity: str, claim: Record) -> dict[str, Any]:
    """A run claimed but never recorded ``submitted`` (its owner crashed, or CreateJob failed):
    submit it when this is the owner's retry or the claim's lease ran out; otherwise leave it."""
    from .queue import start_claimed
    from .submit import take_over_claim

    head = take_over_claim(rt, entity, claim)
    if head is None:
        return {"outcome": "noop", "entity": entity, "reason": f"claimed by {claim.by}, which is submitting it"}
    outcome = start_claimed(rt, head)
    action = "queued" if outcome.outcome == "queued" else "submit"
    return {"outcome": action, "entity": entity, "job_id": outcome.job_id, "reason": f"claim taken over: {outcome.outcome}"}


def _resume_resubmit(rt: Runtime, entity: str, intent: Record) -> dict[str, Any]:
    """A recorded resubmission whose job is not recorded yet: finish it when it is ours (an FC retry
    of the same request) or its owner's lease ran out; otherwise leave it to its owner."""
    from . import slots

    result: dict[str, Any] = {"outcome": "noop", "entity": entity, "job_id": intent.data.get("previous_job_id"),
                              "reason": f"another invocation is resubmitting as {intent.data.get('resubmit_as')}"}
    if intent.by != rt.request_id and rt.now() - intent.at < RESUBMIT_LEASE_S:
        return result
    try:
        record = finish_resubmit(rt, entity, intent, result)
    except LedgerConflict:
        slots.index_head(rt.ledger, rt.ledger.latest(entity), entity)
        return result
    slots.index_head(rt.ledger, record)
    result.update(outcome="resubmit", reason=f"resubmission {intent.data.get('resubmit_as')} finished")
    return result


def _apply(
    rt: Runtime, entity: str, latest: Record, job: JobView, decision: Decision, result: dict[str, Any], pods: list[str]
) -> Record:
    """Apply a decision other than noop; the run's new head record."""
    data = {**latest.data, "status": decision.status or job.status, "reason": decision.reason}
    if decision.action == "fail":
        result["log_tail"] = data["log_tail"] = log_tail(rt, job.job_id, body_pods=pods)
    if job.reason_code:
        data["reason_code"] = job.reason_code
    if decision.action in ("record", "await_model", "fail"):
        state = decision.next_state or {"await_model": "waiting_for_model", "fail": "failed"}.get(decision.action, latest.state)
        return rt.ledger.append(entity, state, data, after=latest, by=rt.request_id)
    if decision.action == "stop":
        try:
            rt.clients.dlc.stop_job(job.job_id)
        except Exception as exc:
            raise classify_sdk_error(exc, "StopJob") from exc
        return rt.ledger.append(entity, decision.next_state or "stopping", data, after=latest, by=rt.request_id)
    # resubmit: record the intent first (the compare-and-set: of two invocations deciding the same
    # resubmission, one goes on), then create the attempt's job under its deterministic name, then record it
    attempt = int(latest.data.get("attempts", 1)) + 1
    resume_from = find_resume_point(rt.clients.bucket(rt.bucket_name), latest.data["checkpoint_uri"]) or ""
    run = entity.rsplit("/", 1)[-1]
    data.update(attempts=attempt, spot=bool(decision.spot), resume_from=resume_from, status=None,
                preemptions=int(latest.data.get("preemptions", 0)) + (1 if decision.preempted else 0),
                previous_job_id=job.job_id, resubmit_as=f"{run}-a{attempt}", resubmit_spot=decision.spot)
    intent = rt.ledger.append(entity, "resubmitting", data, after=latest, by=rt.request_id)
    from . import slots

    slots.index_head(rt.ledger, intent)
    return finish_resubmit(rt, entity, intent, result)


#: A ``resubmitting`` record older than this whose owner never recorded the job is taken over
#: (its owner crashed or gave up); younger, its owner may be creating the job right now.
RESUBMIT_LEASE_S = 120.0


def finish_resubmit(rt: Runtime, entity: str, intent: Record, result: dict[str, Any]) -> Record:
    """Create (or find, by its deterministic display name) the job a ``resubmitting`` record names,
    and record it: the run is ``submitted`` again with the new job."""
    d = intent.data
    dataset = DatasetVersion.from_run_data(d, rt.bucket_name)
    run = entity.rsplit("/", 1)[-1]
    new_job, _existed = ensure_job(rt, dataset, run, since=intent.at, display_name=d["resubmit_as"],
                                   resume_from=d.get("resume_from") or "", spot=d.get("resubmit_spot"))
    record = rt.ledger.append(entity, "submitted", {**d, "job_id": new_job}, after=intent, by=rt.request_id)
    result.update(new_job_id=new_job, resume_from=d.get("resume_from") or "")
    return record

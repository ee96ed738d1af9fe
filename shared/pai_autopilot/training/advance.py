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


def advance_run(rt: Runtime, entity: str, *, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Bring one run up to date with DLC; returns ``{"outcome": <action>, "reason": …}``.

    ``body`` is a GetJob answer the caller already has (it may be of an earlier attempt's
    job: the decision then changes nothing); otherwise the run's current job is read.
    """
    log = get_logger(entity=entity)
    latest = rt.ledger.latest(entity)
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
        return result
    try:
        pods = [p.get("PodId") for p in body.get("Pods") or [] if p and p.get("PodId")]
        _apply(rt, entity, latest, job, decision, result, pods)
    except LedgerConflict:
        result.update(outcome="noop", reason="another invocation advanced this run first")
        return result
    log.info("run advanced", action=decision.action, job_id=job_id, status=job.status, reason=decision.reason)
    if decision.action in ("await_model", "fail"):  # a slot is free: start the next queued run
        from .queue import start_next
        from .slots import clear_active

        clear_active(rt.ledger, latest.data["pipeline"], entity.rsplit("/", 1)[-1])
        started = start_next(rt, latest.data["pipeline"])
        if started:
            result["started_queued_run"] = started
    event = _NOTIFY.get(decision.action)
    if event:
        details = {"run": entity.rsplit("/", 1)[-1], "job": job_id, "status": job.status, "reason": decision.reason}
        if decision.action == "fail" and result.get("log_tail"):
            details["log tail"] = "\n" + "\n".join(result["log_tail"])
        notify(rt.config.notifications, Notification(event, f"{event.replace('_', ' ')}: {details['run']}", details),
               ledger=rt.ledger, correlation_id=latest.correlation_id or details["run"])
    return result


def _apply(
    rt: Runtime, entity: str, latest: Record, job: JobView, decision: Decision, result: dict[str, Any], pods: list[str]
) -> None:
    data = {**latest.data, "status": decision.status or job.status, "reason": decision.reason}
    if decision.action == "fail":
        result["log_tail"] = data["log_tail"] = log_tail(rt, job.job_id, body_pods=pods)
    if job.reason_code:
        data["reason_code"] = job.reason_code
    if decision.action in ("record", "await_model", "fail"):
        state = decision.next_state or {"await_model": "waiting_for_model", "fail": "failed"}.get(decision.action, latest.state)
        rt.ledger.append(entity, state, data, after=latest, by=rt.request_id)
        return
    if decision.action == "stop":
        try:
            rt.clients.dlc.stop_job(job.job_id)
        except Exception as exc:
            raise classify_sdk_error(exc, "StopJob") from exc
        rt.ledger.append(entity, decision.next_state or "stopping", data, after=latest, by=rt.request_id)
        return
    # resubmit
    attempt = int(latest.data.get("attempts", 1)) + 1
    dataset = DatasetVersion.from_run_data(latest.data, rt.bucket_name)
    resume_from = find_resume_point(rt.clients.bucket(rt.bucket_name), latest.data["checkpoint_uri"]) or ""
    run = entity.rsplit("/", 1)[-1]
    new_job, _existed = ensure_job(
        rt, dataset, run, since=latest.at, display_name=f"{run}-a{attempt}", resume_from=resume_from, spot=decision.spot,
    )
    data.update(job_id=new_job, attempts=attempt, spot=bool(decision.spot), resume_from=resume_from, status=None,
                preemptions=int(latest.data.get("preemptions", 0)) + (1 if decision.preempted else 0),
                previous_job_id=job.job_id)
    rt.ledger.append(entity, decision.next_state or "submitted", data, after=latest, by=rt.request_id)
    result.update(new_job_id=new_job, resume_from=resume_from)

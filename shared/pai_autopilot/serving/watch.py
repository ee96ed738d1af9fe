"""The serving pass of the ``reconcile`` timer: first versions still deploying, and the queues.

One LIST of ``index/serving/`` finds every open item (:mod:`.index`); with nothing deploying or
queued the pass costs that one request and builds no EAS client. For each version deploying, a
DescribeService (never a sleep inside an invocation):

* ``Running`` → CreateServiceAutoScaler (asymmetric windows), record it as the pipeline's stable,
  model ``serving``, run ``served``, notify — each step idempotent, so a crash midway is redone;
* ``Failed``/``Stopped`` → the reason from DescribeServiceEvent, recorded as ``failed`` and notified
  once (the index entry goes with it: no retry storm);
* the service missing (a crash between the ledger append and CreateService) → created now;
* otherwise (``Creating``, ``Waiting``…) → nothing until the next tick.

Then each pipeline with versions queued gets :func:`~.queue.start_queued`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ..errors import AutopilotError
from ..ledger import LedgerConflict
from ..log import bind, get_logger
from ..notify import Notification, notify
from ..runtime import Runtime
from . import eas, index
from .runs import mark_run
from .service_config import autoscaler_body
from .stable import read_stable, record_stable
from .versions import version_of

FAILED_STATUSES = frozenset({"Failed", "Stopped", "DeleteFailed"})


def open_work(rt: Runtime) -> tuple[list[tuple[str, str]], list[str]]:
    """(versions deploying, pipelines with a queue) from ONE listing of ``index/serving/``."""
    root = f"{rt.ledger.prefix}index/serving/"
    deploying, queued = [], set()
    for key in rt.ledger.store.list_keys(root):
        kind, _, rest = key[len(root):].partition("/")
        pipeline, _, item = rest.partition("/")
        if kind == "deploying" and item:
            deploying.append((pipeline, item))
        elif kind == "queued" and item:
            queued.add(pipeline)
    return deploying, sorted(queued)


def serving_pass(rt: Runtime) -> dict[str, Any]:
    """One reconcile tick's serving work; per-item errors are logged and retried next tick."""
    log = get_logger()
    deploying, queued = open_work(rt)
    results = []
    for pipeline, model in deploying:
        bind(correlation_id=model)
        try:
            results.append(check_deploying(rt, pipeline, model))
        except AutopilotError as exc:
            log.warning("serving check failed; next tick retries", model=model, error=str(exc))
            results.append({"outcome": "error", "model": model, "reason": str(exc)})
    started = []
    for pipeline in queued:  # a first version that just became Running frees its pipeline's queue
        if pipeline not in rt.config.pipelines or rt.config.pipelines[pipeline].serving is None:
            continue
        try:
            outcome = _start(rt, pipeline)
        except AutopilotError as exc:
            log.warning("queued version not started; next tick retries", pipeline=pipeline, error=str(exc))
            continue
        if outcome:
            started.append(outcome)
    return {"deploying": len(deploying), "records": results, "started_queued": started}


def _start(rt: Runtime, pipeline: str) -> dict[str, Any] | None:
    from .queue import start_queued

    return start_queued(rt, pipeline)


def check_deploying(rt: Runtime, pipeline: str, model: str) -> dict[str, Any]:
    """Bring one first version up to date with DescribeService (see the module doc)."""
    entity = f"models/{pipeline}/{model}"
    head = rt.ledger.latest(entity)
    if head is None or head.state != "deploying" or pipeline not in rt.config.pipelines:
        index.clear_deploying(rt.ledger, pipeline, model)
        return {"outcome": "noop", "model": model, "reason": f"no longer deploying ({head.state if head else 'no record'})"}
    name = head.data["service"]
    svc = eas.describe_service(rt, name)
    if svc is None:
        from .deploy import _config, labels

        mv = version_of(rt.config, pipeline, head.data["version"], rt.bucket_name)
        eas.ensure_service(rt, _config(rt, mv), labels=labels(mv))
        return {"outcome": "created", "model": model, "service": name, "reason": "the service was missing: created"}
    status = svc.get("Status") or ""
    if status == "Running":
        return _running(rt, pipeline, model, head, svc)
    if status in FAILED_STATUSES:
        reason = eas.failure_reason(rt, name, svc)
        try:
            rt.ledger.append(entity, "failed", {**head.data, "status": status, "reason": reason}, after=head, by=rt.request_id)
        except LedgerConflict:
            return {"outcome": "noop", "model": model, "reason": "another tick recorded it"}
        index.clear_deploying(rt.ledger, pipeline, model)
        get_logger(correlation_id=model).warning("service failed to start", service=name, reason=reason)
        notify(rt.config.notifications, Notification("service_failed", f"service failed: {name}",
                                                     {"version": head.data["version"], "status": status, "reason": reason}),
               ledger=rt.ledger, correlation_id=model)  # listed on the version's timeline (issue 13)
        return {"outcome": "failed", "model": model, "service": name, "reason": reason}
    return {"outcome": "noop", "model": model, "service": name, "status": status, "reason": f"service is {status}"}


def _running(rt: Runtime, pipeline: str, model: str, head: Any, svc: dict[str, Any]) -> dict[str, Any]:
    spec = rt.config.pipelines[pipeline].serving
    name, version = head.data["service"], head.data["version"]
    if spec is not None and spec.autoscaler is not None:
        eas.ensure_autoscaler(rt, name, autoscaler_body(spec.autoscaler))
    current = read_stable(rt.ledger, pipeline)
    if current is None or current.version != version:
        with contextlib.suppress(LedgerConflict):  # LedgerConflict: another tick recorded it
            record_stable(rt.ledger, pipeline, version=version, service=name, reason="first version Running",
                          metrics=head.data.get("metrics") or {}, correlation_id=model, by=rt.request_id,
                          extra={"group": head.data.get("group")})
    reason = f"service {name} Running with {svc.get('RunningInstance')} instance(s); stable version of {pipeline}"
    try:
        rt.ledger.append(f"models/{pipeline}/{model}", "serving", {**head.data, "status": "Running", "reason": reason},
                         after=head, by=rt.request_id)
    except LedgerConflict:
        return {"outcome": "noop", "model": model, "reason": "another tick recorded it"}
    index.clear_deploying(rt.ledger, pipeline, model)
    if head.data.get("run_id"):
        mark_run(rt, pipeline, head.data["run_id"], "served", {"service": name, "served_version": version}, reason=reason)
    get_logger(correlation_id=model).info("service running", service=name)
    notify(rt.config.notifications, Notification("service_running", f"service running: {name}",
                                                 {"version": version, "group": head.data.get("group"), "reason": reason}),
           ledger=rt.ledger, correlation_id=model)  # listed on the version's timeline (issue 13)
    return {"outcome": "serving", "model": model, "service": name, "reason": reason}

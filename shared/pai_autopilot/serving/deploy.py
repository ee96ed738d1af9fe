"""Landing a model version, once: claim it, check it, then serve it as the first version or as a
zero-traffic canary (DESIGN.md §2: parse → decide with a reason → apply once → record).

The model's ledger entity ``models/<pipeline>/<model id>`` (see :mod:`.versions`) is the
idempotency key of (pipeline, version). Its states:

=====================  ===================================================================
``claimed``            record 0: the version, its service name, its run; being decided
``deploying``          first version: CreateService done, waiting for Running (reconcile)
``serving``            first version Running: autoscaler created, recorded as the stable
``canary``             later version: its service exists at weight 0, a rollout is open
``queued``             waiting for the pipeline's rollout (or first deploy) to finish
``rejected``           empty model, bad manifest or unreadable metrics.json
``evaluation_failed``  metrics.json not better than the stable's (both values recorded)
``refused``            over serving.max_instances (the numbers recorded)
``failed``             the service failed to start (DescribeServiceEvent's reason)
``superseded``         its canary was rolled back for a newer version
``promoted``           its rollout promoted it: it is the pipeline's stable (``rollout/apply.py``)
``rolled_back``        its rollout was rolled back or aborted (the rollout's reason)
=====================  ===================================================================

A repeated or reordered event finds the claim and changes nothing; a retry of the invocation
that claimed it (same request id), or any invocation once the claim is older than the lease,
resumes it — and DescribeService before CreateService keeps that to one service.
Likewise the retry of the invocation that recorded ``deploying`` indexes the version and creates its
service, which that invocation may have died before doing (nothing else would: the index is how
reconcile finds it).
"""

from __future__ import annotations

from typing import Any, Literal

from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..notify import Notification, notify
from ..rollout.state import RolloutSpec, ensure_indexed, open_rollout, open_rollout_of, rollout_id
from ..runtime import Runtime
from . import eas, index
from .gates import check_capacity, decide_on_open_rollout, evaluate
from .inspect import inspect_model
from .runs import mark_run
from .service_config import service_config
from .stable import read_stable
from .versions import ModelVersion

RESUMABLE = frozenset({"claimed"})
#: Recorded before the steps that follow it (index entry, CreateService): the retry of the invocation
#: that recorded it (same request id) finishes those steps; nobody else does (reconcile watches it).
FINISHED_BY_ITS_RETRY = frozenset({"deploying"})
Resume = Literal["new", "resume", "duplicate"]


def decide_on_claim(latest: Record | None, *, now: float, lease_seconds: int, request_id: str | None) -> tuple[Resume, str]:
    """What an invocation does when the version's claim exists already (pure).

    >>> r = Record(entity="models/demo/x", seq=0, state="claimed", at=0.0, by="r1")
    >>> decide_on_claim(r, now=5.0, lease_seconds=900, request_id="r1")
    ('resume', 'a retry of the invocation that claimed the version')
    >>> decide_on_claim(r, now=5.0, lease_seconds=900, request_id="r2")
    ('duplicate', 'claimed 5s ago by r1, which is deploying it')
    >>> decide_on_claim(r, now=901.0, lease_seconds=900, request_id="r2")[0]
    'resume'
    >>> decide_on_claim(Record(entity="m", seq=2, state="canary", at=0.0), now=1.0, lease_seconds=900, request_id="r2")
    ('duplicate', 'version already canary')
    >>> decide_on_claim(Record(entity="m", seq=1, state="deploying", at=0.0, by="r1"), now=1.0, lease_seconds=900, request_id="r1")
    ('resume', 'a retry of the invocation that recorded deploying: it may have died before CreateService')
    """
    if latest is None:
        return "duplicate", "the claim exists but is not listed yet"
    if latest.state in FINISHED_BY_ITS_RETRY and request_id and latest.by == request_id:
        return "resume", f"a retry of the invocation that recorded {latest.state}: it may have died before CreateService"
    if latest.state not in RESUMABLE:
        return "duplicate", f"version already {latest.state}"
    if request_id and latest.by == request_id:
        return "resume", "a retry of the invocation that claimed the version"
    age = now - latest.at
    if age >= lease_seconds:
        return "resume", f"claim by {latest.by} is {age:.0f}s old (lease {lease_seconds}s): its owner stopped"
    return "duplicate", f"claimed {age:.0f}s ago by {latest.by}, which is deploying it"


def _result(outcome: str, mv: ModelVersion, reason: str, **extra: Any) -> dict[str, Any]:
    return {"outcome": outcome, "pipeline": mv.pipeline, "version": mv.version, "service": mv.service,
            "reason": reason, **extra}


def land_model(rt: Runtime, mv: ModelVersion, *, by_hand: bool = False) -> dict[str, Any]:
    """Claim the version and take it as far as one invocation can (see the module doc)."""
    run_known = rt.ledger.latest(f"runs/{mv.pipeline}/{mv.run_id}") is not None
    data = {"pipeline": mv.pipeline, "version": mv.version, "model_uri": mv.model_uri, "marker_key": mv.marker_key,
            "service": mv.service, "group": mv.group, "run_id": mv.run_id if run_known else None,
            "hand_uploaded": not run_known, **({"deployed_by_hand": True} if by_hand else {})}
    try:
        head = rt.ledger.claim(mv.entity, "claimed", data, correlation_id=mv.run_id, by=rt.request_id)
    except LedgerConflict:
        latest = rt.ledger.latest(mv.entity)
        action, reason = decide_on_claim(latest, now=rt.now(), lease_seconds=rt.settings.lease_seconds,
                                         request_id=rt.request_id)
        if action == "duplicate" or latest is None:
            if latest is not None and latest.state == "queued":  # the first try may have died before indexing it
                index.mark_queued(rt.ledger, mv.pipeline, mv.run_id, float(latest.data.get("queued_at", latest.at)))
            return _result("duplicate", mv, reason)
        head = latest
    if run_known:
        mark_run(rt, mv.pipeline, mv.run_id, "model_ready", {"model_uri": mv.model_uri, "service": mv.service})
    if head.state == "deploying":  # recorded by our own request (decide_on_claim)
        return finish_first(rt, mv, head)
    return proceed(rt, mv, head)


def finish_first(rt: Runtime, mv: ModelVersion, head: Record) -> dict[str, Any]:
    """A ``deploying`` head our own request recorded (FC's retry, or the same CLI user deploying again):
    its service exists → the first try got that far (its index entry is written before) and reconcile
    finishes it, a duplicate; otherwise the first try died before CreateService → :func:`create_first`."""
    if eas.describe_service(rt, mv.service) is not None:
        return _result("duplicate", mv, "version already deploying (its service exists)")
    return create_first(rt, mv, str(head.data.get("reason") or ""))


def _settle(rt: Runtime, mv: ModelVersion, head: Record, state: str, reason: str, event: str, **data: Any) -> dict[str, Any]:
    """Record a final decision once and notify it (a lost CAS means someone else recorded it)."""
    try:
        rt.ledger.append(mv.entity, state, {**head.data, **data, "reason": reason}, after=head, by=rt.request_id)
    except LedgerConflict:
        return _result("duplicate", mv, "another invocation recorded this version first")
    log = get_logger(correlation_id=mv.run_id)
    (log.info if state in ("canary", "queued") else log.warning)(f"model {state}", reason=reason)
    notify(rt.config.notifications, Notification(event, f"{event.replace('_', ' ')}: {mv.pipeline} {mv.version}",
                                                 {"version": mv.version, "reason": reason}),
           ledger=rt.ledger, correlation_id=mv.run_id)  # listed on the version's timeline (issue 13)
    return _result(state, mv, reason, **data)


def proceed(rt: Runtime, mv: ModelVersion, head: Record) -> dict[str, Any]:
    """From a ``claimed`` head: check the version, then deploy it first, queue it or make it a canary."""
    check = inspect_model(rt, mv)
    if check.rejected:
        return _settle(rt, mv, head, "rejected", "; ".join(check.reasons), "model_rejected", reasons=list(check.reasons))
    metrics = check.metrics or {}
    stable = read_stable(rt.ledger, mv.pipeline)
    if stable is None:
        from .first import hold

        def model_state(model: str) -> str | None:
            latest = rt.ledger.latest(f"models/{mv.pipeline}/{model}")
            return latest.state if latest else None

        verdict, holder = hold(rt.ledger, mv.pipeline, mv.run_id, model_state=model_state, by=rt.request_id)
        if verdict == "mine":
            return deploy_first(rt, mv, head, metrics)
        stable = read_stable(rt.ledger, mv.pipeline) if verdict == "stable" else None
        if stable is None:
            return enqueue(rt, mv, head, f"first version {holder} is still deploying", metrics)
    from .queue import supersede

    action, reason = decide_on_open_rollout(open_rollout_of(rt.ledger, mv.pipeline), rollout_id(mv.pipeline, mv.version),
                                            rt.config.pipelines[mv.pipeline].serving.on_newer_version)  # type: ignore[union-attr]
    if action == "queue":
        return enqueue(rt, mv, head, reason, metrics)
    if action == "supersede":
        supersede(rt, mv.pipeline, by_version=mv.version)
    return deploy_canary(rt, mv, head, metrics, stable)


def enqueue(rt: Runtime, mv: ModelVersion, head: Record, reason: str, metrics: dict[str, float]) -> dict[str, Any]:
    """Record the version ``queued`` and index it (at its head's time, so a retry that finds the record
    writes the same entry: see :func:`land_model`)."""
    outcome = _settle(rt, mv, head, "queued", f"{reason}: queued", "model_queued", metrics=metrics, queued_at=head.at)
    if outcome["outcome"] == "queued":
        index.mark_queued(rt.ledger, mv.pipeline, mv.run_id, head.at)
    return outcome


def _config(rt: Runtime, mv: ModelVersion) -> dict[str, Any]:
    spec = rt.config.pipelines[mv.pipeline].serving
    assert spec is not None
    return service_config(spec, service=mv.service, pipeline=mv.pipeline, version=mv.version, model_uri=mv.model_uri,
                          workspace_id=rt.workspace_id)


def labels(mv: ModelVersion) -> dict[str, str]:
    """Labels on every service we create (find ours with ListServices ``Label``)."""
    return {"autopilot-pipeline": mv.pipeline, "autopilot-version": mv.version[:64], "autopilot-model": mv.run_id}


def deploy_first(rt: Runtime, mv: ModelVersion, head: Record, metrics: dict[str, float]) -> dict[str, Any]:
    """Record ``deploying`` first, then :func:`create_first`: the reconcile pass finishes it."""
    reason = f"first version of {mv.pipeline}: service {mv.service} in group {mv.group}"
    try:
        rt.ledger.append(mv.entity, "deploying", {**head.data, "metrics": metrics, "reason": reason}, after=head, by=rt.request_id)
    except LedgerConflict:
        return _result("duplicate", mv, "another invocation is deploying this version")
    return create_first(rt, mv, reason)


def create_first(rt: Runtime, mv: ModelVersion, reason: str) -> dict[str, Any]:
    """Index a version recorded ``deploying`` and create its service (DescribeService first, so a retry
    after a crash creates none twice); notify. Its own retry runs this again (see :func:`land_model`)."""
    index.mark_deploying(rt.ledger, mv.pipeline, mv.run_id)
    svc, created = eas.ensure_service(rt, _config(rt, mv), labels=labels(mv))
    get_logger(correlation_id=mv.run_id).info("service created" if created else "service found", service=mv.service)
    notify(rt.config.notifications, Notification("service_creating", f"service creating: {mv.service}",
                                                 {"version": mv.version, "group": mv.group, "reason": reason}),
           ledger=rt.ledger, correlation_id=mv.run_id)  # listed on the version's timeline (issue 13)
    return _result("deploying", mv, reason, status=svc.get("Status"), created=created)


def _group_capacity(rt: Runtime, spec: Any) -> Any:
    """The canary's resources against the dedicated resource group's free capacity (DescribeResource)."""
    from .gates import check_group_capacity

    r = eas.describe_resource(rt, spec.resource_group)
    n = spec.instances
    need = {"cpu": (spec.cpu or 0) * n, "memory": (spec.memory or 0) * n, "gpu": (spec.gpu or 0) * n}
    total = {"cpu": int(r.get("CpuCount") or 0), "memory": int(r.get("Memory") or 0), "gpu": int(r.get("GpuCount") or 0)}
    used = {"cpu": int(r.get("CpuUsed") or 0), "memory": int(r.get("MemoryUsed") or 0), "gpu": int(r.get("GpuUsed") or 0)}
    return check_group_capacity(need=need, total=total, used=used, group=spec.resource_group)


def deploy_canary(rt: Runtime, mv: ModelVersion, head: Record, metrics: dict[str, float], stable: Any) -> dict[str, Any]:
    """Evaluation gate → capacity gates (max_instances; a dedicated group's free cpu/memory/gpu) →
    CreateService at weight 0 → rollout record."""
    spec = rt.config.pipelines[mv.pipeline].serving
    assert spec is not None
    gate_values: dict[str, Any] = {"metrics": metrics}
    if spec.evaluation is not None:
        verdict = evaluate(metrics if metrics else None, stable.metrics, spec.evaluation)
        gate_values["evaluation"] = {"passed": verdict.passed, "reason": verdict.reason, **verdict.values}
        if not verdict.passed:
            return _settle(rt, mv, head, "evaluation_failed", verdict.reason, "evaluation_failed", **gate_values)
    current = eas.describe_service(rt, stable.service) or {}
    stable_instances = int(current.get("TotalInstance") or 0) or spec.instances
    capacity = check_capacity(canary=spec.instances, stable=stable_instances, limit=spec.max_instances)
    gate_values["capacity"] = {"passed": capacity.passed, "reason": capacity.reason, **capacity.values}
    if not capacity.passed:
        return _settle(rt, mv, head, "refused", capacity.reason, "capacity_refused", **gate_values)
    if spec.resource_group:
        group = _group_capacity(rt, spec)
        gate_values["resource_group"] = {"passed": group.passed, "reason": group.reason, **group.values}
        if not group.passed:
            return _settle(rt, mv, head, "refused", group.reason, "capacity_refused", **gate_values)
    svc, created = eas.ensure_service(rt, _config(rt, mv), labels=labels(mv))
    if created or svc.get("Weight") != 0:  # a resumed invocation may have set it already
        eas.release(rt, mv.service, 0)  # no traffic until the rollout controller gives it some
    spec_r = RolloutSpec(pipeline=mv.pipeline, version=mv.version, group=mv.group, canary_service=mv.service,
                         stable_service=stable.service, stable_version=stable.version, run_id=head.data.get("run_id"),
                         model_uri=mv.model_uri)
    try:
        open_rollout(rt.ledger, spec_r, correlation_id=mv.run_id, by=rt.request_id)
    except LedgerConflict:  # opened by the invocation we are resuming, which may have died before indexing it
        ensure_indexed(rt.ledger, mv.pipeline, rollout_id(mv.pipeline, mv.version))
    reason = f"canary {mv.service} at weight 0 in group {mv.group} beside stable {stable.service}"
    outcome = _settle(rt, mv, head, "canary", reason, "canary_created", rollout_id=rollout_id(mv.pipeline, mv.version),
                      created=created, **gate_values)
    _kick_canary(rt, mv.pipeline, rollout_id(mv.pipeline, mv.version))
    return outcome


def _kick_canary(rt: Runtime, pipeline: str, rollout: str) -> None:
    """Start the canary controller now (FC 3.0 InvokeFunction, async) so the first step follows the
    canary's readiness instead of the next timer (issue 12). Best effort: the timer covers a lost kick."""
    from ..errors import AutopilotError
    from ..rollout.handlers import kick

    try:
        kick(rt, pipeline, rollout)
    except AutopilotError as exc:
        get_logger(correlation_id=rollout).warning("canary kick failed: the timer takes the first step", error=str(exc))

"""The route handlers: read the request, call one library function, shape the answer.

Libraries other packages own (rollout control, the alarm entry point, notebook snoozes) are imported
inside the handler that needs them; when one is absent the route answers ``501 not_available``.
Destructive commands (``abort``, ``rollback`` — the rollout library's own list — and a forced retrain)
require a ``reason``; every command records who acted (``webhook:<key id>``).

Example
-------
>>> sorted(HANDLERS)
['cms_alarm', 'retrain', 'rollout', 'run', 'snooze', 'snooze_link', 'status', 'timeline']
>>> body_fields(b'{"pipeline": "demo", "force": true}', str_fields=("pipeline",), bool_fields=("force",))
{'pipeline': 'demo', 'force': True}
>>> body_fields(b'[1]')
Traceback (most recent call last):
...
pai_autopilot.ops.errors.BadRequest: the body must be a JSON object, got list
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import EventParseError, InvalidInputError
from . import responses
from .errors import BadRequest, NotAvailable, NotFound
from .webhook import Call

#: Rollout commands that undo a release: a reason is required (as ``rollout.control`` requires it, so the
#: webhook and the CLI agree; checked here too so the answer is the same before that library is deployed).
DESTRUCTIVE_ACTIONS = frozenset({"abort", "rollback"})
MAX_REASON_LENGTH = 500


def body_fields(
    body: bytes, *, str_fields: tuple[str, ...] = (), bool_fields: tuple[str, ...] = (), number_fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The body's JSON object, its known fields type-checked (an empty body is ``{}``)."""
    if not body.strip():
        return {}
    import msgspec

    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc}); send a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object, got {type(data).__name__}")
    checks = [(str_fields, str, "a string"), (bool_fields, bool, "true or false")]
    for names, kind, what in checks:
        for name in names:
            if name in data and data[name] is not None and not isinstance(data[name], kind):
                raise InvalidInputError(f"'{name}' must be {what}, got {type(data[name]).__name__}")
    for name in number_fields:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidInputError(f"'{name}' must be a number, got {type(value).__name__}")
    return data


def _reason(data: dict[str, Any], *, required: bool, what: str) -> str | None:
    reason = (data.get("reason") or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInputError(f"'reason' is {len(reason)} characters; keep it under {MAX_REASON_LENGTH}")
    if required and not reason:
        raise InvalidInputError(f"'reason' is required for {what}: say why, it goes into the audit trail")
    return reason or None


def _library(module: str, attribute: str, route: str) -> Any:
    """A function of a library that may not be deployed (→ 501 not_available)."""
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        raise NotAvailable(f"{route} is not available in this deployment ({module}.{attribute} is missing)") from None


def _pipeline(call: Call, name: str) -> None:
    if name not in call.rt.config.pipelines:
        known = ", ".join(sorted(call.rt.config.pipelines)) or "(none)"
        raise NotFound(f"no pipeline {name!r}; known: {known}")


def retrain(call: Call) -> dict[str, Any]:
    """``POST /v1/retrain`` ``{"pipeline", "version", "force"?, "reason"?}``."""
    from .retrain import MarkerMissing, retrain_version

    data = body_fields(call.request.body, str_fields=("pipeline", "version", "reason"), bool_fields=("force",))
    for name in ("pipeline", "version"):
        if not data.get(name):
            raise InvalidInputError(f"'{name}' is required: send {{\"pipeline\": …, \"version\": …}}")
    force = bool(data.get("force"))
    reason = _reason(data, required=force, what="a forced retrain")
    try:
        result = retrain_version(call.rt, data["pipeline"], data["version"], actor=call.actor, force=force, reason=reason)
    except MarkerMissing as exc:
        raise InvalidInputError(f"{exc} (write the marker, or send force: true with a reason)") from None
    status = {"submitted": 202, "queued": 202, "rejected": 422}.get(result.get("outcome", ""), 200)
    if status == 422:
        return responses.error(422, "invalid", f"version {data['version']!r} rejected: {result.get('reason', '')}")
    return responses.ok(result, status)


def rollout(call: Call) -> dict[str, Any]:
    """``POST /v1/rollouts/{pipeline}/{action}`` ``{"reason"?}`` (required for abort and rollback)."""
    pipeline, action = call.params["pipeline"], call.params["action"]
    data = body_fields(call.request.body, str_fields=("reason",))
    reason = _reason(data, required=action in DESTRUCTIVE_ACTIONS, what=action)
    apply_command = _library("pai_autopilot.rollout.control", "apply_command", f"POST /v1/rollouts/{{pipeline}}/{action}")
    _pipeline(call, pipeline)
    return responses.ok(apply_command(call.rt, pipeline, action, actor=call.actor, reason=reason))


def status(call: Call) -> dict[str, Any]:
    """``GET /v1/status``: the one-screen answer of ``pai-autopilot status --json``."""
    from .status import status_view

    return responses.ok(status_view(call.rt))


def run(call: Call) -> dict[str, Any]:
    """``GET /v1/runs/{run_id}``: the run's summary and its timeline, as ``run show --json``."""
    from ..training.history import find_run, summarize, timeline

    run_id = call.params["run_id"]
    entity = find_run(call.rt.ledger, run_id)
    records = call.rt.ledger.history(entity) if entity else []
    if not records:
        raise NotFound(f"no run {run_id!r}; list them with `pai-autopilot runs`")
    return responses.ok({"run": summarize(records).as_dict(), "timeline": [r.as_dict() for r in timeline(records)]})


def timeline(call: Call) -> dict[str, Any]:
    """``GET /v1/timeline/{pipeline}/{version}``: JSON, or the HTML page for ``Accept: text/html``."""
    from .timeline import gather

    pipeline, version = call.params["pipeline"], call.params["version"]
    _pipeline(call, pipeline)
    found = gather(call.rt, pipeline, version)
    if not found.events:
        raise NotFound(f"nothing recorded for {pipeline} version {version!r} (correlation id {found.correlation_id})")
    if "text/html" in (call.request.header("accept") or ""):
        from .timeline_html import render_html

        return responses.html(render_html(found))
    return responses.ok(found.as_dict())


def cms_alarm(call: Call) -> dict[str, Any]:
    """``POST /v1/alerts/cms``: CloudMonitor's form callback, handled as the ``alarm`` function handles it."""
    from ..events import cms_alarm as parse_alarm

    try:
        alarm = parse_alarm(call.request)
    except EventParseError as exc:
        raise InvalidInputError(f"not a CloudMonitor alarm callback: {exc}") from None
    handle_alarm = _library("pai_autopilot.rollout.alarms", "handle_alarm", "POST /v1/alerts/cms")
    # the one call site of the alarm function's library entry point (issue 12): act on the parsed alarm
    return responses.ok(handle_alarm(call.rt, alarm))


def snooze(call: Call) -> dict[str, Any]:
    """``POST /v1/notebooks/{instance}/snooze`` ``{"hours", "reason"?}``."""
    data = body_fields(call.request.body, str_fields=("reason",), number_fields=("hours",))
    if data.get("hours") is None:
        raise InvalidInputError("'hours' is required: how long the notebook is kept alive, e.g. {\"hours\": 4}")
    snooze_instance = _library("pai_autopilot.notebooks.snooze", "snooze_instance", "POST /v1/notebooks/{instance}/snooze")
    result = snooze_instance(call.rt, call.params["instance"], float(data["hours"]), actor=call.actor,
                             reason=_reason(data, required=False, what="a snooze"))
    return responses.ok(result)


def snooze_link(call: Call) -> dict[str, Any]:
    """``GET /v1/notebooks/{instance}/snooze?hours=…&exp=…&kid=…&sig=…``: the link in the warning notification."""
    from .keys import actor_of

    verify_query = _library("pai_autopilot.notebooks.links", "verify_snooze_query", "GET /v1/notebooks/{instance}/snooze")
    snooze_instance = _library("pai_autopilot.notebooks.snooze", "snooze_instance", "GET /v1/notebooks/{instance}/snooze")
    instance, query = call.params["instance"], call.request.query
    key_id = query.get("kid", "")
    if key_id not in call.keys:
        from .signature import SignatureRejected

        raise SignatureRejected("bad_signature", f"unknown key id {key_id[:64]!r} in the link's kid")
    try:
        hours = verify_query(instance, query, secret=call.keys[key_id].reveal(), now=call.now)
    except InvalidInputError as exc:  # a forged, altered or expired link
        from .signature import SignatureRejected

        raise SignatureRejected("bad_signature", str(exc)) from None
    call.key_id, call.actor = key_id, actor_of(key_id)
    return responses.ok(snooze_instance(call.rt, instance, hours, actor=f"link:{key_id}", reason="snooze link in the warning"))


HANDLERS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "retrain": retrain, "rollout": rollout, "status": status, "run": run, "timeline": timeline,
    "cms_alarm": cms_alarm, "snooze": snooze, "snooze_link": snooze_link,
}

"""The use cases behind the thin ``canary`` and ``alarm`` functions (FC event → runtime → result).

* :func:`on_canary` — a timer tick, or the kick ``model_landed`` sends right after opening a
  rollout (a timer-shaped event, :func:`kick_event`), runs one :func:`~.tick.run_tick`.
* :func:`on_alarm` — a CloudMonitor alarm: an EventBridge CloudEvent (single or batch) on the
  default bus, or the form-encoded callback through the HTTP trigger (``?kid=…&token=…``: the token
  derived from the webhook secret, the same the webhook's ``/v1/alerts/cms`` takes, see
  :mod:`pai_autopilot.ops.callback`). HTTP answers are FC HTTP responses.
* :func:`kick` — InvokeFunction (async, FC 3.0) of the canary function, through ``rt.clients.fc``,
  with ``x-fc-async-task-id`` = the rollout id (one kick per rollout, however often called).

Example
-------
>>> import json
>>> json.loads(kick_event("demo", "ro-demo-v2-de6f5759", now=0.0))["triggerName"]
'kick'
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..config import load_config
from ..errors import EventParseError, InvalidInputError, SettingsError, classify_sdk_error
from ..events import CloudEvent, CloudEventBatch, HttpRequest, TimerEvent, parse_event
from ..events.alarm import CmsAlarm, cms_alarm
from ..log import bind, get_logger
from ..settings import Settings, current_settings

KICK_TRIGGER = "kick"


def runtime(context: Any, settings: Settings | None = None, credentials: Any = None) -> Any:
    """The invocation's :class:`~pai_autopilot.runtime.Runtime` (configuration read per invocation)."""
    from ..clients import Credentials
    from ..runtime import Runtime

    settings = settings or current_settings()
    creds = credentials or Credentials.from_env(context=context)
    return Runtime(settings, load_config(settings.config_path), creds, request_id=getattr(context, "request_id", None),
                   now=lambda: time.time())  # read at call time (an emulator may move the clock)


def kick_event(pipeline: str, rollout: str, *, now: float | None = None) -> bytes:
    """The event of a kick: a timer event whose trigger is ``kick`` and whose payload names the rollout."""
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))
    return json.dumps({"triggerTime": at, "triggerName": KICK_TRIGGER,
                       "payload": json.dumps({"pipeline": pipeline, "rollout_id": rollout})}).encode()


def kick(rt: Any, pipeline: str, rollout: str) -> str:
    """Invoke the canary function asynchronously now (FC 3.0 InvokeFunction); the FC request id.

    ``x-fc-async-task-id`` is ``kick-<rollout id>``: one kick per rollout however often this runs.
    """
    from alibabacloud_fc20230330 import models
    from darabonba.runtime import RuntimeOptions

    headers = models.InvokeFunctionHeaders(x_fc_invocation_type="Async", x_fc_async_task_id=f"kick-{rollout}")
    request = models.InvokeFunctionRequest(body=kick_event(pipeline, rollout, now=rt.now()), qualifier="LATEST")
    try:
        response = rt.clients.fc.invoke_function_with_options(rt.settings.canary_function, request, headers, RuntimeOptions())
    except Exception as exc:
        raise classify_sdk_error(exc, f"InvokeFunction {rt.settings.canary_function}") from exc
    return str((response.headers or {}).get("x-fc-request-id", ""))


KICK_POLL_SECONDS = 2.0


def _kicked_rollout(event: TimerEvent) -> tuple[str, str] | None:
    """(pipeline, rollout id) named by a kick's payload, or None."""
    try:
        payload = json.loads(event.payload or "{}")
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    pipeline, rid = payload.get("pipeline"), payload.get("rollout_id")
    return (pipeline, rid) if isinstance(pipeline, str) and isinstance(rid, str) and pipeline and rid else None


def on_canary(event: bytes | str, context: Any, *, settings: Settings | None = None, credentials: Any = None,
              sleep: Any = time.sleep) -> dict[str, Any]:
    """One tick of the controller, from the timer or a kick.

    A kick names the rollout just opened: while its canary is still starting (``initializing``),
    the tick is repeated every few seconds for up to ``kick_wait_seconds``, so the first step
    follows the canary's readiness at once; the timer covers whatever is left.
    """
    from .state import read_head
    from .tick import run_tick

    parsed = parse_event(event)
    if not isinstance(parsed, TimerEvent):
        raise EventParseError(f"canary expects a timer event (or a kick), got a {type(parsed).__name__}")
    bind(trigger=parsed.trigger_name)
    rt = runtime(context, settings, credentials)
    result = run_tick(rt)
    kicked = _kicked_rollout(parsed) if parsed.trigger_name == KICK_TRIGGER else None
    if kicked is None:
        return result
    deadline = time.monotonic() + rt.settings.kick_wait_seconds
    polls = 0
    while time.monotonic() < deadline:
        head = read_head(rt.ledger, *kicked)
        if head is None or head.state != "initializing":
            break
        sleep(KICK_POLL_SECONDS)
        polls += 1
        result = run_tick(rt)
    return {**result, "kick": {"rollout_id": kicked[1], "polls": polls}}


def _http(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body),
            "isBase64Encoded": False}


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    """The webhook's error shape: ``{"error": {"code", "message"}}`` (one stable code per refusal)."""
    return _http(status, {"error": {"code": code, "message": message}})


def _refused_callback(request: HttpRequest, settings: Settings) -> dict[str, Any] | None:
    """401 ``bad_signature`` for a wrong or absent token, 403 ``not_configured`` when none can be checked,
    None when the callback token (:mod:`pai_autopilot.ops.callback`) is right."""
    from ..ops.callback import CallbackDisabled, check_callback
    from ..ops.signature import SignatureRejected

    try:
        who = check_callback(request.query, webhook_secret=settings.webhook_secret, key_id=settings.webhook_key_id,
                             legacy_token=settings.alarm_token)
    except SignatureRejected as exc:
        get_logger().warning("alarm callback refused", code=exc.reason)
        return _error(401, exc.reason, exc.detail)
    except CallbackDisabled as exc:
        get_logger().warning("alarm callback refused", code="not_configured")
        return _error(403, "not_configured", str(exc))
    except SettingsError as exc:  # a webhook secret too short, a malformed key id (named, never shown)
        return _error(403, "not_configured", str(exc))
    bind(caller=who)
    return None


def _alarms_of(parsed: Any) -> list[CmsAlarm]:
    if isinstance(parsed, CloudEventBatch):
        return [cms_alarm(ce) for ce in parsed.events if ce.source == "acs.cms"]
    if isinstance(parsed, (CloudEvent, CmsAlarm)):
        return [cms_alarm(parsed)]
    raise EventParseError(f"alarm expects a CloudMonitor event or callback, got a {type(parsed).__name__}")


def on_alarm(event: bytes | str, context: Any, *, settings: Settings | None = None, credentials: Any = None) -> dict[str, Any]:
    """Handle CloudMonitor alarms (EventBridge or the HTTP callback)."""
    from .alarms import handle_alarm

    settings = settings or current_settings()
    parsed = parse_event(event)
    if isinstance(parsed, HttpRequest):
        refused = _refused_callback(parsed, settings)
        if refused is not None:
            return refused
        try:
            alarm = cms_alarm(parsed)
        except InvalidInputError as exc:
            return _error(400, "bad_request", str(exc))
        result = handle_alarm(runtime(context, settings, credentials), alarm)
        return _http(200, result)
    alarms = _alarms_of(parsed)
    rt = runtime(context, settings, credentials) if alarms else None
    results = [handle_alarm(rt, a) for a in alarms]
    get_logger().info("alarms", count=len(results))
    outcomes = [r["outcome"] for r in results]
    top = next((o for o in ("applied", "notified", "noop") if o in outcomes), "ignored")
    return {"outcome": top, "alarms": results}

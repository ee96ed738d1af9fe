"""Serving one webhook request: size limit → parse → authenticate → route → handler → JSON answer.

:func:`handle` never raises: every outcome, expected or not, is an HTTP answer (an HTTP function
that raised would be an FC error, and nothing is gained by retrying a request). Stable codes:

====== ==================================================================================
status code
====== ==================================================================================
400    ``bad_request`` (not an HTTP trigger event, a body that is not JSON)
401    ``bad_signature`` (missing, malformed or wrong), ``stale`` (outside ±300 s),
       ``replayed`` (the nonce was used)
403    ``not_configured`` (the function has no usable ``AUTOPILOT_WEBHOOK_SECRET``: the webhook is off)
404    ``not_found`` (no such route, pipeline, run, version, rollout or notebook)
405    ``method_not_allowed`` (with ``Allow``)
409    ``conflict`` (the command does not apply to the rollout's phase)
413    ``too_large`` (body over 1 MiB)
422    ``invalid`` (a field is missing or wrong; the message names it)
501    ``not_available`` (the route's library is not deployed)
503    ``not_configured`` (an unusable configuration or settings), ``unavailable`` (the cloud is
       temporarily unavailable: retry later)
====== ==================================================================================

Authentication happens before routing, so an unsigned caller learns nothing of the routes; the
nonce is recorded only after the signature is good, so a forger cannot fill the ledger. One log line
per request (method, route, status, code, key id); never a header, the query, the body or a secret.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import EventParseError
from ..events import HttpRequest, decode
from ..log import get_logger
from . import responses
from .errors import http_status
from .keys import actor_of, webhook_keys
from .nonces import record_nonce, sweep
from .routes import NoRoute, RouteMatch, WrongMethod, match
from .signature import HEADER_SIGNATURE, Secret, SignatureRejected, SignedRequest, verify, verify_callback

MAX_BODY_BYTES = 1 << 20
#: The raw event may carry the body base64-encoded (4/3 larger) plus the envelope.
_MAX_EVENT_BYTES = MAX_BODY_BYTES * 4 // 3 + 64 * 1024


@dataclasses.dataclass
class Call:
    """One authenticated request as a route handler sees it."""

    request: HttpRequest
    params: dict[str, str]
    #: Who acts: ``webhook:<key id>`` (the signing key), for the audit trail.
    actor: str
    key_id: str
    keys: Mapping[str, Secret]
    now: float
    runtime_factory: Callable[[], Any]

    @functools.cached_property
    def rt(self) -> Any:
        """The invocation's :class:`~pai_autopilot.runtime.Runtime`, built on first use."""
        return self.runtime_factory()


def default_runtime(context: Any) -> Callable[[], Any]:
    """A factory of the function's Runtime: settings and credentials from the environment."""

    def build() -> Any:
        from ..clients import Credentials
        from ..config import load_config
        from ..runtime import Runtime
        from ..settings import current_settings

        settings = current_settings()
        return Runtime(settings, load_config(settings.config_path), Credentials.from_env(context=context),
                       request_id=getattr(context, "request_id", None))

    return build


def handle(
    event: bytes | str, context: Any = None, *, environ: Mapping[str, str] | None = None,
    now: Callable[[], float] = time.time, runtime_factory: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Answer one FC HTTP trigger event with FC's response structure; never raises."""
    started = time.perf_counter()
    info: dict[str, Any] = {"route": None, "key_id": None}
    try:
        response = _serve(event, context, environ, now(), runtime_factory or default_runtime(context), info)
    except Exception as exc:  # the last guard: an answer, never an FC error
        status, code = http_status(exc)
        response = responses.error(status, code, _message(exc, status))
        info["error"] = f"{type(exc).__name__}: {exc}" if status != 500 else _where(exc)
    status, code = responses.status_and_code(response)
    method = "warning" if status >= 500 else "info"
    getattr(get_logger(), method)("webhook request", status=status, code=code or None,
                                  duration_ms=round((time.perf_counter() - started) * 1000, 2), **info)
    return response


def _where(exc: BaseException) -> str:
    """An unexpected error's type and the line that raised it: never its message or locals (rule 8)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    return type(exc).__name__ + (f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}" if last else "")


def _message(exc: BaseException, status: int) -> str:
    if status == 500:
        return "internal error; the function's log has the request id"
    return str(exc)


def _serve(
    event: bytes | str, context: Any, environ: Mapping[str, str] | None, now: float,
    runtime_factory: Callable[[], Any], info: dict[str, Any],
) -> dict[str, Any]:
    if len(event) > _MAX_EVENT_BYTES:
        return responses.error(413, "too_large", f"the request body is over the limit of {MAX_BODY_BYTES} bytes")
    try:
        request = HttpRequest.from_json(_decode(event))
    except EventParseError as exc:
        return responses.error(400, "bad_request", f"not an FC HTTP trigger event: {exc}")
    info.update(method=request.method, path=request.path[:200])
    if len(request.body) > MAX_BODY_BYTES:
        return responses.error(413, "too_large", f"the request body is {len(request.body)} bytes; the limit is {MAX_BODY_BYTES}")
    keys = webhook_keys(environ)
    route = match(request.method, request.path)
    call = Call(request=request, params={}, actor="", key_id="", keys=keys, now=now, runtime_factory=runtime_factory)
    if isinstance(route, RouteMatch) and route.callback_auth and "token" in request.query \
            and request.header(HEADER_SIGNATURE) is None:
        key_id = verify_callback(request.query, keys, method=request.method, path=request.path)  # 401 if wrong
        call.key_id, call.actor = key_id, f"callback:{key_id}"
        info["key_id"] = key_id
    elif not (isinstance(route, RouteMatch) and route.link_auth):
        rejected = _authenticate(call, info)
        if rejected is not None:
            return rejected
    if isinstance(route, WrongMethod):
        return responses.error(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}; "
                               f"use {', '.join(route.allowed)}", headers={"Allow": ", ".join(route.allowed)})
    if isinstance(route, NoRoute):
        return responses.error(404, "not_found", f"no route {request.method} {request.path}; see `pai-autopilot webhook --help`")
    info["route"] = route.handler
    call.params = route.params
    from .handlers import HANDLERS

    return HANDLERS[route.handler](call)


def _decode(event: bytes | str) -> Any:
    """The event's JSON. Events up to the parser's limit take the shared parser; a larger one (a body
    up to 1 MiB, base64-encoded) is decoded here, so the body limit is the webhook's own."""
    from ..events.decode import JSON_ERRORS, MAX_EVENT_BYTES, parse_error

    if len(event) <= MAX_EVENT_BYTES:
        return decode(event)
    import msgspec

    try:
        return msgspec.json.decode(event.encode() if isinstance(event, str) else event)
    except JSON_ERRORS as exc:
        raise parse_error("decode", f"event is not valid JSON ({type(exc).__name__})", value=event[:64]) from None


def _authenticate(call: Call, info: dict[str, Any]) -> dict[str, Any] | None:
    """Verify the signature headers and record the nonce; an error response, or None when good."""
    request = call.request
    signed = SignedRequest.from_headers(request.headers, method=request.method, path=request.path,
                                        body=request.body, query=request.query)
    try:
        verified = verify(signed, call.keys, now=call.now)
    except SignatureRejected as exc:
        return responses.error(401, exc.reason, exc.detail)
    ledger = call.rt.ledger
    if not record_nonce(ledger.store, ledger.prefix, key_id=verified.key_id, nonce=verified.nonce,
                        timestamp=verified.timestamp, now=call.now):
        return responses.error(401, "replayed", f"nonce {verified.nonce[:8]}… was already used; sign every request anew")
    try:
        sweep(ledger.store, ledger.prefix, now=call.now)
    except Exception as exc:  # housekeeping: the next request sweeps again
        get_logger().warning("nonce sweep failed", error=type(exc).__name__)
    call.key_id, call.actor = verified.key_id, actor_of(verified.key_id)
    info["key_id"] = verified.key_id
    return None

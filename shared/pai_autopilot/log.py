"""Structured logging: structlog JSON lines on stdout, per-invocation context, secrets redacted.

Every function wraps its handler with :func:`invocation`, which binds the request id, function
name and cold-start flag, maps the project's error classes to FC's retry semantics, and emits
**one summary line per invocation** (``event="invocation"``, with the outcome and duration).
Context lives in contextvars (one per key, structlog's design), so concurrent requests on one
instance do not mix.

Example
-------
>>> configure("INFO")
>>> get_logger().bind(run_id="demo-v1").info("job created", job_id="dlc123")  # doctest: +SKIP
{"run_id": "demo-v1", "job_id": "dlc123", "event": "job created", "level": "info", ...}
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

import structlog

from .errors import ConflictError, InvalidInputError, TransientError

_SECRET_KEY = re.compile(r"(secret|token|password|passwd|signature|authorization|access_key|credential)", re.I)
_REDACTED = "***"
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor hiding values whose key names a secret, at any depth.

    Example
    -------
    >>> redact_secrets(None, "info", {"access_key_secret": "x", "nested": {"token": "y"}, "ok": 1})
    {'access_key_secret': '***', 'nested': {'token': '***'}, 'ok': 1}
    """
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact(key, value)
    return event_dict


def _redact(key: Any, value: Any) -> Any:
    if isinstance(key, str) and _SECRET_KEY.search(key) and value not in (None, ""):
        return _REDACTED
    if isinstance(value, dict):
        return {k: _redact(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(None, v) for v in value]
    return value


_configured: dict[str, Any] = {}
_config_lock = threading.Lock()


def configure(level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog once per process (again only if the level or stream changes).

    ``stream`` defaults to the stream configured before, else ``sys.stdout`` at call time.
    """
    target = stream if stream is not None else _configured.get("stream", sys.stdout)
    with _config_lock:
        if _configured.get("level") == level and _configured.get("stream") is target:
            return
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                redact_secrets,
                structlog.processors.dict_tracebacks,
                structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
            logger_factory=structlog.PrintLoggerFactory(target),
            cache_logger_on_first_use=False,
        )
        _configured.update(level=level, stream=target)


def get_logger(**initial: Any) -> Any:
    """A structlog logger; bound keys are added to every line it writes."""
    return structlog.get_logger(**initial)


def bind(**values: Any) -> None:
    """Add keys to the current invocation's context (e.g. ``correlation_id``, ``event_id``)."""
    structlog.contextvars.bind_contextvars(**values)


class _ColdStart:
    """True for the first invocation in this process (this FC instance), false after."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cold = True

    def take(self) -> bool:
        with self._lock:
            cold, self._cold = self._cold, False
            return cold


_cold_start = _ColdStart()


def _log_level(level: Callable[[], str] | None) -> str:
    """The level to log at: the given callable, else the settings; INFO if they are broken."""
    from .errors import SettingsError
    from .settings import current_settings

    try:
        return level() if level is not None else current_settings().log_level
    except SettingsError:
        return "INFO"  # the handler itself will report the broken setting
F = TypeVar("F", bound=Callable[..., Any])


def invocation(function: str, *, level: Callable[[], str] | None = None) -> Callable[[F], F]:
    """Decorate an FC handler: context binding, error classification, one summary line.

    * returns normally → ``outcome`` from the result's ``"outcome"`` key (default ``ok``);
    * :class:`InvalidInputError` → logged, returns ``{"outcome": "rejected", ...}`` (no retry);
    * :class:`ConflictError` → logged, returns ``{"outcome": "noop", ...}``;
    * :class:`TransientError` or any other exception → logged and **re-raised** so FC retries.

    Example
    -------
    >>> @invocation("demo")
    ... def handler(event, context):
    ...     return {"outcome": "ignored"}
    >>> handler(b"{}", None)["outcome"]  # doctest: +SKIP
    'ignored'
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(event: Any, context: Any) -> Any:
            configure(_log_level(level))
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(
                request_id=getattr(context, "request_id", None), function=function, cold_start=_cold_start.take()
            )
            log = get_logger()
            started = time.perf_counter()

            def summary(outcome: str, method: str = "info", **extra: Any) -> None:
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                getattr(log, method)("invocation", outcome=outcome, duration_ms=duration_ms, **extra)

            try:
                result = fn(event, context)
            except InvalidInputError as exc:
                summary("rejected", "warning", error=str(exc), error_code=exc.code)
                return {"outcome": "rejected", "error": str(exc), "code": exc.code}
            except ConflictError as exc:
                summary("noop", error=str(exc), error_code=exc.code)
                return {"outcome": "noop", "reason": str(exc)}
            except TransientError as exc:
                summary("retry", "error", error=str(exc), error_code=exc.code)
                raise
            except Exception as exc:
                summary("error", "error", error=repr(exc), exc_info=True)
                raise
            outcome = result.get("outcome", "ok") if isinstance(result, dict) else "ok"
            summary(outcome, **(result.get("summary", {}) if isinstance(result, dict) else {}))
            return result

        return wrapper  # type: ignore[return-value]

    return decorate

"""Structured logging: JSON lines on stdout, per-invocation context, secrets scrubbed last.

Every function wraps its handler with :func:`invocation`, which binds the request id, function
name and cold-start flag, maps the project's error classes to FC's retry semantics, and emits
**one summary line per invocation** (``event="invocation"``, with the outcome and duration).
Context lives in a contextvar, so concurrent requests on one instance do not mix.

The logger keeps structlog's interface and line format (``get_logger().bind(...).info(event,
**kw)`` → ``{..., "event", "level", "timestamp"}``) without importing structlog, whose package
import (``structlog.stdlib``, asyncio) cost more than the rest of a cold start (bench/RESULTS.md).

Secrets (DESIGN.md §2, rule 8) are removed twice: values under secret-like keys become ``***``,
then the *rendered line* is scrubbed (:func:`~pai_autopilot.redact.scrub`): every registered
secret value, ``key=value`` pairs naming a secret, URL userinfo. Tracebacks are rendered as
frames (file, line, function) without locals, before that last step.

Example
-------
>>> configure("INFO")
>>> get_logger().bind(run_id="demo-v1").info("job created", job_id="dlc123")  # doctest: +SKIP
{"run_id": "demo-v1", "job_id": "dlc123", "event": "job created", "level": "info", ...}
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, TypeVar

from .errors import AutopilotError, ConflictError, InvalidInputError, TransientError
from .redact import (
    REDACTED,
    is_secret_key,
    register_context_credentials,
    register_env_secrets,
    scrub,
    scrub_value,
)

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_REDACTED = REDACTED


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A processor hiding values whose key names a secret, at any depth.

    Example
    -------
    >>> redact_secrets(None, "info", {"access_key_secret": "x", "nested": {"token": "y"}, "ok": 1})
    {'access_key_secret': '***', 'nested': {'token': '***'}, 'ok': 1}
    """
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact(key, value)
    return event_dict


def _redact(key: Any, value: Any, depth: int = 0) -> Any:
    if is_secret_key(key) and value not in (None, ""):
        return _REDACTED
    if depth > 20:
        return "<too deep>"
    if isinstance(value, dict):
        return {k: _redact(k, v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(None, v, depth + 1) for v in value]
    return value


_configured: dict[str, Any] = {}
_config_lock = threading.Lock()
_write_lock = threading.Lock()


def configure(level: str = "INFO", stream: Any = None) -> None:
    """Set the level and the stream (default: the one set before, else ``sys.stdout`` when writing).

    Example
    -------
    >>> import io
    >>> out = io.StringIO()
    >>> configure("WARNING", stream=out)
    >>> get_logger().info("hidden"); get_logger().warning("shown", token="t0ps3cret")
    >>> json.loads(out.getvalue())["token"]
    '***'
    >>> configure("INFO", stream=sys.stdout)
    """
    with _config_lock:
        _configured["level"] = level
        if stream is not None:
            _configured["stream"] = stream


def _stream() -> Any:
    stream = _configured.get("stream")
    return sys.stdout if stream is None else stream


def _threshold() -> int:
    return _LEVELS.get(_configured.get("level", "INFO"), 20)


_NO_CONTEXT: dict[str, Any] = {}  # never mutated: bind() always sets a new dict
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("pai_autopilot_log", default=_NO_CONTEXT)  # noqa: B039


def bind(**values: Any) -> None:
    """Add keys to the current invocation's context (e.g. ``correlation_id``, ``event_id``)."""
    _context.set({**_context.get(), **values})


def clear() -> None:
    """Drop the current invocation's context."""
    _context.set({})


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def render_exception(exc: BaseException) -> list[dict[str, Any]]:
    """The exception chain as data: type, message and frames (file, line, function), **no locals**.

    Example
    -------
    >>> try:
    ...     raise ValueError("boom")
    ... except ValueError as e:
    ...     chain = render_exception(e)
    >>> chain[0]["exc_type"], chain[0]["exc_value"], sorted(chain[0]["frames"][0])
    ('ValueError', 'boom', ['filename', 'lineno', 'name'])
    """
    import traceback

    chain: list[dict[str, Any]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 10:
        seen.add(id(current))
        frames = [
            {"filename": f.filename, "lineno": f.lineno, "name": f.name}
            for f in traceback.extract_tb(current.__traceback__, limit=50)
        ]
        chain.append({"exc_type": type(current).__name__, "exc_value": str(current)[:2000], "frames": frames})
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain


class BoundLogger:
    """structlog's bound-logger interface: ``bind``, ``debug`` … ``exception``.

    Example
    -------
    >>> import io
    >>> clear(); out = io.StringIO(); configure("INFO", stream=out)
    >>> get_logger(a=1).bind(b=2).info("hello", c=3)
    >>> {k: v for k, v in json.loads(out.getvalue()).items() if k != "timestamp"}
    {'a': 1, 'b': 2, 'c': 3, 'event': 'hello', 'level': 'info'}
    >>> configure("INFO", stream=sys.stdout)
    """

    def __init__(self, bound: dict[str, Any] | None = None) -> None:
        self._bound = bound or {}

    def bind(self, **values: Any) -> BoundLogger:
        return BoundLogger({**self._bound, **values})

    def new(self, **values: Any) -> BoundLogger:
        return BoundLogger(dict(values))

    def unbind(self, *keys: str) -> BoundLogger:
        return BoundLogger({k: v for k, v in self._bound.items() if k not in keys})

    def _log(self, level: str, event: Any, values: dict[str, Any]) -> None:
        if _LEVELS[level.upper()] < _threshold():
            return
        exc_info = values.pop("exc_info", None)
        line: dict[str, Any] = {**_context.get(), **self._bound, **values, "event": event, "level": level}
        line["timestamp"] = _timestamp()
        if exc_info:
            exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
            if exc is not None:
                line["exception"] = render_exception(exc)
        redact_secrets(None, level, line)
        text = scrub(json.dumps(line, ensure_ascii=False, default=str))
        stream = _stream()
        with _write_lock:
            stream.write(text + "\n")
            stream.flush()

    def debug(self, event: Any = None, **kw: Any) -> None:
        self._log("debug", event, kw)

    def info(self, event: Any = None, **kw: Any) -> None:
        self._log("info", event, kw)

    msg = info

    def warning(self, event: Any = None, **kw: Any) -> None:
        self._log("warning", event, kw)

    warn = warning

    def error(self, event: Any = None, **kw: Any) -> None:
        self._log("error", event, kw)

    def critical(self, event: Any = None, **kw: Any) -> None:
        self._log("critical", event, kw)

    def exception(self, event: Any = None, **kw: Any) -> None:
        kw.setdefault("exc_info", True)
        self._log("error", event, kw)


def get_logger(**initial: Any) -> BoundLogger:
    """A logger; bound keys are added to every line it writes."""
    return BoundLogger(dict(initial))


@contextlib.contextmanager
def quiet(level: str = "WARNING", stream: Any = None) -> Iterator[None]:
    """Log at ``level`` (to ``stream``) for the duration, then restore (the CLI's ``--json`` output).

    Example
    -------
    >>> import io
    >>> out = io.StringIO()
    >>> with quiet("WARNING", out):
    ...     get_logger().info("hidden")
    >>> out.getvalue()
    ''
    """
    with _config_lock:
        saved = dict(_configured)
        _configured["level"] = level
        if stream is not None:
            _configured["stream"] = stream
    try:
        yield
    finally:
        with _config_lock:
            _configured.clear()
            _configured.update(saved)


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


def safe_error(exc: BaseException) -> BaseException | None:
    """A replacement for ``exc`` when its message or chain would carry a secret, else ``None``.

    FC logs an unhandled exception's message and chain: when scrubbing changes any of it, the
    handler raises the returned :class:`TransientError` (scrubbed message, no chain) instead.

    Example
    -------
    >>> from .redact import register_secret
    >>> register_secret("S3cretValue-123")
    >>> str(safe_error(RuntimeError("denied for S3cretValue-123")))
    'RuntimeError: denied for ***'
    >>> safe_error(RuntimeError("plain")) is None
    True
    """
    texts = [f"{c['exc_type']}: {c['exc_value']}" for c in render_exception(exc)]
    if all(scrub(t) == t for t in texts) and len(str(exc)) <= 2000:
        return None
    message = scrub(str(exc))[:2000]
    if isinstance(exc, AutopilotError) and not exc.retryable:
        try:
            return type(exc)(message)
        except TypeError:
            pass
    if isinstance(exc, TransientError):
        return TransientError(message)
    return TransientError(f"{type(exc).__name__}: {message}")


F = TypeVar("F", bound=Callable[..., Any])


def invocation(function: str, *, level: Callable[[], str] | None = None) -> Callable[[F], F]:
    """Decorate an FC handler: context binding, error classification, one summary line.

    * returns normally → ``outcome`` from the result's ``"outcome"`` key (default ``ok``);
    * :class:`InvalidInputError` → logged, returns ``{"outcome": "rejected", ...}`` (no retry);
    * :class:`ConflictError` → logged, returns ``{"outcome": "noop", ...}``;
    * :class:`TransientError` or any other exception → logged and **re-raised** so FC retries
      (as a scrubbed :class:`TransientError` when its text would carry a secret);
    * malformed input the parser did not anticipate (``RecursionError``, ``UnicodeError``) is
      invalid input: rejected, not retried.

    Results and error texts are scrubbed of secrets (the credentials of ``context`` included).

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
            register_env_secrets()
            register_context_credentials(context)
            configure(_log_level(level))
            token = _context.set(
                {"request_id": getattr(context, "request_id", None), "function": function, "cold_start": _cold_start.take()}
            )
            try:
                return _run(fn, event, context)
            finally:
                _context.reset(token)  # the invocation's context never outlives it

        return wrapper  # type: ignore[return-value]

    return decorate


def _run(fn: Callable[..., Any], event: Any, context: Any) -> Any:
    """One invocation inside its bound context: classify the outcome, write the summary line."""
    log = get_logger()
    started = time.perf_counter()

    def summary(outcome: str, method: str = "info", **extra: Any) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        getattr(log, method)("invocation", outcome=outcome, duration_ms=duration_ms, **extra)

    def rejected(message: str, code: str) -> dict[str, Any]:
        message = scrub(message)
        summary("rejected", "warning", error=message, error_code=code)
        return {"outcome": "rejected", "error": message, "code": code}

    try:
        result = fn(event, context)
    except InvalidInputError as exc:
        return rejected(str(exc), exc.code)
    except (RecursionError, UnicodeError) as exc:
        return rejected(f"malformed input: {type(exc).__name__}", InvalidInputError.code)
    except ConflictError as exc:
        summary("noop", error=scrub(str(exc)), error_code=exc.code)
        return {"outcome": "noop", "reason": scrub(str(exc))}
    except TransientError as exc:
        summary("retry", "error", error=str(exc), error_code=exc.code)
        replacement = safe_error(exc)
        if replacement is not None:
            raise replacement from None
        raise
    except Exception as exc:
        summary("error", "error", error=repr(exc), exc_info=exc)
        replacement = safe_error(exc)
        if replacement is not None:
            raise replacement from None
        raise
    result = scrub_value(result)
    outcome = result.get("outcome", "ok") if isinstance(result, dict) else "ok"
    summary(outcome, **(result.get("summary", {}) if isinstance(result, dict) else {}))
    return result

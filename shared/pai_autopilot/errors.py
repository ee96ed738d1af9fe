"""Error classes shared by every function, classified by what FC should do with them.

* :class:`InvalidInputError` – the event or request can never succeed: log it and return,
  so FC does **not** retry it.
* :class:`TransientError` – a temporary failure (throttling, 5xx, network): raise it so FC's
  async retry runs the invocation again.
* :class:`ConflictError` – someone else already did the work (a ledger record exists): a no-op.

Every class carries a stable ``code`` and renders as ``"<message> - (<details>)"``.

Example
-------
>>> err = InvalidInputError("unknown event shape", details={"keys": ["foo"]})
>>> str(err)
"unknown event shape - ({'keys': ['foo']})"
>>> err.retryable
False
"""

from __future__ import annotations

from typing import Any


class AutopilotError(Exception):
    """Base class of every error this project raises on purpose."""

    code: str = "AutopilotError"
    retryable: bool = False

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        if self.details is None:
            return self.message
        return f"{self.message} - ({self.details})"


class InvalidInputError(AutopilotError):
    """Input that can never succeed: log and return without retry."""

    code = "InvalidInput"


class EventParseError(InvalidInputError):
    """An event that is not one of the shapes the project understands.

    The message names what was wrong (stage, field, and the offending value).
    """

    code = "EventParseError"


class ConfigError(InvalidInputError):
    """The pipeline configuration (``autopilot.yaml``) is missing or invalid.

    ``errors`` lists every problem as ``(path, reason)``; ``lines`` maps a path to its line in
    the file, when known, and is shown beside it.

    Example
    -------
    >>> print(ConfigError("a.yaml is invalid", errors=[("pipelines.x.training", "bad")], lines={"pipelines.x.training": 7}))
    a.yaml is invalid
      pipelines.x.training (line 7): bad
    """

    code = "ConfigError"

    def __init__(
        self, message: str, *, errors: list[tuple[str, str]] | None = None, lines: dict[str, int] | None = None
    ) -> None:
        super().__init__(message, details=None)
        self.errors = errors or []
        self.lines = lines or {}

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        rows = []
        for path, reason in self.errors:
            where = f"{path} (line {self.lines[path]})" if path in self.lines else path
            rows.append(f"  {where}: {reason}")
        return self.message + "\n" + "\n".join(rows)


class SettingsError(InvalidInputError):
    """A setting (argument or environment variable) has an invalid value."""

    code = "SettingsError"


class TransientError(AutopilotError):
    """A temporary failure: raise so FC retries the invocation."""

    code = "Transient"
    retryable = True


class ConflictError(AutopilotError):
    """Someone else already did this (an exclusive write was taken): treat as a no-op."""

    code = "Conflict"


def classify_sdk_error(exc: BaseException, what: str) -> AutopilotError:
    """Map an Alibaba Cloud SDK exception to the project's error classes.

    Throttling, 5xx and network errors are :class:`TransientError`; other 4xx answers
    (a request that can never succeed as written) are :class:`InvalidInputError`. The
    returned error names the operation, the platform's code and its request id.

    Example
    -------
    >>> class Fake(Exception):
    ...     code, status_code, request_id, message = "InvalidParameter", 400, "R1", "bad"
    >>> err = classify_sdk_error(Fake(), "CreateJob")
    >>> type(err).__name__, str(err)
    ('InvalidInputError', 'CreateJob failed: InvalidParameter (HTTP 400, request R1): bad')
    """
    code = getattr(exc, "code", None) or type(exc).__name__
    status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None) or getattr(exc, "status", None)
    request_id = getattr(exc, "request_id", None)
    message = getattr(exc, "message", None) or str(exc)
    text = f"{what} failed: {code} (HTTP {status}, request {request_id}): {message}"
    throttled = "Throttling" in str(code) or getattr(exc, "retry_after", None) is not None
    if isinstance(status, int) and 400 <= status < 500 and status != 429 and not throttled:
        return InvalidInputError(text)
    return TransientError(text)

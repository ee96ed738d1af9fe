"""The webhook's error classes and the one table mapping every error to an HTTP status and code.

Example
-------
>>> http_status(NotFound("no run 'x'"))
(404, 'not_found')
>>> from ..errors import InvalidInputError, TransientError
>>> http_status(InvalidInputError("bad")), http_status(TransientError("OSS 503"))
((422, 'invalid'), (503, 'unavailable'))
"""

from __future__ import annotations

from ..errors import (
    AutopilotError,
    ConfigError,
    ConflictError,
    EventParseError,
    InvalidInputError,
    SettingsError,
    TransientError,
)


class NotFound(InvalidInputError):
    """The route's object (pipeline, run, version, rollout, notebook) does not exist."""

    code = "NotFound"


class NotAvailable(AutopilotError):
    """The route's library is not part of this deployment yet (an optional package is absent)."""

    code = "NotAvailable"


class BadRequest(InvalidInputError):
    """The request is not readable (not an HTTP event, a body that is not JSON)."""

    code = "BadRequest"


#: Error classes of the libraries the routes call, recognised by name (they are imported lazily
#: and may be absent): a missing object is 404, a refused command 409.
_NOT_FOUND_NAMES = frozenset({"RolloutNotFound", "NotebookNotFound"})
_CONFLICT_NAMES = frozenset({"RolloutCommandConflict"})


def http_status(exc: BaseException) -> tuple[int, str]:
    """``(status, stable code)`` for an error raised while serving a route."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    from .keys import WebhookNotConfigured
    from .signature import SignatureRejected

    if isinstance(exc, SignatureRejected):
        return 401, exc.reason
    if isinstance(exc, WebhookNotConfigured):  # the webhook is off: nobody can be authenticated (not a 5xx)
        return 403, "not_configured"
    if isinstance(exc, NotFound) or names & _NOT_FOUND_NAMES:
        return 404, "not_found"
    if isinstance(exc, ConflictError) or names & _CONFLICT_NAMES:
        return 409, "conflict"
    if isinstance(exc, (BadRequest, EventParseError)):
        return 400, "bad_request"
    if isinstance(exc, (SettingsError, ConfigError)):
        return 503, "not_configured"
    if isinstance(exc, InvalidInputError):
        return 422, "invalid"
    if isinstance(exc, NotAvailable):
        return 501, "not_available"
    if isinstance(exc, TransientError):
        return 503, "unavailable"
    return 500, "internal"

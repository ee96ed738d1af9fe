"""FC 3.0 HTTP trigger responses: ``{statusCode, headers, isBase64Encoded, body}`` (events-and-syaml.md §4).

Errors are JSON with a stable code: ``{"error": {"code": "stale", "message": "…"}}``.

Every response also carries ``outcome`` (``ok`` below 400, ``rejected`` for 4xx, ``error`` for 5xx), the
key every handler's result has for the ``invocation`` summary line and the handler properties tests.
ASSUMED (unconfirmed, the one place it is relied on): FC's HTTP trigger reads the four documented keys
and ignores others, as localcloud does.

Example
-------
>>> r = error(401, "bad_signature", "missing header(s) X-Autopilot-Signature")
>>> r["statusCode"], r["headers"]["Content-Type"], r["body"]
(401, 'application/json', '{"error": {"code": "bad_signature", "message": "missing header(s) X-Autopilot-Signature"}}')
"""

from __future__ import annotations

import json
from typing import Any

JSON = "application/json"
HTML = "text/html; charset=utf-8"


def respond(status: int, body: str, content_type: str = JSON, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The full response structure FC expects (always every key), plus ``outcome``."""
    return {
        "statusCode": status, "headers": {"Content-Type": content_type, "Cache-Control": "no-store", **(headers or {})},
        "isBase64Encoded": False, "body": body, "outcome": outcome_of(status),
    }


def outcome_of(status: int) -> str:
    """The invocation outcome of an HTTP status.

    >>> outcome_of(202), outcome_of(401), outcome_of(503)
    ('ok', 'rejected', 'error')
    """
    return "ok" if status < 400 else "rejected" if status < 500 else "error"


def ok(data: Any, status: int = 200) -> dict[str, Any]:
    """A JSON success.

    >>> ok({"outcome": "noop"})["body"]
    '{"outcome": "noop"}'
    """
    return respond(status, json.dumps(data, ensure_ascii=False, default=str))


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A JSON error with a stable ``code`` and a message that names the value and the fix."""
    return respond(status, json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False), headers=headers)


def html(page: str) -> dict[str, Any]:
    """A self-contained HTML page."""
    return respond(200, page, HTML)


def status_and_code(response: dict[str, Any]) -> tuple[int, str]:
    """The status and the error code (``""`` on success) of a response, for the summary log line.

    >>> status_and_code(error(404, "not_found", "x")), status_and_code(ok({}))
    ((404, 'not_found'), (200, ''))
    """
    status = int(response["statusCode"])
    if status < 400:
        return status, ""
    try:
        return status, str(json.loads(response["body"])["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return status, ""

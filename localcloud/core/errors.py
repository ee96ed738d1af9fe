"""Service errors: every emulated failure is a :class:`ServiceError` carrying the platform's code.

The HTTP layer turns one into the wire format of its protocol (POP JSON or OSS XML); services
never build error bodies themselves.

Example
-------
>>> err = ServiceError("NoSuchKey", "The specified key does not exist.", status=404)
>>> err.status, err.code
(404, 'NoSuchKey')
"""

from __future__ import annotations


class ServiceError(Exception):
    """An API error as the platform reports it: HTTP status, code, message, extra headers."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

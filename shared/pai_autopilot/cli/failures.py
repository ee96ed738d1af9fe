"""Expected failures of CLI commands as one ``error: …`` line and a documented exit code.

Exit codes of every ``pai-autopilot`` command (also in the README and ``pai-autopilot --help``):

====  ==========================================================================================
0     done
1     the operation failed or was refused (a check found problems, a run was rejected, the cloud
      answered with an error, the function raised)
2     wrong input: an unknown or conflicting option value, a file that is missing or unreadable,
      an unusable configuration, settings or credentials, a bucket that does not exist
3     the endpoint is unreachable (connection refused, unknown host, timeout)
130   interrupted (Ctrl-C) where the command cannot stop cleanly
====  ==========================================================================================

:func:`explain` maps an exception (SDK or ours, following ``__cause__``) to ``(message, code)``
naming the value and the fix; :func:`cli_errors` applies it around a command's cloud calls.
Nothing secret goes into a message: the endpoint is shown without user info, credentials by
the name of the variable that holds them.

Example
-------
>>> explain(ConnectionRefusedError(111, "Connection refused"), endpoint="http://127.0.0.1:9800")[1]
3
>>> print(explain(ConnectionRefusedError(111, "Connection refused"), endpoint="http://u:p@127.0.0.1:9800")[0])
cannot reach http://127.0.0.1:9800: connection refused; start localcloud (pai-autopilot local up) or set AUTOPILOT_ENDPOINT
>>> explain(ValueError("a bug"), endpoint="http://x") is None
True
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator

import typer

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 failed or refused; 2 wrong input, configuration or credentials; "
    "3 endpoint unreachable."
)

_UNREACHABLE = {
    "connection refused": "connection refused",
    "failed to establish a new connection": "connection refused",
    "name or service not known": "unknown host",
    "nodename nor servname": "unknown host",
    "temporary failure in name resolution": "unknown host",
    "timed out": "timed out",
}
_CREDENTIALS = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidAccessKeyId.NotFound", "InvalidSecurityToken",
                "SecurityTokenExpired", "IncompleteSignature", "InvalidAccessKeySecret"}


def public(endpoint: str) -> str:
    """The endpoint without user info (``http://user:secret@host`` → ``http://host``).

    >>> public("http://u:s@127.0.0.1:9800/x"), public("oss-cn-hangzhou.aliyuncs.com")
    ('http://127.0.0.1:9800/x', 'oss-cn-hangzhou.aliyuncs.com')
    """
    parts = urllib.parse.urlsplit(endpoint)
    if not parts.netloc or "@" not in parts.netloc:
        return endpoint
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) else ""


def explain(exc: BaseException, *, endpoint: str, bucket: str | None = None) -> tuple[str, int] | None:
    """``(message, exit code)`` for an expected failure, or None for anything else (a bug)."""
    from ..errors import AutopilotError

    where = public(endpoint)
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    reason = next((what for needle, what in _UNREACHABLE.items() if needle in text), None)
    if reason is None and any(isinstance(e, ConnectionRefusedError) for e in chain):
        reason = "connection refused"
    if reason is not None:
        return (f"cannot reach {where}: {reason}; start localcloud (pai-autopilot local up) or set AUTOPILOT_ENDPOINT",
                EXIT_UNREACHABLE)
    for e in chain:
        code = _code(e)
        if code in _CREDENTIALS:
            return (f"{where} refused the credentials ({code}): check ALIBABA_CLOUD_ACCESS_KEY_ID, "
                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN "
                    "(for localcloud: eval \"$(pai-autopilot local env)\")", EXIT_USAGE)
        if code == "NoSuchBucket":
            return (f"bucket {bucket or '?'!r} does not exist at {where}: check AUTOPILOT_BUCKET or storage.bucket "
                    "in autopilot.yaml", EXIT_USAGE)
        if code == "AccessDenied":
            return (f"{where} denied access ({code}) to bucket {bucket or '?'!r}: the credentials' policy must allow it",
                    EXIT_FAILED)
    if isinstance(exc, AutopilotError):
        return str(exc), EXIT_FAILED
    return None


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error: <message>`` on stderr; the :class:`typer.Exit` to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def cli_errors(endpoint: str, bucket: str | None = None) -> Iterator[None]:
    """Turn an expected failure inside the block into ``error: …`` and its exit code."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        explained = explain(exc, endpoint=endpoint, bucket=bucket)
        if explained is None:
            raise
        raise fail(*explained) from None

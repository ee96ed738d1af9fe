"""Request signatures of the webhook: HMAC-SHA256 over timestamp, nonce, method, path, query and body.

A caller (CI, on-call) sends four headers::

    X-Autopilot-Key-Id:    default                  (AUTOPILOT_WEBHOOK_KEY_ID of the function)
    X-Autopilot-Timestamp: 1767225600               (epoch seconds; at most ±300 s from the function's clock)
    X-Autopilot-Nonce:     5f0c…                    (16-128 of [A-Za-z0-9_-], never reused)
    X-Autopilot-Signature: v1=<hex HMAC-SHA256(secret, string to sign)>

The string to sign is the lines ``AUTOPILOT-HMAC-SHA256``, the timestamp, the nonce, the method
(upper case), the decoded path, the canonical query (keys sorted, RFC 3986 percent-encoding) and the
hex SHA-256 of the body. Changing any of them (a tampered body, path or query) breaks the signature.
The comparison is constant-time (:func:`hmac.compare_digest`). The secret lives in a :class:`Secret`,
whose ``repr`` never shows it, so no log line, traceback or error message can carry it.

Example
-------
>>> secret = Secret("s" * 32)
>>> headers = signed_headers(secret, "ci", "POST", "/v1/retrain", b'{"pipeline": "demo"}', now=1767225600,
...                          nonce="n" * 16)
>>> headers["X-Autopilot-Signature"][:3], headers["X-Autopilot-Timestamp"]
('v1=', '1767225600')
>>> request = SignedRequest.from_headers(headers, method="POST", path="/v1/retrain", body=b'{"pipeline": "demo"}')
>>> verify(request, {"ci": secret}, now=1767225700).key_id
'ci'
>>> verify(request, {"ci": secret}, now=1767226000)
Traceback (most recent call last):
...
pai_autopilot.ops.signature.SignatureRejected: stale: timestamp 1767225600 is 400 s from now; allowed skew is ±300 s (check the caller's clock)
>>> tampered = SignedRequest.from_headers(headers, method="POST", path="/v1/retrain", body=b'{"pipeline": "prod"}')
>>> verify(tampered, {"ci": secret}, now=1767225600)
Traceback (most recent call last):
...
pai_autopilot.ops.signature.SignatureRejected: bad_signature: the signature does not match the request (method, path, query, body, timestamp or nonce changed, or a wrong secret)
>>> secret
Secret('***')
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from urllib.parse import quote

from ..errors import AutopilotError

ALGORITHM = "AUTOPILOT-HMAC-SHA256"
SIGNATURE_VERSION = "v1"
MAX_SKEW_SECONDS = 300
MIN_SECRET_LENGTH = 16

HEADER_KEY_ID = "X-Autopilot-Key-Id"
HEADER_TIMESTAMP = "X-Autopilot-Timestamp"
HEADER_NONCE = "X-Autopilot-Nonce"
HEADER_SIGNATURE = "X-Autopilot-Signature"

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


class Secret:
    """A shared secret that never shows itself: ``repr``/``str`` print ``***``.

    >>> s = Secret("0123456789abcdef")
    >>> f"{s}", s.hmac_hex(b"x")[:8]
    ("Secret('***')", '68f4d9c0')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value.encode()

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __len__(self) -> int:
        return len(self._value)

    def hmac_hex(self, message: bytes) -> str:
        """Hex HMAC-SHA256 of ``message`` under this secret."""
        return hmac.new(self._value, message, hashlib.sha256).hexdigest()

    def reveal(self) -> str:
        """The value, for a library that signs with it (the snooze link); never log or return it."""
        return self._value.decode()

    def __reduce__(self) -> tuple[type, tuple[str]]:  # pickling would copy the value somewhere else
        raise TypeError("a Secret cannot be pickled")


class SignatureRejected(AutopilotError):
    """A request whose signature headers do not authenticate it. ``reason`` is the stable error code:
    ``bad_signature`` (missing, malformed, unknown key or wrong HMAC), ``stale`` (outside the skew)
    or ``replayed`` (the nonce was seen)."""

    code = "SignatureRejected"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


def canonical_query(query: Mapping[str, str]) -> str:
    """Query parameters sorted by key, ``k=v`` percent-encoded (RFC 3986) and joined by ``&``.

    >>> canonical_query({"b": "2 3", "a": "x/y", "c": ""})
    'a=x%2Fy&b=2%203&c='
    """
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items()))


def string_to_sign(*, timestamp: str, nonce: str, method: str, path: str, query: Mapping[str, str], body: bytes) -> bytes:
    """The bytes the HMAC covers (see the module docstring).

    >>> string_to_sign(timestamp="1", nonce="n", method="get", path="/v1/status", query={}, body=b"").decode().split("\\n")[:5]
    ['AUTOPILOT-HMAC-SHA256', '1', 'n', 'GET', '/v1/status']
    """
    lines = [ALGORITHM, timestamp, nonce, method.upper(), path, canonical_query(query), hashlib.sha256(body).hexdigest()]
    return "\n".join(lines).encode()


def signed_headers(
    secret: Secret, key_id: str, method: str, path: str, body: bytes = b"", *,
    query: Mapping[str, str] | None = None, now: float, nonce: str | None = None,
) -> dict[str, str]:
    """The four headers that sign a request (a fresh random nonce unless one is given).

    >>> h = signed_headers(Secret("k" * 16), "default", "GET", "/v1/status", now=10)
    >>> sorted(h), len(h["X-Autopilot-Nonce"])
    (['X-Autopilot-Key-Id', 'X-Autopilot-Nonce', 'X-Autopilot-Signature', 'X-Autopilot-Timestamp'], 32)
    """
    nonce = nonce or secrets.token_hex(16)
    timestamp = str(int(now))
    message = string_to_sign(timestamp=timestamp, nonce=nonce, method=method, path=path, query=query or {}, body=body)
    return {
        HEADER_KEY_ID: key_id, HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce,
        HEADER_SIGNATURE: f"{SIGNATURE_VERSION}={secret.hmac_hex(message)}",
    }


@dataclasses.dataclass(frozen=True)
class SignedRequest:
    """What verification needs of a request: its parts and its four signature headers (or None)."""

    method: str
    path: str
    body: bytes
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)
    key_id: str | None = None
    timestamp: str | None = None
    nonce: str | None = None
    signature: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], *, method: str, path: str, body: bytes, query: Mapping[str, str] | None = None
    ) -> SignedRequest:
        """Pick the signature headers out of ``headers`` (names case-insensitive)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        return cls(
            method=method, path=path, body=body, query=dict(query or {}),
            key_id=lowered.get(HEADER_KEY_ID.lower()), timestamp=lowered.get(HEADER_TIMESTAMP.lower()),
            nonce=lowered.get(HEADER_NONCE.lower()), signature=lowered.get(HEADER_SIGNATURE.lower()),
        )


@dataclasses.dataclass(frozen=True)
class Verified:
    """An authenticated request: who signed it (the key id), when, and its nonce."""

    key_id: str
    timestamp: int
    nonce: str


CALLBACK_ALGORITHM = "AUTOPILOT-CALLBACK"


def callback_token(secret: Secret, method: str, path: str) -> str:
    """The static token of a callback URL (``?kid=…&token=…``) for a caller that cannot sign (CloudMonitor).

    It authenticates the route only: no timestamp, no nonce (the caller replays it by design; the alarm
    it carries is handled idempotently). Rotate the secret to revoke it.

    >>> callback_token(Secret("s" * 32), "POST", "/v1/alerts/cms")[:12]
    '1535c58efe98'
    """
    return secret.hmac_hex(f"{CALLBACK_ALGORITHM}\n{method.upper()}\n{path}".encode())


def verify_callback(query: Mapping[str, str], keys: Mapping[str, Secret], *, method: str, path: str) -> str:
    """The key id of a valid callback token in ``query``; :class:`SignatureRejected` otherwise."""
    key_id, token = query.get("kid", ""), query.get("token", "")
    if key_id not in keys:
        raise SignatureRejected("bad_signature", f"unknown key id {key_id[:64]!r} in the callback URL's kid")
    expected = callback_token(keys[key_id], method, path)
    if not hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace")):
        raise SignatureRejected("bad_signature", "the callback token does not match; print the URL again with "
                                "`pai-autopilot webhook callback-url`")
    return key_id


def verify(request: SignedRequest, keys: Mapping[str, Secret], *, now: float, max_skew: int = MAX_SKEW_SECONDS) -> Verified:
    """Check the signature, then the clock skew; raise :class:`SignatureRejected` with the reason.

    The HMAC is checked before the skew, so ``stale`` is only ever said of a genuinely signed
    request (a caller with a wrong clock learns it; a forger learns nothing). Replays are caught by
    the caller, which records the nonce (:mod:`.nonces`).
    """
    missing = [name for name, value in ((HEADER_KEY_ID, request.key_id), (HEADER_TIMESTAMP, request.timestamp),
                                        (HEADER_NONCE, request.nonce), (HEADER_SIGNATURE, request.signature)) if not value]
    if missing:
        raise SignatureRejected("bad_signature", f"missing header(s) {', '.join(missing)}; sign the request with "
                                "`pai-autopilot webhook sign METHOD PATH [BODY]`")
    key_id, timestamp, nonce, signature = request.key_id or "", request.timestamp or "", request.nonce or "", request.signature or ""
    if not _KEY_ID.match(key_id) or key_id not in keys:
        raise SignatureRejected("bad_signature", f"unknown key id {key_id[:64]!r} in {HEADER_KEY_ID}")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureRejected("bad_signature", f"{HEADER_TIMESTAMP} must be epoch seconds (digits), got {timestamp[:20]!r}")
    if not _NONCE.match(nonce):
        raise SignatureRejected("bad_signature", f"{HEADER_NONCE} must be 16-128 characters of A-Z a-z 0-9 _ -")
    scheme, _, digest = signature.partition("=")
    if scheme != SIGNATURE_VERSION or not _HEX.match(digest):
        raise SignatureRejected("bad_signature", f"{HEADER_SIGNATURE} must be '{SIGNATURE_VERSION}=<64 hex digits>'")
    message = string_to_sign(timestamp=timestamp, nonce=nonce, method=request.method, path=request.path,
                             query=request.query, body=request.body)
    expected = keys[key_id].hmac_hex(message)
    if not hmac.compare_digest(expected.encode(), digest.encode()):
        raise SignatureRejected("bad_signature", "the signature does not match the request (method, path, query, body, "
                                "timestamp or nonce changed, or a wrong secret)")
    skew = int(now) - int(timestamp)
    if abs(skew) > max_skew:
        raise SignatureRejected("stale", f"timestamp {timestamp} is {abs(skew)} s from now; allowed skew is "
                                f"±{max_skew} s (check the caller's clock)")
    return Verified(key_id=key_id, timestamp=int(timestamp), nonce=nonce)

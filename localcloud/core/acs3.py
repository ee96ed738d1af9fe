"""Server-side verification of Alibaba Cloud's ACS3-HMAC-SHA256 request signature.

Implements the algorithm in reference/alibaba-api.md §7, which the tea-openapi core uses for
every POP call (ROA and RPC). Errors are the POP codes the platform returns.

Example
-------
>>> parse_authorization("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date,Signature=ab")
('AK', ['host', 'x-acs-date'], 'ab')
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

from .credentials import CredentialStore
from .errors import ServiceError

ALGORITHM = "ACS3-HMAC-SHA256"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """Split an ACS3 ``Authorization`` header into (access key id, signed headers, signature)."""
    if not value.startswith(ALGORITHM + " "):
        raise ServiceError(
            "IncompleteSignature", f"The Authorization header must use {ALGORITHM}.", status=400
        )
    parts: dict[str, str] = {}
    for item in value[len(ALGORITHM) + 1 :].split(","):
        key, _, val = item.strip().partition("=")
        parts[key] = val
    try:
        return parts["Credential"], parts["SignedHeaders"].split(";"), parts["Signature"]
    except KeyError as exc:
        raise ServiceError(
            "IncompleteSignature", f"The Authorization header lacks {exc.args[0]}.", status=400
        ) from None


def canonical_query(raw_query: str) -> str:
    """Decode the query as sent (``+`` is a space), sort it, re-encode values with RFC 3986."""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    return "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(pairs))


def verify(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: CredentialStore,
) -> str:
    """Verify one request; return the caller's access key id or raise a POP error.

    ``headers`` must be case-insensitive (werkzeug's ``Headers`` is).
    """
    auth = headers.get("Authorization")
    if not auth:
        raise ServiceError("MissingAuthorization", "The request is not signed.", status=400)
    access_key_id, signed_headers, signature = parse_authorization(auth)
    token = headers.get("x-acs-security-token")
    secret = credentials.secret_for(access_key_id, token)
    payload_hash = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
    declared = headers.get("x-acs-content-sha256")
    if declared is not None and declared != payload_hash:
        raise ServiceError(
            "SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the body.", status=400
        )
    canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [
            method.upper(),
            raw_path or "/",
            canonical_query(raw_query),
            canonical_headers,
            ";".join(signed_headers),
            declared or payload_hash,
        ]
    )
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise ServiceError(
            "SignatureDoesNotMatch",
            f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
            status=400,
        )
    return access_key_id

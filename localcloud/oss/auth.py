"""Verification of OSS request signatures: v1 (``OSS``, HMAC-SHA1) and v4 (``OSS4-HMAC-SHA256``).

Both the header forms (``Authorization``) and the presigned-URL forms (``OSSAccessKeyId`` /
``Signature`` / ``Expires``; ``x-oss-signature-version`` / ``x-oss-credential`` /
``x-oss-signature``) are accepted, and so are PostObject's form fields (the signature of the
base64 policy, v1 or v4; the policy's content is the backend's to check). The algorithms are those of ``oss2.auth`` 2.19.1
(reference/alibaba-api.md §6); STS keys must come with their ``x-oss-security-token``.
The request time is not checked against the clock (localcloud's clock may be moved); presigned
URLs do expire on it.

Example
-------
>>> req = SignedRequest("GET", "bkt", "a b.txt", [("acl", ""), ("prefix", "x")],
...                     [("Date", "Thu, 01 Jan 1970 00:00:00 GMT"), ("x-oss-meta-A", "1")])
>>> v1_string_to_sign(req)
b'GET\\n\\n\\nThu, 01 Jan 1970 00:00:00 GMT\\nx-oss-meta-a:1\\n/bkt/a b.txt?acl'
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from ..core.credentials import CredentialStore
from ..core.errors import ServiceError
from . import exceptions as err
from .utils import parse_v4_datetime

V4_ALGORITHM = "OSS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: Query parameters signed by v1: ``oss2.auth.ProviderAuth._subresource_key_set`` (oss2 2.19.1).
SUBRESOURCES = frozenset([
    "accessPoint", "accessPointPolicy", "acl", "append", "asyncFetch", "bucketArchiveDirectRead", "bucketInfo",
    "callback", "callback-var", "cname", "comp", "continuation-token", "cors", "delete", "encryption", "endTime",
    "group", "httpsConfig", "inventory", "inventoryId", "lifecycle", "link", "live", "location", "logging",
    "metaQuery", "objectInfo", "objectMeta", "partNumber", "policy", "position", "publicAccessBlock", "qos",
    "qosInfo", "qosRequester", "redundancyTransition", "referer", "regionList", "replication",
    "replicationLocation", "replicationProgress", "requestPayment", "requesterQosInfo", "resourceGroup",
    "resourcePool", "resourcePoolBuckets", "resourcePoolInfo", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "security-token", "sequential", "startTime", "stat",
    "status", "style", "styleName", "symlink", "tagging", "transferAcceleration", "uploadId", "uploads",
    "versionId", "versioning", "versions", "vod", "website", "worm", "wormExtend", "wormId",
    "x-oss-ac-forward-allow", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id",
    "x-oss-access-point-name", "x-oss-async-process", "x-oss-process", "x-oss-redundancy-transition-taskid",
    "x-oss-request-payer", "x-oss-target-redundancy-type", "x-oss-traffic-limit",
    "x-oss-write-get-object-response",
])
_V4_DEFAULT_SIGNED = ("content-type", "content-md5")


class SignedRequest:
    """What a signature covers: method, bucket and (decoded) key, decoded query pairs, headers.

    ``bucket`` is ``""`` for service-level calls and ``key`` is ``""`` for bucket-level ones.
    Header names are matched case-insensitively; values are taken as sent.
    """

    def __init__(
        self, method: str, bucket: str, key: str, query: Iterable[tuple[str, str]],
        headers: Iterable[tuple[str, str]], body: bytes = b"",
    ) -> None:
        self.method = method.upper()
        self.bucket = bucket
        self.key = key
        self.query = list(query)
        self.params = dict(self.query)
        self.headers: dict[str, str] = {}
        for name, value in headers:
            self.headers.setdefault(name.lower(), value)
        self.body = body

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def _bytes(value: str) -> bytes:
    """A header value as it went over the wire (WSGI decodes header bytes as latin-1)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _oss_headers(req: SignedRequest, also: Iterable[str] = ()) -> list[tuple[str, str]]:
    extra = set(also)
    return sorted(
        (name, value) for name, value in req.headers.items()
        if name.startswith("x-oss-") or (name in extra and value != "")
    )


# -- v1 --------------------------------------------------------------------------------------
def v1_string_to_sign(req: SignedRequest, date: str | None = None) -> bytes:
    """``VERB\\nContent-MD5\\nContent-Type\\nDate\\n`` + x-oss-* headers + resource (+ subresources)."""
    if date is None:
        date = req.header("x-oss-date") or req.header("date")
    headers = b"".join(name.encode() + b":" + _bytes(value) + b"\n" for name, value in _oss_headers(req))
    subresources = sorted((k, v) for k, v in req.params.items() if k in SUBRESOURCES)
    resource = f"/{req.bucket}/{req.key}" if req.bucket else "/"
    if subresources:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subresources)
    head = "\n".join([req.method, req.header("content-md5"), req.header("content-type"), date])
    return _bytes(head) + b"\n" + headers + resource.encode("utf-8")


def v1_signature(secret: str, string_to_sign: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha1).digest()).decode()


# -- v4 --------------------------------------------------------------------------------------
def _v4_encode(text: str, keep_slash: bool) -> str:
    return quote(text.encode("utf-8"), safe="/~" if keep_slash else "~")


def v4_canonical_request(req: SignedRequest, additional: Iterable[str], payload_hash: str) -> bytes:
    """The six lines of the v4 canonical request (the query skips ``x-oss-signature``)."""
    additional = sorted({h.lower() for h in additional})
    uri = _v4_encode(f"/{req.bucket}/{req.key}" if req.bucket else "/", keep_slash=True)
    encoded = sorted(
        (_v4_encode(k, False), _v4_encode(v, False)) for k, v in req.params.items() if k != "x-oss-signature"
    )
    query = "&".join(f"{k}={v}" if v else k for k, v in encoded)
    headers = b"".join(
        name.encode() + b":" + _bytes(value) + b"\n"
        for name, value in _oss_headers(req, (*_V4_DEFAULT_SIGNED, *additional))
    )
    return (
        f"{req.method}\n{uri}\n{query}\n".encode() + headers
        + f"\n{';'.join(additional)}\n{payload_hash}".encode()
    )


def v4_string_to_sign(canonical_request: bytes, datetime: str, scope: str) -> str:
    return f"{V4_ALGORITHM}\n{datetime}\n{scope}\n{hashlib.sha256(canonical_request).hexdigest()}"


@functools.lru_cache(maxsize=256)
def v4_signing_key(secret: str, date: str, region: str, product: str) -> bytes:
    """The v4 signing key (the same for every request of a day: cached)."""
    key = ("aliyun_v4" + secret).encode()
    for part in (date, region, product, "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def v4_signature(secret: str, date: str, region: str, product: str, string_to_sign: str) -> str:
    key = v4_signing_key(secret, date, region, product)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _parse_v4_authorization(value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in value[len(V4_ALGORITHM) :].split(","):
        name, _, val = item.strip().partition("=")
        fields[name] = val.strip()
    if "Credential" not in fields or "Signature" not in fields:
        raise err.invalid_argument("Authorization header is invalid.", "Authorization", value)
    return fields


def is_anonymous(req: SignedRequest) -> bool:
    """Whether the request carries no signature at all (no header, no presigned-URL fields)."""
    params = req.params
    return not req.header("authorization") and "Signature" not in params and "x-oss-signature" not in params


# -- verification ----------------------------------------------------------------------------
class Authenticator:
    """Checks one request's signature against the :class:`CredentialStore`.

    >>> from localcloud.core.credentials import CredentialStore
    >>> Authenticator(CredentialStore(), region="cn-hangzhou").authenticate(
    ...     SignedRequest("GET", "b", "k", [], []), now=0.0)
    Traceback (most recent call last):
    ...
    localcloud.oss.exceptions.OssError: AccessDenied: You have no right to access this object because of bucket acl.
    """

    def __init__(self, credentials: CredentialStore, *, region: str) -> None:
        self.credentials = credentials
        self.region = region

    def authenticate(self, req: SignedRequest, *, now: float) -> str:
        """The caller's AccessKey id, or an OSS error (403 for bad credentials or signatures)."""
        authorization = req.header("authorization")
        if authorization.startswith(V4_ALGORITHM + " "):
            return self._v4(req, _parse_v4_authorization(authorization), req.header("x-oss-security-token"))
        if authorization.startswith("OSS "):
            access_key_id, sep, signature = authorization[4:].strip().rpartition(":")
            if not sep or not access_key_id:
                raise err.invalid_argument("Authorization header is invalid.", "Authorization", authorization)
            return self._v1(req, access_key_id, signature, req.header("x-oss-security-token"), None)
        if authorization.startswith("OSS2 "):
            raise err.not_implemented("signature version 2 (OSS2); use v1 or v4")
        if authorization:
            raise err.invalid_argument("Authorization header is invalid.", "Authorization", authorization)
        params = req.params
        if "OSSAccessKeyId" in params and "Signature" in params:
            expires = params.get("Expires", "")
            if not expires.isdigit() or int(expires) < now:
                raise err.request_expired(expires, str(int(now)))
            return self._v1(req, params["OSSAccessKeyId"], params["Signature"], params.get("security-token"), expires)
        if params.get("x-oss-signature-version") == V4_ALGORITHM:
            started = parse_v4_datetime(params.get("x-oss-date", ""))
            expires = params.get("x-oss-expires", "")
            if started is None or not expires.isdigit() or started + int(expires) < now:
                raise err.request_expired(expires, str(int(now)))
            fields = {
                "Credential": params.get("x-oss-credential", ""), "Signature": params.get("x-oss-signature", ""),
                "AdditionalHeaders": params.get("x-oss-additional-headers", ""),
            }
            return self._v4(req, fields, params.get("x-oss-security-token"), params.get("x-oss-date", ""))
        raise err.access_denied(
            "Anonymous access is forbidden for this operation." if not req.bucket
            else "You have no right to access this object because of bucket acl."
        )

    def authenticate_form(self, fields: Mapping[str, str]) -> str:
        """PostObject: the caller's AccessKey id from the form's policy signature (field names
        lower-cased). v1 signs the base64 policy with HMAC-SHA1, v4 with the v4 signing key."""
        policy = fields.get("policy", "")
        if "ossaccesskeyid" in fields:
            access_key_id, signature = fields["ossaccesskeyid"], fields.get("signature", "")
            if not policy or not signature:
                raise err.invalid_argument("Form fields policy and Signature are required with OSSAccessKeyId.")
            secret = self._secret(access_key_id, fields.get("x-oss-security-token"))
            if not hmac.compare_digest(v1_signature(secret, policy.encode()), signature):
                raise err.signature_does_not_match(access_key_id, signature, policy)
            return access_key_id
        if fields.get("x-oss-signature-version") == V4_ALGORITHM:
            credential, signature = fields.get("x-oss-credential", ""), fields.get("x-oss-signature", "")
            parts = credential.rsplit("/", 4)
            if len(parts) != 5 or parts[3:] != ["oss", "aliyun_v4_request"] or not policy:
                raise err.invalid_argument("Invalid x-oss-credential or policy.", "x-oss-credential", credential)
            access_key_id, date, region, product, _ = parts
            secret = self._secret(access_key_id, fields.get("x-oss-security-token"))
            if not hmac.compare_digest(v4_signature(secret, date, region, product, policy), signature):
                raise err.signature_does_not_match(access_key_id, signature, policy)
            return access_key_id
        raise err.access_denied()

    def _secret(self, access_key_id: str, token: str | None) -> str:
        try:
            return self.credentials.secret_for(access_key_id, token or None)
        except ServiceError as exc:
            if exc.code == "InvalidAccessKeyId":
                raise err.invalid_access_key_id(access_key_id) from None
            if exc.code == "InvalidSecurityToken":
                raise err.invalid_security_token() from None
            raise

    def _v1(self, req: SignedRequest, access_key_id: str, signature: str, token: str | None, date: str | None) -> str:
        secret = self._secret(access_key_id, token)
        string_to_sign = v1_string_to_sign(req, date)
        if not hmac.compare_digest(v1_signature(secret, string_to_sign), signature):
            raise err.signature_does_not_match(access_key_id, signature, string_to_sign.decode("utf-8", "replace"))
        return access_key_id

    def _v4(self, req: SignedRequest, fields: dict[str, str], token: str | None, datetime: str | None = None) -> str:
        credential, signature = fields["Credential"], fields["Signature"]
        parts = credential.rsplit("/", 4)
        if len(parts) != 5 or parts[4] != "aliyun_v4_request" or parts[3] != "oss":
            raise err.invalid_argument("Invalid credential in Authorization header.", "Credential", credential)
        access_key_id, date, region, product, _ = parts
        if region != self.region:
            raise err.invalid_argument(
                f"Invalid signing region in Authorization header: {region} (this endpoint is {self.region}).",
                "Credential", credential,
            )
        secret = self._secret(access_key_id, token)
        payload_hash = req.header("x-oss-content-sha256") or UNSIGNED_PAYLOAD
        if payload_hash != UNSIGNED_PAYLOAD and payload_hash != hashlib.sha256(req.body).hexdigest():
            raise err.invalid_argument(
                "The x-oss-content-sha256 header does not match the request body.", "x-oss-content-sha256",
                payload_hash,
            )
        additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
        canonical = v4_canonical_request(req, additional, payload_hash)
        string_to_sign = v4_string_to_sign(
            canonical, datetime or req.header("x-oss-date"), f"{date}/{region}/{product}/aliyun_v4_request"
        )
        if not hmac.compare_digest(v4_signature(secret, date, region, product, string_to_sign), signature):
            raise err.signature_does_not_match(access_key_id, signature, string_to_sign)
        return access_key_id

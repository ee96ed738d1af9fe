"""The FC 3.0 HTTP trigger event (``version: v1``) for built-in runtimes.

Reference: ``events-and-syaml.md`` §4. ``rawPath`` is URL-encoded and
``requestContext.http.path`` is the decoded path; a header or query key with several values
arrives comma-joined (kept as delivered); a binary body arrives base64-encoded with
``isBase64Encoded: true`` (decoded here, so :attr:`HttpRequest.body` is always the bytes sent);
``timeEpoch`` is a *string* of epoch milliseconds.

Example
-------
>>> req = HttpRequest.from_json({"version": "v1", "rawPath": "/hooks/ci", "body": "eyJhIjogMX0=",
...     "isBase64Encoded": True, "headers": {"Content-Type": "application/json"},
...     "requestContext": {"http": {"method": "POST", "path": "/hooks/ci"}, "timeEpoch": "1693896071895"}})
>>> req.method, req.header("content-type"), req.json(), req.time_epoch_ms
('POST', 'application/json', {'a': 1}, 1693896071895)
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, ClassVar

import msgspec

from .decode import JSON_ERRORS, EventModel, convert, parse_error, parse_time, preview

__all__ = ["HttpRequest"]

STAGE = "http"


class _Http(msgspec.Struct):
    method: str
    path: str = ""
    protocol: str = ""
    sourceIp: str = ""
    userAgent: str = ""


class _RequestContext(msgspec.Struct):
    http: _Http
    accountId: str = ""
    domainName: str = ""
    domainPrefix: str = ""
    requestId: str = ""
    time: str = ""
    timeEpoch: str | int = ""
    triggerId: str | None = None


class _HttpEvent(msgspec.Struct):
    requestContext: _RequestContext
    version: str = ""
    rawPath: str = ""
    body: str | None = None
    isBase64Encoded: bool = False
    headers: dict[str, str] = {}
    queryParameters: dict[str, str] = {}


class HttpRequest(EventModel, frozen=True, kw_only=True):
    """One HTTP request delivered through an FC 3.0 HTTP trigger.

    Attributes
    ----------
    method : ``requestContext.http.method`` (``POST``)
    raw_path : ``rawPath`` (URL-encoded); ``path``: ``requestContext.http.path`` (decoded)
    headers, query : as delivered (multi-values comma-joined); see :meth:`header`
    body : the body bytes, base64-decoded when ``isBase64Encoded`` (``b""`` when absent)
    is_base64_encoded : how the body travelled
    source_ip, user_agent, protocol : from ``requestContext.http``
    request_id, account_id, domain_name, domain_prefix, trigger_id : from ``requestContext``
    time : raw ``requestContext.time``; ``time_epoch``: ``timeEpoch`` as the string delivered

    Header values whose name suggests a secret (signature, token, authorization, cookie) are
    masked in ``repr``.

    Example
    -------
    >>> req = HttpRequest(method="POST", headers={"X-Autopilot-Signature": "sha256=ab"}, body=b"x=1")
    >>> req.header("x-autopilot-signature"), req.form()
    ('sha256=ab', {'x': '1'})
    >>> req
    HttpRequest(method='POST', path='', headers={'X-Autopilot-Signature': '***'}, body=b'x=1')
    """

    _secret_words: ClassVar[tuple[str, ...]] = ("authorization", "signature", "token", "secret", "cookie", "key")

    method: str
    version: str = "v1"
    raw_path: str = ""
    path: str = ""
    protocol: str = ""
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    body: bytes = b""
    is_base64_encoded: bool = False
    source_ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    account_id: str = ""
    domain_name: str = ""
    domain_prefix: str = ""
    trigger_id: str | None = None
    time: str = ""
    time_epoch: str = ""

    @classmethod
    def from_json(cls, obj: Any) -> HttpRequest:
        """Validate a decoded HTTP trigger event and decode its body.

        Example
        -------
        >>> HttpRequest.from_json({"rawPath": "/", "body": "%%%", "isBase64Encoded": True,
        ...                        "requestContext": {"http": {"method": "POST"}}})
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: http: body is not valid base64 at $.body: value '%%%'
        """
        w = convert(obj, _HttpEvent, stage=STAGE)
        ctx, http = w.requestContext, w.requestContext.http
        return cls(
            method=http.method.upper(),
            version=w.version,
            raw_path=w.rawPath,
            path=http.path or _unquote(w.rawPath),
            protocol=http.protocol,
            headers=w.headers,
            query=w.queryParameters,
            body=_body_bytes(w.body, w.isBase64Encoded),
            is_base64_encoded=w.isBase64Encoded,
            source_ip=http.sourceIp,
            user_agent=http.userAgent,
            request_id=ctx.requestId,
            account_id=ctx.accountId,
            domain_name=ctx.domainName,
            domain_prefix=ctx.domainPrefix,
            trigger_id=ctx.triggerId,
            time=ctx.time,
            time_epoch=str(ctx.timeEpoch),
            raw=obj,
        )

    def __repr__(self) -> str:
        headers = {k: ("***" if self._is_secret(k) else v) for k, v in self.headers.items()}
        return (
            f"HttpRequest(method={self.method!r}, path={self.path!r}, headers={headers!r}, "
            f"body={preview(self.body)})"
        )

    @classmethod
    def _is_secret(cls, name: str) -> bool:
        lowered = name.lower()
        return any(word in lowered for word in cls._secret_words)

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header value by case-insensitive name (comma-joined if sent several times).

        Example
        -------
        >>> HttpRequest(method="GET", headers={"X-Trace": "a,b"}).header("x-trace")
        'a,b'
        >>> HttpRequest(method="GET").header("x-missing", "none")
        'none'
        """
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    @property
    def content_type(self) -> str:
        """The media type of ``Content-Type``, lower-cased, without parameters (``""`` if absent).

        Example
        -------
        >>> HttpRequest(method="POST", headers={"content-type": "Application/JSON; charset=utf-8"}).content_type
        'application/json'
        """
        value = self.header("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    @property
    def time_epoch_ms(self) -> int | None:
        """``timeEpoch`` as an int (epoch milliseconds), ``None`` when absent or not a number.

        Example
        -------
        >>> HttpRequest(method="GET", time_epoch="1693896071895").time_epoch_ms
        1693896071895
        """
        return int(self.time_epoch) if self.time_epoch.isdigit() else None

    @property
    def request_datetime(self) -> datetime | None:
        """The request time: ``timeEpoch`` if set, else ``requestContext.time``, parsed leniently.

        Example
        -------
        >>> HttpRequest(method="GET", time="2023-09-05T06:41:11Z").request_datetime.isoformat()
        '2023-09-05T06:41:11+00:00'
        """
        return parse_time(self.time_epoch_ms if self.time_epoch_ms is not None else self.time)

    def text(self, encoding: str = "utf-8") -> str:
        """The body decoded as text.

        Example
        -------
        >>> HttpRequest(method="POST", body="数据".encode()).text()
        '数据'
        """
        try:
            return self.body.decode(encoding)
        except UnicodeDecodeError as exc:
            raise parse_error(STAGE, f"body is not {encoding} text", path="$.body", value=self.body) from exc

    def json(self) -> Any:
        """The body decoded as JSON. An empty or non-JSON body raises ``EventParseError``.

        Example
        -------
        >>> HttpRequest(method="POST", body=b'{"action": "retrain"}').json()
        {'action': 'retrain'}
        >>> HttpRequest(method="POST", body=b"").json()
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: http: empty body, expected JSON at $.body: value b''
        """
        if not self.body.strip():
            raise parse_error(STAGE, "empty body, expected JSON", path="$.body", value=self.body)
        try:
            return msgspec.json.decode(self.body)
        except JSON_ERRORS as exc:
            raise parse_error(STAGE, f"body is not valid JSON ({exc})", path="$.body", value=self.body) from exc

    def form(self) -> dict[str, str]:
        """The body decoded as ``application/x-www-form-urlencoded`` (a repeated key: last wins).

        Example
        -------
        >>> HttpRequest(method="POST", body=b"alertState=ALERT&dimensions=%7BinstanceId%3Di-1%7D&x=").form()
        {'alertState': 'ALERT', 'dimensions': '{instanceId=i-1}', 'x': ''}
        """
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.text(), keep_blank_values=True))


def _body_bytes(body: str | None, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not is_base64:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise parse_error(STAGE, "body is not valid base64", path="$.body", value=body) from exc


def _unquote(raw_path: str) -> str:
    if "%" not in raw_path:
        return raw_path
    from urllib.parse import unquote

    return unquote(raw_path)

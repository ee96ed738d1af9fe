"""OSS object events: the native FC OSS trigger (``{"events": [record, ...]}``) and its record.

The same record shape also arrives as the ``data`` of an EventBridge CloudEvent whose source is
``acs.oss`` (see :meth:`pai_autopilot.events.CloudEvent.oss_record`).

Field meanings (reference: ``events-and-syaml.md`` §1):

* ``eventName`` has no ``oss:`` prefix in every sample (``ObjectCreated:PutObject``); the trigger
  *configuration* uses the prefixed form. Both spellings are accepted: :func:`is_object_created`
  is the one place that decides.
* ``oss.object.key`` is used **as-is**. No Alibaba source says it is URL-encoded (the OSS event
  notification and FC OSS-trigger pages show plain keys and never mention encoding; AWS S3 and
  Huawei OBS document that theirs are), and OSS keys may contain a literal ``%`` or ``+``, so it
  is never unquoted blindly (§1.2, unconfirmed). The tolerant choice lives in one place,
  :func:`key_spellings`: the as-delivered key first, then its URL-decoded spelling when it
  differs; a caller that finds no object under the first tries the second.
* :func:`key_problem` checks a key against OSS's documented shape (1-1023 bytes of UTF-8, not
  starting with ``/`` or ``\\``) and refuses what must never reach a request path: control
  characters (newline, NUL), ``.``/``..`` segments.
* ``size`` is the object size; ``deltaSize`` is the change in stored size, not the size.
* ``objectMeta.mimeType`` and ``ruleId`` are optional.

Example
-------
>>> event = OssEvent.from_json({"events": [{
...     "eventName": "ObjectCreated:PutObject", "region": "cn-hangzhou",
...     "oss": {"bucket": {"name": "autopilot-demo"},
...             "object": {"key": "datasets/demo/v1/_SUCCESS", "size": 0, "eTag": "D41D"}}}]})
>>> [r.dedupe_key for r in event.records]
['autopilot-demo/datasets/demo/v1/_SUCCESS@D41D']
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec

from .decode import EventModel, convert, parse_error, parse_time

__all__ = ["MAX_KEY_BYTES", "OssEvent", "OssRecord", "is_object_created", "key_problem", "key_spellings"]

STAGE = "oss"

#: OSS object keys are 1-1023 bytes of UTF-8.
MAX_KEY_BYTES = 1023


def is_object_created(event_name: str) -> bool:
    """True for ``ObjectCreated:*`` event names, spelt with or without the ``oss:`` prefix.

    Example
    -------
    >>> [is_object_created(n) for n in ("ObjectCreated:PutObject", "oss:ObjectCreated:CopyObject",
    ...                                 "ObjectRemoved:DeleteObject", "oss:ObjectCreated", 7)]
    [True, True, False, False, False]
    """
    return isinstance(event_name, str) and event_name.removeprefix("oss:").startswith("ObjectCreated:")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a usable OSS object key from an event, or ``None`` when it can.

    Example
    -------
    >>> key_problem("datasets/demo/v1/_SUCCESS") is None
    True
    >>> [key_problem(k) for k in ("", "/abs", "a/../b", "a" + chr(10) + "b", "x" * 1024)]  # doctest: +NORMALIZE_WHITESPACE
    ['the key is empty', 'the key starts with /', 'the key has a . or .. segment',
     'the key contains a control character', 'the key is 1024 bytes (OSS allows 1-1023)']
    """
    if not key:
        return "the key is empty"
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        return f"the key is {size} bytes (OSS allows 1-{MAX_KEY_BYTES})"
    if key[0] in "/\\":
        return f"the key starts with {key[0]}"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return "the key contains a control character"
    if any(seg in (".", "..") for seg in key.split("/")):
        return "the key has a . or .. segment"
    return None


def key_spellings(key: str) -> tuple[str, ...]:
    """The spellings of an event's key to look for, most likely first (the tolerant choice).

    The key as delivered; then, if it holds ``%XX`` escapes or ``+``, its URL-decoded form
    (``unquote_plus``), in case OSS encoded it as S3 does. Nothing else decodes keys.

    Example
    -------
    >>> key_spellings("datasets/demo/v1/_SUCCESS")
    ('datasets/demo/v1/_SUCCESS',)
    >>> key_spellings("datasets/demo/v%201+a/_SUCCESS")
    ('datasets/demo/v%201+a/_SUCCESS', 'datasets/demo/v 1 a/_SUCCESS')
    """
    if "%" not in key and "+" not in key:
        return (key,)
    from urllib.parse import unquote_plus

    decoded = unquote_plus(key)
    return (key,) if decoded == key else (key, decoded)


# ------------------------------------------------------------------------- wire shape (private)
# Field names mirror the JSON exactly; only what is required by every sample is required here.


class _Bucket(msgspec.Struct):
    name: str
    arn: str = ""
    ownerIdentity: str = ""
    virtualBucket: str = ""


class _ObjectMeta(msgspec.Struct):
    mimeType: str | None = None


class _Object(msgspec.Struct):
    key: str
    size: int = 0
    deltaSize: int | None = None
    eTag: str = ""
    objectMeta: _ObjectMeta | None = None


class _Oss(msgspec.Struct):
    bucket: _Bucket
    object: _Object
    ossSchemaVersion: str = ""
    ruleId: str | None = None


class _RequestParameters(msgspec.Struct):
    sourceIPAddress: str = ""


class _ResponseElements(msgspec.Struct):
    requestId: str = ""


class _UserIdentity(msgspec.Struct):
    principalId: str = ""


class _Record(msgspec.Struct):
    eventName: str
    oss: _Oss
    eventSource: str = ""
    eventTime: str = ""
    eventVersion: str = ""
    region: str = ""
    requestParameters: _RequestParameters | None = None
    responseElements: _ResponseElements | None = None
    userIdentity: _UserIdentity | None = None


# ------------------------------------------------------------------------------- public models


class OssRecord(EventModel, frozen=True, kw_only=True):
    """One OSS object event, flattened.

    Attributes
    ----------
    event_name : ``ObjectCreated:PutObject`` (no ``oss:`` prefix)
    event_source : ``acs:oss``
    event_time : raw ISO-8601 string; see :attr:`event_datetime`
    event_version, region : as delivered
    bucket, bucket_arn, owner_id, virtual_bucket : from ``oss.bucket``
    key : ``oss.object.key`` exactly as delivered (never unquoted)
    size : object size in bytes (0 when absent); ``delta_size`` is the stored-size change
    etag : ``oss.object.eTag`` as delivered
    mime_type : ``oss.object.objectMeta.mimeType`` or ``None``
    rule_id, schema_version : ``oss.ruleId`` (optional), ``oss.ossSchemaVersion``
    request_id : ``responseElements.requestId``
    source_ip : ``requestParameters.sourceIPAddress``
    principal_id : ``userIdentity.principalId``

    Example
    -------
    >>> r = OssRecord.from_json({"eventName": "ObjectCreated:PutObject",
    ...     "oss": {"bucket": {"name": "b"}, "object": {"key": "a b+c%20.txt", "size": 3, "eTag": "E"}}})
    >>> r.key, r.uri, r.dedupe_key, r.is_object_created
    ('a b+c%20.txt', 'oss://b/a b+c%20.txt', 'b/a b+c%20.txt@E', True)
    """

    event_name: str
    event_source: str = ""
    event_time: str = ""
    event_version: str = ""
    region: str = ""
    bucket: str
    bucket_arn: str = ""
    owner_id: str = ""
    virtual_bucket: str = ""
    key: str
    size: int = 0
    delta_size: int | None = None
    etag: str = ""
    mime_type: str | None = None
    rule_id: str | None = None
    schema_version: str = ""
    request_id: str = ""
    source_ip: str = ""
    principal_id: str = ""

    @classmethod
    def from_json(cls, obj: Any, *, path: str = "$") -> OssRecord:
        """Validate one decoded OSS record (``path`` locates it in the event, for errors).

        Example
        -------
        >>> OssRecord.from_json({"eventName": "ObjectCreated:PutObject", "oss": {"bucket": {"name": "b"},
        ...     "object": {"size": 1}}}, path="$.events[0]")
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: oss: missing required field at $.events[0].oss.object.key
        """
        wire = convert(obj, _Record, stage=STAGE, path=path)
        o, b = wire.oss.object, wire.oss.bucket
        return cls(
            event_name=wire.eventName,
            event_source=wire.eventSource,
            event_time=wire.eventTime,
            event_version=wire.eventVersion,
            region=wire.region,
            bucket=b.name,
            bucket_arn=b.arn,
            owner_id=b.ownerIdentity,
            virtual_bucket=b.virtualBucket,
            key=o.key,
            size=o.size,
            delta_size=o.deltaSize,
            etag=o.eTag,
            mime_type=o.objectMeta.mimeType if o.objectMeta else None,
            rule_id=wire.oss.ruleId,
            schema_version=wire.oss.ossSchemaVersion,
            request_id=wire.responseElements.requestId if wire.responseElements else "",
            source_ip=wire.requestParameters.sourceIPAddress if wire.requestParameters else "",
            principal_id=wire.userIdentity.principalId if wire.userIdentity else "",
            raw=obj,
        )

    @property
    def dedupe_key(self) -> str:
        """``"<bucket>/<key>@<etag>"``: the same object content notified twice has one key.

        Example
        -------
        >>> OssRecord(event_name="ObjectCreated:PutObject", bucket="b", key="k", etag="E").dedupe_key
        'b/k@E'
        """
        return f"{self.bucket}/{self.key}@{self.etag}"

    @property
    def uri(self) -> str:
        """``oss://<bucket>/<key>``.

        Example
        -------
        >>> OssRecord(event_name="ObjectCreated:PutObject", bucket="b", key="d/k").uri
        'oss://b/d/k'
        """
        return f"oss://{self.bucket}/{self.key}"

    @property
    def is_object_created(self) -> bool:
        """True for ``ObjectCreated:*`` events (also when given with an ``oss:`` prefix).

        Example
        -------
        >>> OssRecord(event_name="ObjectRemoved:DeleteObject", bucket="b", key="k").is_object_created
        False
        """
        return is_object_created(self.event_name)

    @property
    def event_datetime(self) -> datetime | None:
        """:attr:`event_time` parsed leniently (``None`` when absent or unparseable).

        Example
        -------
        >>> OssRecord(event_name="e", bucket="b", key="k", event_time="2024-05-01T08:00:00.000Z").event_datetime.year
        2024
        """
        return parse_time(self.event_time)


class OssEvent(EventModel, frozen=True, kw_only=True):
    """What a native FC OSS trigger delivers: ``{"events": [record, ...]}``.

    Every official sample holds one record, but FC may deliver several: always loop.

    Example
    -------
    >>> ev = OssEvent.from_json({"events": [
    ...     {"eventName": "ObjectCreated:PutObject", "oss": {"bucket": {"name": "b"}, "object": {"key": "x"}}},
    ...     {"eventName": "ObjectCreated:PostObject", "oss": {"bucket": {"name": "b"}, "object": {"key": "y"}}}]})
    >>> len(ev), [r.key for r in ev]
    (2, ['x', 'y'])
    """

    records: list[OssRecord]

    @classmethod
    def from_json(cls, obj: Any) -> OssEvent:
        """Validate a decoded ``{"events": [...]}`` document.

        ``events`` must be a non-empty list of records.

        Example
        -------
        >>> OssEvent.from_json({"events": {}})
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: oss: `events` must be a list of records at $.events: value {}
        """
        if not isinstance(obj, dict) or "events" not in obj:
            raise parse_error(STAGE, "expected an object with `events`", path="$", value=obj)
        items = obj["events"]
        if not isinstance(items, list):
            raise parse_error(STAGE, "`events` must be a list of records", path="$.events", value=items)
        if not items:
            raise parse_error(STAGE, "`events` is empty", path="$.events", value=items)
        records = [OssRecord.from_json(item, path=f"$.events[{i}]") for i, item in enumerate(items)]
        return cls(records=records, raw=obj)

    def __iter__(self) -> Iterator[OssRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

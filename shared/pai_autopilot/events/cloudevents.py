"""EventBridge CloudEvents (1.0) as delivered to FC: one object, or a JSON array when batched.

Reference: ``events-and-syaml.md`` §2.1. ``id``, ``source`` and ``type`` are required; ``source``
plus ``id`` is unique per event, and the same pair may be delivered twice, so it is the
idempotency key (:attr:`CloudEvent.dedupe_key`). ``time`` is kept as the raw string (some samples
carry suffixes such as ``Asia/Shanghai``); :attr:`CloudEvent.event_datetime` parses it
leniently. Bus-model triggers deliver one object; event-streaming (batched) delivery sends a
list (:class:`CloudEventBatch`).

Example
-------
>>> ce = CloudEvent.from_json({"id": "1", "source": "acs.oss", "type": "oss:ObjectCreated:PutObject",
...                            "specversion": "1.0", "aliyuneventbusname": "default", "data": {}})
>>> ce.dedupe_key, ce.event_bus_name, ce.is_oss
('acs.oss/1', 'default', True)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec

from .decode import JSON_ERRORS, EventModel, convert, parse_error, parse_time
from .oss import OssRecord

__all__ = ["OSS_SOURCE", "CloudEvent", "CloudEventBatch"]

STAGE = "cloudevent"

#: ``source`` of OSS events on EventBridge (note the dot; ``data.eventSource`` is ``acs:oss``).
OSS_SOURCE = "acs.oss"


class CloudEvent(EventModel, frozen=True, kw_only=True):
    """One CloudEvent with the Alibaba extensions.

    Attributes
    ----------
    id, source, type, specversion : CloudEvents core (``specversion`` is ``""`` when absent)
    subject, time, datacontenttype, dataschema : optional core fields; ``time`` is the raw string
    data : the payload, any JSON value
    account_id : ``aliyunaccountid``; ``original_account_id``: ``aliyunoriginalaccountid``
    publish_time : ``aliyunpublishtime`` (raw string)
    event_bus_name : ``aliyuneventbusname`` (``default`` for cloud-service events)
    region_id : ``aliyunregionid``; ``publish_addr``: ``aliyunpublishaddr``

    Example
    -------
    >>> ce = CloudEvent(id="e1", source="acs.pai", type="pai:DLC:JobStatusChanged", data={"JobId": "dlc1"})
    >>> ce.data_object()["JobId"]
    'dlc1'
    """

    id: str
    source: str
    type: str
    specversion: str = ""
    subject: str | None = None
    time: str | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    data: Any = None
    account_id: str | None = msgspec.field(default=None, name="aliyunaccountid")
    original_account_id: str | None = msgspec.field(default=None, name="aliyunoriginalaccountid")
    publish_time: str | None = msgspec.field(default=None, name="aliyunpublishtime")
    event_bus_name: str | None = msgspec.field(default=None, name="aliyuneventbusname")
    region_id: str | None = msgspec.field(default=None, name="aliyunregionid")
    publish_addr: str | None = msgspec.field(default=None, name="aliyunpublishaddr")

    @classmethod
    def from_json(cls, obj: Any, *, path: str = "$") -> CloudEvent:
        """Validate one decoded CloudEvent (``path`` locates it in the event, for errors).

        Example
        -------
        >>> CloudEvent.from_json({"id": "1", "type": "t"})
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: cloudevent: missing required field at $.source
        """
        # wire names (``aliyunaccountid``…) map to attributes through the fields' ``name=``
        return msgspec.structs.replace(convert(obj, cls, stage=STAGE, path=path), raw=obj)

    @property
    def dedupe_key(self) -> str:
        """``"<source>/<id>"``: EventBridge guarantees ``source`` + ``id`` unique per event.

        Example
        -------
        >>> CloudEvent(id="6364D216", source="acs.oss", type="t").dedupe_key
        'acs.oss/6364D216'
        """
        return f"{self.source}/{self.id}"

    @property
    def is_oss(self) -> bool:
        """True when this is an OSS event (``source == "acs.oss"``).

        Example
        -------
        >>> CloudEvent(id="1", source="acs.cms", type="cms:CloudMonitor:AlertWebHook").is_oss
        False
        """
        return self.source == OSS_SOURCE

    @property
    def event_datetime(self) -> datetime | None:
        """:attr:`time` parsed leniently (``None`` when absent or unparseable).

        Example
        -------
        >>> CloudEvent(id="1", source="s", type="t", time="2024-05-01T08:00:00PRC").event_datetime.isoformat()
        '2024-05-01T08:00:00+08:00'
        """
        return parse_time(self.time)

    @property
    def publish_datetime(self) -> datetime | None:
        """:attr:`publish_time` parsed leniently.

        Example
        -------
        >>> CloudEvent(id="1", source="s", type="t", publish_time="2024-05-01T08:00:00.682Z").publish_datetime.second
        0
        """
        return parse_time(self.publish_time)

    def data_object(self, *, stage: str = STAGE) -> dict[str, Any]:
        """``data`` as a JSON object; a JSON *string* holding an object is decoded first.

        Raises :class:`~pai_autopilot.errors.EventParseError` naming ``$.data`` otherwise.

        Example
        -------
        >>> CloudEvent(id="1", source="s", type="t", data='{"a": 1}').data_object()
        {'a': 1}
        >>> CloudEvent(id="1", source="s", type="t", data=[1]).data_object()
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: cloudevent: `data` must be a JSON object at $.data: value [1]
        """
        data = self.data
        if isinstance(data, str) and data.lstrip().startswith("{"):
            try:
                data = msgspec.json.decode(data)
            except JSON_ERRORS as exc:
                raise parse_error(stage, f"`data` is not valid JSON ({exc})", path="$.data", value=data) from exc
        if not isinstance(data, dict):
            raise parse_error(stage, "`data` must be a JSON object", path="$.data", value=self.data)
        return data

    def oss_record(self) -> OssRecord:
        """The OSS record carried in ``data`` (EventBridge wraps exactly one, unwrapped).

        Raises :class:`~pai_autopilot.errors.EventParseError` if the source is not ``acs.oss``
        or ``data`` is not an OSS record.

        Example
        -------
        >>> ce = CloudEvent(id="1", source="acs.oss", type="oss:ObjectCreated:PutObject", data={
        ...     "eventName": "ObjectCreated:PutObject",
        ...     "oss": {"bucket": {"name": "b"}, "object": {"key": "models/demo/v1/_SUCCESS", "eTag": "E"}}})
        >>> ce.oss_record().key
        'models/demo/v1/_SUCCESS'
        """
        if not self.is_oss:
            raise parse_error(STAGE, f"not an OSS event (source must be {OSS_SOURCE!r})", path="$.source",
                              value=self.source)
        return OssRecord.from_json(self.data_object(stage="oss"), path="$.data")


class CloudEventBatch(EventModel, frozen=True, kw_only=True):
    """A JSON array of CloudEvents (EventBridge event-streaming / batched delivery).

    Example
    -------
    >>> batch = CloudEventBatch.from_json([{"id": "1", "source": "s", "type": "t"},
    ...                                    {"id": "2", "source": "s", "type": "t"}])
    >>> len(batch), [e.dedupe_key for e in batch]
    (2, ['s/1', 's/2'])
    """

    events: list[CloudEvent]

    @classmethod
    def from_json(cls, obj: Any) -> CloudEventBatch:
        """Validate a decoded, non-empty list of CloudEvents.

        Example
        -------
        >>> CloudEventBatch.from_json([])
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: cloudevent: empty batch at $: value []
        """
        if not isinstance(obj, list):
            raise parse_error(STAGE, "a batch must be a JSON array", path="$", value=obj)
        if not obj:
            raise parse_error(STAGE, "empty batch", path="$", value=obj)
        events = [CloudEvent.from_json(item, path=f"$[{i}]") for i, item in enumerate(obj)]
        return cls(events=events, raw=obj)

    def __iter__(self) -> Iterator[CloudEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

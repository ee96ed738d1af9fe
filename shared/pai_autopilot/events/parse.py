"""The one entry point: raw FC event → typed model, by envelope detection.

Stages: ``bytes``/``str`` → JSON (:func:`~pai_autopilot.events.decode`) → envelope detection
(below) → payload model. Detection looks only at the top-level keys:

============================================  ==============================================
shape                                         model
============================================  ==============================================
JSON array                                    :class:`CloudEventBatch` (event-streaming)
object with ``events``                        :class:`OssEvent` (native OSS trigger)
object with ``specversion``, or ``id`` +
``source`` + ``type``                         :class:`CloudEvent` (EventBridge)
object with ``triggerTime`` + ``triggerName``  :class:`TimerEvent`
object with ``requestContext``                :class:`HttpRequest` (FC 3.0 HTTP trigger)
object with CMS alarm keys                    :class:`CmsAlarm` (callback fields or alarm JSON)
============================================  ==============================================

Anything else raises :class:`~pai_autopilot.errors.EventParseError` (stage ``envelope``).
Payloads inside an envelope are read on demand: :meth:`CloudEvent.oss_record`,
:func:`cms_alarm`, :func:`dlc_job_status`, :meth:`HttpRequest.json`, :func:`oss_records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from .cloudevents import CloudEvent, CloudEventBatch
from .decode import EventModel, decode, parse_error, preview
from .oss import OssEvent, OssRecord
from .timer import TimerEvent

if TYPE_CHECKING:
    from .alarm import CmsAlarm
    from .http import HttpRequest

__all__ = ["Event", "oss_records", "parse_event"]

#: Every model :func:`parse_event` can return. The HTTP and alarm models are imported only when
#: such an event arrives (a cold start on the OSS, EventBridge and timer paths skips them).
Event = Union[OssEvent, CloudEvent, CloudEventBatch, TimerEvent, "HttpRequest", "CmsAlarm"]


def _looks_like_alarm(obj: dict[str, Any]) -> bool:
    """The keys of a CMS alarm (the check of :func:`.alarm.looks_like_alarm`, without importing it)."""
    if "alertState" in obj or "alertName" in obj:
        return True
    return "ruleId" in obj and any(k in obj for k in ("curLevel", "ruleName", "metricData", "escalation"))

STAGE = "envelope"


def parse_event(raw: bytes | str | dict[str, Any] | list[Any] | Event) -> Event:
    """Parse any event this project receives into its model (see the module docstring).

    ``raw`` is what FC passes the handler (``bytes``), or a ``str``, or already-decoded JSON
    (``dict``/``list``); a model is returned unchanged.

    Example
    -------
    >>> parse_event(b'{"triggerTime": "2023-12-26T07:49:00Z", "triggerName": "reconcile"}')
    TimerEvent(trigger_time='2023-12-26T07:49:00Z', trigger_name='reconcile', payload=None)
    >>> parse_event('{"hello": "world"}')
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.EventParseError: envelope: unknown event shape (keys: hello) at $: value {'hello': 'world'}
    """
    if isinstance(raw, EventModel):
        return raw  # type: ignore[return-value]
    obj = decode(raw)
    if isinstance(obj, list):
        return CloudEventBatch.from_json(obj)
    if not isinstance(obj, dict):
        raise parse_error(STAGE, f"expected a JSON object or array, got {type(obj).__name__}", path="$", value=obj)
    if "events" in obj:
        return OssEvent.from_json(obj)
    if "specversion" in obj or ("id" in obj and "source" in obj and "type" in obj):
        return CloudEvent.from_json(obj)
    if "triggerTime" in obj and "triggerName" in obj:
        return TimerEvent.from_json(obj)
    if "requestContext" in obj:
        from .http import HttpRequest

        return HttpRequest.from_json(obj)
    if _looks_like_alarm(obj):
        from .alarm import CmsAlarm

        return CmsAlarm.from_mapping(obj)
    keys = ", ".join(preview(k, 40) if not isinstance(k, str) or len(k) > 40 else k for k in sorted(map(str, obj))[:10])
    keys = keys or "none"
    raise parse_error(STAGE, f"unknown event shape (keys: {keys})", path="$", value=obj)


def oss_records(event: Event) -> list[OssRecord]:
    """Every OSS record an event carries, whichever way OSS delivered it.

    A native :class:`OssEvent` gives its records; an ``acs.oss`` :class:`CloudEvent` gives its one
    record; a :class:`CloudEventBatch` gives the records of its ``acs.oss`` members. Other events
    give ``[]``. A malformed OSS payload raises :class:`~pai_autopilot.errors.EventParseError`.

    Example
    -------
    >>> oss_records(parse_event({"id": "1", "source": "acs.oss", "type": "oss:ObjectCreated:PutObject",
    ...     "data": {"eventName": "ObjectCreated:PutObject",
    ...              "oss": {"bucket": {"name": "b"}, "object": {"key": "k", "eTag": "E"}}}}))[0].dedupe_key
    'b/k@E'
    >>> oss_records(parse_event({"triggerTime": "t", "triggerName": "n"}))
    []
    """
    if isinstance(event, OssEvent):
        return list(event.records)
    if isinstance(event, CloudEvent):
        return [event.oss_record()] if event.is_oss else []
    if isinstance(event, CloudEventBatch):
        return [e.oss_record() for e in event.events if e.is_oss]
    return []

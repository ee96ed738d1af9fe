"""Typed models of every event the functions receive, and the one parser that builds them.

Parsing runs in stages — bytes/str → JSON (:func:`decode`) → envelope detection
(:func:`parse_event`) → payload (:meth:`CloudEvent.oss_record`, :func:`cms_alarm`,
:func:`dlc_job_status`, :meth:`HttpRequest.json`/:meth:`HttpRequest.form`) — and every failure is
one error type, :class:`~pai_autopilot.errors.EventParseError`, whose message names the stage,
the path inside the event and the offending value. Models are immutable ``msgspec`` structs
(cheap to import: no pydantic, no SDK) with a ``raw`` escape hatch holding the decoded JSON.

Sample events for every trigger live in ``events/`` at the repository root.

Example
-------
>>> event = parse_event(b'{"events": [{"eventName": "ObjectCreated:PutObject", "region": "cn-hangzhou",'
...                     b' "oss": {"bucket": {"name": "autopilot-demo"},'
...                     b' "object": {"key": "datasets/demo/v1/_SUCCESS", "size": 0, "eTag": "D41D"}}}]}')
>>> [(r.bucket, r.key) for r in oss_records(event)]
[('autopilot-demo', 'datasets/demo/v1/_SUCCESS')]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import EventParseError
from .cloudevents import OSS_SOURCE, CloudEvent, CloudEventBatch
from .decode import EventModel, decode, parse_time
from .oss import OssEvent, OssRecord, is_object_created, key_problem, key_spellings
from .pai import (
    ASSUMED_DLC_JOB_EVENT,
    DLC_JOB_STATUS_TYPE,
    DLC_STATUSES,
    DLC_TERMINAL_STATUSES,
    PAI_BUS_PREFIX,
    PAI_SOURCE,
    dlc_job_status,
    is_dlc_job_event,
)
from .parse import Event, oss_records, parse_event
from .timer import TimerEvent

if TYPE_CHECKING:
    from .alarm import ALARM_STATES, CMS_ALERT_WEBHOOK_TYPE, CMS_SOURCE, CmsAlarm, cms_alarm, parse_dimensions
    from .http import HttpRequest

#: Exported names loaded on first use: the HTTP and CMS alarm models cost a cold start on the OSS,
#: EventBridge and timer paths nothing until an HTTP request or an alarm arrives.
_LAZY = {"ALARM_STATES": "alarm", "CMS_ALERT_WEBHOOK_TYPE": "alarm", "CMS_SOURCE": "alarm", "CmsAlarm": "alarm",
         "cms_alarm": "alarm", "parse_dimensions": "alarm", "HttpRequest": "http"}


def __getattr__(name: str) -> Any:
    """PEP 562: import :data:`_LAZY` names from their module when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

__all__ = [
    "ALARM_STATES",
    "ASSUMED_DLC_JOB_EVENT",
    "CMS_ALERT_WEBHOOK_TYPE",
    "CMS_SOURCE",
    "DLC_JOB_STATUS_TYPE",
    "DLC_STATUSES",
    "DLC_TERMINAL_STATUSES",
    "OSS_SOURCE",
    "PAI_BUS_PREFIX",
    "PAI_SOURCE",
    "CloudEvent",
    "CloudEventBatch",
    "CmsAlarm",
    "Event",
    "EventModel",
    "EventParseError",
    "HttpRequest",
    "OssEvent",
    "OssRecord",
    "TimerEvent",
    "cms_alarm",
    "decode",
    "dlc_job_status",
    "is_dlc_job_event",
    "is_object_created",
    "key_problem",
    "key_spellings",
    "oss_records",
    "parse_dimensions",
    "parse_event",
    "parse_time",
]

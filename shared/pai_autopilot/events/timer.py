"""The FC timer trigger event: ``{"triggerTime", "triggerName", "payload"}``.

Reference: ``events-and-syaml.md`` §3. ``payload`` is the trigger's configured string passed
through as-is (any text, possibly absent); structured settings are a JSON string inside it,
read with :meth:`TimerEvent.payload_json`.

Example
-------
>>> ev = TimerEvent.from_json({"triggerTime": "2023-12-26T07:49:00Z", "triggerName": "reconcile",
...                            "payload": '{"maxRuns": 5}'})
>>> ev.trigger_name, ev.payload_json()
('reconcile', {'maxRuns': 5})
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from .decode import JSON_ERRORS, EventModel, convert, parse_error, parse_time

__all__ = ["TimerEvent"]

STAGE = "timer"


class _Timer(msgspec.Struct):
    triggerTime: str
    triggerName: str
    payload: str | None = None


class TimerEvent(EventModel, frozen=True, kw_only=True):
    """One tick of a timer trigger.

    Attributes
    ----------
    trigger_time : raw ``triggerTime`` string (UTC, ``2023-12-26T07:49:00Z``)
    trigger_name : the trigger's name from ``s.yaml``
    payload : the configured payload string, or ``None`` when absent

    Example
    -------
    >>> TimerEvent(trigger_time="2023-12-26T07:49:00Z", trigger_name="canary").trigger_datetime.minute
    49
    """

    trigger_time: str
    trigger_name: str
    payload: str | None = None

    @classmethod
    def from_json(cls, obj: Any) -> TimerEvent:
        """Validate a decoded timer event.

        Example
        -------
        >>> TimerEvent.from_json({"triggerTime": "2023-12-26T07:49:00Z"})
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: timer: missing required field at $.triggerName
        """
        w = convert(obj, _Timer, stage=STAGE)
        return cls(trigger_time=w.triggerTime, trigger_name=w.triggerName, payload=w.payload, raw=obj)

    @property
    def trigger_datetime(self) -> datetime | None:
        """:attr:`trigger_time` parsed leniently (``None`` when unparseable).

        Example
        -------
        >>> TimerEvent(trigger_time="bad", trigger_name="t").trigger_datetime is None
        True
        """
        return parse_time(self.trigger_time)

    def payload_json(self, default: Any = None) -> Any:
        """The payload decoded as JSON; ``default`` when it is absent or blank.

        A payload that is present but not JSON raises
        :class:`~pai_autopilot.errors.EventParseError` (stage ``timer``, path ``$.payload``);
        read :attr:`payload` directly for free-text payloads.

        Example
        -------
        >>> TimerEvent(trigger_time="t", trigger_name="n").payload_json(default={})
        {}
        >>> TimerEvent(trigger_time="t", trigger_name="n", payload="awesome-fc").payload_json()
        Traceback (most recent call last):
        ...
        pai_autopilot.errors.EventParseError: timer: payload is not JSON (JSON is malformed: invalid character (byte 0)) at $.payload: value 'awesome-fc'
        """
        if self.payload is None or not self.payload.strip():
            return default
        try:
            return msgspec.json.decode(self.payload)
        except JSON_ERRORS as exc:
            raise parse_error(STAGE, f"payload is not JSON ({exc})", path="$.payload", value=self.payload) from exc

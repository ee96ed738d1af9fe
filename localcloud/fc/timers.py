"""Timer triggers on localcloud's clock: 6-field cron (seconds first), ``CRON_TZ=``, ``@every``.

A :class:`TimerSchedule` yields the fire times that fell due since it was last asked, so
advancing the clock by an hour fires a 15-minute timer four times, in order (bounded by
:data:`MAX_FIRES_PER_TICK`). The event is FC's timer payload.

Example
-------
>>> from pai_autopilot.syaml import TimerTrigger
>>> s = TimerSchedule(TimerTrigger("t", "0 */15 * * * *"), start=0.0)
>>> [int(t) for t in s.due(3600.0)]
[900, 1800, 2700, 3600]
>>> s.due(3600.0)
[]
>>> [int(t) for t in TimerSchedule(TimerTrigger("e", "@every 10m"), start=0.0).due(1900.0)]
[600, 1200, 1800]
>>> timer_event(TimerTrigger("t", "@every 1m", payload='{"a": 1}'), 60.0)
'{"triggerTime": "1970-01-01T00:01:00Z", "triggerName": "t", "payload": "{\\\\"a\\\\": 1}"}'
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

from pai_autopilot.syaml import TimerTrigger

MAX_FIRES_PER_TICK = 1000


class TimerSchedule:
    """When one timer trigger fires, from ``start`` on (exclusive)."""

    def __init__(self, trigger: TimerTrigger, *, start: float) -> None:
        self.trigger = trigger
        self._interval = trigger.interval_seconds
        self._next = self._after(start)

    def _after(self, t: float) -> float:
        if self._interval:
            return t + self._interval
        tz = ZoneInfo(self.trigger.timezone) if self.trigger.timezone else timezone.utc
        base = datetime.fromtimestamp(t, tz)
        return float(croniter(self.trigger.expression, base, second_at_beginning=True).get_next(float))

    def due(self, now: float) -> list[float]:
        """Fire times in ``(last asked, now]``, oldest first; none when the trigger is disabled."""
        fires: list[float] = []
        while self._next <= now and len(fires) < MAX_FIRES_PER_TICK:
            fires.append(self._next)
            self._next = self._after(self._next)
        if len(fires) == MAX_FIRES_PER_TICK:  # a huge jump: skip ahead instead of flooding
            self._next = self._after(now)
        return fires if self.trigger.enable else []


def timer_event(trigger: TimerTrigger, fire_time: float) -> str:
    """FC's timer event: ``{"triggerTime", "triggerName", "payload"}`` (payload as configured)."""
    return json.dumps(
        {
            "triggerTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fire_time)),
            "triggerName": trigger.name,
            "payload": trigger.payload if trigger.payload is not None else "",
        }
    )

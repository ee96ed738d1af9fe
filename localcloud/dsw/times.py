"""Time formats DSW reads and writes.

* **[C]** timestamps are ISO-8601 UTC like ``2021-01-12T14:36:01Z`` (SDK examples);
  GetInstanceMetrics' ``StartTime``/``EndTime`` use the same form.
* **[C]** ``TimeStep`` is "the interval at which metrics are returned, unit: minutes"; the doc
  example is ``15m``. **[A]** localcloud accepts ``<n>``/``<n>m`` (minutes), ``<n>s`` and ``<n>h``.

Example
-------
>>> iso(0)
'1970-01-01T00:00:00Z'
>>> parse_iso("1970-01-01T00:01:00Z", "StartTime"), parse_iso("1970-01-01T08:01:00.5+08:00", "T")
(60.0, 60.5)
>>> parse_step("15m"), parse_step("30s"), parse_step("2")
(900.0, 30.0, 120.0)
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .exceptions import validation

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_STEP = re.compile(r"^(\d+(?:\.\d+)?)\s*([smh]?)$")


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ``2024-05-01T08:00:00Z``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str, name: str) -> float:
    """Parse an ISO-8601 time (``Z`` or an offset; no zone means UTC) into epoch seconds."""
    found = _ISO.match(str(value).strip())
    if found is None:
        raise validation(f"{name} is invalid: {value!r}. Expected an ISO-8601 UTC time such as 2020-11-08T15:00:00Z.")
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=timezone.utc)
    except ValueError:
        raise validation(f"{name} is invalid: {value!r}.") from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.timestamp() + (float("0." + fraction) if fraction else 0.0)


def parse_step(value: str) -> float:
    """``TimeStep`` → seconds."""
    found = _STEP.match(str(value).strip().lower())
    if found is None or float(found.group(1)) <= 0:
        raise validation(f"TimeStep is invalid: {value!r}. Expected minutes such as 1 or 15m (also 30s, 1h).")
    number, unit = float(found.group(1)), found.group(2) or "m"
    return number * {"s": 1, "m": 60, "h": 3600}[unit]

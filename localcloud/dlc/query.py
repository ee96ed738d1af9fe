"""Parsing DLC query values: times, integers, the ``Tags`` JSON string, display-name search.

Example
-------
>>> parse_time("2024-05-01T08:00:00Z")
1714550400.0
>>> parse_tags('{"run": "a"}')
{'run': 'a'}
>>> int_param({"PageSize": "0"}, "PageSize", 10, 1, 1000)
Traceback (most recent call last):
...
localcloud.core.errors.ServiceError: InvalidParameter: PageSize must be within [1, 1000], got 0.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from ..core.pop import parse_int, parse_json_map
from .exceptions import invalid_parameter


def parse_time(value: str, name: str = "time") -> float:
    """Parse an ISO-8601 UTC time such as ``2024-05-01T08:00:00Z`` (fractions allowed)."""
    text = str(value).strip().replace("Z", "").split(".")[0]
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        raise invalid_parameter(f"Invalid {name} {value!r}: expected yyyy-MM-ddTHH:mm:ssZ.") from None


def time_window(query: dict[str, Any], now: float) -> tuple[float, float]:
    """``StartTime``/``EndTime`` of GetJobEvents and GetPodLogs (default: the last 7 days)."""
    start = parse_time(query["StartTime"], "StartTime") if query.get("StartTime") else now - 7 * 86400
    end = parse_time(query["EndTime"], "EndTime") if query.get("EndTime") else float("inf")
    return start, end


def name_matches(name: str, query: dict[str, Any]) -> bool:
    wanted = query["DisplayName"]
    mode = (query.get("DisplayNameSearchMode") or "fuzzy").lower()
    return name == wanted if mode == "exact" else wanted.lower() in name.lower()


def parse_tags(raw: Any) -> dict[str, str]:
    return parse_json_map("Tags", raw)


def int_param(query: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    return parse_int(name, query.get(name), default, lo, hi)  # type: ignore[return-value]

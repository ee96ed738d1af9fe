"""Parameter parsing for DescribeMetricLast / DescribeMetricList (formats in :mod:`.names`).

Example
-------
>>> q = metric_query({"Namespace": "acs_pai_eas", "MetricName": "TP99", "Period": "60"}, now=7200.0, last=True)
>>> q.period, q.start, q.end, q.dimensions
(60, 0.0, 7200.0, None)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

from . import exceptions as err
from . import names

_DIGITS = re.compile(r"^\d+(\.\d+)?$")
_NAIVE_TZ = dt.timezone(dt.timedelta(hours=names.NAIVE_TIME_UTC_OFFSET_HOURS))


def parse_time(name: str, value: Any) -> float | None:
    """Epoch seconds from epoch ms / s, ``YYYY-MM-DD HH:MM:SS`` or ISO 8601 (``None`` if blank).

    >>> parse_time("EndTime", "1700000000000"), parse_time("EndTime", "1700000000")
    (1700000000.0, 1700000000.0)
    >>> parse_time("EndTime", "2023-11-14T22:13:20Z"), parse_time("EndTime", "2023-11-15 06:13:20")
    (1700000000.0, 1700000000.0)
    """
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if _DIGITS.match(text):
        number = float(text)
        return number / 1000.0 if number >= 1e11 else number
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise err.invalid(
            f"{name} {text!r} is not a time: use epoch milliseconds, 'YYYY-MM-DD HH:MM:SS' or ISO 8601."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_NAIVE_TZ)
    return parsed.timestamp()


def parse_period(value: Any, default: int = names.DEFAULT_PERIOD) -> int:
    """``Period`` in seconds, one of :data:`names.PERIODS`.

    >>> parse_period(None), parse_period("900")
    (60, 900)
    """
    if value is None or str(value).strip() == "":
        return default
    text = str(value).strip()
    if not text.isdigit() or int(text) not in names.PERIODS:
        raise err.invalid(f"Period {text!r} is invalid: use one of {', '.join(map(str, names.PERIODS))} (seconds).")
    return int(text)


def parse_length(value: Any) -> int:
    if value is None or str(value).strip() == "":
        return names.DEFAULT_LENGTH
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= names.MAX_LENGTH:
        raise err.invalid(f"Length {text!r} is invalid: use an integer from 1 to {names.MAX_LENGTH}.")
    return int(text)


def parse_dimensions(value: Any, *, name: str = "Dimensions", limit: int | None = names.MAX_DIMENSIONS
                     ) -> list[dict[str, str]] | None:
    """A JSON string holding one object or a list of objects (``None`` when blank).

    >>> parse_dimensions('{"serviceName": "a"}'), parse_dimensions('[{"instanceId": 1}]')
    ([{'serviceName': 'a'}], [{'instanceId': '1'}])
    """
    if value is None or str(value).strip() == "":
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise err.invalid(f"{name} is not valid JSON: {str(value)[:200]!r}.") from None
    items = [parsed] if isinstance(parsed, dict) else parsed
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise err.invalid(f"{name} must be a JSON object or an array of objects, got {str(value)[:200]!r}.")
    if limit is not None and len(items) > limit:
        raise err.invalid(f"{name} holds {len(items)} objects: at most {limit} instances can be queried at once.")
    return [{str(k): str(v) for k, v in item.items()} for item in items]


def parse_token(value: Any) -> int:
    """``NextToken``: the offset of the next point (opaque to clients)."""
    if value is None or str(value).strip() == "":
        return 0
    text = str(value).strip()
    if not text.isdigit():
        raise err.invalid(f"NextToken {text!r} is invalid.")
    return int(text)


@dataclasses.dataclass(frozen=True)
class MetricQuery:
    """One validated DescribeMetricLast/List request."""

    namespace: str
    metric: str
    period: int
    start: float
    end: float
    dimensions: list[dict[str, str]] | None
    length: int
    offset: int


def metric_query(params: dict[str, Any], *, now: float, last: bool) -> MetricQuery:
    """Validate the parameters of DescribeMetricLast (``last``) or DescribeMetricList."""
    namespace = str(params.get("Namespace") or "").strip()
    if not namespace:
        raise err.missing("Namespace")
    metric = str(params.get("MetricName") or "").strip()
    if not metric:
        raise err.missing("MetricName")
    period = parse_period(params.get("Period"))
    end = parse_time("EndTime", params.get("EndTime"))
    end = now if end is None else min(end, now)
    start = parse_time("StartTime", params.get("StartTime"))
    lookback = names.lookback_seconds(period)
    if last:
        start = end - lookback if start is None else min(start, end - lookback)
    elif start is None:
        start = end - lookback
    if start > end:
        raise err.invalid("StartTime must not be later than EndTime.")
    return MetricQuery(
        namespace=namespace, metric=metric, period=period, start=start, end=end,
        dimensions=parse_dimensions(params.get("Dimensions")), length=parse_length(params.get("Length")),
        offset=parse_token(params.get("NextToken")),
    )

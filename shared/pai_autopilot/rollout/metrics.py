"""The canary analysis's CloudMonitor reads: every service of every rollout in batched calls.

One ``DescribeMetricList`` per metric per 50 services (CloudMonitor's ``Dimensions`` limit),
never one per service: a tick over N rollouts (a canary and a stable each) costs
``len(METRICS) × ⌈2N/50⌉`` calls (plus a page more when a call has over 1,440 points).

ASSUMED (reference/alibaba-api.md §5; the one place these are written down):

* namespace ``acs_pai_eas``, dimension ``serviceName``, metric names as in the EAS alerting doc;
* ``5xxResponseRatio``'s ``Average`` is a fraction (0..1) and its ``SampleCount`` the number of
  requests in the period, so errors = round(Average × SampleCount);
* ``TP99``'s ``Average`` is the period's p99 in ms; a window's p99 is the highest period p99
  (conservative: never lower than the true p99 of the window);
* ``StartTime``/``EndTime`` in epoch milliseconds.

A window ``[start, end)`` takes every period that overlaps it (a step's first period may hold a
few seconds of the previous weight: the cost of CloudMonitor's period grid).

Example
-------
>>> period_for(60), period_for(300), period_for(7200)
(15, 60, 900)
>>> points = [{"serviceName": "a", "timestamp": 60000, "Average": 0.1, "SampleCount": 50},
...           {"serviceName": "a", "timestamp": 75000, "Average": 0.0, "SampleCount": 50}]
>>> p99 = [{"serviceName": "a", "timestamp": 60000, "Average": 30.0}, {"serviceName": "a", "timestamp": 75000, "Average": 45.0}]
>>> aggregate(points, p99, {"a": (60.0, 120.0)}, period=15)
{'a': Sample(requests=100, errors=5, p99_ms=45.0)}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..errors import classify_sdk_error
from .gates import Sample

NAMESPACE = "acs_pai_eas"
DIMENSION = "serviceName"
ERROR_RATIO = "5xxResponseRatio"
P99 = "TP99"
METRICS = (ERROR_RATIO, P99)
MAX_DIMENSIONS = 50
MAX_LENGTH = 1440
PERIODS = (15, 60, 900, 3600)


def period_for(interval: float) -> int:
    """The longest CloudMonitor period that still gives at least four points per interval (15 s at least)."""
    fitting = [p for p in PERIODS if interval / p >= 4]
    return max(fitting) if fitting else PERIODS[0]


def chunks(items: list[str], size: int = MAX_DIMENSIONS) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _in_window(point: dict[str, Any], window: tuple[float, float], period: int) -> bool:
    t = float(point.get("timestamp", 0)) / 1000.0
    return t + period > window[0] and t < window[1]


def aggregate(ratio_points: list[dict[str, Any]], p99_points: list[dict[str, Any]],
              windows: dict[str, tuple[float, float]], *, period: int) -> dict[str, Sample]:
    """One :class:`Sample` per service from the two metrics' points, each within its service's window."""
    requests: dict[str, int] = {s: 0 for s in windows}
    errors: dict[str, int] = {s: 0 for s in windows}
    p99: dict[str, float | None] = {s: None for s in windows}
    for point in ratio_points:
        service = point.get(DIMENSION)
        if service in windows and _in_window(point, windows[service], period):
            count = int(point.get("SampleCount") or 0)
            requests[service] += count
            errors[service] += round(float(point.get("Average") or 0.0) * count)
    for point in p99_points:
        service = point.get(DIMENSION)
        if service in windows and _in_window(point, windows[service], period) and point.get("Average") is not None:
            value = float(point["Average"])
            current = p99[service]
            p99[service] = value if current is None else max(current, value)
    return {s: Sample(requests[s], min(errors[s], requests[s]), p99[s]) for s in windows}


def describe_metric_list(cms: Any, *, metric: str, services: list[str], start: float, end: float, period: int) -> list[dict[str, Any]]:
    """Every point of ``metric`` for ``services`` (≤ 50) in ``[start, end]``, following NextToken."""
    from alibabacloud_cms20190101 import models

    dimensions = json.dumps([{DIMENSION: s} for s in services], separators=(",", ":"))
    points: list[dict[str, Any]] = []
    token = None
    while True:
        request = models.DescribeMetricListRequest(
            namespace=NAMESPACE, metric_name=metric, dimensions=dimensions, period=str(period),
            start_time=str(int(start * 1000)), end_time=str(int(end * 1000)), length=str(MAX_LENGTH), next_token=token,
        )
        try:
            body = cms.describe_metric_list(request).body
        except Exception as exc:
            raise classify_sdk_error(exc, f"DescribeMetricList {metric}") from exc
        if body.success is False or (body.code not in (None, "200", 200)):
            from ..errors import TransientError

            raise TransientError(f"DescribeMetricList {metric} answered code {body.code}: {body.message}")
        points.extend(json.loads(body.datapoints or "[]"))
        token = body.next_token
        if not token:
            return points


def fetch_samples(cms: Any, windows: dict[str, tuple[float, float]], *, period: int) -> dict[str, Sample]:
    """Samples of every service in ``windows`` (``service → (start, end)``) in ``len(METRICS) × ⌈S/50⌉`` calls."""
    if not windows:
        return {}
    services = sorted(windows)
    start = min(w[0] for w in windows.values()) - period  # the period that holds the window's start
    end = max(w[1] for w in windows.values())
    ratio_points: list[dict[str, Any]] = []
    p99_points: list[dict[str, Any]] = []
    for chunk in chunks(services):
        ratio_points += describe_metric_list(cms, metric=ERROR_RATIO, services=chunk, start=start, end=end, period=period)
        p99_points += describe_metric_list(cms, metric=P99, services=chunk, start=start, end=end, period=period)
    return aggregate(ratio_points, p99_points, windows, period=period)

"""Datapoints derived from what localcloud observed (names, units and rules in :mod:`.names`).

* ``acs_pai_eas`` metrics of :data:`names.EAS_METRICS` come from ``cloud.requests`` (one row per
  inference request through the EAS gateway), per service.
* Everything else (``acs_pai_dsw`` usage, other EAS items such as ``CPUConsumption``, any other
  namespace) comes from ``cloud.timeline`` samples, per resource.

A period's point covers ``[t, t + period)`` with ``t`` a multiple of the period; only complete
periods (``t + period <= end``) are reported. ``timestamp`` is ``t`` in epoch milliseconds.

Example
-------
>>> from localcloud.core.metrics import RequestLog, Timeline
>>> log = RequestLog()
>>> for i in range(10):
...     log.record("svc", at=60.0 + i, status=503 if i % 5 == 0 else 200, latency_ms=10.0 * (i + 1))
>>> store = MetricStore(requests=log, timeline=Timeline(), account_id="1")
>>> series = store.series("acs_pai_eas", "5xxResponseRatio", None)
>>> series
[{'userId': '1', 'serviceName': 'svc'}]
>>> store.points("acs_pai_eas", "5xxResponseRatio", series[0], start=0.0, end=180.0, period=60)
[{'timestamp': 60000, 'userId': '1', 'serviceName': 'svc', 'Average': 0.2, 'Maximum': 0.2, 'Minimum': 0.2, 'SampleCount': 10}]
>>> [p["Average"] for p in store.points("acs_pai_eas", "QueryPerSecondTotal", series[0], start=0.0, end=180.0, period=60)]
[0.166667, 0.0]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from typing import Any

from . import names

_DIGITS = 6


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (``q`` in 0..1).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 1.0), percentile([5.0], 0.05)
    (2.0, 4.0, 5.0)
    """
    return values[max(0, math.ceil(q * len(values)) - 1)]


def _r(value: float) -> float:
    return round(value, _DIGITS)


def matches(series: dict[str, str], wanted: list[dict[str, str]] | None) -> bool:
    """True when ``series`` has every key/value of one of the ``wanted`` objects (or none is given).

    >>> matches({"userId": "1", "serviceName": "a"}, [{"serviceName": "b"}, {"serviceName": "a"}])
    True
    """
    if wanted is None:
        return True
    return any(all(series.get(k) == v for k, v in want.items()) for want in wanted)


class MetricStore:
    """Series and datapoints of every namespace, read from the request log and the timeline."""

    def __init__(self, *, requests: Any, timeline: Any, account_id: str) -> None:
        self.requests = requests
        self.timeline = timeline
        self.account_id = account_id

    # -- series --------------------------------------------------------------------------------
    def _derived(self, namespace: str, metric: str) -> names.EasMetric | None:
        return names.EAS_METRICS.get(metric) if namespace == names.EAS_NAMESPACE else None

    def resources(self, namespace: str, metric: str) -> list[str]:
        if self._derived(namespace, metric) is not None:
            return list(self.requests.services()) if self.requests is not None else []
        return list(self.timeline.resources(namespace, metric)) if self.timeline is not None else []

    def series(self, namespace: str, metric: str, wanted: list[dict[str, str]] | None) -> list[dict[str, str]]:
        """The dimension sets of the metric's series selected by ``wanted`` (query order, then name)."""
        key = names.dimension_key(namespace)
        every = [{names.USER_DIMENSION: self.account_id, key: r} for r in sorted(self.resources(namespace, metric))]
        if wanted is None:
            return every
        chosen: list[dict[str, str]] = []
        for want in wanted:
            for series in every:
                if matches(series, [want]) and series not in chosen:
                    chosen.append(series)
        return chosen

    # -- datapoints ----------------------------------------------------------------------------
    def points(self, namespace: str, metric: str, series: dict[str, str], *, start: float, end: float,
               period: int, newest_only: bool = False) -> list[dict[str, Any]]:
        """The complete periods of one series within ``[start, end]``, oldest first (or only the newest)."""
        first = math.ceil(start / period) * period
        last_end = math.floor(end / period) * period
        if last_end <= first:
            return []
        resource = series[names.dimension_key(namespace)]
        derived = self._derived(namespace, metric)
        if derived is not None:
            rows = [r for r in self.requests.window(resource, start=first, end=last_end) if r.at < last_end]
            stats = _eas_points(derived, rows, first=first, last_end=last_end, period=period, newest_only=newest_only)
        else:
            samples = [s for s in self.timeline.window(namespace, metric, resource, start=first, end=last_end)
                       if s.at < last_end]
            stats = _sample_points(samples, first=first, period=period)
            stats = stats[-1:] if newest_only else stats
        return [{"timestamp": int(t * 1000), **series, **values} for t, values in stats]


def _buckets(items: Iterable[Any], *, first: float, size: float) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for item in items:
        grouped.setdefault(int((item.at - first) // size), []).append(item)
    return grouped


def _sample_points(samples: list[Any], *, first: float, period: int) -> list[tuple[float, dict[str, Any]]]:
    out = []
    for index, group in sorted(_buckets(samples, first=first, size=period).items()):
        values = [s.value for s in group]
        out.append((first + index * period, {
            "Average": _r(sum(values) / len(values)), "Maximum": _r(max(values)), "Minimum": _r(min(values)),
            "Sum": _r(sum(values)), "SampleCount": len(values),
        }))
    return out


def _eas_points(metric: names.EasMetric, rows: list[Any], *, first: float, last_end: float, period: int,
                newest_only: bool) -> list[tuple[float, dict[str, Any]]]:
    """Rows are in time order (the request log keeps them so)."""
    if not rows:
        return []
    ats = [r.at for r in rows]
    first_index = int((ats[0] - first) // period)
    if metric.kind == "rate":  # from the first period with traffic to the end, zeros included
        stop = int((last_end - first) // period)
    else:
        stop = int((ats[-1] - first) // period) + 1
    indices = range(stop - 1, stop) if newest_only else range(first_index, stop)
    out = []
    for index in indices:
        start = first + index * period
        lo, hi = bisect.bisect_left(ats, start), bisect.bisect_left(ats, start + period)
        values = _eas_values(metric, rows[lo:hi], ats[lo:hi], start=start, period=period)
        if values is not None:
            out.append((start, values))
    return out


def _selected(metric: names.EasMetric, rows: list[Any]) -> list[Any]:
    if metric.status_class is None:
        return rows
    return [r for r in rows if r.status // 100 == metric.status_class]


def _eas_values(metric: names.EasMetric, rows: list[Any], ats: list[float], *, start: float,
                period: int) -> dict[str, Any] | None:
    """The statistics of one period's rows (``ats``: their times), ``None`` when the metric has none."""
    slice_size = min(names.RAW_PERIOD, period)
    count = max(1, period // slice_size)
    bounds = [bisect.bisect_left(ats, start + i * slice_size) for i in range(1, count)] if rows else []
    edges = [0, *bounds, len(rows)]
    slices = [rows[edges[i]:edges[i + 1]] for i in range(count)] if rows else []
    if metric.kind == "rate":
        hits = _selected(metric, rows)
        per_slice = [len(_selected(metric, s)) / slice_size for s in slices] or [0.0]
        return {"Average": _r(len(hits) / period), "Maximum": _r(max(per_slice)), "Minimum": _r(min(per_slice)),
                "Sum": len(hits), "SampleCount": len(rows)}
    if not rows:
        return None
    if metric.kind == "ratio":
        def value(group: list[Any]) -> float:
            return len(_selected(metric, group)) / len(group) * names.RATIO_SCALE
    else:
        quantile = metric.quantile if metric.quantile is not None else 0.5

        def value(group: list[Any]) -> float:
            return percentile(sorted(r.latency_ms for r in group), quantile)
    per_slice = [value(s) for s in slices if s]
    return {"Average": _r(value(rows)), "Maximum": _r(max(per_slice)), "Minimum": _r(min(per_slice)),
            "SampleCount": len(rows)}

"""Observations that services record and CloudMonitor reads back (shared between services).

* :class:`RequestLog` — one row per inference request through the EAS gateway (service,
  time, HTTP status, latency). CloudMonitor derives the EAS metrics (QPS, 2xx/4xx/5xx ratios,
  response-time percentiles) from it per period.
* :class:`Timeline` — numeric samples per (namespace, metric, resource id) over time, for
  anything else (e.g. DSW CPU/GPU usage that tests seed, EAS instance counts).

Both are thread-safe, bounded, and use localcloud's clock time (epoch seconds).

Example
-------
>>> log = RequestLog()
>>> log.record("svc-a", at=10.0, status=200, latency_ms=12.0)
>>> log.record("svc-a", at=11.0, status=503, latency_ms=40.0)
>>> [(r.status, r.latency_ms) for r in log.window("svc-a", start=0.0, end=20.0)]
[(200, 12.0), (503, 40.0)]
>>> tl = Timeline()
>>> tl.add("acs_pai_dsw", "GpuCoreUsage", "dsw-1", at=0.0, value=3.0)
>>> tl.add("acs_pai_dsw", "GpuCoreUsage", "dsw-1", at=60.0, value=2.0)
>>> [s.value for s in tl.window("acs_pai_dsw", "GpuCoreUsage", "dsw-1", start=0.0, end=60.0)]
[3.0, 2.0]
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import threading

MAX_ROWS_PER_SERIES = 200_000


@dataclasses.dataclass(frozen=True, order=True)
class Request:
    at: float
    status: int
    latency_ms: float


@dataclasses.dataclass(frozen=True, order=True)
class Sample:
    at: float
    value: float


class RequestLog:
    """Per-service request rows, kept in time order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, list[Request]] = collections.defaultdict(list)

    def record(self, service: str, *, at: float, status: int, latency_ms: float) -> None:
        row = Request(at, status, latency_ms)
        with self._lock:
            rows = self._rows[service]
            if rows and rows[-1] > row:  # out of order (concurrent requests): keep the list sorted
                bisect.insort(rows, row)
            else:
                rows.append(row)
            if len(rows) > MAX_ROWS_PER_SERIES * 1.1:  # trim in chunks, oldest first
                del rows[: len(rows) - MAX_ROWS_PER_SERIES]

    def window(self, service: str, *, start: float, end: float) -> list[Request]:
        """Rows with ``start <= at <= end``, oldest first (binary search on time)."""
        with self._lock:
            rows = self._rows.get(service)
            if not rows:
                return []
            lo = bisect.bisect_left(rows, Request(start, -1, float("-inf")))
            hi = bisect.bisect_right(rows, Request(end, 10**6, float("inf")))
            return rows[lo:hi]

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._rows)

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()


class Timeline:
    """Numeric samples per (namespace, metric, resource id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], list[Sample]] = {}

    def add(self, namespace: str, metric: str, resource: str, *, at: float, value: float) -> None:
        with self._lock:
            series = self._series.setdefault((namespace, metric, resource), [])
            bisect.insort(series, Sample(at, float(value)))
            if len(series) > MAX_ROWS_PER_SERIES:
                del series[0]

    def window(self, namespace: str, metric: str, resource: str, *, start: float, end: float) -> list[Sample]:
        with self._lock:
            return [s for s in self._series.get((namespace, metric, resource), ()) if start <= s.at <= end]

    def latest(self, namespace: str, metric: str, resource: str, *, at: float) -> Sample | None:
        """The newest sample at or before ``at``."""
        with self._lock:
            series = self._series.get((namespace, metric, resource), [])
            i = bisect.bisect_right(series, Sample(at, float("inf")))
            return series[i - 1] if i else None

    def resources(self, namespace: str, metric: str) -> list[str]:
        with self._lock:
            return sorted(r for (ns, m, r) in self._series if ns == namespace and m == metric)

    def reset(self) -> None:
        with self._lock:
            self._series.clear()

"""Per-instance usage timelines: what DSW "measures", seeded by tests and the control API.

Samples live in the cloud's shared :class:`~localcloud.core.metrics.Timeline` under namespace
``acs_pai_dsw``, metric = the GetInstanceMetrics ``MetricType`` name, resource = the instance id,
so CloudMonitor reads the very same rows. Usage values are percentages (0-100); the ``*Rate``
metrics are in bytes/s.

A series is a step function: a sample's value holds until the next sample of the same metric.

Seeding spec (the body of ``POST /_localcloud/dsw/instances/<id>/usage`` and the keywords of
:meth:`UsageTimeline.seed`):

* ``{"metric": "GpuCoreUsage", "points": [[0, 2.0], [60, 3.5]]}`` — samples at ``start + offset``
  seconds;
* ``{"metric": "GpuCoreUsage", "value": 2.0, "duration": 7200, "step": 60}`` — a constant sample
  every ``step`` seconds from ``start`` to ``start + duration`` (both ends included);
* ``start`` (epoch seconds) defaults to the clock's now. ``{"series": [spec, …]}`` seeds several.

Example
-------
>>> from localcloud.core.metrics import Timeline
>>> usage = UsageTimeline(Timeline())
>>> usage.seed("dsw-1", "CpuCoreUsage", value=3.0, duration=120, step=60, start=0)
3
>>> usage.value_at("dsw-1", "CpuCoreUsage", 90), usage.value_at("dsw-1", "CpuCoreUsage", -1)
(3.0, None)
>>> usage.query("dsw-1", "CpuCoreUsage", start=0, end=120, step=120)
[(0, 3.0), (120, 3.0)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

NAMESPACE = "acs_pai_dsw"
#: GetInstanceMetrics' MetricType values [C], also the timeline metric names.
METRIC_TYPES = (
    "GpuCoreUsage", "GpuMemoryUsage", "CpuCoreUsage", "MemoryUsage",
    "NetworkInputRate", "NetworkOutputRate", "DiskReadRate", "DiskWriteRate",
)
MAX_SAMPLES_PER_SEED = 100_000


class UsageTimeline:
    """DSW's view of the shared timeline: seed, read back, aggregate."""

    def __init__(self, timeline: Any) -> None:
        self.timeline = timeline

    def seed(
        self,
        instance_id: str,
        metric: str,
        *,
        points: Iterable[Iterable[float]] | None = None,
        value: float | None = None,
        duration: float = 0.0,
        step: float = 60.0,
        start: float,
    ) -> int:
        """Write samples (see the module doc); returns how many. Raises ``ValueError`` on a bad spec."""
        if metric not in METRIC_TYPES:
            raise ValueError(f"metric must be one of {', '.join(METRIC_TYPES)}; got {metric!r}")
        samples = _samples(points, value, duration, step)
        for offset, sample in samples:
            self.timeline.add(NAMESPACE, metric, instance_id, at=float(start) + offset, value=sample)
        return len(samples)

    def seed_spec(self, instance_id: str, spec: dict[str, Any], *, now: float) -> int:
        """Seed from a JSON spec (the control API body); ``{"series": [...]}`` seeds several."""
        if not isinstance(spec, dict):
            raise ValueError("a usage spec must be a JSON object")
        if "series" in spec:
            series = spec["series"]
            if not isinstance(series, list) or not series:
                raise ValueError("series must be a non-empty list of usage specs")
            return sum(self.seed_spec(instance_id, item, now=now) for item in series)
        allowed = {"metric", "points", "value", "duration", "step", "start"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")
        return self.seed(
            instance_id, spec.get("metric", ""), points=spec.get("points"), value=spec.get("value"),
            duration=_number(spec.get("duration", 0.0), "duration"), step=_number(spec.get("step", 60.0), "step"),
            start=_number(spec["start"], "start") if spec.get("start") is not None else now,
        )

    def value_at(self, instance_id: str, metric: str, at: float) -> float | None:
        """The metric's value at ``at`` (the newest sample at or before it), ``None`` before any."""
        sample = self.timeline.latest(NAMESPACE, metric, instance_id, at=at)
        return None if sample is None else sample.value

    def change_times(self, instance_id: str, metrics: Iterable[str], *, start: float, end: float) -> list[float]:
        """Sorted distinct sample times with ``start < t <= end`` over ``metrics``."""
        times = {s.at for m in metrics for s in self.timeline.window(NAMESPACE, m, instance_id, start=start, end=end)}
        times.discard(start)
        return sorted(times)

    def query(
        self, instance_id: str, metric: str, *, start: float, end: float, step: float | None = None
    ) -> list[tuple[int, float]]:
        """Samples in ``[start, end]`` as ``(unix seconds, value)``; with ``step``, the average of each
        ``step``-second bucket from ``start`` (buckets without samples are left out)."""
        samples = self.timeline.window(NAMESPACE, metric, instance_id, start=start, end=end)
        if not step:
            return [(int(s.at), s.value) for s in samples]
        buckets: dict[int, list[float]] = {}
        for s in samples:
            buckets.setdefault(int((s.at - start) // step), []).append(s.value)
        return [(int(start + k * step), round(sum(v) / len(v), 6)) for k, v in sorted(buckets.items())]

    def dump(self, instance_id: str) -> dict[str, list[list[float]]]:
        """Every seeded series of the instance: ``{metric: [[t, value], …]}``."""
        out: dict[str, list[list[float]]] = {}
        for metric in METRIC_TYPES:
            rows = self.timeline.window(NAMESPACE, metric, instance_id, start=-math.inf, end=math.inf)
            if rows:
                out[metric] = [[s.at, s.value] for s in rows]
        return out


def _number(raw: Any, name: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise ValueError(f"{name} must be a number, got {raw!r}")
    return float(raw)


def _samples(points: Any, value: Any, duration: float, step: float) -> list[tuple[float, float]]:
    if (points is None) == (value is None):
        raise ValueError("give either points [[offset_s, value], …] or a constant value (with duration and step)")
    if points is not None:
        if not isinstance(points, (list, tuple)) or not points:
            raise ValueError("points must be a non-empty list of [offset_s, value]")
        out = []
        for point in points:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise ValueError(f"each point must be [offset_s, value], got {point!r}")
            out.append((_number(point[0], "offset"), _sample_value(point[1])))
        return out
    sample = _sample_value(value)
    if duration < 0 or step <= 0:
        raise ValueError(f"duration must be >= 0 and step > 0, got duration={duration}, step={step}")
    count = int(duration // step) + 1
    if count > MAX_SAMPLES_PER_SEED:
        raise ValueError(f"that is {count} samples; at most {MAX_SAMPLES_PER_SEED} per call (raise step)")
    return [(i * step, sample) for i in range(count)]


def _sample_value(raw: Any) -> float:
    number = _number(raw, "value")
    if number < 0:
        raise ValueError(f"value must be >= 0, got {number}")
    return number

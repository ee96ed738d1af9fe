"""EAS horizontal autoscaling: the request body, the scaling rule and its stabilization windows.

The rule (alibabacloud.com/help/en/pai/user-guide/enable-or-disable-the-horizontal-auto-scaling-feature):
``desired = ceil(current × metric / threshold)`` per strategy, the maximum over strategies, no
change while ``metric / threshold`` is within 10 % of 1, clamped to ``[min, max]``. ``qps`` is the
per-instance average over the last minute of gateway traffic; ``cpu`` and ``gpu[util]`` come from
seeded samples (see :class:`~localcloud.eas.models.EasBackend`). Decisions are taken every
:data:`EVALUATION_INTERVAL` seconds of localcloud's clock (assumed; HPA's default) and
stabilized like Kubernetes HPA: a scale-up uses the *lowest* recommendation of the
``scaleUp`` window (default 0 s: act at once), a scale-down the *highest* of the ``scaleDown``
window (default 300 s), so load spikes scale up fast and dips scale down slowly.

Example
-------
>>> scaler = AutoScaler.parse({"min": 1, "max": 5, "scaleStrategies": [{"metricName": "qps", "threshold": 10}]})
>>> scaler.evaluate(0.0, current=1, measure=lambda metric, service: 35.0)   # 35 QPS on one instance
4
>>> scaler.evaluate(15.0, current=4, measure=lambda metric, service: 1.0)   # quiet, but within 300 s
4
>>> scaler.evaluate(330.0, current=4, measure=lambda metric, service: 1.0)  # quiet for 300 s
1
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from .exceptions import invalid_parameter

METRICS = ("qps", "cpu", "gpu[util]")
EVALUATION_INTERVAL = 15.0
TOLERANCE = 0.1
DEFAULT_BEHAVIOR: dict[str, dict[str, int]] = {
    "scaleUp": {"stabilizationWindowSeconds": 0},
    "scaleDown": {"stabilizationWindowSeconds": 300},
    "onZero": {"scaleDownGracePeriodSeconds": 600, "scaleUpActivationReplicas": 1},
}


@dataclasses.dataclass
class AutoScaler:
    """One service's autoscaler: its configuration and its recent recommendations."""

    min: int
    max: int
    strategies: list[dict[str, Any]]
    behavior: dict[str, dict[str, int]]
    recommendations: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    last_evaluation: float | None = None
    current_metrics: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @classmethod
    def parse(cls, body: Any) -> AutoScaler:
        """Validate a Create/UpdateServiceAutoScaler body (lowerCamel keys)."""
        if not isinstance(body, dict):
            raise invalid_parameter("The request body must be a JSON object with min, max and scaleStrategies.")
        low, high = _int(body, "min", lo=0), _int(body, "max", lo=1)  # min 0: scale to zero (onZero grace)
        if high < low:
            raise invalid_parameter(f"max ({high}) must be >= min ({low}).")
        strategies = body.get("scaleStrategies")
        if not isinstance(strategies, list) or not strategies:
            raise invalid_parameter("scaleStrategies is mandatory: a non-empty list of {metricName, threshold}.")
        parsed = []
        for i, item in enumerate(strategies):
            if not isinstance(item, dict):
                raise invalid_parameter(f"scaleStrategies[{i}] must be an object.")
            name = item.get("metricName")
            if not isinstance(name, str) or name.lower() not in METRICS:
                raise invalid_parameter(f"scaleStrategies[{i}].metricName must be one of {', '.join(METRICS)}, got {name!r}.")
            threshold = item.get("threshold")
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold <= 0:
                raise invalid_parameter(f"scaleStrategies[{i}].threshold must be a number > 0, got {threshold!r}.")
            service = item.get("service")
            if service is not None and not isinstance(service, str):
                raise invalid_parameter(f"scaleStrategies[{i}].service must be a service name, got {service!r}.")
            parsed.append({"metricName": name, "threshold": float(threshold), "service": service or None})
        return cls(min=low, max=high, strategies=parsed, behavior=_behavior(body.get("behavior")))

    def replace_config(self, other: AutoScaler) -> None:
        """UpdateServiceAutoScaler: take ``other``'s configuration, keep the history."""
        self.min, self.max, self.strategies, self.behavior = other.min, other.max, other.strategies, other.behavior
        self.last_evaluation = None

    @property
    def up_window(self) -> float:
        return float(self.behavior["scaleUp"]["stabilizationWindowSeconds"])

    @property
    def down_window(self) -> float:
        return float(self.behavior["scaleDown"]["stabilizationWindowSeconds"])

    def evaluate(self, now: float, *, current: int, measure: Callable[[str, str | None], float]) -> int | None:
        """The replica count to move to, or ``None`` when no evaluation is due yet.

        ``measure(metric, service)`` returns the per-instance metric value (``service`` is the
        strategy's optional other service).
        """
        if self.last_evaluation is not None and now - self.last_evaluation < EVALUATION_INTERVAL:
            return None
        self.last_evaluation = now
        current = max(current, 1)
        wanted: list[int] = []
        for strategy, value in zip(self.strategies, self.observe(measure), strict=True):
            ratio = value / strategy["threshold"]
            wanted.append(current if abs(ratio - 1.0) <= TOLERANCE else math.ceil(current * ratio))
        raw = self.clamp(max(wanted))
        return self._stabilize(now, current, raw)

    def observe(self, measure: Callable[[str, str | None], float]) -> list[float]:
        """Measure every strategy's metric now (kept for ``CurrentMetrics``)."""
        values = [float(measure(s["metricName"].lower(), s["service"])) for s in self.strategies]
        self.current_metrics = [
            {"metricName": s["metricName"].lower(), "value": round(v, 3), "service": s["service"]}
            for s, v in zip(self.strategies, values, strict=True)
        ]
        return values

    def _stabilize(self, now: float, current: int, raw: int) -> int:
        self.recommendations.append((now, raw))
        horizon = now - max(self.up_window, self.down_window)
        self.recommendations = [(t, r) for t, r in self.recommendations if t >= horizon]
        if raw > current:
            ups = [r for t, r in self.recommendations if t >= now - self.up_window]
            return max(current, min(ups))
        if raw < current:
            downs = [r for t, r in self.recommendations if t >= now - self.down_window]
            return min(current, max(downs))
        return current

    def clamp(self, replicas: int) -> int:
        return min(max(replicas, self.min), self.max)

    def describe(self, service_name: str) -> dict[str, Any]:
        """DescribeServiceAutoScaler's body (PascalCase top level, lowerCamel inside).

        ``Behavior`` mirrors the documented example, ``{"behavior": {...}}``, with defaults filled.
        """
        return {
            "ServiceName": service_name,
            "MinReplica": self.min,
            "MaxReplica": self.max,
            "Behavior": {"behavior": {k: dict(v) for k, v in self.behavior.items()}},
            "ScaleStrategies": [
                {"metricName": s["metricName"], "threshold": s["threshold"], "service": s["service"] or service_name}
                for s in self.strategies
            ],
            "CurrentMetrics": [
                {"metricName": m["metricName"], "value": m["value"], "service": m["service"] or service_name}
                for m in self.current_metrics
            ],
        }


def _int(body: dict[str, Any], name: str, *, lo: int) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_parameter(f"{name} is mandatory and must be an integer, got {value!r}.")
    if value < lo or value > 1000:
        raise invalid_parameter(f"{name} must be within [{lo}, 1000], got {value}.")
    return value


def _behavior(raw: Any) -> dict[str, dict[str, int]]:
    merged = {k: dict(v) for k, v in DEFAULT_BEHAVIOR.items()}
    if raw is None:
        return merged
    if not isinstance(raw, dict):
        raise invalid_parameter(f"behavior must be an object, got {raw!r}.")
    for section, fields in raw.items():
        if section not in merged:
            raise invalid_parameter(f"behavior.{section} is unknown; allowed: {', '.join(merged)}.")
        if fields is None:
            continue
        if not isinstance(fields, dict):
            raise invalid_parameter(f"behavior.{section} must be an object, got {fields!r}.")
        for key, value in fields.items():
            if key not in merged[section]:
                raise invalid_parameter(f"behavior.{section}.{key} is unknown; allowed: {', '.join(merged[section])}.")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 86400:
                raise invalid_parameter(f"behavior.{section}.{key} must be an integer within [0, 86400], got {value!r}.")
            merged[section][key] = value
    return merged

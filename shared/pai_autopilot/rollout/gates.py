"""The canary's gates (pure): absolute, relative to the stable, ``min_requests``, and the statistics.

A :class:`Sample` is what CloudMonitor says of one service over the analysis window (requests,
5xx errors, p99). :func:`evaluate` judges the canary against its thresholds and the stable:

* fewer than ``min_requests`` canary requests → ``insufficient`` (the rollout holds; too little
  traffic is never a pass and never a failure);
* an error-ratio gate (absolute ``max_error_ratio``, relative ``max_error_ratio_delta``) fails
  only when the canary is worse **with confidence** (when ``confidence`` is set): the absolute
  gate needs a one-sided binomial z-test of "canary ratio > max_error_ratio" to reject at that
  confidence, the relative gate a one-sided two-proportion z-test of "canary ratio > stable
  ratio" (Kayenta's idea for an EAS group). So 1 error in 40 against 5 in 400 is noise, and 5 %
  against 1 % at 2,000 requests each is a failure;
* latency gates (``max_p99_ms``, ``max_p99_ratio`` = canary p99 / stable p99) compare the values.

Every result carries the numbers and the thresholds, so a record can show why.

Example
-------
>>> t = Thresholds(min_requests=20, max_error_ratio=0.05, max_error_ratio_delta=0.01, confidence=0.95)
>>> evaluate(Sample(40, 1, 10.0), Sample(400, 5, 10.0), t).verdict
'pass'
>>> r = evaluate(Sample(2000, 100, 10.0), Sample(2000, 20, 10.0), t)
>>> r.verdict, r.reason
('fail', 'error ratio 0.05 exceeds the stable 0.01 by 0.04 > 0.01 (p=0.0000 < 0.05)')
>>> evaluate(Sample(5, 0, 1.0), None, t).reason
'5 canary requests < min_requests 20: hold'
"""

from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist
from typing import Any, Literal

Verdict = Literal["pass", "fail", "insufficient"]
_NORMAL = NormalDist()


@dataclasses.dataclass(frozen=True)
class Sample:
    """One service over one analysis window: request count, 5xx count, p99 latency (ms, None if unknown)."""

    requests: int
    errors: int
    p99_ms: float | None = None

    @property
    def error_ratio(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        ratio = self.error_ratio
        return {"requests": self.requests, "errors": self.errors,
                "error_ratio": None if ratio is None else round(ratio, 6),
                "p99_ms": None if self.p99_ms is None else round(self.p99_ms, 3)}


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The gate settings of a pipeline's ``rollout`` block (``None`` disables a gate)."""

    min_requests: int = 100
    max_error_ratio: float | None = 0.05
    max_p99_ms: float | None = None
    max_error_ratio_delta: float | None = 0.02
    max_p99_ratio: float | None = 2.0
    confidence: float | None = 0.95

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class GateResult:
    """The verdict, its reason (every failing gate, '; '-joined), the p-value and all the numbers."""

    verdict: Verdict
    reason: str
    p_value: float | None
    canary: Sample
    stable: Sample | None
    thresholds: Thresholds

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason,
                "p_value": None if self.p_value is None else round(self.p_value, 6),
                "canary": self.canary.to_dict(), "stable": self.stable.to_dict() if self.stable else None,
                "thresholds": self.thresholds.to_dict()}


def two_proportion_p_value(canary: Sample, stable: Sample) -> float | None:
    """One-sided p-value of "the canary's error ratio is greater than the stable's" (pooled z-test).

    None when either side has no request; 1.0 when neither has an error.

    >>> round(two_proportion_p_value(Sample(40, 1), Sample(400, 5)), 3)
    0.258
    >>> two_proportion_p_value(Sample(2000, 100), Sample(2000, 20)) < 1e-6
    True
    """
    if not canary.requests or not stable.requests:
        return None
    p1, p2 = canary.errors / canary.requests, stable.errors / stable.requests
    pooled = (canary.errors + stable.errors) / (canary.requests + stable.requests)
    se = math.sqrt(pooled * (1 - pooled) * (1 / canary.requests + 1 / stable.requests))
    if se == 0:
        return 1.0 if p1 <= p2 else 0.0
    return 1 - _NORMAL.cdf((p1 - p2) / se)


def above_limit_p_value(sample: Sample, limit: float) -> float | None:
    """One-sided p-value of "the true error ratio is greater than ``limit``" (binomial z-test).

    >>> round(above_limit_p_value(Sample(100, 20), 0.05), 6)
    0.0
    >>> above_limit_p_value(Sample(40, 3), 0.05) > 0.05
    True
    """
    if not sample.requests:
        return None
    ratio = sample.errors / sample.requests
    if limit <= 0 or limit >= 1:
        return 0.0 if ratio > limit else 1.0
    se = math.sqrt(limit * (1 - limit) / sample.requests)
    return 1 - _NORMAL.cdf((ratio - limit) / se)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def evaluate(canary: Sample, stable: Sample | None, t: Thresholds) -> GateResult:
    """Judge one analysis window (see the module docstring for the rules)."""
    p_value = two_proportion_p_value(canary, stable) if stable is not None else None

    def result(verdict: Verdict, reason: str) -> GateResult:
        return GateResult(verdict, reason, p_value, canary, stable, t)

    if canary.requests < t.min_requests or canary.requests == 0:
        return result("insufficient", f"{canary.requests} canary requests < min_requests {t.min_requests}: hold")
    alpha = 1 - t.confidence if t.confidence is not None else None
    failures: list[str] = []
    ratio = canary.errors / canary.requests
    if t.max_error_ratio is not None and ratio > t.max_error_ratio:
        p_abs = above_limit_p_value(canary, t.max_error_ratio)
        if alpha is None:
            failures.append(f"error ratio {_fmt(ratio)} > max_error_ratio {_fmt(t.max_error_ratio)}")
        elif p_abs is not None and p_abs < alpha:
            failures.append(f"error ratio {_fmt(ratio)} > max_error_ratio {_fmt(t.max_error_ratio)} "
                            f"(p={p_abs:.4f} < {_fmt(alpha)})")
    stable_ratio = stable.error_ratio if stable is not None else None
    if t.max_error_ratio_delta is not None and stable_ratio is not None and ratio - stable_ratio > t.max_error_ratio_delta:
        text = (f"error ratio {_fmt(ratio)} exceeds the stable {_fmt(stable_ratio)} by "
                f"{_fmt(ratio - stable_ratio)} > {_fmt(t.max_error_ratio_delta)}")
        if alpha is None:
            failures.append(text)
        elif p_value is not None and p_value < alpha:
            failures.append(f"{text} (p={p_value:.4f} < {_fmt(alpha)})")
    if t.max_p99_ms is not None and canary.p99_ms is not None and canary.p99_ms > t.max_p99_ms:
        failures.append(f"p99 {_fmt(canary.p99_ms)} ms > max_p99_ms {_fmt(t.max_p99_ms)}")
    if (t.max_p99_ratio is not None and canary.p99_ms is not None and stable is not None and stable.p99_ms
            and stable.requests and canary.p99_ms / stable.p99_ms > t.max_p99_ratio):
        failures.append(f"p99 {_fmt(canary.p99_ms)} ms is {_fmt(canary.p99_ms / stable.p99_ms)}x the stable's "
                        f"{_fmt(stable.p99_ms)} ms > max_p99_ratio {_fmt(t.max_p99_ratio)}")
    if failures:
        return result("fail", "; ".join(failures))
    stable_text = f", stable {_fmt(stable_ratio)}" if stable_ratio is not None else ""
    return result("pass", f"{canary.requests} requests, error ratio {_fmt(ratio)}{stable_text}: within the gates")

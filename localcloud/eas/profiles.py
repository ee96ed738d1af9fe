"""Behaviour profiles: how a service's endpoint answers on localcloud's inference gateway.

A profile is set in the service config under the top-level key ``localcloud`` (EAS ignores
unknown keys; localcloud strips nothing, so ``ServiceConfig`` shows it) or through the control
API (``PUT /_localcloud/eas/services/<name>/profile``, which overrides the config's profile for
every version until ``DELETE``). Fields, all optional:

================== ============================================================================
``latency``        ``{"dist": "fixed", "ms": 20}``, ``{"dist": "normal", "median_ms": 50,
                   "p99_ms": 120}`` or ``{"dist": "lognormal", "median_ms": 50, "p99_ms": 400}``
                   (default lognormal 5 ms / 25 ms); a bare number means fixed milliseconds
``latency_ms``     shorthand for ``{"dist": "fixed", "ms": N}``
``error_rate``     0-1: the share of requests answered with ``error_status`` (default 0)
``error_status``   400-599 (default 500)
``body``           the answer body: a string, or any JSON value (sent as JSON); default a small
                   JSON echo ``{"service", "version", "instance"}``
``content_type``   content type of ``body`` (default text/plain for strings, JSON otherwise)
``require_token``  true: requests need ``Authorization: <AccessToken>`` (default false)
``sleep_scale``    0-1: share of the sampled latency really slept (default 1; 0 records the
                   latency without waiting, for fast tests)
``max_sleep_ms``   cap of the real sleep (default 2000); the recorded latency is not capped
``startup_seconds`` seconds an instance takes to become ready (default 8)
``fail_startup``   true: instances never become ready and the service ends ``Failed``
================== ============================================================================

Example
-------
>>> import random
>>> p = BehaviourProfile.parse({"latency_ms": 20, "error_rate": 1.0, "error_status": 503})
>>> p.decide(random.Random(1))
(503, 20.0)
>>> BehaviourProfile.parse({"latency": {"dist": "lognormal", "median_ms": 50, "p99_ms": 40}})
Traceback (most recent call last):
...
ValueError: latency: p99_ms (40.0) must be >= median_ms (50.0)
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

#: z-score of the 99th percentile of a standard normal distribution.
Z99 = 2.3263478740408408
DISTRIBUTIONS = ("fixed", "normal", "lognormal")
_FIELDS = (
    "latency", "latency_ms", "error_rate", "error_status", "body", "content_type", "require_token",
    "sleep_scale", "max_sleep_ms", "startup_seconds", "fail_startup",
)


@dataclasses.dataclass(frozen=True)
class Latency:
    """A latency distribution in milliseconds."""

    dist: str = "lognormal"
    ms: float = 0.0
    median_ms: float = 5.0
    p99_ms: float = 25.0

    @classmethod
    def parse(cls, raw: Any) -> Latency:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return cls(dist="fixed", ms=_number("latency", raw, lo=0.0))
        if not isinstance(raw, dict):
            raise ValueError(f"latency must be a number or an object, got {raw!r}")
        unknown = sorted(set(raw) - {"dist", "ms", "median_ms", "p99_ms"})
        if unknown:
            raise ValueError(f"latency: unknown field(s) {unknown}; allowed: dist, ms, median_ms, p99_ms")
        dist = raw.get("dist", "fixed" if "ms" in raw else "lognormal")
        if dist not in DISTRIBUTIONS:
            raise ValueError(f"latency: dist must be one of {', '.join(DISTRIBUTIONS)}, got {dist!r}")
        if dist == "fixed":
            return cls(dist="fixed", ms=_number("latency.ms", raw.get("ms", 0), lo=0.0))
        median = _number("latency.median_ms", raw.get("median_ms", 5.0), lo=0.0)
        p99 = _number("latency.p99_ms", raw.get("p99_ms", median), lo=0.0)
        if p99 < median:
            raise ValueError(f"latency: p99_ms ({p99}) must be >= median_ms ({median})")
        if dist == "lognormal" and median <= 0:
            raise ValueError("latency: a lognormal median_ms must be > 0")
        return cls(dist=dist, median_ms=median, p99_ms=p99)

    def sample(self, rng: random.Random) -> float:
        """One latency in milliseconds (never negative)."""
        if self.dist == "fixed":
            return self.ms
        if self.dist == "normal":
            return max(0.0, rng.gauss(self.median_ms, (self.p99_ms - self.median_ms) / Z99))
        sigma = math.log(self.p99_ms / self.median_ms) / Z99
        return rng.lognormvariate(math.log(self.median_ms), sigma)

    def to_dict(self) -> dict[str, Any]:
        if self.dist == "fixed":
            return {"dist": "fixed", "ms": self.ms}
        return {"dist": self.dist, "median_ms": self.median_ms, "p99_ms": self.p99_ms}


@dataclasses.dataclass(frozen=True)
class BehaviourProfile:
    """How one service answers, and how its instances start."""

    latency: Latency = Latency()
    error_rate: float = 0.0
    error_status: int = 500
    body: Any = None
    content_type: str | None = None
    require_token: bool = False
    sleep_scale: float = 1.0
    max_sleep_ms: float = 2000.0
    startup_seconds: float = 8.0
    fail_startup: bool = False

    @classmethod
    def parse(cls, raw: Any) -> BehaviourProfile:
        """Validate a profile object (the ``localcloud`` key); ``None`` gives the default."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ValueError(f"the localcloud profile must be an object, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown profile field(s) {unknown}; allowed: {', '.join(_FIELDS)}")
        if "latency" in raw and "latency_ms" in raw:
            raise ValueError("give latency or latency_ms, not both")
        latency = Latency.parse(raw["latency"]) if "latency" in raw else Latency()
        if "latency_ms" in raw:
            latency = Latency.parse(raw["latency_ms"])
        status = raw.get("error_status", 500)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise ValueError(f"error_status must be an HTTP error status (400-599), got {status!r}")
        for flag in ("require_token", "fail_startup"):
            if not isinstance(raw.get(flag, False), bool):
                raise ValueError(f"{flag} must be true or false, got {raw[flag]!r}")
        content_type = raw.get("content_type")
        if content_type is not None and not isinstance(content_type, str):
            raise ValueError(f"content_type must be a string, got {content_type!r}")
        return cls(
            latency=latency,
            error_rate=_number("error_rate", raw.get("error_rate", 0.0), lo=0.0, hi=1.0),
            error_status=status,
            body=raw.get("body"),
            content_type=content_type,
            require_token=raw.get("require_token", False),
            sleep_scale=_number("sleep_scale", raw.get("sleep_scale", 1.0), lo=0.0, hi=1.0),
            max_sleep_ms=_number("max_sleep_ms", raw.get("max_sleep_ms", 2000.0), lo=0.0, hi=60_000.0),
            startup_seconds=_number("startup_seconds", raw.get("startup_seconds", 8.0), lo=0.0, hi=86_400.0),
            fail_startup=raw.get("fail_startup", False),
        )

    def decide(self, rng: random.Random) -> tuple[int, float]:
        """The status and latency (ms) of one request."""
        latency = self.latency.sample(rng)
        if self.error_rate and rng.random() < self.error_rate:
            return self.error_status, latency
        return 200, latency

    def sleep_seconds(self, latency_ms: float) -> float:
        """The real wait for a sampled latency."""
        return min(latency_ms * self.sleep_scale, self.max_sleep_ms) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["latency"] = self.latency.to_dict()
        return data


def _number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be within [{lo}, {hi}], got {value}")
    return float(value)

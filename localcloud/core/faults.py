"""Fault injection: make chosen operations fail, throttle or slow down, and deliveries misbehave.

Request faults are checked by the edge (POP calls, by action) and by OSS (by operation) before
the operation runs. Delivery faults apply where the local FC runtime delivers an event (OSS
notifications and EventBridge targets alike).

Example
-------
>>> faults = FaultInjector(seed=1)
>>> fid = faults.add(Fault(service="dlc", operation="CreateJob", error_code="InternalError", status=500, count=1))
>>> faults.check("dlc", "CreateJob").code
'InternalError'
>>> faults.check("dlc", "CreateJob") is None    # count=1: only the next call fails
True
>>> faults.check("oss", "PutObject") is None
True
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
import time
from typing import Any

from .errors import ServiceError


@dataclasses.dataclass
class Fault:
    """One rule. ``service``/``operation`` may be ``*``. Without ``count`` it applies by rate.

    * ``error_rate`` (0-1): fail with ``error_code``/``status``;
    * ``throttle_rate`` (0-1): fail with 503 ``Throttling`` and ``x-acs-retry-after`` (ms);
    * ``latency_ms``: added before the operation (every matching call);
    * ``count``: apply to the next N matching calls only (rates are then ignored: each fails).
    """

    service: str = "*"
    operation: str = "*"
    error_rate: float = 0.0
    error_code: str = "InternalError"
    status: int = 500
    message: str = "injected fault"
    throttle_rate: float = 0.0
    retry_after_ms: int = 100
    latency_ms: float = 0.0
    count: int | None = None
    id: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error status, got {self.status}")

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


class FaultInjector:
    """The active request faults. Thread-safe; ``seed`` makes rates reproducible."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> int:
        with self._lock:
            fault.id = next(self._ids)
            self._faults[fault.id] = fault
            return fault.id

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            return self._faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dataclasses.asdict(f) for f in self._faults.values()]

    def check(self, service: str, operation: str) -> ServiceError | None:
        """Sleep for any latency, then return the error to answer with (or None)."""
        latency = 0.0
        error: ServiceError | None = None
        with self._lock:
            for fault in list(self._faults.values()):
                if not fault.matches(service, operation):
                    continue
                latency += fault.latency_ms
                if error is not None:
                    continue
                if fault.count is not None:
                    if fault.count == 0:
                        continue
                    fault.count -= 1
                    fault.hits += 1
                    error = self._error(fault, throttle=fault.throttle_rate > 0 and fault.error_rate == 0)
                elif fault.throttle_rate and self._random.random() < fault.throttle_rate:
                    fault.hits += 1
                    error = self._error(fault, throttle=True)
                elif fault.error_rate and self._random.random() < fault.error_rate:
                    fault.hits += 1
                    error = self._error(fault, throttle=False)
        if latency:
            time.sleep(latency / 1000)
        return error

    @staticmethod
    def _error(fault: Fault, *, throttle: bool) -> ServiceError:
        if throttle:
            return ServiceError(
                "Throttling", "Request was denied due to request throttling (injected).", status=503,
                headers={"x-acs-retry-after": str(fault.retry_after_ms)},
            )
        return ServiceError(fault.error_code, fault.message, status=fault.status)


@dataclasses.dataclass
class DeliveryFaults:
    """How event deliveries to functions misbehave.

    * ``duplicate`` (0-1): chance that an event is delivered more than once (1.0: always), with
      ``extra_copies`` more copies (default 1: twice);
    * ``reorder_window`` (s): each delivery is held back a random 0..window, so events overtake;
    * ``delay`` (s): every delivery is held back this long;
    * ``drop`` (0-1): chance that an event is lost (for reconcile tests).
    """

    duplicate: float = 0.0
    extra_copies: int = 1
    reorder_window: float = 0.0
    delay: float = 0.0
    drop: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicate", "drop"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if not 1 <= self.extra_copies <= 10:
            raise ValueError(f"extra_copies must be within [1, 10], got {self.extra_copies}")
        if self.reorder_window < 0 or self.delay < 0:
            raise ValueError("reorder_window and delay must be >= 0")

    def plan(self, rng: random.Random) -> list[float]:
        """The delays (seconds) of the copies to deliver: ``[]`` when dropped."""
        if self.drop and rng.random() < self.drop:
            return []
        copies = 1 + self.extra_copies if self.duplicate and rng.random() < self.duplicate else 1
        return [self.delay + (rng.uniform(0, self.reorder_window) if self.reorder_window else 0.0) for _ in range(copies)]

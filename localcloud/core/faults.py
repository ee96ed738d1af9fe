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

A crash fault lets the call succeed, then kills the function instance that made it, before the
answer reaches it (the edge asks :meth:`FaultInjector.crash_due` after a successful call): a
crash between a side effect and whatever the function would have done next. ``skip`` lets the
first N matching calls through, so a crash can be placed after the Nth one:

>>> fid = faults.add(Fault(service="oss", operation="PutObject", path_contains="/runs/", crash=True, skip=1, count=1))
>>> [faults.crash_due("oss", "PutObject", "/b/.autopilot/runs/demo/r/0.json") for _ in range(3)]
[False, True, False]
>>> faults.check("oss", "PutObject", "/b/.autopilot/runs/x") is None   # crash faults never fail a call
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
    * ``count``: apply to the next N matching calls only (rates are then ignored: each fails);
    * ``skip``: let the first N matching calls through untouched (the fault applies after them);
    * ``path_contains``: match only calls whose request path contains this (an OSS key, an EAS
      service name, …);
    * ``crash``: the call succeeds, then the function instance that made it is killed before
      it sees the answer (see :meth:`FaultInjector.crash_due`; the rates are ignored).
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
    skip: int = 0
    path_contains: str = ""
    crash: bool = False
    id: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")
        if self.skip < 0:
            raise ValueError(f"skip must be >= 0, got {self.skip}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error status, got {self.status}")

    def matches(self, service: str, operation: str, path: str = "") -> bool:
        return (
            self.service in ("*", service)
            and self.operation in ("*", operation)
            and (not self.path_contains or self.path_contains in path)
        )

    def _skipped(self) -> bool:
        """Consume one of the calls to let through; True when this call is one of them."""
        if self.skip > 0:
            self.skip -= 1
            return True
        return False


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

    def check(self, service: str, operation: str, path: str = "") -> ServiceError | None:
        """Sleep for any latency, then return the error to answer with (or None)."""
        latency = 0.0
        error: ServiceError | None = None
        with self._lock:
            for fault in list(self._faults.values()):
                if fault.crash or not fault.matches(service, operation, path):
                    continue
                latency += fault.latency_ms
                if error is not None or fault._skipped():
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

    def crash_due(self, service: str, operation: str, path: str = "") -> bool:
        """After a successful call by a function instance: should that instance be killed now?

        Each matching crash fault counts the call (``skip`` first, then ``count``); without a
        ``count`` every matching call after the skipped ones crashes its caller.
        """
        with self._lock:
            for fault in list(self._faults.values()):
                if not fault.crash or not fault.matches(service, operation, path) or fault._skipped():
                    continue
                if fault.count is not None:
                    if fault.count == 0:
                        continue
                    fault.count -= 1
                fault.hits += 1
                return True
        return False

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

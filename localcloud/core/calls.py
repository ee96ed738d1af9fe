"""The API call log: one row per request the edge answered (POP product and action, or OSS).

Benchmarks and tests count what a tick costs with it (``cloud.api_calls``): take a
:meth:`ApiCallLog.mark` before, then :meth:`ApiCallLog.since` or :meth:`ApiCallLog.count`.
Control routes (``/_localcloud/…``) are not recorded.

Example
-------
>>> log = ApiCallLog()
>>> start = log.mark()
>>> log.record("dsw", "ListInstances", 200, at=0.0); log.record("oss", "GET", 200, at=0.0)
>>> log.count(start, product="dsw"), log.count(start), log.by_action(start)
(1, 2, {'dsw:ListInstances': 1, 'oss:GET': 1})
"""

from __future__ import annotations

import collections
import dataclasses
import threading

MAX_CALLS = 1_000_000


@dataclasses.dataclass(frozen=True)
class ApiCall:
    seq: int
    product: str  # the POP service name (dsw, dlc, eas, …) or "oss"
    action: str  # the x-acs-action, or the HTTP method for OSS
    status: int
    at: float


class ApiCallLog:
    """Thread-safe, bounded, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: collections.deque[ApiCall] = collections.deque(maxlen=MAX_CALLS)
        self._seq = 0

    def record(self, product: str, action: str, status: int, *, at: float) -> None:
        with self._lock:
            self._calls.append(ApiCall(self._seq, product, action, status, at))
            self._seq += 1

    def mark(self) -> int:
        """A position to count from."""
        with self._lock:
            return self._seq

    def since(self, mark: int = 0) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if c.seq >= mark]

    def count(self, mark: int = 0, *, product: str | None = None, action: str | None = None) -> int:
        return sum(1 for c in self.since(mark) if (product is None or c.product == product)
                   and (action is None or c.action == action))

    def by_action(self, mark: int = 0) -> dict[str, int]:
        """``{"<product>:<action>": calls}`` since ``mark``, sorted by key."""
        counts = collections.Counter(f"{c.product}:{c.action}" for c in self.since(mark))
        return dict(sorted(counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

"""The API call log: one row per request the edge answered (POP product and action, or OSS).

Benchmarks and tests count what a handler or a tick costs in requests from it (``cloud.calls``,
also reachable as ``cloud.api_calls``) instead of wrapping the SDKs: take a :meth:`ApiCallLog.mark`
before, then :meth:`ApiCallLog.count` / :meth:`ApiCallLog.by_action` from it (or ``reset()`` and
count everything). Control routes (``/_localcloud/…``, ``/_fc/…``) and mounted apps (the EAS
gateway) are not API calls and are not recorded. OSS requests are named like the operations
(``ListObjects``, ``GetObject``, ``PutObject``…).

Example
-------
>>> log = ApiCallLog()
>>> start = log.mark()
>>> log.record("dsw", "ListInstances", 200, at=0.0); log.record("oss", "GetObject", 200, at=0.0)
>>> log.count(start, product="dsw"), log.count(start), log.by_action(start)
(1, 2, {'dsw:ListInstances': 1, 'oss:GetObject': 1})
>>> log.by_operation()
{'dsw ListInstances': 1, 'oss GetObject': 1}
>>> log.reset(); log.count()
0
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from typing import Any

MAX_CALLS = 500_000  # bounded: `local up` runs for days


@dataclasses.dataclass(frozen=True)
class ApiCall:
    seq: int
    product: str  # the POP service name (dsw, dlc, eas, …) or "oss"
    action: str  # the x-acs-action, or the OSS operation's name
    status: int
    at: float


def oss_operation(method: str, path: str, args: Any) -> str:
    """A readable name of an OSS request (ListObjects, GetObject, PutObject …).

    >>> oss_operation("GET", "/b/", {"list-type": "2"}), oss_operation("PUT", "/b/k", {})
    ('ListObjects', 'PutObject')
    """
    has_key = path.strip("/").count("/") >= 1
    if method == "GET" and (not has_key or "list-type" in args or "prefix" in args):
        return "ListObjects"
    return {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject",
            "POST": "PostObject"}.get(method, method)


class ApiCallLog:
    """Thread-safe, bounded, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: collections.deque[ApiCall] = collections.deque(maxlen=MAX_CALLS)
        self._seq = 0

    def record(self, product: str, action: str, status: int, *, at: float = 0.0) -> None:
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

    def by_operation(self, mark: int = 0) -> dict[str, int]:
        """``{"<product> <action>": calls}`` since ``mark``, sorted by key (for readable assertion messages)."""
        return {key.replace(":", " ", 1): n for key, n in self.by_action(mark).items()}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

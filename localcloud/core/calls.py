"""The API calls localcloud answered: one row per request through the edge, for request counts.

Benchmarks and tests count what a handler costs in requests (``reconcile`` per tick, a marker
event) from this log instead of wrapping the SDKs. Control calls (``/_localcloud/…``, ``/_fc/…``)
are not API calls and are not logged.

Example
-------
>>> log = CallLog()
>>> log.add("oss", "ListObjects", 200); log.add("dlc", "GetJob", 200); log.add("oss", "GetObject", 404)
>>> log.count(), log.count("oss"), log.by_operation()
(3, 2, {'dlc GetJob': 1, 'oss GetObject': 1, 'oss ListObjects': 1})
>>> log.reset(); log.count()
0
"""

from __future__ import annotations

import collections
import threading
from typing import Any, NamedTuple


class Call(NamedTuple):
    service: str
    operation: str
    status: int


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


class CallLog:
    """Thread-safe list of :class:`Call`; ``record`` is the edge's ``on_request`` hook."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: collections.deque[Call] = collections.deque(maxlen=500_000)  # bounded: local up runs for days
        #: POP API version → service name (``2020-12-03`` → ``dlc``), filled by LocalCloud.
        self.names: dict[str, str] = {}

    def add(self, service: str, operation: str, status: int) -> None:
        with self._lock:
            self.calls.append(Call(service, operation, status))

    def record(self, request: Any, response: Any) -> None:
        path = request.path
        if path.startswith(("/_localcloud/", "/_fc/")):
            return
        action = request.headers.get("x-acs-action")
        if action is not None:
            version = request.headers.get("x-acs-version", "")
            self.add(self.names.get(version, version or "pop"), action, response.status_code)
        else:
            self.add("oss", oss_operation(request.method, path, request.args), response.status_code)

    def count(self, service: str | None = None) -> int:
        with self._lock:
            return sum(service is None or c.service == service for c in self.calls)

    def by_operation(self) -> dict[str, int]:
        with self._lock:
            counts = collections.Counter(f"{c.service} {c.operation}" for c in self.calls)
        return dict(sorted(counts.items()))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

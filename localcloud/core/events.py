"""The in-process event hub: services publish what happened, the FC runtime (and tests) subscribe.

Example
-------
>>> hub = EventHub()
>>> seen = []
>>> hub.subscribe(seen.append)
>>> hub.publish(ObjectEvent("ObjectCreated:PutObject", "b", "k", 1, "E", "req", "127.0.0.1", 0.0))
>>> seen[0].key
'k'
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class ObjectEvent:
    """An OSS object change, in the terms of the OSS event notification.

    ``event_name`` has no ``oss:`` prefix (``ObjectCreated:PutObject``), as in native events.
    """

    event_name: str
    bucket: str
    key: str
    size: int
    etag: str
    request_id: str
    source_ip: str
    time: float
    mime_type: str = "application/octet-stream"
    delta_size: int | None = None


Subscriber = Callable[[Any], None]


class EventHub:
    """A synchronous fan-out. Subscribers must be quick (queue the work, don't do it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def publish(self, event: Any) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(event)

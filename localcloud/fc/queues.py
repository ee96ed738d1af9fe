"""FC's asynchronous invocation semantics for one function.

Events are queued; ``concurrency`` instances serve them. A failed invocation (the handler
raised, timed out or crashed) is retried up to ``max_retries`` times with exponential
backoff (1 s, 2 s, 4 s … × ``delay_scale``) while the event is younger than ``max_age``
seconds; then it lands in the dead-letter store with the full event, the last error and the
number of attempts — the local stand-in for the on-failure destination.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from .instances import Instance, InvokeResult


@dataclasses.dataclass
class AsyncInvocation:
    id: str
    function: str
    event: bytes
    source: str
    enqueued_at: float
    request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    attempts: int = 0
    status: str = "queued"  # queued | running | retrying | succeeded | dead
    results: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def record(self) -> dict[str, Any]:
        last = self.results[-1] if self.results else {}
        result = last.get("result")
        return {
            "id": self.id, "request_id": self.request_id, "function": self.function, "source": self.source,
            "status": self.status, "attempts": self.attempts, "enqueued_at": self.enqueued_at,
            "outcome": result.get("outcome") if isinstance(result, dict) else None,
            "result": result, "error": last.get("error"), "error_type": last.get("error_type"),
            "cold_start": last.get("cold_start"), "duration_ms": last.get("duration_ms"),
        }


class FunctionQueue:
    """A delay queue of async invocations served by a pool of instances."""

    def __init__(
        self,
        function: str,
        *,
        make_instance: Callable[[], Instance],
        make_context: Callable[[AsyncInvocation], dict[str, Any]],
        timeout: float,
        max_retries: int,
        max_age: float,
        concurrency: int,
        delay_scale: float,
        on_change: Callable[[AsyncInvocation, str], None],
    ) -> None:
        self.function = function
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_age = max_age
        self.delay_scale = delay_scale
        self.make_context = make_context
        self.on_change = on_change
        self._instances = [make_instance() for _ in range(concurrency)]
        self._heap: list[tuple[float, int, AsyncInvocation]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._serve, args=(inst,), name=f"fc-{function}-{i}", daemon=True)
            for i, inst in enumerate(self._instances)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, invocation: AsyncInvocation, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._counter), invocation))
            self._cond.notify()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._busy

    def _next(self) -> AsyncInvocation | None:
        with self._cond:
            while not self._stopped:
                if self._heap:
                    due = self._heap[0][0] - time.monotonic()
                    if due <= 0:
                        self._busy += 1
                        return heapq.heappop(self._heap)[2]
                    self._cond.wait(timeout=due)
                else:
                    self._cond.wait()
            return None

    def _serve(self, instance: Instance) -> None:
        while True:
            invocation = self._next()
            if invocation is None:
                return
            try:
                self._run(instance, invocation)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _run(self, instance: Instance, invocation: AsyncInvocation) -> None:
        invocation.attempts += 1
        invocation.status = "running"
        self.on_change(invocation, "started")
        result: InvokeResult = instance.invoke(invocation.event, self.make_context(invocation), timeout=self.timeout)
        invocation.results.append(dataclasses.asdict(result))
        if result.ok:
            invocation.status = "succeeded"
            self.on_change(invocation, "succeeded")
            return
        age = time.time() - invocation.enqueued_at
        if invocation.attempts <= self.max_retries and age < self.max_age:
            invocation.status = "retrying"
            self.on_change(invocation, "failed")
            self.submit(invocation, delay=self.delay_scale * 2 ** (invocation.attempts - 1))
        else:
            invocation.status = "dead"
            self.on_change(invocation, "dead")

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=min(remaining, 0.1))
        return True

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        for instance in self._instances:
            instance.stop()

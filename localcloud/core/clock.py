"""localcloud's clock: real time by default, frozen or advanced on demand (tests, demos).

Example
-------
>>> clock = Clock()
>>> clock.freeze(1_700_000_000.0)
>>> clock.advance(90)
>>> clock.now()
1700000090.0
"""

from __future__ import annotations

import threading
import time


class Clock:
    """A settable clock. ``now()`` is epoch seconds (float)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen_at: float | None = None
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def freeze(self, at: float | None = None) -> None:
        """Stop the clock at ``at`` (default: the current time)."""
        with self._lock:
            self._frozen_at = (time.time() + self._offset) if at is None else float(at)

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (frozen or not)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._frozen_at = None
            self._offset = 0.0

    def state(self) -> dict[str, float | bool]:
        return {"now": self.now(), "frozen": self._frozen_at is not None, "offset": self._offset}

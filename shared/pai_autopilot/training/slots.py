"""Indexes of a pipeline's active and queued runs, so capacity checks cost one LIST, not one
read per run ever recorded.

``<ledger>/index/active/<pipeline>/<run>`` exists while a run holds a slot (written when its job is
submitted, removed when the run leaves the active states); ``<ledger>/index/queued/<pipeline>/
<claim time>-<run>`` while it waits. They are hints kept beside the ledger (which stays the
truth): ``reconcile`` drops index entries whose run is no longer active or queued.

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/")
>>> mark_active(ledger, "demo", "run-a"); mark_active(ledger, "demo", "run-b")
>>> active_runs(ledger, "demo")
['run-a', 'run-b']
>>> clear_active(ledger, "demo", "run-a"); active_runs(ledger, "demo")
['run-b']
"""

from __future__ import annotations

from ..ledger import Ledger


def _active(ledger: Ledger, pipeline: str) -> str:
    return f"{ledger.prefix}index/active/{pipeline}/"


def _queued(ledger: Ledger, pipeline: str) -> str:
    return f"{ledger.prefix}index/queued/{pipeline}/"


def mark_active(ledger: Ledger, pipeline: str, run: str) -> None:
    ledger.store.put(_active(ledger, pipeline) + run, b"{}")


def clear_active(ledger: Ledger, pipeline: str, run: str) -> None:
    ledger.store.delete(_active(ledger, pipeline) + run)


def active_runs(ledger: Ledger, pipeline: str) -> list[str]:
    prefix = _active(ledger, pipeline)
    return [key[len(prefix):] for key in ledger.store.list_keys(prefix)]


def mark_queued(ledger: Ledger, pipeline: str, run: str, at: float) -> None:
    ledger.store.put(f"{_queued(ledger, pipeline)}{at:020.6f}-{run}", b"{}")


def clear_queued(ledger: Ledger, pipeline: str, run: str) -> None:
    prefix = _queued(ledger, pipeline)
    for key in ledger.store.list_keys(prefix):
        if key.endswith("-" + run):
            ledger.store.delete(key)


def queued_runs(ledger: Ledger, pipeline: str) -> list[str]:
    """Queued runs, oldest claim first."""
    prefix = _queued(ledger, pipeline)
    return [key[len(prefix):].split("-", 1)[1] for key in ledger.store.list_keys(prefix)]

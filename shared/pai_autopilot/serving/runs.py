"""Marking the training run that produced a model version: ``model_ready`` when it lands, ``served``
once its service serves (first version: Running; a canary: promoted, by the rollout controller).

Only a run that finished training moves (``waiting_for_model`` → ``model_ready`` → ``served``): a
run still active is left to the training flow (its job events come later), and a model uploaded by
hand has no run at all. Each mark is one exclusive append, so a repeat changes nothing.

Example
-------
>>> next_run_state("waiting_for_model", "model_ready"), next_run_state("model_ready", "served")
('model_ready', 'served')
>>> next_run_state("running", "model_ready") is None, next_run_state("served", "model_ready") is None
(True, True)
"""

from __future__ import annotations

from typing import Any

from ..ledger import LedgerConflict
from ..runtime import Runtime
from ..training.runs import run_entity

_FROM = {"model_ready": ("waiting_for_model",), "served": ("waiting_for_model", "model_ready"),
         # the rollout controller (issue 12): a canary rolled back, or reverted inside its watch window
         "rolled_back": ("waiting_for_model", "model_ready", "served")}


def next_run_state(current: str, wanted: str) -> str | None:
    """``wanted`` if a run in ``current`` may move there, else None (pure)."""
    return wanted if current in _FROM.get(wanted, ()) else None


def mark_run(rt: Runtime, pipeline: str, run: str, state: str, data: dict[str, Any]) -> bool:
    """Append ``state`` to ``runs/<pipeline>/<run>`` if it may move there; True if this call did.

    ``state`` is ``model_ready``, ``served`` or ``rolled_back``; ``data`` (service, version…) is merged into the record.
    """
    entity = run_entity(pipeline, run)
    for _ in range(3):
        latest = rt.ledger.latest(entity)
        if latest is None or next_run_state(latest.state, state) is None:
            return False
        try:
            rt.ledger.append(entity, state, {**latest.data, **data}, after=latest, by=rt.request_id)
            return True
        except LedgerConflict:
            continue
    return False

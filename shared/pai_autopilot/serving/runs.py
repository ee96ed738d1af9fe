"""Marking the training run that produced a model version: ``model_ready`` when it lands, ``served``
once its service serves (first version: Running; a canary: promoted, by the rollout controller).

Only a run that finished training moves (``waiting_for_model`` → ``model_ready`` → ``served``): a
run still active is left to the training flow (its job events come later), and a model uploaded by
hand has no run at all. Each mark is one exclusive append, so a repeat changes nothing.

Each mark says why the run moved (``reason``: the rollout's decision, the service's state), never the
job's last status carried over from the record before (:func:`mark_reason` when the caller gives none).

Example
-------
>>> next_run_state("waiting_for_model", "model_ready"), next_run_state("model_ready", "served")
('model_ready', 'served')
>>> next_run_state("running", "model_ready") is None, next_run_state("served", "model_ready") is None
(True, True)
>>> mark_reason("served", {"service": "demo_model_v2"}, None)
'served by demo_model_v2'
>>> mark_reason("rolled_back", {"rollout_id": "ro-1"}, "alarm p99: TP99 = 912.5 > 500")
'alarm p99: TP99 = 912.5 > 500'
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


def mark_reason(state: str, data: dict[str, Any], reason: str | None) -> str:
    """Why the run moved to ``state``: ``reason`` when given, else what ``data`` says (pure)."""
    if reason and str(reason).strip():
        return str(reason)
    if state == "model_ready":
        return "model landed" + (f" at {data['model_uri']}" if data.get("model_uri") else "")
    if state == "served":
        return "served" + (f" by {data['service']}" if data.get("service") else "")
    return f"{state.replace('_', ' ')}" + (f" by rollout {data['rollout_id']}" if data.get("rollout_id") else "")


def mark_run(rt: Runtime, pipeline: str, run: str, state: str, data: dict[str, Any], *, reason: str | None = None) -> bool:
    """Append ``state`` to ``runs/<pipeline>/<run>`` if it may move there; True if this call did.

    ``state`` is ``model_ready``, ``served`` or ``rolled_back``; ``data`` (service, version…) is merged into the
    record, whose ``reason`` is ``reason`` (why: the rollout's decision, the service's state; see :func:`mark_reason`).
    """
    entity = run_entity(pipeline, run)
    for _ in range(3):
        latest = rt.ledger.latest(entity)
        if latest is None or next_run_state(latest.state, state) is None:
            return False
        why = mark_reason(state, data, reason)
        try:
            rt.ledger.append(entity, state, {**latest.data, **data, "reason": why}, after=latest, by=rt.request_id)
            return True
        except LedgerConflict:
            continue
    return False

"""Who deploys a pipeline's first version: one model at a time, decided by compare-and-set.

Two models landing at the same instant for a pipeline with no stable version would each see "no
stable, nothing deploying" and each create a service. The ``first-deploy/<pipeline>`` ledger
entity settles it: its head names the model that holds the first deploy (``held``), written with
an exclusive ledger write, so exactly one model wins; the others queue behind it.

A hold ends with its model: once that model is ``serving`` the pipeline has a stable version (the
stable record is written before it); once it ``failed`` (or was rejected, refused…) the next model
takes the hold over with an exclusive append. The entity gains one record per first deploy
attempted, so reading it costs what failed first deploys there were, never the pipeline's history.

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 0.0)
>>> states = {}
>>> hold(ledger, "demo", "m1", model_state=states.get)
('mine', 'm1')
>>> states["m1"] = "deploying"; hold(ledger, "demo", "m2", model_state=states.get)
('wait', 'm1')
>>> states["m1"] = "failed"; hold(ledger, "demo", "m2", model_state=states.get)
('mine', 'm2')
>>> states["m2"] = "serving"; hold(ledger, "demo", "m3", model_state=states.get)
('stable', 'm2')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ..ledger import Ledger, LedgerConflict

Verdict = Literal["mine", "wait", "stable"]

#: States of the holding model in which it is still taking the first deploy (``claimed``: it is
#: between its hold and its ``deploying`` record, or its invocation's retry is due).
HOLDING_STATES = frozenset({"claimed", "deploying"})


def first_deploy_entity(pipeline: str) -> str:
    return f"first-deploy/{pipeline}"


def hold(
    ledger: Ledger, pipeline: str, model: str, *, model_state: Callable[[str], str | None], by: str | None = None,
) -> tuple[Verdict, str]:
    """Take (or confirm) the pipeline's first deploy for ``model``; ``(verdict, holder)``.

    ``mine``: deploy it. ``wait``: ``holder`` is deploying the first version: queue behind it.
    ``stable``: ``holder`` is serving, so the pipeline has a stable version now: read it again.
    ``model_state(model id)`` is the state of a model's newest record (None: unknown).
    """
    entity = first_deploy_entity(pipeline)
    while True:
        latest = ledger.latest(entity)
        try:
            if latest is None:
                ledger.claim(entity, "held", {"model": model}, correlation_id=model, by=by)
                return "mine", model
            holder = str(latest.data.get("model"))
            if holder == model:
                return "mine", model
            state = model_state(holder)
            if state == "serving":
                return "stable", holder
            if state in HOLDING_STATES:
                return "wait", holder
            ledger.append(entity, "held", {"model": model, "after": f"{holder} {state}"}, after=latest,
                          correlation_id=model, by=by)
            return "mine", model
        except LedgerConflict:
            continue  # another model took it first: look again

"""One rollout per pipeline: versions that wait (``queue``) and canaries that give way (``supersede``).

For the rollout controller (issue 12):

* :func:`next_queued` — the oldest version waiting for ``pipeline`` (its model id), or None;
* :func:`start_queued` — when the pipeline's rollout closed (or its first version is Running),
  take that version through the gates and make it the next canary. Reconcile's serving pass calls
  it every tick too, so a lost kick never strands the queue.
* :func:`supersede` — roll the open canary back to weight 0 and abort its rollout (recorded).
"""

from __future__ import annotations

import contextlib
from typing import Any

from ..ledger import LedgerConflict
from ..log import get_logger
from ..notify import Notification, notify
from ..rollout.state import advance, open_rollout_of, read_head, rollout_id
from ..runtime import Runtime
from . import eas, index
from .versions import version_of


def _interrupted(record: Any) -> bool:
    """A dequeue that did not finish (its invocation failed or died after the claim): resumable."""
    return record.state == "claimed" and bool(record.data.get("dequeued"))


def next_queued(rt: Runtime, pipeline: str) -> str | None:
    """The model id of the oldest queued version of ``pipeline`` still in state ``queued``, or dequeued by a
    start that did not finish (stale hints dropped)."""
    for model in index.queued(rt.ledger, pipeline):
        record = rt.ledger.latest(f"models/{pipeline}/{model}")
        if record is not None and (record.state == "queued" or _interrupted(record)):
            return model
        index.clear_queued(rt.ledger, pipeline, model)
    return None


def start_queued(rt: Runtime, pipeline: str) -> dict[str, Any] | None:
    """Start the oldest queued version if nothing holds the pipeline (no open rollout, no first
    version deploying); returns its outcome (see :func:`~.deploy.proceed`), or None."""
    if index.deploying(rt.ledger, pipeline):
        return None
    model = next_queued(rt, pipeline)
    if model is None:
        return None
    from .deploy import proceed

    entity = f"models/{pipeline}/{model}"
    record = rt.ledger.latest(entity)
    assert record is not None
    rollout = open_rollout_of(rt.ledger, pipeline)
    if rollout is not None and not (_interrupted(record) and rollout == rollout_id(pipeline, record.data["version"])):
        return None  # another version's rollout holds the pipeline (its own: an interrupted start, resumed below)
    if _interrupted(record):
        head = record  # its index entry stays until an outcome is recorded: resume it
    else:
        try:
            head = rt.ledger.append(entity, "claimed", {**record.data, "dequeued": True}, after=record, by=rt.request_id)
        except LedgerConflict:
            return None  # someone else started it
    mv = version_of(rt.config, pipeline, record.data["version"], rt.bucket_name)
    get_logger(correlation_id=model).info("queued version started", version=mv.version)
    outcome = proceed(rt, mv, head)  # raises (FC/next tick retries) with the index entry still in place
    if outcome.get("outcome") != "queued":  # queued again: proceed wrote its own, newer entry
        index.clear_queued(rt.ledger, pipeline, model)
    return outcome


def supersede(rt: Runtime, pipeline: str, *, by_version: str) -> str | None:
    """Roll the pipeline's open canary back (weight 0 if it had traffic), abort its rollout with
    ``superseded by <version>``, and mark its model ``superseded``. Returns the aborted rollout id."""
    rid = open_rollout_of(rt.ledger, pipeline)
    head = read_head(rt.ledger, pipeline, rid) if rid else None
    if rid is None or head is None:
        return None
    canary = head.data.get("canary_service")
    current = eas.describe_service(rt, canary) if canary else None
    if current is not None and int(current.get("Weight") or 0) != 0:
        eas.release(rt, canary, 0)
    reason = f"superseded by {by_version}"
    try:
        advance(rt.ledger, head, "aborted", {"canary_weight": 0, "reason": reason}, by=rt.request_id)
    except LedgerConflict:
        return None
    version = head.data.get("version")
    if version:
        entity = version_of(rt.config, pipeline, version, rt.bucket_name).entity
        latest = rt.ledger.latest(entity)
        if latest is not None and latest.state == "canary":
            with contextlib.suppress(LedgerConflict):
                rt.ledger.append(entity, "superseded", {**latest.data, "reason": reason}, after=latest, by=rt.request_id)
    notify(rt.config.notifications, Notification("rollout_superseded", f"rollout superseded: {rid}",
                                                 {"canary": canary, "reason": reason}),
           ledger=rt.ledger, correlation_id=head.correlation_id)  # listed on the version's timeline (issue 13)
    return rid

"""The persisted rollout: one ledger entity per (pipeline, canary version) and an index of open ones.

A rollout is ``rollouts/<pipeline>/<rollout id>`` in the ledger; its records are its phases, each
carrying the whole rollout data (the spec fields plus what the controller adds: weights, the last
gate values, failed checks). While a rollout is open, ``<ledger>/index/rollouts/open/<pipeline>/
<rollout id>`` exists, so a controller tick finds every rollout in progress with one listing and
never walks closed history (DESIGN.md §2.7). The ledger stays the truth; the index is a hint that
the controller repairs (an index entry whose head record is terminal is dropped).

Phases (Flagger/Argo vocabulary): ``initializing`` (canary not yet Running) → ``shadowing``
(optional) → ``progressing`` ⇄ ``holding`` → ``promoting`` → ``watching`` → ``succeeded`` |
``rolled_back`` | ``aborted``. The controller adds two intent phases, ``rolling_back`` and
``finalising`` (recorded before their side effects, completed once applied; see
:mod:`.lifecycle`).

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 0.0)
>>> spec = RolloutSpec(pipeline="demo", version="v2", group="demo", canary_service="demo_model_v2",
...                    stable_service="demo_model", stable_version="v1")
>>> head = open_rollout(ledger, spec, correlation_id="ap-demo-v2-1234")
>>> head.state, head.data["canary_weight"], open_rollouts(ledger)
('initializing', 0, [('demo', 'ro-demo-v2-de6f5759')])
>>> head = advance(ledger, head, "progressing", {"canary_weight": 10, "reason": "step 1"})
>>> head = advance(ledger, head, "rolled_back", {"canary_weight": 0, "reason": "error ratio 0.2 > 0.01"})
>>> open_rollouts(ledger), read_head(ledger, "demo", "ro-demo-v2-de6f5759").state
([], 'rolled_back')
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from ..ledger import Ledger, Record

PHASES = (
    "initializing", "shadowing", "progressing", "holding", "promoting", "watching",
    "succeeded", "rolled_back", "aborted",
    # intents of the controller (rollout.lifecycle): recorded before their side effects
    "rolling_back", "finalising",
)
TERMINAL_PHASES = frozenset({"succeeded", "rolled_back", "aborted"})
ROLLOUTS_KIND = "rollouts/"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RolloutSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a rollout starts from: which canary replaces which stable, in which EAS group."""

    pipeline: str
    version: str
    group: str
    canary_service: str
    #: The service serving today (None only when there is nothing to replace).
    stable_service: str | None = None
    stable_version: str | None = None
    #: The training run that produced the version (None for a model uploaded by hand).
    run_id: str | None = None
    model_uri: str | None = None
    #: What the rollout id is derived from, when not ``version`` (a redeploy of a version that had
    #: its own rollout before: ``"<version>#redeploy-<n>"``). Added by the controller.
    rollout_key: str | None = None


def rollout_id(pipeline: str, version: str) -> str:
    """Deterministic: ``ro-<pipeline>-<slug of version>-<8 hex of sha256(pipeline, version)>``.

    >>> rollout_id("demo", "v2")
    'ro-demo-v2-de6f5759'
    """
    digest = hashlib.sha256(f"{pipeline}\0{version}".encode()).hexdigest()[:8]
    slug = _UNSAFE.sub("-", version).strip("-.")[:48] or "v"
    return f"ro-{pipeline}-{slug}-{digest}"


def rollout_entity(pipeline: str, rollout: str) -> str:
    """The ledger entity of a rollout: ``rollouts/<pipeline>/<rollout id>``."""
    return f"{ROLLOUTS_KIND}{pipeline}/{rollout}"


def _open_index(ledger: Ledger) -> str:
    return f"{ledger.prefix}index/rollouts/open/"


def open_rollout(ledger: Ledger, spec: RolloutSpec, *, correlation_id: str | None = None, by: str | None = None) -> Record:
    """Claim the rollout's first record (``initializing``, canary weight 0) and index it as open.

    Raises :class:`~pai_autopilot.ledger.ledger.LedgerConflict` when this rollout was opened
    already (a duplicate delivery): the caller reads :func:`read_head` instead. The index entry is
    written after the claim, so a crash in between leaves a rollout that :func:`ensure_indexed`
    (called by whoever finds the head) puts back.
    """
    rid = rollout_id(spec.pipeline, spec.rollout_key or spec.version)
    data: dict[str, Any] = {
        **msgspec.structs.asdict(spec), "rollout_id": rid, "canary_weight": 0, "step": 0, "failed_checks": 0,
        "reason": f"canary {spec.canary_service} created at weight 0",
    }
    head = ledger.claim(rollout_entity(spec.pipeline, rid), "initializing", data, correlation_id=correlation_id, by=by)
    ensure_indexed(ledger, spec.pipeline, rid)
    return head


def ensure_indexed(ledger: Ledger, pipeline: str, rollout: str) -> None:
    """(Re)write the open-index entry of a rollout (idempotent)."""
    ledger.store.put(f"{_open_index(ledger)}{pipeline}/{rollout}", b"{}")


def advance(ledger: Ledger, head: Record, phase: str, changes: dict[str, Any], *, by: str | None = None) -> Record:
    """Append the next record: ``head``'s data updated with ``changes``, in ``phase``.

    The append is the compare-and-set: a second tick that read the same head gets
    ``LedgerConflict`` and must not apply its side effect twice. A terminal phase removes the
    rollout from the open index.
    """
    if phase not in PHASES:
        raise ValueError(f"unknown rollout phase {phase!r}; known: {', '.join(PHASES)}")
    record = ledger.append(head.entity, phase, {**head.data, **changes}, after=head, by=by)
    if phase in TERMINAL_PHASES:
        pipeline, rid = head.entity[len(ROLLOUTS_KIND):].split("/", 1)
        ledger.store.delete(f"{_open_index(ledger)}{pipeline}/{rid}")
    return record


def open_rollouts(ledger: Ledger) -> list[tuple[str, str]]:
    """``(pipeline, rollout id)`` of every open rollout, from one listing of the open index."""
    prefix = _open_index(ledger)
    out = []
    for key in ledger.store.list_keys(prefix):
        pipeline, _, rid = key[len(prefix):].partition("/")
        if rid:
            out.append((pipeline, rid))
    return out


def drop_from_index(ledger: Ledger, pipeline: str, rollout: str) -> None:
    """Remove a stale open-index entry (its head is terminal or missing)."""
    ledger.store.delete(f"{_open_index(ledger)}{pipeline}/{rollout}")


def read_head(ledger: Ledger, pipeline: str, rollout: str) -> Record | None:
    """The rollout's newest record, or None when it was never opened."""
    return ledger.latest(rollout_entity(pipeline, rollout))


def open_rollout_of(ledger: Ledger, pipeline: str) -> str | None:
    """The id of the pipeline's open rollout (at most one per pipeline), or None."""
    for p, rid in open_rollouts(ledger):
        if p == pipeline:
            return rid
    return None

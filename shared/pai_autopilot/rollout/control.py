"""Manual control of a pipeline's rollout: promote, abort, pause, resume, rollback (the ops API).

:func:`apply_command` is what the webhook routes and the CLI call. Every command is recorded on
the rollout with ``by=<actor>`` and its reason, goes through the same record-then-apply path as
the controller's ticks (:mod:`.apply`), and is idempotent: repeating it returns
``{"outcome": "noop", …}``.

============ ================================================================================
``promote``  jump to 100 % now and enter the watch window (clears a pause)
``abort``    roll back at once (canary weight 0, the stable takes everything); ends ``aborted``;
             inside the watch window it reverts to the previous version
``pause``    hold where it is, across ticks, until ``resume`` (gates and deadlines stop)
``resume``   continue from the paused phase; the progress deadline restarts
``rollback`` before promotion: like abort, ends ``rolled_back``; inside the watch window: revert
             to the previous version in one step; after it: redeploy the previous version
             through a new rollout
============ ================================================================================

``abort`` and ``rollback`` need a reason. Errors: :class:`RolloutNotFound` (HTTP 404: the
pipeline has no rollout to act on), :class:`RolloutCommandConflict` (409: the command does not
apply in the rollout's phase), :class:`~pai_autopilot.errors.InvalidInputError` (422: bad input).

``rollback`` after the watch window: the previous version (scaled to zero at retirement) is
started again and comes back through a new rollout (same steps, gates and watch window); when it
was deleted (``retire: delete``) the answer is 409 naming what to do.

Example
-------
>>> validate_command("demo", "promote", actor="ci", reason=None)
('promote', None)
>>> validate_command("demo", "abort", actor="ci", reason=" ")
Traceback (most recent call last):
...
pai_autopilot.errors.InvalidInputError: abort needs a reason (it is destructive): pass reason, e.g. --reason "5xx spike"
"""

from __future__ import annotations

from typing import Any

from ..errors import AutopilotError, InvalidInputError
from ..ledger import Record
from ..runtime import Runtime
from . import traffic
from .apply import apply_decision, result_of
from .lifecycle import Decision, promote, rollback
from .state import ROLLOUTS_KIND, TERMINAL_PHASES, advance, open_rollout_of, read_head, rollout_id
from .tick import policy_of

ACTIONS = ("promote", "abort", "pause", "resume", "rollback")
DESTRUCTIVE = frozenset({"abort", "rollback"})
PRE_PROMOTION = frozenset({"initializing", "shadowing", "progressing", "holding"})
IN_FLIGHT = frozenset({"promoting", "finalising"})
MAX_REASON = 500
ATTEMPTS = 3


class RolloutNotFound(AutopilotError):
    """The pipeline has no rollout to act on (HTTP 404)."""

    code = "RolloutNotFound"


class RolloutCommandConflict(AutopilotError):
    """The command does not apply in the rollout's current phase (HTTP 409)."""

    code = "RolloutCommandConflict"


def validate_command(pipeline: str, action: str, *, actor: str, reason: str | None) -> tuple[str, str | None]:
    """Check the command's input; the normalised (action, reason)."""
    if action not in ACTIONS:
        raise InvalidInputError(f"unknown rollout action {action!r}: use one of {', '.join(ACTIONS)}")
    if not isinstance(pipeline, str) or not pipeline:
        raise InvalidInputError(f"pipeline must be a non-empty name, got {pipeline!r}")
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInputError("actor must name who sends the command (e.g. 'ci' or 'alice@example.com')")
    text = reason.strip() if isinstance(reason, str) else None
    if reason is not None and not isinstance(reason, str):
        raise InvalidInputError(f"reason must be text, got {type(reason).__name__}")
    if text and len(text) > MAX_REASON:
        raise InvalidInputError(f"reason is {len(text)} characters long: at most {MAX_REASON}")
    if action in DESTRUCTIVE and not text:
        raise InvalidInputError(f'{action} needs a reason (it is destructive): pass reason, e.g. --reason "5xx spike"')
    return action, text or None


def target_rollout(rt: Runtime, pipeline: str) -> Record:
    """The pipeline's open rollout, else its most recent closed one; :class:`RolloutNotFound` if none."""
    if pipeline not in rt.config.pipelines:
        known = ", ".join(sorted(rt.config.pipelines)) or "none"
        raise RolloutNotFound(f"no pipeline {pipeline!r} in the configuration; known: {known}")
    rid = open_rollout_of(rt.ledger, pipeline)
    if rid is not None:
        head = read_head(rt.ledger, pipeline, rid)
        if head is not None:
            return head
    heads = [h for e in rt.ledger.entities(f"{ROLLOUTS_KIND}{pipeline}/") if (h := rt.ledger.latest(e)) is not None]
    if not heads:
        raise RolloutNotFound(f"pipeline {pipeline!r} has no rollout: a canary starts when a new model version lands")
    return max(heads, key=lambda h: h.at)


REDEPLOY = Decision("noop", reason="redeploy the previous version")  # a marker: see _redeploy


def _redeploy(rt: Runtime, head: Record, said: str, actor: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Rollback after the watch window: the retired previous version comes back through a new rollout.

    Its service (scaled to zero at retirement) is started again and a rollout opened with it as the
    canary and today's version as the stable: the same steps, gates and watch window as any
    version. Its rollout id comes from ``"<version>#redeploy-<n>"`` (the version's own rollout id is taken).
    """
    from .state import RolloutSpec, open_rollout

    d = head.data
    previous, service, current = d.get("stable_version"), d.get("stable_service"), d["canary_service"]
    if not previous or not service:
        raise RolloutCommandConflict(f"rollout {d['rollout_id']} replaced nothing: there is no previous version")
    status = traffic.status(rt, service)
    if status in ("Deleted", "Deleting"):
        raise RolloutCommandConflict(f"{service} ({previous}) was deleted at retirement (rollout.retire: delete): "
                                     f"land its model again (models/{d['pipeline']}/{previous}/_SUCCESS)")
    n = 1 + sum(1 for e in rt.ledger.entities(f"{ROLLOUTS_KIND}{d['pipeline']}/") if "-redeploy-" in e)
    spec = RolloutSpec(pipeline=d["pipeline"], version=previous, group=d["group"], canary_service=service,
                       stable_service=current, stable_version=d["version"], rollout_key=f"{previous}#redeploy-{n}")
    planned = {"outcome": "would-apply" if dry_run else "applied", "action": "rollback", "pipeline": d["pipeline"],
               "version": previous, "phase": "initializing", "canary_weight": 0,
               "reason": f"{said}: redeploy {previous} ({service}, {status}) through a new rollout replacing {d['version']}"}
    if dry_run:
        return {**planned, "rollout_id": rollout_id(d["pipeline"], spec.rollout_key or previous)}
    if status == "Stopped":
        traffic.start(rt, service)
    traffic.release(rt, service, 0)
    opened = open_rollout(rt.ledger, spec, correlation_id=head.correlation_id, by=actor)
    extra = {"redeploy_of": d["rollout_id"], "reason": planned["reason"]}
    record = advance(rt.ledger, opened, "initializing", extra, by=actor)
    return {**planned, "rollout_id": record.data["rollout_id"]}


def _decision(rt: Runtime, head: Record, action: str, said: str, now: float) -> Decision | str:
    """The decision for a command on ``head``, or the reason it is a no-op (a str)."""
    phase, d = head.state, head.data
    paused = bool(d.get("paused"))
    closed = phase in TERMINAL_PHASES
    if action == "promote":
        if phase in ("promoting", "watching", "finalising", "succeeded"):
            return f"already promoted (phase {phase})"
        if phase not in PRE_PROMOTION:
            raise RolloutCommandConflict(f"cannot promote rollout {d['rollout_id']}: it is {phase}")
        if phase == "initializing" and traffic.status(rt, d["canary_service"]) != "Running":
            raise RolloutCommandConflict(f"cannot promote {d['canary_service']} yet: it is not Running")
        return promote(said, paused=False, hold_kind=None, step=len(policy_of(rt, d["pipeline"]).steps))
    if action in ("abort", "rollback"):
        outcome = "aborted" if action == "abort" else "rolled_back"
        if phase in ("rolling_back", "rolled_back", "aborted"):
            return f"already rolled back (phase {phase})"
        if phase in IN_FLIGHT:
            raise RolloutCommandConflict(f"rollout {d['rollout_id']} is {phase}: retry in a moment")
        if phase == "succeeded":
            if action == "abort":
                raise RolloutCommandConflict(f"rollout {d['rollout_id']} succeeded: use rollback to go back to "
                                             f"{d.get('stable_version')}")
            return REDEPLOY
        if d.get("redeploy_of") and action == "rollback":
            return f"already going back to {d['version']} (redeploy of rollout {d['redeploy_of']}, phase {phase})"
        return rollback(said, outcome=outcome, revert=phase == "watching", paused=False)
    if action == "pause":
        if closed or phase in IN_FLIGHT or phase == "rolling_back":
            raise RolloutCommandConflict(f"cannot pause rollout {d['rollout_id']}: it is {phase}")
        if paused:
            return f"already paused ({d.get('reason')})"
        resume = d.get("resume_phase") if phase == "holding" else phase
        return Decision("pause", "holding", said, {"paused": True, "hold_kind": "paused", "resume_phase": resume or "progressing"})
    # resume
    if closed or phase in IN_FLIGHT or phase == "rolling_back":
        raise RolloutCommandConflict(f"cannot resume rollout {d['rollout_id']}: it is {phase}")
    if not paused:
        return f"not paused (phase {phase})"
    back = d.get("resume_phase") or "progressing"
    changes: dict[str, Any] = {"paused": False, "hold_kind": None, "resume_phase": None, "analysis_from": now}
    if back != "watching":
        changes["progress_at"] = now
    return Decision("resume", back, said, changes)


def plan_command(rt: Runtime, pipeline: str, action: str, *, actor: str, reason: str | None = None) -> dict[str, Any]:
    """What :func:`apply_command` would do (``--dry-run``): the same checks and errors, nothing written.

    ``outcome`` is ``noop`` or ``would-apply``; ``phase``/``canary_weight`` are the ones it would record.
    """
    action, text = validate_command(pipeline, action, actor=actor, reason=reason)
    said = f"{action} by {actor}" + (f": {text}" if text else "")
    head = target_rollout(rt, pipeline)
    decision = _decision(rt, head, action, said, rt.now())
    if isinstance(decision, str):
        return {**result_of(head, "noop", decision, action=action), "pipeline": pipeline}
    if decision is REDEPLOY:
        return _redeploy(rt, head, said, actor, dry_run=True)
    from .lifecycle import completion_phase

    planned = result_of(head, "would-apply", decision.reason, action=action)
    planned["phase"] = completion_phase(decision, head.data.get("outcome"))
    planned["canary_weight"] = decision.changes.get("canary_weight", head.data.get("canary_weight"))
    return {**planned, "pipeline": pipeline}


def apply_command(rt: Runtime, pipeline: str, action: str, *, actor: str, reason: str | None = None) -> dict[str, Any]:
    """Run one manual command on the pipeline's rollout (see the module docstring).

    Returns at least ``outcome`` (``applied`` | ``noop``), ``pipeline``, ``rollout_id``,
    ``phase``, ``canary_weight`` and ``reason``.
    """
    action, text = validate_command(pipeline, action, actor=actor, reason=reason)
    said = f"{action} by {actor}" + (f": {text}" if text else "")
    for _ in range(ATTEMPTS):
        head = target_rollout(rt, pipeline)
        now = rt.now()
        decision = _decision(rt, head, action, said, now)
        if isinstance(decision, str):
            return {**result_of(head, "noop", decision, action=action), "pipeline": pipeline}
        if decision is REDEPLOY:
            return _redeploy(rt, head, said, actor)
        result = apply_decision(rt, head, decision, policy_of(rt, pipeline), by=actor, now=now)
        if result["outcome"] == "applied":
            return {**result, "action": action, "pipeline": pipeline}
        # another writer moved the rollout first: decide again on the new head
    raise RolloutCommandConflict(f"rollout of {pipeline!r} kept changing under the {action} command: retry")

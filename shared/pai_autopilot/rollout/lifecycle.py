"""What a rollout does next (pure; DESIGN.md §2.3-4): one decision per rollout per tick.

:func:`decide` takes what the ledger knows (:class:`RolloutView`, from the head record), what
was observed this tick (:class:`Observation`: the clock, the canary's status, the canary's and
the stable's :class:`~.gates.Sample`, the answers of the smoke request and the webhooks) and
the pipeline's :class:`~.policy.Policy`, and returns a :class:`Decision` with its reason.
When it needs an observation it was not given (the canary's status, a smoke request, a
webhook answer) it says so (``action="needs"``) and the caller asks and decides again, so no
I/O happens for a rollout that does not need it.

Phases: ``initializing`` → (``shadowing``) → ``progressing`` ⇄ ``holding`` → ``promoting`` →
``watching`` → ``finalising`` → ``succeeded``; any open phase → ``rolling_back`` →
``rolled_back`` | ``aborted``. ``promoting``, ``rolling_back`` and ``finalising`` are **intents**:
recorded before their side effects, completed by the next record once applied, so a crash in
between is finished by the next tick (see :mod:`.apply`).

Example
-------
>>> from .gates import Sample
>>> view = RolloutView(phase="progressing", step=1, canary_weight=10, opened_at=0.0, progress_at=0.0, analysis_from=0.0, phase_at=0.0)
>>> d = decide(view, Observation(now=60.0, canary=Sample(500, 1, 20.0), stable=Sample(4500, 9, 20.0)), Policy())
>>> d.action, d.phase, d.changes["canary_weight"]
('step', 'progressing', 25)
>>> d = decide(view, Observation(now=60.0, canary=Sample(3, 0), stable=Sample(30, 0)), Policy())
>>> d.action, d.phase, d.reason
('hold', 'holding', '3 canary requests < min_requests 100: hold')
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from .gates import GateResult, Sample, evaluate
from .policy import INTERVAL_TOLERANCE, Policy
from .state import TERMINAL_PHASES

Action = Literal[
    "noop", "needs", "hold", "start_shadow", "step", "fail_check", "promote", "rollback", "revert", "finalise",
    "pause", "resume",
]
#: Recorded before their side effects; the completion record follows once they are applied.
INTENT_PHASES = {"promoting": "watching", "rolling_back": None, "finalising": "succeeded"}
ANALYSED_PHASES = frozenset({"shadowing", "progressing", "holding", "watching"})


@dataclasses.dataclass(frozen=True)
class Check:
    """The answer of a smoke request or a webhook: passed or not, and what it said."""

    ok: bool
    detail: str


@dataclasses.dataclass(frozen=True)
class RolloutView:
    """What the ledger knows of a rollout (times in epoch seconds, clock of the ledger)."""

    phase: str
    step: int = 0
    canary_weight: int = 0
    failed_checks: int = 0
    opened_at: float = 0.0
    progress_at: float = 0.0
    analysis_from: float = 0.0
    phase_at: float = 0.0
    paused: bool = False
    resume_phase: str | None = None
    hold_kind: str | None = None
    outcome: str | None = None
    revert: bool = False
    reason: str = ""

    @classmethod
    def from_record(cls, record: Any) -> RolloutView:
        """The view of a head :class:`~pai_autopilot.ledger.Record`."""
        d = record.data
        opened = float(d.get("opened_at", record.at))
        return cls(
            phase=record.state, step=int(d.get("step", 0)), canary_weight=int(d.get("canary_weight", 0)),
            failed_checks=int(d.get("failed_checks", 0)), opened_at=opened,
            progress_at=float(d.get("progress_at", opened)), analysis_from=float(d.get("analysis_from", opened)),
            phase_at=float(d.get("phase_at", record.at)), paused=bool(d.get("paused", False)),
            resume_phase=d.get("resume_phase"), hold_kind=d.get("hold_kind"), outcome=d.get("outcome"),
            revert=bool(d.get("revert", False)), reason=str(d.get("reason", "")),
        )


@dataclasses.dataclass(frozen=True)
class Observation:
    """What this tick saw. ``None`` means "not observed"."""

    now: float
    canary_status: str | None = None
    canary: Sample | None = None
    stable: Sample | None = None
    smoke: Check | None = None
    pre_rollout: Check | None = None
    confirm_promotion: Check | None = None


@dataclasses.dataclass(frozen=True)
class Decision:
    """The verdict: ``action``, the ``phase`` to record, its ``reason`` and the data ``changes``."""

    action: Action
    phase: str = ""
    reason: str = ""
    changes: dict[str, Any] = dataclasses.field(default_factory=dict)
    needs: tuple[str, ...] = ()
    gate: GateResult | None = None

    @property
    def records(self) -> bool:
        return self.action not in ("noop", "needs")


def noop(reason: str, gate: GateResult | None = None) -> Decision:
    return Decision("noop", reason=reason, gate=gate)


def rollback(reason: str, *, outcome: str = "rolled_back", revert: bool = False, gate: GateResult | None = None,
             **extra: Any) -> Decision:
    """The intent to roll back (``outcome`` ``rolled_back`` or ``aborted``; ``revert`` after promotion)."""
    changes = {"canary_weight": 0, "outcome": outcome, "revert": revert, **extra}
    if gate is not None:
        changes["last_gate"] = gate.to_dict()
    return Decision("revert" if revert else "rollback", "rolling_back", reason, changes, gate=gate)


def promote(reason: str, *, gate: GateResult | None = None, **extra: Any) -> Decision:
    """The intent to give the canary all the group's traffic."""
    changes: dict[str, Any] = {"canary_weight": 100, **extra}
    if gate is not None:
        changes["last_gate"] = gate.to_dict()
    return Decision("promote", "promoting", reason, changes, gate=gate)


def _first_step(view: RolloutView, policy: Policy, now: float, reason: str) -> Decision:
    weight = policy.steps[0]
    changes = {"step": 1, "canary_weight": weight, "progress_at": now, "analysis_from": now, "phase_at": now,
               "failed_checks": 0, "opened_at": view.opened_at, "hold_kind": None}
    if weight >= 100:
        return promote(f"{reason}; single step: promote", **{k: v for k, v in changes.items() if k != "canary_weight"})
    return Decision("step", "progressing", f"{reason}; step 1: canary weight {weight}", changes)


def _completion(view: RolloutView, policy: Policy) -> Decision:
    """Finish an intent recorded by a tick that crashed (or is still running) before completing it."""
    if view.phase == "promoting":
        return promote(view.reason or "promotion (resumed)")
    if view.phase == "finalising":
        return Decision("finalise", "finalising", view.reason or "watch window over (resumed)")
    return rollback(view.reason or "rollback (resumed)", outcome=view.outcome or "rolled_back", revert=view.revert)


def _initializing(view: RolloutView, obs: Observation, policy: Policy) -> Decision:
    now, status = obs.now, obs.canary_status
    if status is None:
        return Decision("needs", needs=("canary_status",))
    if status in ("Failed", "DeleteFailed", "Stopped", "Deleted", "Deleting"):
        return rollback(f"canary service is {status}: it never became Running")
    if status != "Running":
        if now - view.progress_at > policy.progress_deadline:
            return rollback(f"canary still {status} after {now - view.progress_at:.0f} s > progress_deadline "
                            f"{policy.progress_deadline:.0f} s")
        return noop(f"waiting for the canary to be Running (status {status})")
    if policy.smoke:
        if obs.smoke is None:
            return Decision("needs", needs=("smoke",))
        if not obs.smoke.ok:
            return rollback(f"smoke request failed: {obs.smoke.detail}; no traffic given", smoke=obs.smoke.detail)
    if policy.pre_rollout:
        if obs.pre_rollout is None:
            return Decision("needs", needs=("pre_rollout",))
        if not obs.pre_rollout.ok:
            if now - view.progress_at > policy.progress_deadline:
                return rollback(f"pre_rollout webhook kept failing ({obs.pre_rollout.detail}) past the progress deadline")
            return noop(f"pre_rollout webhook: {obs.pre_rollout.detail}; waiting")
    if policy.shadow_ratio:
        return Decision("start_shadow", "shadowing",
                        f"canary Running; shadowing {policy.shadow_ratio} % of the stable's requests "
                        f"for {policy.shadow_duration:.0f} s", {
                            "progress_at": now, "analysis_from": now, "phase_at": now, "opened_at": view.opened_at,
                            "shadow_ratio": policy.shadow_ratio})
    return _first_step(view, policy, now, "canary Running")


def _hold(view: RolloutView, kind: str, reason: str, gate: GateResult | None = None) -> Decision:
    if view.phase == "holding" and view.hold_kind == kind:
        return noop(f"still holding: {reason}", gate)
    changes: dict[str, Any] = {"hold_kind": kind, "resume_phase": view.phase if view.phase != "holding" else view.resume_phase}
    if gate is not None:
        changes["last_gate"] = gate.to_dict()
    return Decision("hold", "holding", reason, changes, gate=gate)


def _analysed(view: RolloutView, obs: Observation, policy: Policy) -> Decision:
    now = obs.now
    if view.phase == "watching" and now - view.phase_at >= policy.watch_window:
        return Decision("finalise", "finalising", f"watch window of {policy.watch_window:.0f} s over without a breach")
    elapsed = now - view.analysis_from
    if elapsed < INTERVAL_TOLERANCE * policy.interval:
        return noop(f"analysis window {elapsed:.0f} s of {policy.interval:.0f} s")
    if obs.canary is None:
        return Decision("needs", needs=("metrics",))
    if view.phase == "watching":  # the old stable takes no traffic: absolute gates only, one breach reverts
        gate = evaluate(obs.canary, None, policy.thresholds)
        if gate.verdict == "fail":
            return rollback(f"breach inside the watch window: {gate.reason}; reverting to the previous version",
                            revert=True, gate=gate)
        return noop(f"watching: {gate.reason}", gate)
    gate = evaluate(obs.canary, obs.stable, policy.thresholds)
    if gate.verdict == "fail":
        failed = view.failed_checks + 1
        if failed >= policy.threshold:
            return rollback(f"{failed} failed checks (threshold {policy.threshold}): {gate.reason}", gate=gate,
                            failed_checks=failed)
        phase = view.resume_phase or "progressing" if view.phase == "holding" else view.phase
        return Decision("fail_check", phase, f"failed check {failed} of {policy.threshold}: {gate.reason}",
                        {"failed_checks": failed, "analysis_from": now, "last_gate": gate.to_dict(), "hold_kind": None},
                        gate=gate)
    if gate.verdict == "insufficient":
        if now - view.progress_at > policy.progress_deadline:
            return rollback(f"no progress for {now - view.progress_at:.0f} s > progress_deadline "
                            f"{policy.progress_deadline:.0f} s: {gate.reason}", gate=gate)
        return _hold(view, "traffic", gate.reason, gate)
    in_shadow = view.phase == "shadowing" or (view.phase == "holding" and view.resume_phase == "shadowing")
    if in_shadow:
        if now - view.phase_at < INTERVAL_TOLERANCE * policy.shadow_duration:
            return noop(f"shadowing {now - view.phase_at:.0f} s of {policy.shadow_duration:.0f} s: {gate.reason}", gate)
        first = _first_step(view, policy, now, f"shadow passed ({gate.reason})")
        return dataclasses.replace(first, changes={**first.changes, "last_gate": gate.to_dict(), "shadow_ratio": None},
                                   gate=gate)
    next_weight = policy.steps[view.step] if view.step < len(policy.steps) else 100
    if next_weight >= 100:
        if policy.confirm_promotion:
            if obs.confirm_promotion is None:
                return Decision("needs", needs=("confirm_promotion",), gate=gate)
            if not obs.confirm_promotion.ok:
                if now - view.progress_at > policy.progress_deadline:
                    return rollback(f"confirm_promotion still refusing ({obs.confirm_promotion.detail}) past the "
                                    f"progress deadline", gate=gate)
                return _hold(view, "confirm_promotion",
                             f"confirm_promotion answered {obs.confirm_promotion.detail}: holding at weight "
                             f"{view.canary_weight}", gate)
        return promote(f"{gate.reason}; promote: canary weight 100", gate=gate, step=view.step + 1, hold_kind=None)
    return Decision("step", "progressing", f"{gate.reason}; step {view.step + 1}: canary weight {next_weight}", {
        "step": view.step + 1, "canary_weight": next_weight, "progress_at": now, "analysis_from": now,
        "last_gate": gate.to_dict(), "hold_kind": None, "resume_phase": None}, gate=gate)


def decide(view: RolloutView, obs: Observation, policy: Policy) -> Decision:
    """The next step of one rollout (see the module docstring)."""
    if view.phase in TERMINAL_PHASES:
        return noop(f"rollout is {view.phase}")
    if view.phase in INTENT_PHASES:
        return _completion(view, policy)
    if view.paused:
        return noop(f"paused: {view.reason}")
    if view.phase != "watching" and obs.now - view.opened_at > policy.max_duration:
        return rollback(f"open for {obs.now - view.opened_at:.0f} s > max_duration {policy.max_duration:.0f} s")
    if view.phase == "initializing":
        return _initializing(view, obs, policy)
    if view.phase in ANALYSED_PHASES:
        return _analysed(view, obs, policy)
    return noop(f"unknown phase {view.phase!r}")


def completion_phase(decision: Decision, view_outcome: str | None = None) -> str:
    """The phase recorded once an intent's side effects are applied.

    >>> completion_phase(rollback("x", outcome="aborted")), completion_phase(promote("y"))
    ('aborted', 'watching')
    """
    if decision.phase == "rolling_back":
        return str(decision.changes.get("outcome") or view_outcome or "rolled_back")
    return INTENT_PHASES.get(decision.phase) or decision.phase

"""The governor's decisions, pure: (instance view, its state, the policy, now) → a verdict with its reason.

Per instance, in this order (the first that applies wins):

1. stopped by us and running again → ``restarted`` (record it; the savings count ends here) — unless
   the stop is younger than :data:`RESTART_MIN_S` (then the listing predates it: ``wait``);
2. a stop was claimed and it still runs → ``wait`` (another tick is on it), or ``stop`` again when the
   claim is this invocation's own (FC's retry of the same request: its first attempt died) or older than
   :data:`STOP_LEASE_S` (its tick is over, so it failed);
3. exempt by the keep-alive label → ``clear`` an open warning, else ``none``;
4. snoozed and the snooze has not ended → ``none``;
5. *qualifies*: idle for ``idle_minutes``, or inside quiet hours and idle for
   ``quiet_hours.idle_minutes`` (or ``stop_busy``) — then ``warn`` once per idle episode, ``wait``
   through the grace, ``stop`` once ``stop_at`` has passed;
6. otherwise a warned instance is busy again → ``clear``; anything else → ``none``.

An idle time the governor could not measure counts as busy. An instance no longer running with an
open state is ``close``d (a claimed stop becomes ``stopped``, a warning ``cleared``), or
``forget``-ten from the index once nothing is left to watch.

:func:`decide_culler` says what to do with the native IdleInstanceCuller: the policy's culler
on every instance that is neither exempt nor snoozed (an exempt or snoozed one must not be
culled, so the policy's culler is deleted there; a culler someone set by hand on it is kept).

Example
-------
>>> from ..config.models import Notebooks
>>> from .views import InstanceView
>>> policy = Notebooks(mode="enforce", idle_minutes=60, warn_minutes=30)
>>> idle = InstanceView("dsw-1", "nb", "Running", "ecs.g7.xlarge", False, 0, "alice", {}, None, 75, None)
>>> decide(idle, view(None), policy, now=1_800_000_000.0)
Verdict(action='warn', reason='idle 75 min >= 60 min', stop_at=1800001800.0, save_image=False)
>>> decide(idle.with_idle(10), view(None), policy, now=1_800_000_000.0).reason
'busy: idle 10 min < 60 min'
>>> decide_culler(idle, exempt=False, snoozed=False, policy=policy).action
'create'
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ..config.models import Notebooks
from .policy import describe_culler, in_quiet_hours, keep_alive, wanted_culler, wants_save_image
from .state import NotebookState, view
from .views import InstanceView, iso

Action = Literal["none", "warn", "wait", "stop", "clear", "restarted", "close", "forget"]
CullerAction = Literal["keep", "create", "replace", "delete", "skip"]

#: A stopped instance listed as running this soon after the stop is a stale listing, not a restart.
RESTART_MIN_S = 60.0
#: ``dsw_governor``'s ``timeout`` in s.yaml: no tick lives longer (a unit test keeps the two equal).
GOVERNOR_TIMEOUT_S = 300.0
#: A stop claimed by another invocation and still running after this long is retried: the claimant's
#: tick is over (FC's timeout), plus a margin for clock skew. Its own FC retry takes it over at once.
STOP_LEASE_S = GOVERNOR_TIMEOUT_S + 30.0

__all__ = ["CullerVerdict", "Verdict", "decide", "decide_culler", "decide_unlisted", "qualifies", "view"]


@dataclasses.dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    stop_at: float | None = None
    save_image: bool = False


@dataclasses.dataclass(frozen=True)
class CullerVerdict:
    action: CullerAction
    reason: str
    wanted: dict[str, int] | None = None


def snoozed_now(state: NotebookState, now: float) -> bool:
    return state.kind == "snoozed" and (state.snoozed_until or 0.0) > now


def qualifies(inst: InstanceView, policy: Notebooks, now: float) -> tuple[bool, str]:
    """Whether the instance is idle enough to act on, and why (or why not)."""
    idle = inst.idle_minutes
    quiet = policy.quiet_hours
    if quiet is not None and in_quiet_hours(quiet, now):
        if quiet.stop_busy:
            return True, "inside quiet hours (stop_busy)"
        if idle is not None and idle >= quiet.idle_minutes:
            return True, f"inside quiet hours and idle {idle} min >= {quiet.idle_minutes} min"
    if idle is None:
        return False, "busy: no idle measurement yet (unknown counts as busy)"
    if idle >= policy.idle_minutes:
        return True, f"idle {idle} min >= {policy.idle_minutes} min"
    return False, f"busy: idle {idle} min < {policy.idle_minutes} min"


def decide(inst: InstanceView, state: NotebookState, policy: Notebooks, *, now: float,
           request_id: str | None = None) -> Verdict:
    """The verdict for a running instance (see the module doc for the order); ``request_id`` is the
    deciding invocation's (a ``stopping`` claim it wrote itself is its own to finish)."""
    if state.kind == "stopped":
        if now - state.at < RESTART_MIN_S:  # a listing older than our own stop (an overlapping tick)
            return Verdict("wait", "stopped just now; this listing predates the stop")
        return Verdict("restarted", "running again after the governor stopped it")
    if state.kind == "stopping":
        own = request_id is not None and state.by == request_id
        if not own and now - state.at < STOP_LEASE_S:
            return Verdict("wait", "another tick is stopping it")
        why = "this invocation's own claim (FC's retry)" if own else f"the claim is over {STOP_LEASE_S:.0f} s old"
        return Verdict("stop", f"a stop was claimed and the instance still runs ({why}): stopping it",
                       save_image=state.save_image)
    exempt, why = keep_alive(inst.labels, policy, now=now)
    if exempt:
        return Verdict("clear", why) if state.kind == "warned" else Verdict("none", why)
    if snoozed_now(state, now):
        return Verdict("none", f"snoozed until {iso(state.snoozed_until or 0.0)}")
    ok, reason = qualifies(inst, policy, now)
    if policy.keep_alive_label in inst.labels:  # an expired or unreadable exemption: say so
        reason = f"{reason}; {why}"
    if not ok:
        return Verdict("clear", reason) if state.kind == "warned" else Verdict("none", reason)
    if state.kind == "warned" and state.stop_at is not None:
        if now >= state.stop_at:
            return Verdict("stop", f"{reason}; warned, grace ended at {iso(state.stop_at)}",
                           save_image=wants_save_image(inst.labels, policy))
        return Verdict("wait", f"{reason}; warned, stops at {iso(state.stop_at)}", stop_at=state.stop_at)
    return Verdict("warn", reason, stop_at=now + policy.warn_minutes * 60.0,
                   save_image=wants_save_image(inst.labels, policy))


def decide_unlisted(state: NotebookState, policy: Notebooks, *, now: float) -> Verdict:
    """The verdict for an instance in the open index that is no longer running (or in scope)."""
    if state.kind == "stopping":
        return Verdict("close", "no longer running: the stop went through")
    if state.kind == "warned":
        return Verdict("close", "no longer running: stopped or deleted by someone else")
    if state.kind == "stopped" and now - state.at < policy.max_avoided_hours * 3600:
        return Verdict("none", "stopped; watching for a restart (savings report)")
    if state.kind == "snoozed" and snoozed_now(state, now):
        return Verdict("none", f"snoozed until {iso(state.snoozed_until or 0.0)} (not running)")
    return Verdict("forget", f"nothing left to watch ({state.kind})")


def decide_culler(inst: InstanceView, *, exempt: bool, snoozed: bool, policy: Notebooks) -> CullerVerdict:
    """What to do with the instance's native idle culler."""
    if not policy.native_culler.enabled:
        return CullerVerdict("skip", "native_culler.enabled is false")
    wanted = wanted_culler(policy)
    current = inst.culler
    if exempt or snoozed:
        why = "exempt" if exempt else "snoozed"
        if current == wanted:
            return CullerVerdict("delete", f"{why}: the policy's culler would stop it")
        return CullerVerdict("keep", f"{why}: culler {describe_culler(current)} left as it is")
    if current is None:
        return CullerVerdict("create", f"no idle culler: create {describe_culler(wanted)}", wanted)
    if current != wanted:
        return CullerVerdict("replace", f"culler changed by hand ({describe_culler(current)}): "
                             f"restore {describe_culler(wanted)}", wanted)
    return CullerVerdict("keep", "culler matches the policy", wanted)

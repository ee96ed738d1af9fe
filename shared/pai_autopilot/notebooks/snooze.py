"""Snoozing a notebook: no warning and no stop until the snooze ends (the CLI and the webhook link).

:func:`snooze_instance` checks the instance exists (GetInstance), appends a ``snoozed`` record
(``snoozed_until`` = now + hours), indexes it as open, and — in ``enforce`` mode — deletes the
policy's native culler, which would otherwise stop the instance during the snooze (the governor
restores it when the snooze ends). It is idempotent: a snooze already reaching as far (within a
minute) is a no-op, so a retried webhook call or a double click changes nothing; a shorter snooze
never shortens a longer one.

Example
-------
>>> check_request("dsw-1", 4, max_hours=72)
>>> check_request("dsw-1", 0, max_hours=72)
Traceback (most recent call last):
...
pai_autopilot.errors.InvalidInputError: hours must be a number in (0, 72], got 0
>>> check_request("../etc", 1, max_hours=72)
Traceback (most recent call last):
...
pai_autopilot.errors.InvalidInputError: not a DSW instance id: '../etc' (expected dsw-… letters and digits)
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..config.models import Notebooks
from ..errors import InvalidInputError
from ..ledger import LedgerConflict
from . import dsw, state
from .errors import NotebookNotFound
from .policy import wanted_culler
from .views import InstanceView, iso

INSTANCE_ID = re.compile(r"^dsw-[A-Za-z0-9-]{1,64}$")
TOLERANCE_S = 60.0


def check_request(instance_id: Any, hours: Any, *, max_hours: float) -> None:
    """Validate a snooze request's instance id and hours (InvalidInputError naming the value)."""
    if not isinstance(instance_id, str) or not INSTANCE_ID.match(instance_id):
        raise InvalidInputError(f"not a DSW instance id: {instance_id!r} (expected dsw-… letters and digits)")
    ok = isinstance(hours, (int, float)) and not isinstance(hours, bool) and math.isfinite(hours)
    if not ok or not 0 < hours <= max_hours:
        raise InvalidInputError(f"hours must be a number in (0, {max_hours:g}], got {hours!r}")


def snooze_instance(rt: Any, instance_id: str, hours: float, *, actor: str, reason: str | None = None) -> dict[str, Any]:
    """Snooze ``instance_id`` for ``hours``; ``{"outcome": "applied"|"noop", "instance_id", "snoozed_until", …}``."""
    policy: Notebooks = rt.config.notebooks or Notebooks()
    check_request(instance_id, hours, max_hours=policy.max_snooze_hours)
    body = dsw.get_instance(rt.clients.dsw, instance_id)
    if body is None:
        raise NotebookNotFound(instance_id)
    now = rt.now()
    until = now + float(hours) * 3600.0
    result: dict[str, Any] = {"instance_id": instance_id, "hours": float(hours), "actor": actor}
    for _attempt in range(3):
        head = rt.ledger.latest(state.entity(instance_id))
        current = state.view(head)
        if current.kind == "snoozed" and (current.snoozed_until or 0.0) >= until - TOLERANCE_S:
            until_now = current.snoozed_until or until
            return {**result, "outcome": "noop", "snoozed_until": until_now, "snoozed_until_iso": iso(until_now),
                    "reason": f"already snoozed until {iso(until_now)}"}
        data = {"snoozed_until": until, "hours": float(hours), "actor": actor, "reason": reason or "",
                "previous": current.kind, **InstanceView.from_item(body, cpu_percent=policy.cpu_percent,
                                                                   gpu_percent=policy.gpu_percent).facts()}
        try:
            state.write(rt.ledger, instance_id, "snoozed", data, head=head, by=actor)
        except LedgerConflict:
            continue  # the governor (or another snooze) wrote meanwhile: read again
        break
    else:
        raise InvalidInputError(f"{instance_id} changed three times while snoozing; try again")
    result.update(outcome="applied", snoozed_until=until, snoozed_until_iso=iso(until),
                  culler=_drop_culler(rt, instance_id, body, policy))
    return result


def _drop_culler(rt: Any, instance_id: str, body: dict[str, Any], policy: Notebooks) -> str:
    """Delete the policy's native culler (enforce mode): it would stop the instance mid-snooze."""
    view = InstanceView.from_item(body, cpu_percent=policy.cpu_percent, gpu_percent=policy.gpu_percent)
    if policy.mode != "enforce" or not policy.native_culler.enabled or view.culler != wanted_culler(policy):
        return "kept" if view.culler else "none"
    dsw.delete_culler(rt.clients.dsw, instance_id)
    return "deleted"

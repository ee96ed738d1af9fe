"""``pai-autopilot notebooks``: every running in-scope instance with its idle time and governor state.

Reads like a tick (⌈N/100⌉ ListInstances, one LIST of the open index, a head read per open
instance) and never calls GetInstanceMetrics: an instance without the policy's culler shows its
idle time as unknown.

Example
-------
>>> overview_lines([{"instance_id": "dsw-1", "name": "nb", "owner": "alice", "ecs_spec": "ecs.g7.xlarge",
...                  "idle_minutes": None, "state": "none", "note": "no culler yet"}])[1].split()
['dsw-1', 'nb', 'alice', 'ecs.g7.xlarge', '?', 'none', 'no', 'culler', 'yet']
"""

from __future__ import annotations

from typing import Any

from . import dsw, state
from .decide import snoozed_now
from .policy import keep_alive, policy_of, wanted_culler
from .views import InstanceView, iso


def overview(rt: Any) -> list[dict[str, Any]]:
    """One row per running in-scope instance (``state``: the governor's record, ``note``: what applies)."""
    policy = policy_of(rt.config)
    now = rt.now()
    items = dsw.list_running(rt.clients.dsw, workspace_id=policy.scope.workspace_id or rt.workspace_id,
                             labels=policy.scope.labels)
    open_ids = state.open_instances(rt.ledger)
    rows = []
    for item in items:
        inst = InstanceView.from_item(item, cpu_percent=policy.cpu_percent, gpu_percent=policy.gpu_percent)
        head = rt.ledger.latest(state.entity(inst.instance_id)) if inst.instance_id in open_ids else None
        current = state.view(head)
        exempt, why = keep_alive(inst.labels, policy, now=now)
        if exempt:
            note = why
        elif snoozed_now(current, now):
            note = f"snoozed until {iso(current.snoozed_until or 0.0)}"
        elif current.kind == "warned" and current.stop_at:
            note = f"warned; stops at {iso(current.stop_at)}"
        elif inst.culler is None:
            note = "no culler yet"
        elif inst.culler != wanted_culler(policy):
            note = "culler differs from the policy"
        else:
            note = ""
        rows.append({"instance_id": inst.instance_id, "name": inst.name, "owner": inst.owner,
                     "ecs_spec": inst.ecs_spec, "idle_minutes": inst.idle_minutes,
                     "state": current.kind, "note": note})
    return rows


def overview_lines(rows: list[dict[str, Any]]) -> list[str]:
    """A fixed-width table of :func:`overview` rows."""
    lines = [f"{'INSTANCE':<24} {'NAME':<20} {'OWNER':<14} {'SPEC':<24} {'IDLE':>5} {'STATE':<9} NOTE"]
    for r in rows:
        idle = "?" if r["idle_minutes"] is None else str(r["idle_minutes"])
        lines.append(f"{r['instance_id']:<24} {r['name'][:20]:<20} {r['owner'][:14]:<14} {r['ecs_spec'][:24]:<24} "
                     f"{idle:>5} {r['state']:<9} {r['note']}")
    return lines

"""The savings report and the recent actions, from the recorded actions and the price table.

*Avoided running time* of one stop (an **estimate**): from the governor's stop until the
instance was seen running again (its ``restarted`` record), else until now, and never more than
``max_avoided_hours`` (default 72 h: a forgotten weekend). GPU-hours = hours × the instance's GPUs
(``RequestedResource.GPU``, else the price table's); cost = hours × the spec's price per hour
(:data:`~.policy.DEFAULT_PRICES`, overridden by ``notebooks.prices``); a spec without a price
is listed under ``unpriced_specs``. *Ran through a weekend*: a running session (``running_since``
= GmtModifiedTime when Running) that covered a whole Saturday and Sunday in the policy's time
zone — the sessions the governor stopped, and the instances running now.

Reading cost: one LIST per day of the window over the action log (``state.actions_between``) and
one GET per action; plus, for the weekend check, the ⌈N/100⌉ ListInstances of the running ones.

Example
-------
>>> import datetime as dt
>>> sat = dt.datetime(2027, 1, 16, tzinfo=dt.timezone.utc).timestamp()
>>> weekends_covered(sat - 3600, sat + 2 * 86400 + 1, dt.timezone.utc)
['2027-01-16']
>>> weekends_covered(sat + 3600, sat + 2 * 86400 + 1, dt.timezone.utc)
[]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..config.models import Notebooks
from . import state
from .policy import prices, time_zone
from .views import InstanceView, iso

RECENT_STATES = ("warned", "snoozed", "stopped", "cleared", "restarted")


def recent_actions(rt: Any, since_seconds: float) -> list[dict[str, Any]]:
    """Instances warned, snoozed, stopped (and cleared, restarted) in the last ``since_seconds``, oldest first.

    Each item: ``instance_id, action, at, at_iso, by, reason, name, owner`` (+ ``snoozed_until`` or
    ``stop_at`` where they apply). For the status page.
    """
    now = rt.now()
    out = []
    for a in state.actions_between(rt.ledger, now - float(since_seconds), now):
        if a["state"] not in RECENT_STATES:
            continue
        d = a.get("data") or {}
        item = {"instance_id": a["instance_id"], "action": a["state"], "at": a["at"], "at_iso": iso(a["at"]),
                "by": a.get("by"), "reason": d.get("reason", ""), "name": d.get("name", ""), "owner": d.get("owner", "")}
        for key in ("snoozed_until", "stop_at"):
            if d.get(key) is not None:
                item[key] = d[key]
        out.append(item)
    return out


def weekends_covered(start: float, end: float, zone: dt.tzinfo) -> list[str]:
    """The Saturdays (ISO dates) whose whole weekend (Sat 00:00 → Mon 00:00, local) lies in ``[start, end]``."""
    if end <= start:
        return []
    day = dt.datetime.fromtimestamp(start, tz=zone).date()
    last = dt.datetime.fromtimestamp(end, tz=zone).date()
    out = []
    while day <= last:
        if day.weekday() == 5:
            begin = dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp()
            finish = dt.datetime.combine(day + dt.timedelta(days=2), dt.time(), tzinfo=zone).timestamp()
            if start <= begin and finish <= end:
                out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def _stop_rows(actions: list[dict[str, Any]], policy: Notebooks, *, start: float, now: float) -> list[dict[str, Any]]:
    table = prices(policy)
    restarts: dict[str, list[float]] = {}
    for a in actions:
        if a["state"] == "restarted":
            restarts.setdefault(a["instance_id"], []).append(a["at"])
    cap = policy.max_avoided_hours * 3600.0
    rows = []
    for a in actions:
        d = a.get("data") or {}
        stopped_at = float(d.get("stopped_at") or a["at"])
        if a["state"] != "stopped" or stopped_at < start:
            continue
        later = [t for t in restarts.get(a["instance_id"], []) if t >= stopped_at]
        end = min(min(later) if later else now, stopped_at + cap)
        hours = max(end - stopped_at, 0.0) / 3600.0
        price = table.get(d.get("ecs_spec") or "")
        gpus = int(d.get("gpus") or 0) or (price.gpus if price is not None else 0)
        rows.append({
            "instance_id": a["instance_id"], "name": d.get("name", ""), "owner": d.get("owner", "unknown"),
            "ecs_spec": d.get("ecs_spec", ""), "stopped_at": iso(stopped_at), "until": iso(end),
            "restarted": bool(later), "hours": hours, "gpus": gpus, "gpu_hours": hours * gpus,
            "cost": hours * price.per_hour if price is not None else None,
            "running_since": d.get("running_since"), "stopped_epoch": stopped_at,
        })
    return rows


def _group(rows: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r[key], {key: r[key], "stops": 0, "hours": 0.0, "gpu_hours": 0.0, "cost": 0.0})
        if key == "instance_id":
            g.update(name=r["name"], owner=r["owner"], ecs_spec=r["ecs_spec"])
        g["stops"] += 1
        g["hours"] += r["hours"]
        g["gpu_hours"] += r["gpu_hours"]
        g["cost"] += r["cost"] or 0.0
    return sorted((_rounded(g) for g in groups.values()), key=lambda g: (-g["cost"], -g["gpu_hours"], g[key]))


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k in ("hours", "gpu_hours"):
        out[k] = round(out[k], 3)
    if out.get("cost") is not None:
        out["cost"] = round(out["cost"], 2)
    return out


def savings_report(rt: Any, since_seconds: float, *, running: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The report over the last ``since_seconds``; ``running``: ListInstances items (read if None)."""
    from .dsw import list_running
    from .policy import policy_of

    policy = policy_of(rt.config)
    now = rt.now()
    start = now - float(since_seconds)
    rows = _stop_rows(state.actions_between(rt.ledger, start, now), policy, start=start, now=now)
    zone = time_zone(policy)
    weekend = [
        {"instance_id": r["instance_id"], "name": r["name"], "owner": r["owner"], "ecs_spec": r["ecs_spec"],
         "weekends": w, "still_running": False}
        for r in rows if r["running_since"] and (w := weekends_covered(r["running_since"], r["stopped_epoch"], zone))
    ]
    if running is None:
        running = list_running(rt.clients.dsw, workspace_id=policy.scope.workspace_id or rt.workspace_id,
                               labels=policy.scope.labels)
    for item in running:
        inst = InstanceView.from_item(item, cpu_percent=policy.cpu_percent, gpu_percent=policy.gpu_percent)
        if inst.running_since and (w := weekends_covered(max(inst.running_since, start), now, zone)):
            weekend.append({"instance_id": inst.instance_id, "name": inst.name, "owner": inst.owner,
                            "ecs_spec": inst.ecs_spec, "weekends": w, "still_running": True})
    table = prices(policy)
    unpriced = sorted({r["ecs_spec"] for r in rows if r["cost"] is None})
    totals = _rounded({"stops": len(rows), "hours": sum(r["hours"] for r in rows),
                       "gpu_hours": sum(r["gpu_hours"] for r in rows), "cost": sum(r["cost"] or 0.0 for r in rows)})
    return {
        "since": iso(start), "until": iso(now), "currency": policy.currency, "totals": totals,
        "instances": _group(rows, "instance_id"), "owners": _group(rows, "owner"),
        "stops": [_rounded({k: v for k, v in r.items() if k not in ("running_since", "stopped_epoch")}) for r in rows],
        "through_weekend": weekend, "unpriced_specs": unpriced,
        "prices": {spec: {"per_hour": p.per_hour, "gpus": p.gpus} for spec, p in sorted(table.items())},
        "note": ("Estimates: avoided time runs from each stop until the instance ran again (else now), at most "
                 f"{policy.max_avoided_hours:g} h; prices are the configured table (defaults are rough "
                 "pay-as-you-go estimates), not your bill."),
    }

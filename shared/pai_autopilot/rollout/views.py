"""Reading rollouts back for people and scripts: the list, and one rollout's steps with their numbers.

Example
-------
>>> from ..ledger import Record
>>> r = Record(entity="rollouts/demo/ro-1", seq=2, state="progressing", at=1800000060.0, by="canary-tick",
...            data={"canary_weight": 25, "stable_service": "demo_model", "reason": "ok; step 2", "last_gate": {"p_value": 0.5,
...                  "canary": {"requests": 50, "errors": 0, "error_ratio": 0.0, "p99_ms": 5.0},
...                  "stable": {"requests": 450, "errors": 1, "error_ratio": 0.002222, "p99_ms": 5.0}}})
>>> step_row(r)["stable_weight"], step_row(r)["canary"]["requests"]
(75, 50)
>>> step_lines([step_row(r)])[1].split()[:4]
['2027-01-15T08:01:00Z', 'progressing', '25', '75']
"""

from __future__ import annotations

import time
from typing import Any

from ..ledger import Ledger, Record
from .state import ROLLOUTS_KIND


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def summary(head: Record) -> dict[str, Any]:
    """One rollout in a line's worth of fields."""
    d = head.data
    return {"pipeline": d.get("pipeline"), "rollout_id": d.get("rollout_id"), "version": d.get("version"),
            "stable_version": d.get("stable_version"), "phase": head.state, "canary_weight": d.get("canary_weight"),
            "failed_checks": d.get("failed_checks", 0), "updated": _iso(head.at), "reason": d.get("reason")}


def list_rollouts(ledger: Ledger, *, pipeline: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Every rollout's summary (of ``pipeline`` if given), most recently changed first."""
    prefix = f"{ROLLOUTS_KIND}{pipeline}/" if pipeline else ROLLOUTS_KIND
    heads = [h for e in ledger.entities(prefix) if (h := ledger.latest(e)) is not None]
    heads.sort(key=lambda h: h.at, reverse=True)
    return [summary(h) for h in heads[:limit] if h is not None]


def step_row(record: Record) -> dict[str, Any]:
    """One record as a step: weights, both sides' numbers, the p-value, the reason, who."""
    d = record.data
    gate = d.get("last_gate") or {}
    weight = d.get("canary_weight")
    return {"at": _iso(record.at), "seq": record.seq, "phase": record.state, "canary_weight": weight,
            "stable_weight": None if weight is None or not d.get("stable_service") else 100 - int(weight),
            "canary": gate.get("canary"), "stable": gate.get("stable"), "p_value": gate.get("p_value"),
            "failed_checks": d.get("failed_checks", 0), "reason": d.get("reason"), "by": record.by}


def _side(sample: dict[str, Any] | None) -> str:
    if not sample:
        return "-"
    return f"{sample['requests']}/{sample['errors']} {sample['error_ratio']} p99={sample['p99_ms']}"


def step_lines(rows: list[dict[str, Any]]) -> list[str]:
    """A table of :func:`step_row` rows."""
    out = [f"{'time (UTC)':<21}{'phase':<14}{'canary':>7}{'stable':>7}  {'canary req/err ratio p99':<32}"
           f"{'stable req/err ratio p99':<32}{'p-value':<9}reason"]
    for r in rows:
        p = "-" if r["p_value"] is None else f"{r['p_value']:.4f}"
        stable_w = "-" if r["stable_weight"] is None else r["stable_weight"]
        out.append(f"{r['at']:<21}{r['phase']:<14}{r['canary_weight']!s:>7}{stable_w!s:>7}  {_side(r['canary']):<32}"
                   f"{_side(r['stable']):<32}{p:<9}{r['reason']} [{r['by'] or '-'}]")
    return out

"""The one-screen status: per pipeline the newest run, the stable version, the rollout in progress;
the notebooks acted on in the last day. ``GET /v1/status`` and ``pai-autopilot status`` show it.

:func:`status_view` reads the ledger; :func:`status_lines` is pure. Reading costs one listing of the
open-rollout index, one head read per open rollout, the stable head per pipeline, and per pipeline one
listing of its run records plus one GET of each run's first record (the newest run is the one claimed
last) and the newest run's records.

Example
-------
>>> view = {"generated_at": "2026-01-01T00:00:00Z", "pipelines": [
...     {"pipeline": "demo", "newest_run": {"run_id": "ap-demo-v2-1", "version": "v2", "state": "running", "job_id": "dlc2"},
...      "stable": {"version": "v1", "service": "demo_model"},
...      "rollout": {"rollout_id": "ro-demo-v2-1", "version": "v2", "phase": "progressing", "canary_weight": 30,
...                  "stable_weight": 70, "reason": "step 2 of 3"}}],
...     "notebooks": {"available": False, "actions": []}}
>>> print("\\n".join(status_lines(view)))
PIPELINE  NEWEST RUN    VERSION  STATE    STABLE  ROLLOUT
demo      ap-demo-v2-1  v2       running  v1      v2 progressing 30% (stable 70%): step 2 of 3
<BLANKLINE>
notebooks: not available in this deployment
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from ..training.history import iso, table

NOTEBOOK_WINDOW_SECONDS = 86_400


def _rollout_view(head: Any) -> dict[str, Any]:
    d = head.data
    weight = d.get("canary_weight")
    return {
        "rollout_id": d.get("rollout_id") or head.entity.rsplit("/", 1)[-1], "version": d.get("version"),
        "phase": head.state, "canary_weight": weight,
        "stable_weight": (100 - weight) if isinstance(weight, (int, float)) else None,
        "canary_service": d.get("canary_service"), "stable_service": d.get("stable_service"),
        "step": d.get("step"), "failed_checks": d.get("failed_checks"), "reason": d.get("reason"),
        "since": iso(head.at), "by": head.by,
    }


def _notebooks(rt: Any) -> dict[str, Any]:
    try:
        recent_actions = importlib.import_module("pai_autopilot.notebooks.report").recent_actions
    except (ImportError, AttributeError):
        return {"available": False, "actions": []}
    return {"available": True, "actions": list(recent_actions(rt, NOTEBOOK_WINDOW_SECONDS))}


def newest_run(ledger: Any, pipeline: str) -> Any:
    """The :class:`~..training.history.RunSummary` of the pipeline's run claimed last, or None.

    >>> from ..ledger import Ledger, MemoryStore
    >>> clock = iter([1.0, 2.0, 3.0])
    >>> ledger = Ledger(MemoryStore(), now=lambda: next(clock))
    >>> a = ledger.claim("runs/demo/a", "claimed", {"version": "v1"})
    >>> _ = ledger.claim("runs/demo/b", "claimed", {"version": "v2"})
    >>> _ = ledger.append("runs/demo/a", "submitted", {"version": "v1"}, after=a)
    >>> newest_run(ledger, "demo").run_id
    'b'
    """
    import msgspec

    from ..ledger import Record
    from ..training.history import summarize

    prefix = f"{ledger.prefix}runs/{pipeline}/"
    firsts: dict[str, str] = {}
    for key in ledger.store.list_keys(prefix):  # sorted: each run's record 0 comes first
        firsts.setdefault(key[len(ledger.prefix):].rsplit("/", 1)[0], key)
    best: tuple[float, str] | None = None
    for entity, key in firsts.items():
        body = ledger.store.read(key)
        if body is not None:
            at = msgspec.json.decode(body, type=Record).at
            best = max(best, (at, entity)) if best else (at, entity)
    return summarize(ledger.history(best[1])) if best else None


def status_view(rt: Any) -> dict[str, Any]:
    """The status as JSON-ready data (see the module docstring)."""
    from ..rollout.state import open_rollouts, read_head
    from ..serving.stable import read_stable
    ledger = rt.ledger
    open_by_pipeline: dict[str, str] = dict(open_rollouts(ledger))
    pipelines = []
    for name in sorted(rt.config.pipelines):
        newest = newest_run(ledger, name)
        stable = read_stable(ledger, name)
        head = read_head(ledger, name, open_by_pipeline[name]) if name in open_by_pipeline else None
        pipelines.append({
            "pipeline": name,
            "newest_run": newest.as_dict() if newest else None,
            "stable": {"version": stable.version, "service": stable.service, "previous_version": stable.previous_version,
                       "since": iso(stable.record.at)} if stable else None,
            "rollout": _rollout_view(head) if head is not None else None,
        })
    return {"generated_at": iso(rt.now()), "pipelines": pipelines, "notebooks": _notebooks(rt)}


def _rollout_text(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    weights = f" {r['canary_weight']}% (stable {r['stable_weight']}%)" if r.get("canary_weight") is not None else ""
    return f"{r.get('version') or '?'} {r['phase']}{weights}" + (f": {r['reason']}" if r.get("reason") else "")


def _notebook_lines(notebooks: dict[str, Any]) -> list[str]:
    if not notebooks.get("available"):
        return ["notebooks: not available in this deployment"]
    actions: Sequence[dict[str, Any]] = notebooks.get("actions") or []
    if not actions:
        return ["notebooks: no action in the last day"]
    lines = ["notebooks acted on in the last day:"]
    for a in actions:
        what = a.get("action") or a.get("state") or "?"
        lines.append(f"  {a.get('instance_id') or a.get('instance') or '?'}  {what}  {a.get('reason') or ''}".rstrip())
    return lines


def status_lines(view: dict[str, Any]) -> list[str]:
    """The status as a table plus the notebook lines (pure)."""
    rows = []
    for p in view["pipelines"]:
        run = p.get("newest_run") or {}
        stable = p.get("stable") or {}
        rows.append([p["pipeline"], run.get("run_id") or "-", run.get("version") or "-", run.get("state") or "-",
                     stable.get("version") or "-", _rollout_text(p.get("rollout"))])
    head = table(["PIPELINE", "NEWEST RUN", "VERSION", "STATE", "STABLE", "ROLLOUT"], rows) if rows else ["no pipelines"]
    return [*head, "", *_notebook_lines(view.get("notebooks") or {})]

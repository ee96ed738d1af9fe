"""The one-screen status: per pipeline the newest run, the stable version, the rollout in progress;
the notebooks acted on in the last day. ``GET /v1/status`` and ``pai-autopilot status`` show it.

:func:`status_view` reads the ledger; :func:`status_lines` is pure. Reading costs one listing of the
open-rollout index, one head read per open rollout, and per pipeline: the stable head (one listing,
one GET), one listing each of the active- and queued-run indexes, the records of each active run and
of the run shown. The cost follows open work, never the number of runs ever recorded (DESIGN.md §2.7).

The run shown is the pipeline's newest *open* run (active or queued; the one claimed last), else the
run of the version its open rollout is releasing, else the run of its stable version
(``run_from``: ``open``, ``rollout`` or ``stable``). A run that closed without producing the stable
version (a failed retrain, say) is not shown once nothing is open: ``pai-autopilot runs`` lists
every run.

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


def newest_open_run(ledger: Any, pipeline: str) -> Any:
    """The :class:`~..training.history.RunSummary` of the pipeline's open run claimed last, or None.

    One listing of the active index and one of the queue, the records of each active run, and those of
    the newest queued run if it was claimed after every active one: constant in the runs ever recorded.

    >>> from ..ledger import Ledger, MemoryStore
    >>> from ..training import slots
    >>> clock = iter([1.0, 2.0, 3.0, 4.0])
    >>> ledger = Ledger(MemoryStore(), now=lambda: next(clock))
    >>> old = ledger.claim("runs/demo/old", "claimed", {"version": "v0"})   # closed: not in any index
    >>> a = ledger.claim("runs/demo/a", "claimed", {"version": "v1"}); slots.index_head(ledger, a)
    >>> b = ledger.claim("runs/demo/b", "claimed", {"version": "v2"}); slots.index_head(ledger, b)
    >>> _ = ledger.append("runs/demo/a", "submitted", {"version": "v1"}, after=a)
    >>> newest_open_run(ledger, "demo").run_id
    'b'
    >>> newest_open_run(ledger, "other") is None
    True
    """
    from ..training.history import summarize
    from ..training.runs import run_entity
    from ..training.slots import active_runs, queued_runs

    best: tuple[float, list[Any]] | None = None
    for run in active_runs(ledger, pipeline):
        records = ledger.history(run_entity(pipeline, run))
        if records and (best is None or records[0].at > best[0]):
            best = (records[0].at, records)
    queued = queued_runs(ledger, pipeline)
    if queued:  # oldest claim first: the last one is the queue's newest
        records = ledger.history(run_entity(pipeline, queued[-1]))
        if records and (best is None or records[0].at > best[0]):
            best = (records[0].at, records)
    return summarize(best[1]) if best else None


def shown_run(ledger: Any, pipeline: str, *, rollout_version: str | None, stable_version: str | None) -> tuple[Any, str | None]:
    """``(RunSummary or None, where from)``: the newest open run, else the run of the version the open
    rollout releases, else the stable version's run (see the module docstring)."""
    from ..training.history import summarize
    from ..training.runs import run_entity, run_id

    newest = newest_open_run(ledger, pipeline)
    if newest is not None:
        return newest, "open"
    for source, version in (("rollout", rollout_version), ("stable", stable_version)):
        if version:
            records = ledger.history(run_entity(pipeline, run_id(pipeline, version)))
            if records:
                return summarize(records), source
    return None, None


def status_view(rt: Any) -> dict[str, Any]:
    """The status as JSON-ready data (see the module docstring)."""
    from ..rollout.state import open_rollouts, read_head
    from ..serving.stable import read_stable
    ledger = rt.ledger
    open_by_pipeline: dict[str, str] = dict(open_rollouts(ledger))
    pipelines = []
    for name in sorted(rt.config.pipelines):
        stable = read_stable(ledger, name)
        head = read_head(ledger, name, open_by_pipeline[name]) if name in open_by_pipeline else None
        newest, source = shown_run(ledger, name, rollout_version=head.data.get("version") if head is not None else None,
                                   stable_version=stable.version if stable else None)
        pipelines.append({
            "pipeline": name,
            "newest_run": newest.as_dict() if newest else None,
            "run_from": source,
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

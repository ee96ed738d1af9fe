"""Seeding a ledger with history for the cost tests and benches: closed runs that nothing should read.

``add_closed_runs(ledger, "demo", ["old0", "old1"])`` writes, per version, the records of a run that
trained and closed (claimed → submitted → waiting_for_model), through whatever store the ledger has
(oss2 against localcloud in the tests and ``bench/status.py``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any


def add_closed_runs(ledger: Any, pipeline: str, versions: list[str], *, threads: int = 4) -> None:
    """Closed runs of ``pipeline``, one per version: claimed → submitted → waiting_for_model."""
    from pai_autopilot.training.runs import run_entity, run_id

    def one(version: str) -> None:
        entity = run_entity(pipeline, run_id(pipeline, version))
        claim = ledger.claim(entity, "claimed", {"pipeline": pipeline, "version": version})
        sub = ledger.append(entity, "submitted", {**claim.data, "job_id": f"dlc-{version}"}, after=claim)
        ledger.append(entity, "waiting_for_model", {**sub.data, "status": "Succeeded"}, after=sub)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, versions))

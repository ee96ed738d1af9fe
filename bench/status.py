"""``status`` against the ledger's size: requests per ``status_view`` as recorded runs grow.

One in-process localcloud (real oss2 client over loopback, signatures verified); requests are
counted from its call log (``cloud.calls.mark()`` / ``count``). The ledger holds one pipeline
(``demo``) with a stable version (its run closed), one running run in the active index, and N
closed runs (claimed → submitted → waiting_for_model, three records each) seeded through oss2.
Each row: requests of one ``status_view`` (the same in every one of ``--repeats``), by operation,
and the median wall time; then the same with nothing open (the stable version's run is shown).

Run: ``.venv/bin/python bench/status.py [--repeats 3] [--code DIR]`` (``--code``: import
``DIR/shared`` instead, e.g. ``git archive <commit> shared | tar -x -C DIR`` for a before figure);
results go to ``bench/results/status.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "autopilot-demo"
ROWS = (10, 1_000)


def seed_closed(rt: Any, versions: list[str]) -> None:
    from tests.functional.ledger_seeds import add_closed_runs

    add_closed_runs(rt.ledger, "demo", versions)


def measure(cloud: Any, rt: Any, repeats: int) -> dict[str, Any]:
    from pai_autopilot.ops.status import status_view

    counts, walls, by_operation = [], [], {}
    for _ in range(repeats):
        mark = cloud.calls.mark()
        t0 = time.perf_counter()
        view = status_view(rt)
        walls.append(time.perf_counter() - t0)
        counts.append(cloud.calls.count(mark))
        by_operation = cloud.calls.by_operation(mark)
    run = view["pipelines"][0]["newest_run"] or {}
    return {"requests": counts, "by_operation": by_operation, "wall_ms_median": statistics.median(walls) * 1e3,
            "shown": f"{run.get('version')} {run.get('state')}"}


def bench(repeats: int) -> list[dict[str, Any]]:
    from localcloud import LocalCloud
    from pai_autopilot.clients import Credentials
    from pai_autopilot.config import load_config
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.serving.stable import record_stable
    from pai_autopilot.settings import Settings
    from pai_autopilot.training import slots
    from pai_autopilot.training.runs import run_entity, run_id

    rows: list[dict[str, Any]] = []
    for n in ROWS:
        cloud = LocalCloud().start()
        try:
            cloud.create_bucket(BUCKET)
            env = {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"), "AUTOPILOT_LOG_LEVEL": "ERROR"}
            settings = Settings.resolve(environ=env)
            rt = Runtime(settings, load_config(settings.config_path), Credentials.from_env(env), request_id="bench")
            seed_closed(rt, ["v0"])
            record_stable(rt.ledger, "demo", version="v0", service="demo_model", reason="first version")
            entity = run_entity("demo", run_id("demo", "v9"))
            claim = rt.ledger.claim(entity, "claimed", {"pipeline": "demo", "version": "v9"})
            running = rt.ledger.append(entity, "running", {**claim.data, "job_id": "dlc9"}, after=claim)
            slots.index_head(rt.ledger, running)
            seed_closed(rt, [f"old{i:05d}" for i in range(n - 1)])  # n runs besides the open one
            row = {"closed": n, "open": measure(cloud, rt, repeats)}
            slots.index_head(rt.ledger, rt.ledger.append(entity, "failed", running.data, after=running))
            row["nothing_open"] = measure(cloud, rt, repeats)
            print(json.dumps({"closed": n, **{k: {"requests": v["requests"], "wall_ms": round(v["wall_ms_median"], 1),
                                                  "shown": v["shown"]} for k, v in row.items() if k != "closed"}}), flush=True)
            rows.append(row)
        finally:
            cloud.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", type=Path, help="a checkout whose shared/ is measured instead of this one")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str((args.code or ROOT) / "shared")]
    from pai_autopilot.log import configure

    configure("ERROR")
    rows = bench(args.repeats)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    name = "status-before.json" if args.code else "status.json"
    (results / name).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

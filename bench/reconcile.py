"""Reconcile and admission against the ledger's size: requests per tick and per marker, and wall time.

Two measurements, each against its own in-process localcloud (real oss2 and DLC clients over
loopback, signatures verified); requests are counted from localcloud's call log
(``LocalCloud.calls``: one row per API request the edge answered).

* ``tick`` — ``pai_autopilot.training.watch.on_reconcile`` with the clock frozen (jobs keep their
  status, so a steady tick applies no transition), as recorded runs grow: open runs are submitted
  with ``submit_run`` (a real DLC job each), closed runs are seeded in the ledger directly through
  the real oss2 client (claimed → submitted → waiting_for_model, three records each). For each
  row, one tick first (it records the new jobs' first status), then ``--ticks`` steady ticks:
  requests per tick and the median wall time.
* ``marker`` — ``on_dataset_event`` for a new version (distinct content) while the pipeline has
  ``--active`` active runs (seeded as active-index entries): with ``max_active_runs`` 5 (the marker
  queues: the capacity check lists at most 6 keys) and 10,000 (it must count every active run).

Run: ``.venv/bin/python bench/reconcile.py [--ticks 3] [--events 20]``; results go to
``bench/results/reconcile.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

BUCKET = "autopilot-demo"
TIMER = (ROOT / "events" / "timerReconcile.json").read_bytes()
ROWS = [(10, 0), (10, 90), (10, 990), (10, 9_990), (100, 9_900), (1_000, 9_000)]  # (open, closed)


def write_config(directory: Path, max_active_runs: int) -> Path:
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["pipelines"]["demo"]["max_active_runs"] = max_active_runs
    path = directory / f"autopilot-{max_active_runs}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def environment(cloud: Any, config: Path) -> tuple[dict[str, str], Any, Any, Any]:
    from pai_autopilot.clients import Credentials
    from pai_autopilot.config import load_config
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.settings import Settings

    env = {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(config), "AUTOPILOT_LOG_LEVEL": "ERROR"}
    settings, credentials = Settings.resolve(environ=env), Credentials.from_env(env)
    return env, settings, credentials, Runtime(settings, load_config(config), credentials, request_id="bench")


def bench_tick(ticks: int) -> list[dict[str, Any]]:
    from localcloud import LocalCloud
    from pai_autopilot.training.datasets import match_marker
    from pai_autopilot.training.runs import run_entity, run_id
    from pai_autopilot.training.submit import submit_run
    from pai_autopilot.training.watch import on_reconcile

    rows: list[dict[str, Any]] = []
    cloud = LocalCloud().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cloud.create_bucket(BUCKET)
            cloud.clock.freeze()
            _, settings, credentials, rt = environment(cloud, write_config(Path(tmp), 10_000))

            def open_run(n: int) -> None:
                outcome = submit_run(rt, match_marker(rt.config, BUCKET, f"datasets/demo/open{n:05d}/_SUCCESS"))
                assert outcome.outcome == "submitted", outcome

            def closed_run(n: int) -> None:
                entity = run_entity("demo", run_id("demo", f"closed{n:05d}"))
                claim = rt.ledger.claim(entity, "claimed", {"pipeline": "demo", "version": f"closed{n:05d}"})
                sub = rt.ledger.append(entity, "submitted", {**claim.data, "job_id": f"dlc-closed{n}"}, after=claim)
                rt.ledger.append(entity, "waiting_for_model", {**sub.data, "status": "Succeeded"}, after=sub)

            have_open = have_closed = 0
            for want_open, want_closed in ROWS:
                t0 = time.perf_counter()
                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(open_run, range(have_open, want_open)))
                    list(pool.map(closed_run, range(have_closed, want_closed)))
                have_open, have_closed = want_open, want_closed
                seeded = time.perf_counter() - t0
                on_reconcile(TIMER, None, settings=settings, credentials=credentials)  # records new jobs' status
                counts, walls = [], []
                for _ in range(ticks):
                    cloud.calls.reset()
                    t0 = time.perf_counter()
                    result = on_reconcile(TIMER, None, settings=settings, credentials=credentials)
                    walls.append(time.perf_counter() - t0)
                    counts.append(cloud.calls.count())
                    assert result["open_runs"] == have_open, result["open_runs"]
                row = {"open": have_open, "closed": have_closed, "recorded": have_open + have_closed,
                       "requests_per_tick": counts, "by_operation": cloud.calls.by_operation(),
                       "wall_s_median": statistics.median(walls), "seed_s": seeded}
                print(json.dumps({k: v for k, v in row.items() if k != "by_operation"}), flush=True)
                rows.append(row)
    finally:
        cloud.stop()
    return rows


def bench_marker(events: int, actives: list[int]) -> list[dict[str, Any]]:
    from localcloud import LocalCloud
    from localcloud.core.events import ObjectEvent
    from localcloud.fc.triggers import native_oss_event
    from pai_autopilot.ledger import Record
    from pai_autopilot.training import slots
    from pai_autopilot.training.landed import on_dataset_event

    rows: list[dict[str, Any]] = []
    for limit in (5, 10_000):
        cloud = LocalCloud().start()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                cloud.create_bucket(BUCKET)
                _, settings, credentials, rt = environment(cloud, write_config(Path(tmp), limit))
                bucket = rt.clients.bucket(BUCKET)
                have = 0
                for active in actives:
                    def seed(n: int) -> None:
                        run = f"ap-demo-seeded{n:05d}"
                        slots.mark_active(rt.ledger, "demo", run, Record(entity=f"runs/demo/{run}", seq=1, state="running",
                                                                          at=0.0, data={"job_id": f"dlc{n}"}))
                    with ThreadPoolExecutor(4) as pool:
                        list(pool.map(seed, range(have, active)))
                    have = active
                    samples, outcomes = [], set()
                    for n in range(events + 1):
                        version = f"a{active}-l{limit}-{n}"
                        prefix = f"datasets/demo/{version}/"
                        bucket.put_object(prefix + "part-0.csv", f"{version}\n".encode())
                        put = bucket.put_object(prefix + "_SUCCESS", b"")
                        event = ObjectEvent("ObjectCreated:PutObject", BUCKET, prefix + "_SUCCESS", 0, put.etag,
                                            put.request_id, "127.0.0.1", 0.0)
                        payload = json.dumps(native_oss_event(event, region=cloud.region, account_id="1", rule_id="b")).encode()
                        cloud.calls.reset()
                        t0 = time.perf_counter()
                        result = on_dataset_event(payload, None, settings=settings, credentials=credentials)
                        wall = time.perf_counter() - t0
                        if n:  # the first is a warm-up
                            samples.append((wall, cloud.calls.count()))
                            outcomes.add(result["outcome"])
                    row = {"max_active_runs": limit, "active": active, "outcomes": sorted(outcomes),
                           "ms_median": statistics.median(s[0] for s in samples) * 1e3,
                           "requests": sorted({s[1] for s in samples})}
                    print(json.dumps(row), flush=True)
                    rows.append(row)
        finally:
            cloud.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--only", choices=["tick", "marker"])
    args = parser.parse_args()
    from pai_autopilot.log import configure

    configure("ERROR")  # the queued markers' warnings would drown the figures
    out: dict[str, Any] = {}
    if args.only in (None, "tick"):
        out["tick"] = bench_tick(args.ticks)
    if args.only in (None, "marker"):
        out["marker"] = bench_marker(args.events, [10, 100, 1_000])
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "reconcile.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

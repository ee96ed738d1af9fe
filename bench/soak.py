"""The long reliability soak (``make soak``): the CI suite's invariants at full size (issue 14).

Runs its own localcloud with the project's s.yaml functions and a configuration of the shipped
``demo`` pipeline plus ``--pipelines`` copies of it (each its own prefixes, service and group) and an
enforcing notebook policy, then:

1. **duplicates** — ``--versions`` dataset versions per pipeline (queued one at a time, as configured),
   every event delivered three times and reordered (0.5 s window), idle notebooks governed by ticks
   fired three at once → until at least ``--events`` distinct events were delivered; then 0 duplicate
   jobs, services, weight steps or stops, 0 lost (every version trained and its model settled);
2. **faults** — 20 % of every call to every service fails (10 % throttled, ~11 % 5xx) and every call
   is slowed 15 ms, over more versions and notebooks → every flow converges, or its event is in the
   dead-letter store whole;
3. **crashes** — every flow of ``tests/e2e/reliability_support.FLOWS`` (submit, preemption resubmit,
   first version, canary) and the notebook governor, the worker killed after each side effect in
   turn → no duplicate, the retry converges.

Figures (counts and timings) print as JSON and land in ``bench/results/soak.json``.

    .venv/bin/python bench/soak.py                 # make soak: 1,000+ events, every crash point
    .venv/bin/python bench/soak.py --versions 2 --pipelines 2 --events 100   # a quick look
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from localcloud import LocalCloud  # noqa: E402
from localcloud.core.faults import DeliveryFaults, Fault  # noqa: E402
from localcloud.server import ThreadedServer  # noqa: E402
from tests.e2e import reliability_support as rs  # noqa: E402
from tests.e2e import test_reliability_notebooks as nb  # noqa: E402
from tests.e2e.conftest import BUCKET, Notices, wire_job_events  # noqa: E402

FAULTS = dict(service="*", operation="*", throttle_rate=0.10, error_rate=0.112, latency_ms=15, retry_after_ms=50)


def soak_config(pipelines: int) -> dict[str, Any]:
    """The shipped configuration, ``pipelines`` more copies of ``demo``, an enforcing notebook policy."""
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["notifications"] = [{"type": "webhook", "url_env": "AUTOPILOT_NOTIFY_URL"}]
    config["notebooks"].update(mode="enforce", idle_minutes=5, warn_minutes=0, quiet_hours=None)
    demo = config["pipelines"]["demo"]
    for i in range(pipelines):
        name = f"p{i}"
        copy = json.loads(json.dumps(demo))
        copy["dataset"]["prefix"] = f"datasets/{name}/"
        copy["serving"].update(service_name=f"{name}_model", group=name)
        config["pipelines"][name] = copy
    return config


def start_cloud(pipelines: int, notices_url: str, workdir: Path) -> LocalCloud:
    path = workdir / "autopilot.yaml"
    path.write_text(yaml.safe_dump(soak_config(pipelines)))
    cloud = LocalCloud(project_dir=ROOT, retry_delay_scale=0.05, function_env={
        "AUTOPILOT_CONFIG": str(path), "AUTOPILOT_NOTIFY_URL": notices_url, "AUTOPILOT_NOTIFY_PER_MINUTE": "100000"}).start()
    cloud.create_bucket(BUCKET)
    wire_job_events(cloud)
    return cloud


def clients(cloud: LocalCloud) -> Any:
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.settings import Settings

    env = cloud.env(BUCKET)
    return Clients(Settings.resolve(environ=env), Credentials.from_env(env))


def pipelines_of(count: int) -> list[str]:
    return [f"p{i}" for i in range(count)]


def drain(cloud: LocalCloud, timeout: float = 900.0) -> None:
    """Wait until every function is idle, moving the clock on 2 s whenever work is still pending after
    3 s (the canary kick polls for its canary to be Running, which on localcloud needs the clock)."""
    deadline = time.monotonic() + timeout
    while not cloud.fc.wait_idle(3):
        assert time.monotonic() < deadline, cloud.fc.state()
        cloud.advance(2)


def advance(cloud: LocalCloud, seconds: float, step: float) -> None:
    for _ in range(int(seconds / step)):
        cloud.advance(step)
        drain(cloud)


def whole_story(cloud: LocalCloud, sdk: Any, pipelines: list[str], versions: int, notebooks: int,
                governor_copies: int) -> tuple[list[str], float]:
    """Land ``versions`` datasets on every pipeline (a round at a time: each round's markers processed
    before the next lands, so later versions queue), train and serve them, governing ``notebooks`` idle
    notebooks on the way; returns (notebook ids, seconds)."""
    started = time.monotonic()
    rs.freeze_after_reconcile(cloud)
    rs.fast_training(cloud)
    ids = nb.make_fleet(cloud, sdk, count=notebooks)
    rs.freeze_after_reconcile(cloud)
    for v in range(1, versions + 1):
        for p in pipelines:
            rs.land_dataset(sdk, f"v{v}", pipeline=p)
        drain(cloud)
    # one version per pipeline trains at a time (≈ 35 clock seconds each), then serving's reconcile ticks
    for step in range(int(versions * 40 / 10) + 1):
        advance(cloud, 10, 10)
        if step % 6 == 0:
            rs.fire_timer(cloud, "dsw_governor", copies=governor_copies, wait=False)
            drain(cloud)
        if step % 18 == 9 and governor_copies > 1:  # reconcile ticks side by side as well
            rs.fire_timer(cloud, "reconcile", copies=governor_copies, wait=False)
            drain(cloud)
    advance(cloud, 900, 60)
    for _ in range(3):
        rs.fire_timer(cloud, "dsw_governor", copies=governor_copies, wait=False)
        drain(cloud)
        advance(cloud, 60, 60)
    return ids, time.monotonic() - started


def check_all(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, pipelines: list[str], versions: int,
              notices: list[dict[str, Any]], ids: list[str], *, allow_dead: bool) -> rs.Figures:
    datasets = tuple(f"v{v}" for v in range(1, versions + 1))
    figures = rs.Figures()
    for p in pipelines:
        figures = rs.check_invariants(cloud, sdk, calls, datasets=datasets, models=datasets, pipeline=p,
                                      notices=notices, allow_dead=allow_dead)
    nb.check_notebooks(cloud, sdk, calls, ids, notices, after_crash=allow_dead)
    return figures


def distinct_events(cloud: LocalCloud, copies: int, governor_copies: int) -> dict[str, int]:
    """Events before duplication, by function: trigger deliveries (OSS, EventBridge) / ``copies``, ticks the
    soak fired side by side / ``governor_copies``, the clock's own timer ticks and kicks as they came."""
    counts: collections.Counter[str] = collections.Counter()
    for r in cloud.fc.invocation_records():
        function, source = r["function"].removeprefix("pai-autopilot-"), r["source"]
        if source.endswith(":fired"):
            counts[function] += 1 / governor_copies
        elif source.startswith(("oss:", "eventbridge:")):
            counts[function] += 1 / copies
        else:  # the clock's timer ticks, model_landed's kicks of the canary function
            counts[function] += 1
    return {k: round(v) for k, v in sorted(counts.items())}


def phase_duplicates(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, notices: Notices, args: argparse.Namespace) -> dict[str, Any]:
    pipelines = pipelines_of(args.pipelines)
    fresh(cloud, calls, notices)
    cloud.delivery = DeliveryFaults(duplicate=1.0, extra_copies=2, reorder_window=0.5)
    ids, seconds = whole_story(cloud, sdk, pipelines, args.versions, args.notebooks, governor_copies=3)
    cloud.delivery = DeliveryFaults()
    figures = check_all(cloud, sdk, calls, pipelines, args.versions, notices.received, ids, allow_dead=False)
    events = distinct_events(cloud, copies=3, governor_copies=3)
    total = sum(events.values())
    assert total >= args.events, f"only {total} distinct events (want {args.events}): raise --versions"
    records = cloud.fc.invocation_records()
    assert all(r["status"] == "succeeded" for r in records)
    return {"events": events, "events_total": total, "deliveries": len(records), "seconds": round(seconds, 1),
            "jobs": figures.jobs, "services": figures.services, "rollouts": figures.rollouts,
            "notebooks_stopped": len(ids), "duplicates": 0, "lost": 0, "dead_letters": 0,
            "duplicate_outcomes": sum(1 for r in records for rec in (r.get("result") or {}).get("records") or []
                                      if rec.get("outcome") == "duplicate")}


def phase_faults(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, notices: Notices, args: argparse.Namespace) -> dict[str, Any]:
    pipelines = pipelines_of(args.pipelines)
    fresh(cloud, calls, notices)
    cloud.faults.add(Fault(**FAULTS))
    ids, seconds = whole_story(cloud, sdk, pipelines, args.fault_versions, args.notebooks, governor_copies=1)
    hits = sum(f["hits"] for f in cloud.faults.list())
    calls_total = len(calls.calls)
    cloud.faults.clear()
    advance(cloud, 600, 60)  # repairs by reconcile after the faults stop
    for _ in range(2):
        rs.fire_timer(cloud, "dsw_governor", wait=False)
        drain(cloud)
        advance(cloud, 60, 60)
    dead = cloud.fc.dead_letters()
    for letter in dead:
        assert letter["attempts"] == 3 and json.loads(letter["event"]), letter
    check_all(cloud, sdk, calls, pipelines, args.fault_versions, notices.received, ids, allow_dead=True)
    records = cloud.fc.invocation_records()
    return {"versions": args.fault_versions * len(pipelines), "notebooks": len(ids), "seconds": round(seconds, 1),
            "calls": calls_total, "injected_faults": hits, "fault_share": round(hits / max(calls_total, 1), 3),
            "invocations": len(records), "retried": sum(1 for r in records if r["attempts"] > 1),
            "dead_letters": len(dead), "dead_lettered_by_function": dict(collections.Counter(d["function"] for d in dead)),
            "converged_or_dead_lettered": True}


def phase_crashes(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, notices: Notices) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, flow in rs.FLOWS.items():
        started = time.monotonic()
        points, failures, missed = rs.crash_every_point(cloud, sdk, calls, flow)
        out[name] = {"crash_points": len(points), "crashed": len(points) - len(missed), "failures": failures,
                     "did_not_recur": missed, "seconds": round(time.monotonic() - started, 1),
                     "points": [p.label for p in points]}
    started = time.monotonic()
    fresh(cloud, calls, notices)
    ids = nb.make_fleet(cloud, sdk, count=2)
    nb.govern(cloud, sdk, ids)
    points = nb.generic_points(rs.crash_points(c for c in calls.side_effects() if "/index/" not in c.path), ids)
    failures = []
    for point in points:
        fresh(cloud, calls, notices)
        fleet = nb.make_fleet(cloud, sdk, count=len(ids))
        calls.clear()
        cloud.faults.add(point.fault())
        nb.govern(cloud, sdk, fleet)
        try:
            nb.check_notebooks(cloud, sdk, calls, fleet, notices.received, after_crash=True)
        except AssertionError as exc:
            failures.append(f"{point.label}: {str(exc).splitlines()[0]}")
    out["notebooks"] = {"crash_points": len(points), "failures": failures, "seconds": round(time.monotonic() - started, 1),
                        "points": [p.label for p in points]}
    out["crashes_injected"] = cloud.fc.crashes
    return out


def fresh(cloud: LocalCloud, calls: rs.CallLog, notices: Notices) -> None:
    rs.fresh(cloud)
    calls.clear()
    notices.received.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipelines", type=int, default=8)
    parser.add_argument("--versions", type=int, default=16, help="dataset versions per pipeline (duplicates phase)")
    parser.add_argument("--fault-versions", type=int, default=4, help="dataset versions per pipeline (faults phase)")
    parser.add_argument("--notebooks", type=int, default=20)
    parser.add_argument("--events", type=int, default=1000, help="distinct events the duplicates phase must reach")
    parser.add_argument("--phases", default="duplicates,faults,crashes")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "soak.json"))
    args = parser.parse_args(argv)
    notices = Notices()
    server = ThreadedServer(notices)
    server.start()
    results: dict[str, Any] = {"command": "make soak (.venv/bin/python bench/soak.py " + " ".join(argv or sys.argv[1:]) + ")",
                               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp:
        cloud = start_cloud(args.pipelines, server.url, Path(tmp))
        calls = rs.CallLog(cloud).install()
        sdk = clients(cloud)
        started = time.monotonic()
        try:
            phases = args.phases.split(",")
            if "duplicates" in phases:
                results["duplicates"] = phase_duplicates(cloud, sdk, calls, notices, args)
                print(json.dumps({"duplicates": results["duplicates"]}), flush=True)
            if "faults" in phases:
                results["faults"] = phase_faults(cloud, sdk, calls, notices, args)
                print(json.dumps({"faults": results["faults"]}), flush=True)
            if "crashes" in phases:
                results["crashes"] = phase_crashes(cloud, sdk, calls, notices)
                print(json.dumps({"crashes": results["crashes"]}), flush=True)
        finally:
            results["seconds"] = round(time.monotonic() - started, 1)
            Path(args.output).write_text(json.dumps(results, indent=2) + "\n")  # what was measured, even on failure
            calls.uninstall()
            cloud.stop()
            server.stop()
    failures = [f for k, v in results.get("crashes", {}).items() if isinstance(v, dict) for f in v["failures"]]
    print(json.dumps({"seconds": results["seconds"], "crash_failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

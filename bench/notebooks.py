"""The DSW governor: API calls and ledger requests per tick against the number of instances N.

For each N (default 200 and 2,000), a fresh in-process localcloud (loopback) with N running
instances (created through localcloud's DSW backend, not timed): 90 % busy (CPU 80 %, GPU 80 %),
10 % idle (CPU 1 %, GPU 1 %), and 1 % of the busy ones get a culler edited by hand after the
first tick. The policy: enforce, idle 60 min, grace 30 min. Then, on localcloud's clock:

* ``first``  — t=0: no instance has a culler yet: ⌈N/100⌉ ListInstances, N CreateIdleInstanceCuller,
  and GetInstanceMetrics for each (no idle time without a culler);
* ``steady`` — t=10 min, after the hand edits: the cullers report the idle time; the edited ones are
  repaired (Delete + Create, and their idle time read from the metrics);
* ``quiet``  — t=20 min: nothing to do;
* ``warn``   — t=60 min: the idle ones are warned (ledger writes, notifications; no DSW call);
  each warning and stop notice goes to a local webhook receiver and is delivered the governor's way
  (announced, claimed, sent, recorded: notebooks/delivery.py), so its ledger requests are counted;
* ``grace``  — t=75 min: the warned ones wait (no head read: the open index says enough);
* ``stop``   — t=90 min: the warned ones are stopped (StopInstance each).

Every request is counted from localcloud's API call log (``cloud.api_calls``): DSW calls by action,
and OSS requests (the ledger). The bound checked per tick: DSW calls ≤ ⌈N/100⌉ + mutating calls
(Create/DeleteIdleInstanceCuller, StopInstance) + metrics reads, and metrics reads only where the
culler does not report the idle time (the first tick, the repaired ones).

Run: ``.venv/bin/python bench/notebooks.py [--sizes 200 2000]``; results go to
``bench/results/notebooks.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

BUCKET = "autopilot-demo"
T0 = 1_800_000_000.0
MUTATING = ("CreateIdleInstanceCuller", "DeleteIdleInstanceCuller", "StopInstance")


def _runtime(cloud: Any) -> Any:
    from pai_autopilot.clients import Credentials
    from pai_autopilot.config import parse_config
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.settings import Settings

    config = parse_config(json.dumps({
        "version": 1, "storage": {"bucket": BUCKET}, "workspace": {"id": "ws-1"}, "pipelines": {},
        "notebooks": {"mode": "enforce", "idle_minutes": 60, "warn_minutes": 30},
        "notifications": [{"type": "webhook", "url_env": "AUTOPILOT_NOTIFY_URL"}],
    }))
    env = cloud.env(BUCKET)
    return Runtime(Settings.resolve(environ=env), config, Credentials.from_env(env), request_id="bench", now=cloud.clock.now)


def _fleet(cloud: Any, n: int) -> tuple[list[str], list[str]]:
    backend = cloud.dsw.backend
    ids = [backend.create_instance({"InstanceName": f"nb_{i}", "EcsSpec": "ecs.gn7i-c8g1.2xlarge",
                                    "ImageUrl": "img:1", "WorkspaceId": "ws-1", "UserId": f"u{i % 20}"}).instance_id
           for i in range(n)]
    cloud.advance(10)
    idle = ids[: n // 10]
    for iid in ids:
        value = 1.0 if iid in idle else 80.0
        for metric in ("CpuCoreUsage", "GpuCoreUsage"):
            cloud.dsw.seed_usage(iid, metric, points=[[0, value]])
    return idle, ids[n // 10:]


class _Receiver:
    """The webhook the notices go to: counts them."""

    def __init__(self) -> None:
        self.received = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.received += 1
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]


def run_size(n: int) -> dict[str, Any]:
    from alibabacloud_pai_dsw20220101 import models

    from localcloud import LocalCloud
    from localcloud.server import ThreadedServer
    from pai_autopilot.notebooks.tick import governor_tick

    cloud = LocalCloud().start()
    receiver = _Receiver()
    server = ThreadedServer(receiver)
    server.start()
    os.environ["AUTOPILOT_NOTIFY_URL"] = server.url
    os.environ.setdefault("AUTOPILOT_NOTIFY_PER_MINUTE", "100000")  # a fleet's warnings in one tick
    try:
        cloud.create_bucket(BUCKET)
        cloud.clock.freeze(T0)
        rt = _runtime(cloud)
        idle, busy = _fleet(cloud, n)
        hand = busy[: max(n // 100, 1)]
        pages = math.ceil(n / 100)
        ticks = []
        schedule = [("first", 0), ("steady", 600), ("quiet", 600), ("warn", 2400), ("grace", 900), ("stop", 900)]
        for name, advance in schedule:
            cloud.advance(advance)
            if name == "steady":
                for iid in hand:
                    rt.clients.dsw.create_idle_instance_culler(iid, models.CreateIdleInstanceCullerRequest(
                        cpu_percent_threshold=5, gpu_percent_threshold=5, max_idle_time_in_minutes=600))
            mark = cloud.api_calls.mark()
            started = time.perf_counter()
            sent = receiver.received
            result = governor_tick(rt)
            seconds = time.perf_counter() - started
            calls = cloud.api_calls.by_action(mark)
            dsw = {k.split(":", 1)[1]: v for k, v in calls.items() if k.startswith("dsw:")}
            oss = sum(v for k, v in calls.items() if k.startswith("oss:"))
            mutating = sum(dsw.get(a, 0) for a in MUTATING)
            metrics = dsw.get("GetInstanceMetrics", 0)
            total = sum(dsw.values())
            ticks.append({
                "tick": name, "seconds": round(seconds, 3), "dsw_calls": total, "list_pages": dsw.get("ListInstances", 0),
                "mutating_calls": mutating, "metrics_reads": metrics, "dsw_by_action": dsw, "ledger_requests": oss,
                "actions": result["counts"], "notices": receiver.received - sent, "bound": pages + mutating + metrics,
                "within_bound": total <= pages + mutating + metrics and dsw.get("ListInstances", 0) == pages,
            })
            print(f"N={n:>5} {name:<6} {seconds:6.2f} s  DSW {total:>5} (list {dsw.get('ListInstances', 0)}, "
                  f"mutating {mutating}, metrics {metrics})  ledger {oss:>5}  notices {receiver.received - sent:>4}  "
                  f"{result['counts']}", flush=True)
        return {"n": n, "pages": pages, "idle": len(idle), "hand_edited": len(hand), "ticks": ticks}
    finally:
        server.stop()
        cloud.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    args = parser.parse_args()
    results = {"command": "bench/notebooks.py --sizes " + " ".join(map(str, args.sizes)),
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sizes": [run_size(n) for n in args.sizes]}
    out = ROOT / "bench" / "results" / "notebooks.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""The canary tick against the number of rollouts in progress: wall time and API calls per tick.

For N in ``--sizes`` (default 1, 10, 50, 200), against a fresh in-process localcloud: N pipelines,
each with a stable and a canary service in its own EAS group (2N services, created through the
real EAS SDK) and one open rollout. Then three ticks of :func:`pai_autopilot.rollout.tick.run_tick`
(in-process, warm SDK clients), the clock moved one interval between them:

* ``start``  — every canary is Running: the first step of every rollout (DescribeService per
  rollout in ``initializing``, then 2 ReleaseService per step);
* ``step``   — gateway traffic for every service in the interval (rows written straight into
  localcloud's request log, 200 per stable and 40 per canary, 0 errors; CloudMonitor derives its
  metrics from that log), so every rollout passes its gates and steps 10 → 25;
* ``steady`` — the next tick before a full interval has passed: nothing to analyse, no transition.

API calls are counted from every request that reaches localcloud's edge (``Edge.on_request``):
POP calls by ``x-acs-action``, OSS calls (the ledger) separately. The bound checked:
POP calls ≤ metrics × ⌈2N/50⌉ + calls of the transitions (a step is 2 ReleaseService; the
first step adds the DescribeService that saw the canary Running).

Run: ``.venv/bin/python bench/rollout.py [--sizes 1,10,50,200]``; results go to
``bench/results/rollout.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

BUCKET = "rollout-bench"
START = 1_800_000_000.0
INTERVAL = 60


class CallLog:
    """Every request through the edge: POP actions and OSS calls."""

    def __init__(self) -> None:
        self.pop: collections.Counter[str] = collections.Counter()
        self.oss = 0

    def __call__(self, request: Any, response: Any) -> None:
        action = request.headers.get("x-acs-action")
        if action:
            self.pop[action] += 1
        elif not request.path.startswith(("/_localcloud/", "/api/predict/")):
            self.oss += 1

    def take(self) -> tuple[dict[str, int], int]:
        pop, oss = dict(self.pop), self.oss
        self.pop.clear()
        self.oss = 0
        return pop, oss


def config_for(n: int) -> str:
    pipelines = {f"p{i}": {
        "dataset": {"prefix": f"datasets/p{i}/"}, "training": {"image": "i", "command": "c", "ecs_spec": "e"},
        "serving": {"service_name": f"p{i}_model", "group": f"p{i}", "image": "i", "command": "c",
                    "instance_type": "ecs.c7.large"},
        "rollout": {"interval_seconds": INTERVAL, "min_requests": 20},
    } for i in range(n)}
    return yaml.safe_dump({"version": 1, "storage": {"bucket": BUCKET}, "pipelines": pipelines})


def measure(n: int) -> dict[str, Any]:
    from alibabacloud_eas20210701 import models

    from localcloud import LocalCloud
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.config import parse_config
    from pai_autopilot.log import configure
    from pai_autopilot.rollout.metrics import METRICS
    from pai_autopilot.rollout.state import RolloutSpec, open_rollout
    from pai_autopilot.rollout.tick import run_tick
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.settings import Settings

    configure("WARNING")
    cloud = LocalCloud(tick_interval=3600).start()
    try:
        cloud.clock.freeze(START - 10)
        cloud.oss.create_bucket(BUCKET)
        env = cloud.env(BUCKET)
        settings = Settings.resolve(environ=env)
        clients = Clients(settings, Credentials.from_env(env))
        rt = Runtime(settings, parse_config(config_for(n)), Credentials.from_env(env), now=cloud.clock.now)
        rt.__dict__["clients"] = clients
        eas = clients.eas
        for i in range(n):
            for name in (f"p{i}_model", f"p{i}_model_v2"):
                body = {"metadata": {"name": name, "instance": 1, "group": f"p{i}"}, "localcloud": {"startup_seconds": 0}}
                eas.create_service(models.CreateServiceRequest(body=json.dumps(body)))
        cloud.advance(10)
        for i in range(n):
            open_rollout(rt.ledger, RolloutSpec(pipeline=f"p{i}", version="v2", group=f"p{i}",
                                                canary_service=f"p{i}_model_v2", stable_service=f"p{i}_model",
                                                stable_version="v1"))
        log = CallLog()
        cloud.edge.on_request = log
        rows = []
        for label in ("start", "step", "steady"):
            if label == "step":
                now = cloud.clock.now()
                for i in range(n):
                    for name, count in ((f"p{i}_model", 200), (f"p{i}_model_v2", 40)):
                        for k in range(count):
                            cloud.requests.record(name, at=now + k * (INTERVAL - 1) / count, status=200, latency_ms=5.0)
                cloud.clock.advance(INTERVAL)
            elif label == "steady":
                cloud.clock.advance(5)
            log.take()
            started = time.perf_counter()
            summary = run_tick(rt)
            wall = time.perf_counter() - started
            pop, oss = log.take()
            transitions = summary["transitions"]
            steps = sum(1 for r in summary["rollouts"] if r["action"] == "step")
            bound = len(METRICS) * math.ceil(2 * n / 50) * (label == "step") + 2 * steps + pop.get("DescribeService", 0)
            rows.append({
                "n": n, "tick": label, "wall_ms": round(wall * 1000, 1), "pop_calls": sum(pop.values()), "by_action": pop,
                "oss_calls": oss, "transitions": transitions, "bound": bound,
                "metric_calls": pop.get("DescribeMetricList", 0),
                "within_bound": sum(pop.values()) <= bound,
            })
        return {"n": n, "ticks": rows}
    finally:
        cloud.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50,200", help="comma-separated rollout counts")
    args = parser.parse_args()
    results = [measure(int(n)) for n in args.sizes.split(",")]
    print(f"{'N':>4} {'tick':<7} {'wall ms':>8} {'POP calls':>9} {'metric calls':>12} {'transitions':>11} "
          f"{'bound':>6} {'OSS calls':>9}  ok")
    for result in results:
        for r in result["ticks"]:
            print(f"{r['n']:>4} {r['tick']:<7} {r['wall_ms']:>8} {r['pop_calls']:>9} {r['metric_calls']:>12} "
                  f"{r['transitions']:>11} {r['bound']:>6} {r['oss_calls']:>9}  {r['within_bound']}")
    out = ROOT / "bench" / "results" / "rollout.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

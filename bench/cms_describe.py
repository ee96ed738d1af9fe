"""Time for 100 DescribeMetricLast calls through the real CloudMonitor client against localcloud.

Data: ``--services`` EAS services (50) × ``--minutes`` (10) of gateway rows at ``--qps`` (10 req/s
each; 2 % 5xx, log-normal latencies), recorded straight into ``cloud.requests`` on a frozen clock.
Each call asks for all the services at once (``Dimensions`` with 50 objects, the API's limit),
cycling through ``5xxResponseRatio``, ``TP99`` and ``QueryPerSecondTotal``; one call with one
service is timed too. Results: ``bench/results/cms_describe.json``.

Run: ``.venv/bin/python bench/cms_describe.py [--calls 100] [--services 50] [--minutes 10] [--qps 10]``
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

METRICS = ("5xxResponseRatio", "TP99", "QueryPerSecondTotal")
START = 1_699_999_980.0  # a whole minute


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_calls(client, models, dimensions: str, calls: int) -> tuple[list[float], int]:
    times, points = [], 0
    for i in range(calls):
        request = models.DescribeMetricLastRequest(namespace="acs_pai_eas", metric_name=METRICS[i % len(METRICS)],
                                                   dimensions=dimensions, period="60")
        began = time.perf_counter()
        body = client.describe_metric_last(request).body
        times.append((time.perf_counter() - began) * 1000)
        points += len(json.loads(body.datapoints))
    return times, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--qps", type=int, default=10)
    args = parser.parse_args()

    from alibabacloud_cms20190101 import models
    from alibabacloud_cms20190101.client import Client
    from alibabacloud_tea_openapi.models import Config

    from localcloud import LocalCloud
    from localcloud.cms import CmsService
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

    rng = random.Random(7)
    cloud = LocalCloud().start()
    try:
        if "cms" not in cloud.services:
            cloud.register(CmsService(clock=cloud.clock, region=cloud.region, account_id=cloud.account_id,
                                      requests=cloud.requests, timeline=cloud.timeline, eventbridge=cloud.eventbridge))
        cloud.clock.freeze(START + args.minutes * 60)
        names = [f"svc-{i:02d}" for i in range(args.services)]
        rows = 0
        for name in names:
            for step in range(args.minutes * 60 * args.qps):
                status = 503 if rng.random() < 0.02 else 200
                cloud.requests.record(name, at=START + step / args.qps, status=status,
                                      latency_ms=rng.lognormvariate(3.0, 0.5))
                rows += 1
        client = Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                               endpoint=cloud.url.removeprefix("http://"), protocol="http"))
        dimensions = json.dumps([{"serviceName": n} for n in names])
        timed_calls(client, models, dimensions, 3)  # warm up the connection and imports
        began = time.perf_counter()
        times, points = timed_calls(client, models, dimensions, args.calls)
        total_s = time.perf_counter() - began
        single, _ = timed_calls(client, models, json.dumps([{"serviceName": names[0]}]), args.calls)
    finally:
        cloud.stop()
    summary = {
        "calls": args.calls,
        "services_per_call": args.services,
        "rows": rows,
        "datapoints_returned": points,
        "total_s": round(total_s, 3),
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(percentile(times, 0.90), 2),
        "max_ms": round(max(times), 2),
        "single_service_median_ms": round(statistics.median(single), 2),
        "note": (f"{args.calls} sequential DescribeMetricLast calls (real SDK, ACS3-signed) each for "
                 f"{args.services} services; {args.minutes} min of rows at {args.qps} req/s per service"),
    }
    out = ROOT / "bench" / "results" / "cms_describe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

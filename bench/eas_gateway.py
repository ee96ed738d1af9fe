"""EAS inference gateway throughput: requests/s through localcloud's edge on this machine.

One service (profile: no latency, no errors) is created through the real EAS client and
brought to Running on the clock; then ``--threads`` clients send ``--requests`` requests with
keep-alive sessions. Results: ``bench/results/eas_gateway.json``.

Run: ``.venv/bin/python bench/eas_gateway.py [--requests 4000] [--threads 4]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    import requests
    from alibabacloud_eas20210701 import models
    from alibabacloud_eas20210701.client import Client
    from alibabacloud_tea_openapi.models import Config

    from localcloud import LocalCloud
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

    cloud = LocalCloud().start()
    try:
        eas = Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                            endpoint=cloud.url.removeprefix("http://"), protocol="http"))
        config = {"metadata": {"name": "bench_svc", "instance": 2, "cpu": 1, "memory": 1000},
                  "containers": [{"image": "img", "port": 8000}], "localcloud": {"latency": {"dist": "fixed", "ms": 0}}}
        eas.create_service(models.CreateServiceRequest(body=json.dumps(config)))
        cloud.advance(60)
        status = eas.describe_service(cloud.region, "bench_svc").body.status
        assert status == "Running", status
        url = cloud.url + "/api/predict/bench_svc"
        per_thread = args.requests // args.threads

        def worker(_: int) -> int:
            session = requests.Session()
            return sum(session.post(url, data=b'{"x": 1}', timeout=10).status_code == 200 for _ in range(per_thread))

        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            ok = sum(pool.map(worker, range(args.threads)))
        elapsed = time.perf_counter() - started
    finally:
        cloud.stop()
    summary = {"requests": per_thread * args.threads, "ok": ok, "threads": args.threads,
               "requests_per_second": round(per_thread * args.threads / elapsed, 1),
               "note": "client and server share the 2 cores; keep-alive sessions; profile latency 0"}
    (ROOT / "bench" / "results" / "eas_gateway.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

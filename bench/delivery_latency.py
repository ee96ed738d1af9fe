"""Latency from PutObject to the handler's first line, through localcloud's FC runtime.

A one-function project (OSS trigger, handler that returns ``time.time()`` as its first
statement) runs in the local FC runtime; the client stamps the time just before each
``put_object`` and waits for the invocation. Uploads are sequential and instances warm
(the first, cold, upload is left out). Results: ``bench/results/delivery_latency.json``.

Run: ``.venv/bin/python bench/delivery_latency.py [--uploads 1000]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

HANDLER = """
import time

def handler(event, context):
    first_line = time.time()
    return {"outcome": "ok", "first_line": first_line}
"""

SYAML = """
edition: 3.0.0
name: latency
access: default
resources:
  probe:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: probe
      runtime: python3.10
      code: ./code
      handler: probe.handler
      timeout: 10
      triggers:
        - triggerName: puts
          triggerType: oss
          sourceArn: acs:oss:cn-hangzhou:${config('AccountID')}:latency
          invocationRole: acs:ram::1:role/oss
          triggerConfig:
            events: [oss:ObjectCreated:PutObject]
            filter: {key: {prefix: in/, suffix: .bin}}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=1000)
    args = parser.parse_args()

    import oss2

    from localcloud import LocalCloud
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
    from localcloud.core.events import EventHub
    from localcloud.fc.runtime import FcInvocationEvent

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "functions").mkdir()
        (root / "functions" / "probe.py").write_text(HANDLER)
        (root / "s.yaml").write_text(SYAML)
        cloud = LocalCloud(project_dir=root).start()
        cloud.create_bucket("latency")
        bucket = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, "latency")
        done: dict[str, float] = {}
        import threading

        arrived = threading.Condition()

        def on_event(event: object) -> None:
            if isinstance(event, FcInvocationEvent) and event.kind == "succeeded":
                with arrived:
                    done[event.record["id"]] = event.record["result"]["first_line"]
                    arrived.notify_all()

        assert isinstance(cloud.hub, EventHub)
        cloud.hub.subscribe(on_event)
        latencies: list[float] = []
        try:
            for i in range(args.uploads + 1):
                with arrived:
                    before = len(done)
                sent = time.time()
                bucket.put_object(f"in/{i:05d}.bin", b"x")
                with arrived:
                    if not arrived.wait_for(lambda before=before: len(done) > before, timeout=30):
                        raise SystemExit(f"upload {i} was not delivered within 30 s")
                    first_line = list(done.values())[-1]
                if i:  # leave out the cold start
                    latencies.append((first_line - sent) * 1000)
        finally:
            cloud.stop()
    summary = {
        "uploads": len(latencies),
        "median_ms": round(statistics.median(latencies), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "note": "PutObject sent → handler first line; includes the PutObject round trip; warm instance",
    }
    (ROOT / "bench" / "results" / "delivery_latency.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

"""Cold start of ``dataset_landed``: import + first invocation, in a fresh process each time.

Scenarios, measured in one run against one localcloud:

* ``ignored``  — lazy imports (the shipped code), an event for a key that is not a marker;
* ``marker``   — lazy imports, a marker event (lists and checks the version, claims the run,
  ListJobs + CreateJob, ledger append, content index);
* ``eager``    — baseline: the SDKs imported up front (as a handler with module-level clients
  would), then the same ignored-key event.

Times are measured inside the child (interpreter start-up excluded), with ``rich`` hidden as
in the FC code package (requirements.txt does not ship it; structlog imports it when present).

Run: ``.venv/bin/python bench/cold_start.py [--runs 7]``; results go to
``bench/results/cold_start.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from localcloud import LocalCloud  # noqa: E402

CHILD = r"""
import json, sys, time
sys.modules["rich"] = None  # the FC code package ships no rich (structlog would import it)
t0 = time.perf_counter()
if {eager}:
    import oss2, alibabacloud_tea_openapi.client, alibabacloud_pai_dlc20201203.client  # noqa: F401
from functions.dataset_landed import handler
t1 = time.perf_counter()
result = handler(sys.stdin.buffer.read(), type("Ctx", (), {{"request_id": "bench-{n}"}})())
t2 = time.perf_counter()
heavy = sorted(m for m in sys.modules if m.startswith(("alibabacloud_", "oss2", "Tea")))
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "invoke_ms": (t2 - t1) * 1e3, "total_ms": (t2 - t0) * 1e3,
                  "outcome": result.get("outcome"), "sdk_modules": len(heavy)}}))
"""


def oss_event(bucket: str, key: str) -> bytes:
    record = {
        "eventName": "ObjectCreated:PutObject", "eventSource": "acs:oss", "eventTime": "2026-01-01T00:00:00.000Z",
        "eventVersion": "1.0", "region": "cn-hangzhou",
        "oss": {"bucket": {"name": bucket, "arn": f"acs:oss:cn-hangzhou:1:{bucket}", "ownerIdentity": "1", "virtualBucket": ""},
                "object": {"key": key, "size": 0, "deltaSize": 0, "eTag": "D41D8CD98F00B204E9800998ECF8427E"},
                "ossSchemaVersion": "1.0", "ruleId": "bench"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"}, "responseElements": {"requestId": "R"},
        "userIdentity": {"principalId": "1"},
    }
    return json.dumps({"events": [record]}).encode()


def run_child(env: dict[str, str], event: bytes, *, eager: bool, n: int) -> dict[str, float]:
    code = CHILD.format(eager=eager, n=n)
    out = subprocess.run(
        [sys.executable, "-c", code], input=event, capture_output=True, env=env, cwd=ROOT, check=True
    ).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cloud = LocalCloud().start()
    try:
        bucket = "autopilot-demo"
        cloud.oss.create_bucket(bucket)
        env = {**os.environ, **cloud.env(bucket), "PYTHONPATH": f"{ROOT}:{ROOT / 'shared'}",
               "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"), "AUTOPILOT_LOG_LEVEL": "WARNING"}
        samples: dict[str, list[dict[str, float]]] = {"ignored": [], "marker": [], "eager": []}
        import oss2

        from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

        data = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, bucket)
        for n in range(args.runs):  # interleaved, so drift on a noisy machine hits all alike
            version = f"bench-{time.time_ns()}"
            data.put_object(f"datasets/demo/{version}/part-0.csv", f"{version}\n".encode())  # distinct content
            data.put_object(f"datasets/demo/{version}/_SUCCESS", b"")
            samples["ignored"].append(run_child(env, oss_event(bucket, f"datasets/demo/v{n}/part-0.csv"), eager=False, n=n))
            samples["marker"].append(run_child(env, oss_event(bucket, f"datasets/demo/{version}/_SUCCESS"), eager=False, n=n))
            samples["eager"].append(run_child(env, oss_event(bucket, f"datasets/demo/v{n}/part-0.csv"), eager=True, n=n))
    finally:
        cloud.stop()
    summary = {
        name: {key: round(statistics.median(s[key] for s in runs), 1) for key in ("import_ms", "invoke_ms", "total_ms")}
        | {"outcome": runs[0]["outcome"], "sdk_modules_loaded": runs[0]["sdk_modules"]}
        for name, runs in samples.items()
    }
    summary["ratios"] = {
        "ignored_vs_eager_total": round(summary["ignored"]["total_ms"] / summary["eager"]["total_ms"], 3),
        "marker_vs_eager_total": round(summary["marker"]["total_ms"] / summary["eager"]["total_ms"], 3),
    }
    summary["runs"] = args.runs
    summary["python"] = sys.version.split()[0]
    out = ROOT / "bench" / "results" / "cold_start.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

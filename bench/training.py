"""The training slice: handler time per marker event (SDK time split out), and a burst of versions.

Two measurements, each against its own localcloud:

* ``handler`` — in-process (not through the FC runtime), warm (one warm-up event first):
  ``pai_autopilot.training.landed.on_dataset_event`` for ``--events`` distinct dataset versions,
  each with one small distinct data file (so content dedupe does not skip it) and its marker.
  Each marker event lists and checks the version, claims the run, counts the pipeline's active
  runs, ListJobs + CreateJob, appends to the ledger and indexes the content. The SDK time is
  split out by wrapping, for the measurement only, ``requests.Session.send`` and
  ``urllib3.HTTPResponse.read`` (oss2 and the darabonba/tea core of the DLC client both send
  through ``requests``; oss2 streams bodies, read after ``send`` returns) → **HTTP time**, and
  additionally every public method of ``oss2.Bucket`` and of the DLC client → **SDK time**
  (HTTP + signing, request building, response parsing). Nested calls are counted once.
  "Our overhead" = total − SDK time. localcloud's server runs in this same process: its threads
  compete with the handler for the GIL, so the HTTP time includes the emulator's own work
  (request parsing, v4 signature check, storage) — an upper bound on a real network's CPU cost,
  and no network latency.
* ``burst`` — ``--versions`` dataset versions landing at once, through the local FC runtime
  running the project's own s.yaml (OSS trigger → async queue → worker processes →
  ``functions/dataset_landed.py``): data file + ``_SUCCESS`` per version, uploaded from a thread
  pool of ``--upload-threads``, then ``cloud.fc.wait_idle``. ``LocalCloud`` does not pass a
  concurrency to its FC runtime (``FcRuntime`` defaults to 2 instances per function); this bench
  sets ``cloud.fc.concurrency`` (``--concurrency``, default 2) before ``start()``.

Both use a temporary copy of ``autopilot.yaml`` with ``pipelines.demo.max_active_runs: 10000``
(the shipped value, 1, would queue every version after the first), so every version gets a job.

Run: ``.venv/bin/python bench/training.py [--events 200] [--versions 1000] [--only handler|burst]``;
results go to ``bench/results/training.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

BUCKET = "autopilot-demo"
FUNCTION = "pai-autopilot-dataset-landed"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def write_config(directory: Path) -> Path:
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["pipelines"]["demo"]["max_active_runs"] = 10_000  # the schema's maximum
    path = directory / "autopilot.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Timer:
    """Accumulates wall time spent in the outermost of the wrapped calls, on the measured thread."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.thread = threading.get_ident()
        self._depth = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self.thread or self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1
                self._depth -= 1

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed


def instrument(http: Timer, sdk: Timer, sends: Timer) -> None:
    """Wrap the HTTP layer (both timers) and the SDK clients' public methods (SDK timer only);
    ``sends`` counts the HTTP requests."""
    import oss2
    import requests
    import urllib3
    from alibabacloud_pai_dlc20201203.client import Client as DlcClient

    for cls, name in ((requests.Session, "send"), (urllib3.response.HTTPResponse, "read")):
        setattr(cls, name, sdk.wrap(http.wrap(getattr(cls, name))))
    requests.Session.send = sends.wrap(requests.Session.send)
    for cls in (oss2.Bucket, DlcClient):
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and callable(value):
                setattr(cls, name, sdk.wrap(value))


def bench_handler(events: int) -> dict[str, Any]:
    import oss2

    from localcloud import LocalCloud
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
    from localcloud.core.events import ObjectEvent
    from localcloud.fc.triggers import native_oss_event
    from pai_autopilot.clients import Credentials
    from pai_autopilot.log import configure
    from pai_autopilot.settings import Settings
    from pai_autopilot.training.landed import on_dataset_event

    configure("WARNING")
    cloud = LocalCloud().start()
    samples: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cloud.oss.create_bucket(BUCKET)
            env = {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(write_config(Path(tmp))), "AUTOPILOT_LOG_LEVEL": "WARNING"}
            settings, credentials = Settings.resolve(environ=env), Credentials.from_env(env)
            data = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, BUCKET)
            http, sdk, sends = Timer(), Timer(), Timer()
            instrument(http, sdk, sends)

            def one(n: int) -> dict[str, float]:
                version = f"v{n:05d}"
                prefix = f"datasets/demo/{version}/"
                put = data.put_object(prefix + "part-0.csv", f"x,y\n{n},{n * 3}\n".encode())  # distinct content
                put = data.put_object(prefix + "_SUCCESS", b"")
                event = ObjectEvent("ObjectCreated:PutObject", BUCKET, prefix + "_SUCCESS", 0, put.etag,
                                    put.request_id, "127.0.0.1", 0.0)
                payload = json.dumps(native_oss_event(event, region=cloud.region, account_id="1", rule_id="bench")).encode()
                ctx = type("Ctx", (), {"request_id": f"bench-{n}"})()
                h0, s0, c0 = http.seconds, sdk.seconds, sends.calls
                t0 = time.perf_counter()
                result = on_dataset_event(payload, ctx, settings=settings, credentials=credentials)
                total = time.perf_counter() - t0
                if result["outcome"] != "submitted":
                    raise SystemExit(f"event {n}: {result}")
                return {"total_ms": total * 1e3, "http_ms": (http.seconds - h0) * 1e3, "sdk_ms": (sdk.seconds - s0) * 1e3,
                        "requests": sends.calls - c0}

            one(0)  # warm-up: imports, clients, connection pools (the put_objects above are not counted:
            # they run before the snapshot and, being the bench's own oss2 calls, are outside the handler)
            for n in range(1, events + 1):
                samples.append(one(n))
            jobs = len(cloud.dlc.state()["jobs"])
    finally:
        cloud.stop()

    def summary(rows: list[dict[str, float]]) -> dict[str, Any]:
        total = [r["total_ms"] for r in rows]
        out = {"total_ms_median": statistics.median(total), "total_ms_p90": percentile(total, 0.9)}
        for key in ("http_ms", "sdk_ms"):
            out[f"{key}_median"] = statistics.median(r[key] for r in rows)
        out["overhead_ms_median"] = statistics.median(r["total_ms"] - r["sdk_ms"] for r in rows)
        out["overhead_fraction"] = sum(r["total_ms"] - r["sdk_ms"] for r in rows) / sum(total)
        out["non_http_fraction"] = sum(r["total_ms"] - r["http_ms"] for r in rows) / sum(total)
        out["http_requests_median"] = statistics.median(r["requests"] for r in rows)
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}

    tenth = max(1, len(samples) // 10)
    return {
        "events": len(samples),
        "jobs_created": jobs,
        **summary(samples),
        # the active-run count lists every run of the pipeline, so the cost grows with the ledger
        "first_tenth": summary(samples[:tenth]),
        "last_tenth": summary(samples[-tenth:]),
    }


def bench_burst(versions: int, concurrency: int, upload_threads: int, timeout: float) -> dict[str, Any]:
    import oss2
    from alibabacloud_pai_dlc20201203 import models

    from localcloud import LocalCloud
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp))
        cloud = LocalCloud(project_dir=ROOT, function_env={"AUTOPILOT_CONFIG": str(config), "AUTOPILOT_LOG_LEVEL": "WARNING"},
                           retry_delay_scale=0.05)
        cloud.fc.concurrency = concurrency  # LocalCloud has no such argument; FcRuntime reads it in start()
        cloud.start()
        try:
            cloud.create_bucket(BUCKET)
            cloud.dlc.backend.set_workspaces({"12345": "demo"})  # as tests/e2e wire_job_events
            local = threading.local()

            def bucket() -> Any:
                if not hasattr(local, "bucket"):
                    local.bucket = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, BUCKET)
                return local.bucket

            def land(n: int) -> None:
                prefix = f"datasets/demo/b{n:05d}/"
                bucket().put_object(prefix + "part-0.csv", f"x,y\n{n},{n * 3}\n".encode())
                bucket().put_object(prefix + "_SUCCESS", b"")

            t0 = time.perf_counter()
            with ThreadPoolExecutor(upload_threads) as pool:
                list(pool.map(land, range(versions)))
            uploaded = time.perf_counter() - t0
            idle = cloud.fc.wait_idle(timeout)
            wall = time.perf_counter() - t0
            records = cloud.fc.invocation_records(FUNCTION)
            env = cloud.env(BUCKET)
            dlc = Clients(Settings.resolve(environ=env), Credentials.from_env(env)).dlc
            listed, page = 0, 1
            while True:
                jobs = dlc.list_jobs(models.ListJobsRequest(page_size=100, page_number=page, show_own=False)).body.jobs or []
                listed += len(jobs)
                if len(jobs) < 100:
                    break
                page += 1
            result = {
                "versions": versions,
                "fc_concurrency": concurrency,
                "upload_threads": upload_threads,
                "idle_before_timeout": idle,
                "upload_s": round(uploaded, 2),
                "wall_s": round(wall, 2),
                "versions_per_s": round(versions / wall, 2),
                "dlc_jobs_listjobs": listed,
                "dlc_jobs_state": len(cloud.dlc.state()["jobs"]),
                "dead_letters": len(cloud.fc.dead_letters()),
                "invocations": len(records),
                "by_status": dict(collections.Counter(r["status"] for r in records)),
                "by_outcome": dict(collections.Counter((r.get("result") or {}).get("outcome", r["status"]) for r in records)),
                "attempts_max": max((r["attempts"] for r in records), default=0),
            }
        finally:
            cloud.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200, help="marker events for the in-process handler timing")
    parser.add_argument("--versions", type=int, default=1000, help="dataset versions landing at once (burst)")
    parser.add_argument("--concurrency", type=int, default=2, help="FC instances for the function (burst)")
    parser.add_argument("--upload-threads", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the burst to drain")
    parser.add_argument("--only", choices=("handler", "burst"))
    args = parser.parse_args()
    out = ROOT / "bench" / "results" / "training.json"
    summary: dict[str, Any] = json.loads(out.read_text()) if args.only and out.exists() else {}
    if args.only in (None, "handler"):
        summary["handler"] = bench_handler(args.events)
        print(json.dumps(summary["handler"], indent=2), flush=True)
    if args.only in (None, "burst"):
        summary["burst"] = bench_burst(args.versions, args.concurrency, args.upload_threads, args.timeout)
        print(json.dumps(summary["burst"], indent=2), flush=True)
    summary["python"] = sys.version.split()[0]
    out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

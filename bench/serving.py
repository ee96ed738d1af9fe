"""The serving slice: model_landed handler time (SDK split out), the reconcile serving pass against N,
and the cold start of an ignored model key against the eager-import baseline.

* ``handler`` — in-process (not through the FC runtime), warm (one warm-up pipeline first), against
  a temporary config of ``--pipelines`` copies of the demo pipeline (``demo``, ``p0001``…, each its
  own service base and group, so every event takes a full path): for each pipeline a **first
  version** (claim, list + read ``metrics.json``, stable read, deploying index, DescribeService 404 +
  CreateService + DescribeService), then — after the clock makes them Running and one serving pass
  records them stable — a **canary** per pipeline (the same checks, the evaluation gate, the
  stable's DescribeService for capacity, CreateService, ReleaseService weight 0, rollout record).
  SDK and HTTP time are split out as in ``bench/training.py`` (its :class:`Timer`; here wrapping
  ``oss2.Bucket`` and the EAS client): our overhead = total − SDK time.
* ``tick`` — HTTP requests and time of one ``serving_pass`` with 0 versions deploying and with N.
* ``cold`` — fresh interpreter per sample: ``functions/model_landed.py`` imported, then one event
  for an ignored key (``models/demo/v1/model.pt``), lazy (shipped) vs SDKs imported eagerly first.

Run: ``.venv/bin/python bench/serving.py [--pipelines 40] [--runs 7]``; results go to
``bench/results/serving.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "bench")]

from cold_start import oss_event  # noqa: E402
from training import Timer, percentile  # noqa: E402

BUCKET = "autopilot-demo"


def write_config(directory: Path, pipelines: int) -> Path:
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    demo = config["pipelines"]["demo"]
    for n in range(1, pipelines):
        p = copy.deepcopy(demo)
        p["dataset"]["prefix"] = f"datasets/p{n:04d}/"
        p["serving"]["service_name"], p["serving"]["group"] = f"m_p{n:04d}", f"g_p{n:04d}"
        config["pipelines"][f"p{n:04d}"] = p
    path = directory / "autopilot.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def instrument(http: Timer, sdk: Timer, sends: Timer) -> None:
    import oss2
    import requests
    import urllib3
    from alibabacloud_eas20210701.client import Client as EasClient

    for cls, name in ((requests.Session, "send"), (urllib3.response.HTTPResponse, "read")):
        setattr(cls, name, sdk.wrap(http.wrap(getattr(cls, name))))
    requests.Session.send = sends.wrap(requests.Session.send)
    for cls in (oss2.Bucket, EasClient):
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and callable(value):
                setattr(cls, name, sdk.wrap(value))


def summary(rows: list[dict[str, float]]) -> dict[str, Any]:
    total = [r["total_ms"] for r in rows]
    out = {"events": len(rows), "total_ms_median": statistics.median(total), "total_ms_p90": percentile(total, 0.9),
           "sdk_ms_median": statistics.median(r["sdk_ms"] for r in rows),
           "http_ms_median": statistics.median(r["http_ms"] for r in rows),
           "overhead_ms_median": statistics.median(r["total_ms"] - r["sdk_ms"] for r in rows),
           "overhead_fraction": sum(r["total_ms"] - r["sdk_ms"] for r in rows) / sum(total),
           "http_requests_median": statistics.median(r["requests"] for r in rows)}
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def bench_handler(pipelines: int) -> dict[str, Any]:
    import oss2

    from localcloud import LocalCloud
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
    from pai_autopilot.clients import Credentials
    from pai_autopilot.config import load_config
    from pai_autopilot.log import configure
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.serving.landed import on_model_event
    from pai_autopilot.serving.watch import serving_pass
    from pai_autopilot.settings import Settings

    configure("WARNING")
    cloud = LocalCloud().start()
    cloud.clock.freeze()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cloud.oss.create_bucket(BUCKET)
            path = write_config(Path(tmp), pipelines)
            env = {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(path), "AUTOPILOT_LOG_LEVEL": "WARNING"}
            settings, credentials = Settings.resolve(environ=env), Credentials.from_env(env)
            names = list(load_config(path).pipelines)
            data = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, BUCKET)
            http, sdk, sends = Timer(), Timer(), Timer()
            instrument(http, sdk, sends)

            def one(pipeline: str, version: str, accuracy: float, expect: str) -> dict[str, float]:
                prefix = f"models/{pipeline}/{version}/"
                data.put_object(prefix + "model.pt", b"w")
                data.put_object(prefix + "metrics.json", json.dumps({"metrics": {"accuracy": accuracy, "loss": 0.4}}).encode())
                data.put_object(prefix + "_SUCCESS", b"")
                ctx = type("Ctx", (), {"request_id": f"bench-{pipeline}-{version}"})()
                h0, s0, c0 = http.seconds, sdk.seconds, sends.calls
                t0 = time.perf_counter()
                result = on_model_event(oss_event(BUCKET, prefix + "_SUCCESS"), ctx, settings=settings, credentials=credentials)
                total = time.perf_counter() - t0
                if result["outcome"] != expect:
                    raise SystemExit(f"{pipeline} {version}: {result}")
                return {"total_ms": total * 1e3, "http_ms": (http.seconds - h0) * 1e3, "sdk_ms": (sdk.seconds - s0) * 1e3,
                        "requests": sends.calls - c0}

            rt = Runtime(settings, load_config(path), credentials, request_id="bench-tick")

            def tick() -> dict[str, Any]:
                c0, t0 = sends.calls, time.perf_counter()
                out = serving_pass(rt)
                return {"deploying": out["deploying"], "requests": sends.calls - c0, "ms": round((time.perf_counter() - t0) * 1e3, 2)}

            quiet = tick()
            one(names[0], "v1", 0.8, "deploying")  # warm-up: imports, clients, connection pools
            first = [one(p, "v1", 0.8, "deploying") for p in names[1:]]
            busy = tick()  # every first version deploying (not Running yet): one DescribeService each
            cloud.advance(12)
            running = tick()  # each Running: autoscaler, stable, records
            canary = [one(p, "v2", 0.9, "canary") for p in names[1:]]
            return {"pipelines": len(names), "first_version": summary(first), "canary": summary(canary),
                    "tick_quiet": quiet, "tick_deploying": busy, "tick_running": running,
                    "services": len(cloud.eas.state()["services"])}
    finally:
        cloud.stop()


CHILD = r"""
import json, sys, time
sys.modules["rich"] = None
t0 = time.perf_counter()
if {eager}:
    import oss2, alibabacloud_tea_openapi.client, alibabacloud_eas20210701.client  # noqa: F401
from functions.model_landed import handler
t1 = time.perf_counter()
result = handler(sys.stdin.buffer.read(), type("Ctx", (), {{"request_id": "bench"}})())
t2 = time.perf_counter()
heavy = sorted(m for m in sys.modules if m.startswith(("alibabacloud_", "oss2", "Tea")))
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "invoke_ms": (t2 - t1) * 1e3, "total_ms": (t2 - t0) * 1e3,
                  "outcome": result.get("outcome"), "sdk_modules": len(heavy)}}))
"""


def bench_cold(runs: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'shared'}", "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"),
           "AUTOPILOT_LOG_LEVEL": "WARNING", "AUTOPILOT_BUCKET": BUCKET}
    samples: dict[str, list[dict[str, Any]]] = {"ignored_lazy": [], "ignored_eager": []}
    events = {"ignored_lazy": "models/demo/v1/model.pt", "ignored_eager": "models/demo/v1/model.pt"}
    for _ in range(runs):  # interleaved
        for name, key in events.items():
            code = CHILD.format(eager=name.endswith("eager"))
            out = subprocess.run([sys.executable, "-c", code], input=oss_event(BUCKET, key), capture_output=True,
                                 env=env, cwd=ROOT, check=True).stdout.decode()
            samples[name].append(json.loads(out.strip().splitlines()[-1]))
    result: dict[str, Any] = {
        name: {k: round(statistics.median(s[k] for s in rows), 1) for k in ("import_ms", "invoke_ms", "total_ms")}
        | {"outcome": rows[0]["outcome"], "sdk_modules_loaded": rows[0]["sdk_modules"]}
        for name, rows in samples.items()
    }
    result["ignored_vs_eager_total"] = round(result["ignored_lazy"]["total_ms"] / result["ignored_eager"]["total_ms"], 3)
    result["runs"] = runs
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=40)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    out = {"handler": bench_handler(args.pipelines), "cold": bench_cold(args.runs), "python": sys.version.split()[0]}
    (ROOT / "bench" / "results" / "serving.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

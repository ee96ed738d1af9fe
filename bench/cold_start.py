"""Cold start as production sees it: import + first invocation, in a fresh process each time.

Every event here is one the deployed triggers really deliver (checked against s.yaml's OSS
filter and the EventBridge rule ``wire`` creates, before anything is measured), and the
configuration is the packaged one (``autopilot.yaml`` + the compiled ``autopilot.yaml.json``
that ``pai-autopilot package`` writes). Scenarios, interleaved round by round:

* ``ignored_marker`` — ``dataset_landed``, a ``_SUCCESS`` marker under no pipeline
  (``datasets/other/…``: it passes the ``datasets/`` + ``_SUCCESS`` filter);
* ``ignored_event`` — ``job_events``, an EventBridge event of another type on the PAI bus
  (``pai:DSW:InstanceStatusChanged``: it passes the ``acs.pai`` prefix rule);
* ``marker`` — ``dataset_landed``, a real marker (version check, claim, ListJobs + CreateJob);
* ``eager`` — baseline: the SDKs imported up front (as a handler with module-level clients
  would), then the same ignored marker.

Times are measured inside the child (interpreter start-up excluded), with ``rich`` hidden as
in the FC code package. ``--before DIR`` adds the ignored events on another checkout (e.g. the
code before a change) to the same interleaved rounds; ``--importtime`` prints the ``-X importtime``
top ten of the ignored marker's path instead (of both checkouts with ``--before``).

Run: ``.venv/bin/python bench/cold_start.py [--runs 9]``; results go to
``bench/results/cold_start.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from localcloud import LocalCloud  # noqa: E402

CHILD = r"""
import json, sys, time
sys.modules["rich"] = None  # the FC code package ships no rich
t0 = time.perf_counter()
if {eager}:
    import oss2, alibabacloud_tea_openapi.client, alibabacloud_pai_dlc20201203.client  # noqa: F401
from functions.{module} import handler
t1 = time.perf_counter()
result = handler(sys.stdin.buffer.read(), type("Ctx", (), {{"request_id": "bench-{n}"}})())
t2 = time.perf_counter()
heavy = sorted(m for m in sys.modules if m.startswith(("alibabacloud_", "oss2", "Tea", "yaml", "structlog")))
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "invoke_ms": (t2 - t1) * 1e3, "total_ms": (t2 - t0) * 1e3,
                  "outcome": result.get("outcome"), "sdk_modules": len([m for m in heavy if not m.startswith(("yaml", "structlog"))]),
                  "yaml_or_structlog": len(heavy) - len([m for m in heavy if not m.startswith(("yaml", "structlog"))])}}))
"""

IGNORED_KEY = "datasets/other/v1/_SUCCESS"
OTHER_EVENT = {
    "id": "bench-dsw-1", "source": "acs.pai", "type": "pai:DSW:InstanceStatusChanged", "specversion": "1.0",
    "subject": "acs:pai:cn-hangzhou:1:instance/dsw-bench", "aliyuneventbusname": "pai-system-demo",
    "time": "2026-01-01T00:00:00Z", "data": {"InstanceId": "dsw-bench", "Status": "Running"},
}


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


def check_delivered(bucket: str, env: dict[str, str]) -> None:
    """Fail unless the ignored events pass the deployed filters (s.yaml's OSS trigger, wire's rule)."""
    from localcloud.eventbridge import patterns
    from pai_autopilot.syaml import load_syaml
    from pai_autopilot.syaml.specs import functions
    from pai_autopilot.wiring import JOB_EVENTS_PATTERN

    doc = load_syaml(ROOT / "s.yaml", env=env, account_id="1", strict=False)
    fn = next(f for f in functions(doc) if f.handler == "dataset_landed.handler")
    trigger = next(t for t in fn.triggers if t.type == "oss")
    assert trigger.matches(IGNORED_KEY, "ObjectCreated:PutObject"), "the ignored marker would be filtered out"
    assert patterns.matches(patterns.parse(JOB_EVENTS_PATTERN), OTHER_EVENT), "the other event would be filtered out"


def packaged_config() -> Path:
    """``autopilot.yaml`` and its compiled form, as ``pai-autopilot package`` ships them."""
    from pai_autopilot.config.compiled import write_compiled

    target = Path(tempfile.mkdtemp(prefix="cold-start-")) / "autopilot.yaml"
    shutil.copy2(ROOT / "autopilot.yaml", target)
    write_compiled(str(target))
    return target


def run_child(env: dict[str, str], event: bytes, *, module: str, eager: bool, n: int, code_root: Path) -> dict[str, float]:
    code = CHILD.format(eager=eager, n=n, module=module)
    out = subprocess.run(
        [sys.executable, "-c", code], input=event, capture_output=True, env=env, cwd=code_root, check=True
    ).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def importtime_once(env: dict[str, str], event: bytes, code_root: Path) -> dict[str, int]:
    """One ``-X importtime`` run of the ignored marker's path: cumulative µs per module, and the total."""
    code = CHILD.format(eager=False, n=0, module="dataset_landed")
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], input=event, capture_output=True, env=env,
                         cwd=code_root, check=True).stderr.decode()
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            _self_us, cumulative, name = line[len("import time:"):].split("|")
            rows.append((name[1:].rstrip(), int(cumulative)))  # keep the indentation (depth)
    # importtime prints a module when it finishes (children first): the handler's subtree runs from
    # the top-level row before it; top-level rows after it were imported during the invocation
    handler = next(i for i, row in enumerate(rows) if row[0] == "functions.dataset_landed")
    start = max((i + 1 for i in range(handler) if not rows[i][0].startswith(" ")), default=0)
    ours = rows[start:]
    times = {name.strip(): cumulative for name, cumulative in ours}
    times["<total>"] = sum(c for name, c in ours if not name.startswith(" "))
    return times


def importtime_top(env: dict[str, str], event: bytes, roots: list[Path], runs: int, top: int = 10) -> list[list[tuple[str, float]]]:
    """For each checkout in ``roots``: the ignored path's ``top`` modules by median cumulative ms
    over ``runs`` runs (``<total>`` first); the checkouts' runs are interleaved."""
    samples: list[list[dict[str, int]]] = [[] for _ in roots]
    for _ in range(runs):
        for i, root in enumerate(roots):
            samples[i].append(importtime_once({**env, "PYTHONPATH": f"{root}:{root / 'shared'}"}, event, root))
    tables = []
    for runs_of_root in samples:
        names = set().union(*runs_of_root)
        medians = {n: statistics.median(s.get(n, 0) for s in runs_of_root) / 1000 for n in names}
        tables.append(sorted(medians.items(), key=lambda item: -item[1])[: top + 1])
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--importtime", action="store_true", help="print the -X importtime top ten and exit")
    parser.add_argument("--code-root", type=Path, default=ROOT, help="the checkout whose functions/ and shared/ run")
    parser.add_argument("--before", type=Path, help="another checkout whose ignored paths are measured interleaved")
    args = parser.parse_args()
    code_root = args.code_root.resolve()
    cloud = LocalCloud().start()
    config = packaged_config()
    try:
        bucket = "autopilot-demo"
        cloud.oss.create_bucket(bucket)
        env = {**os.environ, **cloud.env(bucket), "PYTHONPATH": f"{code_root}:{code_root / 'shared'}",
               "AUTOPILOT_CONFIG": str(config), "AUTOPILOT_LOG_LEVEL": "WARNING"}
        check_delivered(bucket, env)
        if args.importtime:
            roots = [code_root] + ([args.before.resolve()] if args.before else [])
            for root, table in zip(roots, importtime_top(env, oss_event(bucket, IGNORED_KEY), roots, args.runs), strict=True):
                print(f"\n{root}: median of {args.runs} (ms, cumulative)")
                for name, ms in table:
                    print(f"| {name} | {ms:.1f} |")
            return
        samples: dict[str, list[dict[str, float]]] = {"ignored_marker": [], "ignored_event": [], "marker": [], "eager": []}
        import oss2

        from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

        data = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, bucket)
        ignored, other = oss_event(bucket, IGNORED_KEY), json.dumps(OTHER_EVENT).encode()
        for n in range(args.runs):  # interleaved, so drift on a noisy machine hits all alike
            version = f"bench-{time.time_ns()}"
            data.put_object(f"datasets/demo/{version}/part-0.csv", f"{version}\n".encode())  # distinct content
            data.put_object(f"datasets/demo/{version}/_SUCCESS", b"")
            common = {"n": n, "code_root": code_root}
            samples["ignored_marker"].append(run_child(env, ignored, module="dataset_landed", eager=False, **common))
            samples["ignored_event"].append(run_child(env, other, module="job_events", eager=False, **common))
            samples["marker"].append(run_child(env, oss_event(bucket, f"datasets/demo/{version}/_SUCCESS"),
                                               module="dataset_landed", eager=False, **common))
            samples["eager"].append(run_child(env, ignored, module="dataset_landed", eager=True, **common))
            if args.before:  # the same ignored events on another checkout (the code before a change)
                before = {"n": n, "code_root": args.before.resolve()}
                old_env = {**env, "PYTHONPATH": f"{before['code_root']}:{before['code_root'] / 'shared'}"}
                samples.setdefault("before_ignored_marker", []).append(
                    run_child(old_env, ignored, module="dataset_landed", eager=False, **before))
                samples.setdefault("before_ignored_event", []).append(
                    run_child(old_env, other, module="job_events", eager=False, **before))
    finally:
        cloud.stop()
        shutil.rmtree(config.parent, ignore_errors=True)
    summary = {
        name: {key: round(statistics.median(s[key] for s in runs), 1) for key in ("import_ms", "invoke_ms", "total_ms")}
        | {"outcome": runs[0]["outcome"], "sdk_modules_loaded": runs[0]["sdk_modules"],
           "yaml_or_structlog_modules": runs[0]["yaml_or_structlog"]}
        for name, runs in samples.items()
    }
    eager = summary["eager"]["total_ms"]
    summary["ratios"] = {f"{name}_vs_eager_total": round(summary[name]["total_ms"] / eager, 3)
                         for name in samples if name != "eager"}
    summary["runs"] = args.runs
    summary["python"] = sys.version.split()[0]
    summary["code_root"] = str(code_root)
    out = ROOT / "bench" / "results" / "cold_start.json"
    if code_root == ROOT:
        out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

"""The long reliability soak (``make soak``): the CI suite's invariants at full size (issue 14).

Each phase runs its own localcloud with the project's s.yaml functions and a configuration of the
shipped ``demo`` pipeline plus ``--pipelines`` copies of it (each its own prefixes, service and group)
and an enforcing notebook policy:

1. **duplicates** — ``--versions`` dataset versions per pipeline (queued one at a time, as configured),
   every event delivered three times and reordered (0.5 s window), idle notebooks governed by ticks
   fired three at once, then a CloudMonitor alarm event on every EAS service (×3, reordered) and signed
   webhook calls (each sent three times: one answer, then 401 ``replayed``) → at least ``--events``
   distinct events over every s.yaml function; 0 duplicate jobs, services, weight steps or stops,
   0 lost (every version trained and its model settled);
2. **faults** — 20 % of every call to every service fails (10 % throttled, ~11 % 5xx) and every call
   is slowed 15 ms, over more versions and notebooks → every flow converges, or its event is in the
   dead-letter store whole;
3. **crashes** — every crash point of every flow of ``tests/e2e/reliability_support.FLOWS`` (submit,
   preemption resubmit, first version, canary, dequeue) and of the notebook governor: the worker
   killed after each side effect in turn, on one localcloud reset between points → no duplicate,
   the retry converges. As in the CI suite, the canary kick ticks once (``AUTOPILOT_KICK_WAIT_SECONDS=0``)
   instead of polling 90 s of wall clock for a canary that only starts when the harness moves the clock.

Progress lines (phase, seconds, point i/N) go to stderr; each phase prints one JSON line of figures on
stdout and writes it to ``bench/results/soak_<phase>.json`` (also when it fails: ``ok`` false, ``error``).
The exit status is 1 if any phase failed.

    .venv/bin/python bench/soak.py                       # make soak: every phase at full size
    .venv/bin/python bench/soak.py --phases crashes      # one phase
    .venv/bin/python bench/soak.py --versions 2 --pipelines 2 --events 100 --phases duplicates   # a quick look
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench import soak_events  # noqa: E402
from bench.soak_checks import check_all, distinct_events, repeated_weights_story  # noqa: E402
from localcloud import LocalCloud  # noqa: E402
from localcloud.core.faults import DeliveryFaults, Fault  # noqa: E402
from localcloud.server import ThreadedServer  # noqa: E402
from tests.e2e import reliability_support as rs  # noqa: E402
from tests.e2e import test_reliability_notebooks as nb  # noqa: E402
from tests.e2e.conftest import BUCKET, WEBHOOK_KEY_ID, WEBHOOK_SECRET, Notices, wire_job_events  # noqa: E402

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


def start_cloud(pipelines: int, notices_url: str, workdir: Path, env: dict[str, str] | None = None) -> LocalCloud:
    """localcloud with the project's functions on :func:`soak_config` (plus ``env`` for the functions),
    FC retries 20× faster than the platform's, the webhook's signing key set, job events wired."""
    path = workdir / "autopilot.yaml"
    path.write_text(yaml.safe_dump(soak_config(pipelines)))
    cloud = LocalCloud(project_dir=ROOT, retry_delay_scale=0.05, function_env={
        "AUTOPILOT_CONFIG": str(path), "AUTOPILOT_NOTIFY_URL": notices_url, "AUTOPILOT_NOTIFY_PER_MINUTE": "100000",
        "AUTOPILOT_WEBHOOK_SECRET": WEBHOOK_SECRET, "AUTOPILOT_WEBHOOK_KEY_ID": WEBHOOK_KEY_ID, **(env or {})}).start()
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


class Progress:
    """Progress lines on stderr (stdout keeps one JSON line per phase): ``[phase  12.3 s] message``."""

    def __init__(self, phase: str) -> None:
        self.phase, self.started = phase, time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{self.phase} {self.elapsed():7.1f} s] {message}", file=sys.stderr, flush=True)


def whole_story(cloud: LocalCloud, sdk: Any, pipelines: list[str], versions: int, notebooks: int,
                governor_copies: int, progress: Callable[[str], None], faults: Fault | None = None) -> tuple[list[str], float]:
    """Land ``versions`` datasets on every pipeline (a round at a time: each round's markers processed
    before the next lands, so later versions queue), train and serve them, governing ``notebooks`` idle
    notebooks on the way; returns (notebook ids, seconds). ``faults``: injected once the notebooks
    exist (the harness's own setup is not under test)."""
    started = time.monotonic()
    rs.freeze_after_reconcile(cloud)
    rs.fast_training(cloud)
    ids = nb.make_fleet(cloud, sdk, count=notebooks)
    if faults is not None:
        cloud.faults.add(faults)
    rs.freeze_after_reconcile(cloud)
    for v in range(1, versions + 1):
        for p in pipelines:
            rs.land_dataset(sdk, f"v{v}", pipeline=p)
        drain(cloud)
        progress(f"landed v{v} (round {v}/{versions}) on {len(pipelines)} pipelines")
    # one version per pipeline trains at a time (≈ 35 clock seconds each), then serving's reconcile ticks
    steps = int(versions * 40 / 10) + 1
    for step in range(steps):
        if step % 10 == 0:
            progress(f"training and serving: clock step {step + 1}/{steps} (10 s each)")
        advance(cloud, 10, 10)
        if step % 6 == 0:
            rs.fire_timer(cloud, "dsw_governor", copies=governor_copies, wait=False)
            drain(cloud)
        if step % 18 == 9 and governor_copies > 1:  # reconcile ticks side by side as well
            rs.fire_timer(cloud, "reconcile", copies=governor_copies, wait=False)
            drain(cloud)
    progress("settling: 900 clock seconds, then the governor's last ticks")
    advance(cloud, 900, 60)
    for _ in range(3):
        rs.fire_timer(cloud, "dsw_governor", copies=governor_copies, wait=False)
        drain(cloud)
        advance(cloud, 60, 60)
    return ids, time.monotonic() - started


def phase_duplicates(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, notices: Notices, args: argparse.Namespace) -> dict[str, Any]:
    """The whole story, then a CloudMonitor alarm on every service and signed webhook calls, every
    event delivered three times and reordered; 0 duplicates, 0 lost, every s.yaml function driven."""
    pipelines = pipelines_of(args.pipelines)
    fresh(cloud, calls, notices)
    cloud.delivery = DeliveryFaults(duplicate=1.0, extra_copies=2, reorder_window=0.5)
    progress = Progress("duplicates")
    ids, seconds = whole_story(cloud, sdk, pipelines, args.versions, args.notebooks, governor_copies=3, progress=progress)
    # alarms on every pipeline's stable service (a canary's would roll it back: a different story, in
    # tests/e2e/test_reliability_rollout.py): each claimed once, notified; then its recovery, ignored
    services = [f"{p}_model_v1" for p in pipelines]
    progress(f"CloudMonitor alarm events on {len(services)} stable services, then signed webhook calls")
    alarms = soak_events.send_alarms(cloud, services)
    drain(cloud)
    cloud.delivery = DeliveryFaults()
    hooks = soak_events.send_webhooks(cloud, pipelines, ["v1", "v2"])
    assert not hooks["webhook_wrong"], f"a signed request not answered 200 once and 401 replayed after: {hooks}"
    alarm = soak_events.alarm_figures(cloud, notices.received, alarms, copies=3)
    assert alarm["alarm_deliveries"] == 3 * alarms and not alarm["alarm_deliveries_failed"], alarm
    progress("checking the invariants")
    try:
        figures = check_all(cloud, sdk, calls, pipelines, args.versions, notices.received, ids, allow_dead=False)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{repeated_weights_story(cloud, sdk, calls)}") from None
    events = {**distinct_events(cloud, copies=3, governor_copies=3), "webhook": hooks["webhook_requests"]}
    total = sum(events.values())
    assert total >= args.events, f"only {total} distinct events (want {args.events}): raise --versions"
    undriven = [f for f in rs.project_functions() if not events.get(f.replace("_", "-"))]
    assert not undriven, f"s.yaml functions that got no event: {undriven}"
    records = cloud.fc.invocation_records()
    assert all(r["status"] == "succeeded" for r in records), [r for r in records if r["status"] != "succeeded"][:3]
    return {"events": events, "events_total": total, "deliveries": len(records) + hooks["webhook_sends"],
            "seconds": round(seconds, 1), "jobs": figures.jobs, "services": figures.services,
            "rollouts": figures.rollouts, "notebooks_stopped": len(ids), "duplicates": 0, "lost": 0, "dead_letters": 0,
            "duplicate_outcomes": sum(1 for r in records for rec in (r.get("result") or {}).get("records") or []
                                      if rec.get("outcome") == "duplicate"), **alarm, **hooks}


def phase_faults(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, notices: Notices, args: argparse.Namespace) -> dict[str, Any]:
    pipelines = pipelines_of(args.pipelines)
    fresh(cloud, calls, notices)
    progress = Progress("faults")
    ids, seconds = whole_story(cloud, sdk, pipelines, args.fault_versions, args.notebooks, governor_copies=1, progress=progress,
                               faults=Fault(**FAULTS))
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


def phase_crashes(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, notices: Notices, args: argparse.Namespace) -> dict[str, Any]:
    """Every crash point of every flow of ``rs.FLOWS``, then of the notebook governor (a fleet of
    ``--crash-notebooks``), each on the one localcloud reset between points (``rs.fresh``)."""
    progress = Progress("crashes")
    out: dict[str, Any] = {}
    flows = list(rs.FLOWS.items())
    for k, (name, flow) in enumerate(flows, 1):
        started = time.monotonic()

        def step(i: int, n: int, point: rs.CrashPoint, failure: str | None, crashed: bool, name: str = name, k: int = k) -> None:
            verdict = "FAILED " + failure.splitlines()[0][:160] if failure else ("ok" if crashed else "ok (no crash: did not recur)")
            progress(f"flow {k}/{len(flows) + 1} {name}: point {i}/{n} {point.label}: {verdict}")

        points, failures, missed = rs.crash_every_point(cloud, sdk, calls, flow, on_point=step)
        out[name] = {"crash_points": len(points), "crashed": len(points) - len(missed), "failures": failures,
                     "did_not_recur": missed, "seconds": round(time.monotonic() - started, 1),
                     "points": [p.label for p in points]}
    out["notebooks"] = crash_notebooks(cloud, sdk, calls, notices, args.crash_notebooks, progress, len(flows) + 1)
    out["crash_points"] = sum(v["crash_points"] for v in out.values())
    out["failures"] = sum(len(v["failures"]) for k, v in out.items() if isinstance(v, dict))
    out["crashes_injected"] = cloud.fc.crashes
    out["seconds"] = round(progress.elapsed(), 1)
    return out


def crash_notebooks(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, notices: Notices, count: int,
                    progress: Progress, k: int) -> dict[str, Any]:
    """The governor's crash points: a clean run over ``count`` idle notebooks, then one run per point."""
    started = time.monotonic()
    fresh(cloud, calls, notices)
    ids = nb.make_fleet(cloud, sdk, count=count)
    nb.govern(cloud, sdk, ids)
    points = nb.generic_points(rs.crash_points(c for c in calls.side_effects() if "/index/" not in c.path), ids)
    failures, missed = [], []
    for i, point in enumerate(points, 1):
        fresh(cloud, calls, notices)
        fleet = nb.make_fleet(cloud, sdk, count=len(ids))
        calls.clear()
        crashes = cloud.fc.crashes
        cloud.faults.add(point.fault())
        nb.govern(cloud, sdk, fleet)
        verdict = "ok"
        if cloud.fc.crashes == crashes:
            missed.append(point.label)
            verdict = "ok (no crash: did not recur)"
        try:
            nb.check_notebooks(cloud, sdk, calls, fleet, notices.received)
        except AssertionError as exc:
            failures.append(f"{point.label}: {str(exc).splitlines()[0]}")
            verdict = "FAILED " + failures[-1][:160]
        progress(f"flow {k}/{k} notebooks: point {i}/{len(points)} {point.label}: {verdict}")
    return {"crash_points": len(points), "crashed": len(points) - len(missed), "failures": failures,
            "did_not_recur": missed, "seconds": round(time.monotonic() - started, 1), "points": [p.label for p in points]}


def fresh(cloud: LocalCloud, calls: rs.CallLog, notices: Notices) -> None:
    rs.fresh(cloud)
    calls.clear()
    notices.received.clear()


PHASES = ("duplicates", "faults", "crashes")


def phase_list(text: str) -> list[str]:
    """``--phases``: a comma-separated subset of :data:`PHASES`, run in the order given.

    >>> phase_list("crashes,duplicates")
    ['crashes', 'duplicates']
    """
    phases = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not phases:
        raise argparse.ArgumentTypeError(f"unknown phase(s) {unknown or [text]}: choose from {', '.join(PHASES)}")
    return phases


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phases", type=phase_list, default=list(PHASES),
                        help=f"comma-separated phases to run, in that order (default: {','.join(PHASES)})")
    parser.add_argument("--pipelines", type=int, default=8, help="copies of the demo pipeline (duplicates, faults)")
    parser.add_argument("--versions", type=int, default=16, help="dataset versions per pipeline (duplicates phase)")
    parser.add_argument("--fault-versions", type=int, default=4, help="dataset versions per pipeline (faults phase)")
    parser.add_argument("--notebooks", type=int, default=20, help="idle notebooks governed (duplicates, faults)")
    parser.add_argument("--crash-notebooks", type=int, default=2, help="idle notebooks in each governor crash run")
    parser.add_argument("--events", type=int, default=1000, help="distinct events the duplicates phase must reach")
    parser.add_argument("--results", default=str(ROOT / "bench" / "results"),
                        help="directory for soak_<phase>.json (default: bench/results)")
    return parser.parse_args(argv)


RUNNERS = {"duplicates": phase_duplicates, "faults": phase_faults, "crashes": phase_crashes}


def run_phase(phase: str, args: argparse.Namespace, notices: Notices, notices_url: str, command: str) -> dict[str, Any]:
    """One phase on its own localcloud; its figures (or how it failed) as one JSON line on stdout and
    in ``<results>/soak_<phase>.json``, whatever happened."""
    figures: dict[str, Any] = {"phase": phase, "command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    started = time.monotonic()
    # the crash flows are the CI suite's, written for its fixture: the canary kick ticks once instead of
    # polling 90 s of wall clock for a canary that only turns Running when the harness moves the clock
    env = {"AUTOPILOT_KICK_WAIT_SECONDS": "0"} if phase == "crashes" else {}
    pipelines = 0 if phase == "crashes" else args.pipelines
    with tempfile.TemporaryDirectory() as tmp:
        cloud = start_cloud(pipelines, notices_url, Path(tmp), env)
        calls = rs.CallLog(cloud).install()
        try:
            figures.update(RUNNERS[phase](cloud, clients(cloud), calls, notices, args))
            figures["ok"] = not figures.get("failures")
        except AssertionError as exc:
            figures.update(ok=False, error=str(exc)[:4000])
        finally:
            figures["wall_seconds"] = round(time.monotonic() - started, 1)
            calls.uninstall()
            cloud.stop()
    Path(args.results).mkdir(parents=True, exist_ok=True)
    (Path(args.results) / f"soak_{phase}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures), flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = ".venv/bin/python bench/soak.py " + " ".join(sys.argv[1:] if argv is None else argv)
    notices = Notices()
    server = ThreadedServer(notices)
    server.start()
    try:
        results = [run_phase(phase, args, notices, server.url, command.strip()) for phase in args.phases]
    finally:
        server.stop()
    failed = [r["phase"] for r in results if not r["ok"]]
    print(json.dumps({"phases": [r["phase"] for r in results], "failed": failed,
                      "seconds": round(sum(r["wall_seconds"] for r in results), 1)}), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

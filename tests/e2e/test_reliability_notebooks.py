"""The reliability suite for ``dsw_governor`` (issue 14): idle notebooks under an enforcing policy, each
tick fired three times side by side, 20 % request faults, the worker killed after each side effect →
one culler, one warning and one stop per notebook.

The shipped policy is dry-run, so this module runs its own localcloud with the project's functions and
an enforcing ``notebooks:`` policy (idle 5 min, no grace: warned on one tick, stopped on the next).
"""

from __future__ import annotations

import collections
import time

import pytest
import yaml
from alibabacloud_pai_dsw20220101 import models

from localcloud.core.faults import Fault

from .conftest import BUCKET, ROOT
from .reliability_support import CallLog, CrashPoint, check_invariants, crash_points, fire_timer, ledger

GOVERNOR = "dsw_governor"
GPU_SPEC = "ecs.gn6i-c4g1.xlarge"
NOTEBOOKS = 3


@pytest.fixture(scope="module")
def nb_cloud(_notices, tmp_path_factory):
    from localcloud import LocalCloud

    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["notifications"] = [{"type": "webhook", "url_env": "AUTOPILOT_NOTIFY_URL"}]
    config["notebooks"].update(mode="enforce", idle_minutes=5, warn_minutes=0, quiet_hours=None)
    path = tmp_path_factory.mktemp("nb-config") / "autopilot.yaml"
    path.write_text(yaml.safe_dump(config))
    cloud = LocalCloud(project_dir=ROOT, retry_delay_scale=0.05, function_env={
        "AUTOPILOT_CONFIG": str(path), "AUTOPILOT_NOTIFY_URL": _notices[1], "AUTOPILOT_NOTIFY_PER_MINUTE": "10000"}).start()
    cloud.create_bucket(BUCKET)
    yield cloud
    cloud.stop()


def make_fleet(cloud, sdk, count: int = NOTEBOOKS) -> list[str]:
    """``count`` running GPU notebooks, idle (CPU and GPU 1 %) for the past hour and the next two."""
    cloud.clock.freeze(time.time())  # the functions' now is the wall clock; the samples are on this one
    ids = []
    for i in range(count):
        body = {"InstanceName": f"nb_{i}", "EcsSpec": GPU_SPEC, "ImageUrl": "img:1", "WorkspaceId": "12345"}
        ids.append(sdk.dsw.create_instance(models.CreateInstanceRequest().from_map(body)).body.instance_id)
    cloud.advance(10)
    dsw = cloud.services["dsw"]
    for iid in ids:
        for metric in ("CpuCoreUsage", "GpuCoreUsage"):
            dsw.seed_usage(iid, metric, value=1.0, duration=3 * 3600, step=60, start=cloud.clock.now() - 3600)
    return ids


@pytest.fixture
def fleet(nb_cloud, _notices):
    nb_cloud.reset()
    _notices[0].received.clear()
    calls = CallLog(nb_cloud).install()
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.settings import Settings

    env = nb_cloud.env(BUCKET)
    sdk = Clients(Settings.resolve(environ=env), Credentials.from_env(env))
    yield nb_cloud, sdk, calls, make_fleet(nb_cloud, sdk), _notices[0].received
    calls.uninstall()


def generic_points(points: list[CrashPoint], ids: list[str]) -> list[CrashPoint]:
    """Crash points that do not name an instance (localcloud gives a new fleet new ids): the path up to
    the instance id, the skip counted over that prefix, in the clean run's order."""
    seen: collections.Counter[tuple[str, str, str]] = collections.Counter()
    out = []
    for point in points:
        path = next((point.path.split(iid)[0] for iid in ids if iid in point.path), point.path)
        key = (point.service, point.operation, path)
        out.append(CrashPoint(point.service, point.operation, path, seen[key]))
        seen[key] += 1
    return out


def _status(sdk, instance_id: str, attempts: int = 8) -> str:
    """The notebook's status as the test reads it: retried through injected faults (the test's own
    reads are not under test; the governor's are)."""
    from Tea.exceptions import TeaException

    for attempt in range(attempts):
        try:
            return sdk.dsw.get_instance(instance_id, models.GetInstanceRequest()).body.status
        except TeaException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def govern(cloud, sdk, ids: list[str], *, copies: int = 1, max_ticks: int = 15) -> int:
    """Fire the governor's tick (``copies`` at once) every clock minute until every notebook is stopped;
    how many ticks it took. (A culler set just before a crash restarts the platform's idle count, so
    such a notebook is warned ``idle_minutes`` later: convergence, not one fixed number of ticks.)"""
    for tick in range(1, max_ticks + 1):
        fire_timer(cloud, GOVERNOR, copies=copies)
        cloud.advance(60)
        assert cloud.fc.wait_idle(120)
        statuses = [_status(sdk, i) for i in ids]
        if all(s in ("Stopping", "Stopped") for s in statuses):
            return tick
    return max_ticks


def check_notebooks(cloud, sdk, calls, ids, notices, *, after_faults: bool = False) -> None:
    """One culler, one warning and one stop per notebook, every one stopped; the shared invariants —
    also after a crash at any side effect (FC's retry, the same request, finishes its own stop claim
    and sends a notice its dead attempt owed: notebooks/delivery.py).

    ``after_faults``: ticks that failed all their FC attempts (dead letters) — no duplicate, but what a
    dead invocation claimed waits for its lease, in the functions' wall clock, which a test cannot
    advance: a ``stopping`` claim (STOP_LEASE_S) may still be pending, and a notice it was sending
    (NOTICE_LEASE_S) may not have gone out yet."""
    from pai_autopilot.notebooks.decide import STOP_LEASE_S

    check_invariants(cloud, sdk, calls, notices=notices, allow_dead=True)
    mine = [n for n in notices if n["event"].startswith("notebook_")]
    if after_faults:  # a notice resent (its outcome record lost to a fault) carries its first send's id: one notice
        mine = list({n.get("id") or id(n): n for n in mine}.values())
    sent = collections.Counter((n["event"], n["details"].get("instance_id") or n["details"].get("instance")) for n in mine)
    problems = []
    for iid in ids:
        records = ledger(sdk, f"notebooks/{iid}/").get(f"notebooks/{iid}", [])
        states = [r["state"] for r in records]
        body = sdk.dsw.get_instance(iid, models.GetInstanceRequest()).body
        counts = (states.count("warned"), states.count("stopped"), sent[("notebook_idle_warning", iid)],
                  sent[("notebook_stopped", iid)])
        stopped = body.status in ("Stopping", "Stopped") and body.idle_instance_culler is not None
        if after_faults:
            pending = states[-1:] == ["stopping"] and time.time() - records[-1]["at"] < STOP_LEASE_S
            ok = all(n <= 1 for n in counts) and states.count("warned") == 1 and (stopped or pending)
        else:
            ok = counts == (1, 1, 1, 1) and stopped
        if not ok:
            problems.append(f"{iid}: records {states}, {counts[2]} warning(s), {counts[3]} stop notice(s), "
                            f"{body.status}, culler {'set' if body.idle_instance_culler else 'missing'}")
    assert not problems, "; ".join(problems)


def test_every_tick_three_times_one_warning_one_stop_per_notebook(fleet):
    cloud, sdk, calls, ids, notices = fleet
    govern(cloud, sdk, ids, copies=3)  # warned, then stopped — each tick delivered three times at once
    fire_timer(cloud, GOVERNOR, copies=3)  # and a tick after: nothing left to do
    check_notebooks(cloud, sdk, calls, ids, notices)
    assert all(r["status"] == "succeeded" for r in cloud.fc.invocation_records("pai-autopilot-dsw-governor"))


def test_twenty_percent_faults_the_governor_converges(fleet):
    cloud, sdk, calls, ids, notices = fleet
    cloud.faults.add(Fault(service="*", operation="*", throttle_rate=0.10, error_rate=0.112, latency_ms=15, retry_after_ms=50))
    govern(cloud, sdk, ids, copies=2, max_ticks=4)  # a failed tick is retried by FC, and the next carries on
    hits = sum(f["hits"] for f in cloud.faults.list())
    cloud.faults.clear()
    govern(cloud, sdk, ids)
    # at most one notice each: a failed write after StopInstance makes the retry find it stopped and stay quiet
    check_notebooks(cloud, sdk, calls, ids, notices, after_faults=True)
    assert hits >= 3, hits


def test_a_crash_after_each_side_effect_one_warning_one_stop(fleet):
    cloud, sdk, calls, _ids, notices = fleet
    cloud.reset()  # one notebook: each of its side effects is a crash point (the soak runs a fleet)
    ids = make_fleet(cloud, sdk, count=1)
    calls.clear()
    govern(cloud, sdk, ids)  # a clean run (warn, stop): its side effects are the crash points
    points = generic_points(crash_points(c for c in calls.side_effects() if "/index/" not in c.path), ids)
    labels = [p.label for p in points]  # culler, warned record, stop claim, StopInstance, stopped record
    assert len(points) >= 5 and any(p.operation == "StopInstance" for p in points), labels
    failures = []
    for point in points:
        cloud.reset()
        notices.clear()
        fresh = make_fleet(cloud, sdk, count=len(ids))
        calls.clear()
        crashes = cloud.fc.crashes
        cloud.faults.add(point.fault())
        govern(cloud, sdk, fresh)
        try:
            assert cloud.fc.crashes == crashes + 1, "no crash happened"
            check_notebooks(cloud, sdk, calls, fresh, notices)
        except AssertionError as exc:
            failures.append(f"crash after {point.label}: {exc}")
    assert not failures, "\n".join(failures)


def test_a_crash_between_the_warned_record_and_its_notification_still_warns(fleet):
    cloud, sdk, calls, ids, notices = fleet
    cloud.faults.add(Fault(service="oss", operation="PutObject", path_contains="/.autopilot/notebooks/", crash=True, count=1))
    govern(cloud, sdk, ids)
    assert cloud.fc.crashes >= 1
    check_notebooks(cloud, sdk, calls, ids, notices)


def test_a_crash_between_the_stopped_record_and_its_notice_still_tells_the_owner(fleet):
    cloud, sdk, calls, ids, notices = fleet
    crashes = cloud.fc.crashes
    # the third ledger record of the first notebook stopped: warned (0), stopping (1), stopped (2)
    cloud.faults.add(Fault(service="oss", operation="PutObject", path_contains="/00000002.json", crash=True, count=1))
    govern(cloud, sdk, ids)
    assert cloud.fc.crashes == crashes + 1
    check_notebooks(cloud, sdk, calls, ids, notices)

"""Ticks duplicated and overlapping, a second idle episode, dry-run and warn modes, the FC handler's entry."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter

import pytest
from alibabacloud_pai_dsw20220101 import models

from pai_autopilot.errors import EventParseError
from pai_autopilot.notebooks.tick import governor_tick, on_governor_tick
from tests.conftest import load_event

from . import notebooks_support
from .notebooks_support import BUCKET, create, culler, runtime, seed, states, status

_notice_server, nb_cloud, notices = notebooks_support._notice_server, notebooks_support.nb_cloud, notebooks_support.notices  # the fixtures

POLICY = {"mode": "enforce", "idle_minutes": 60, "warn_minutes": 30}


def _idle_fleet(cloud, rt, count):
    ids = [create(rt, f"nb_{i}") for i in range(count)]
    cloud.advance(10)
    for iid in ids:
        seed(cloud, iid, cpu=1, gpu=1, minutes=400, step=300)
    return ids


def _overlapping_ticks(cloud, copies=3):
    """``copies`` ticks at once, each with its own runtime and request id (as separate FC invocations), then one more."""
    runtimes = [runtime(cloud, POLICY, request_id=f"tick-{uuid.uuid4().hex[:8]}") for _ in range(copies + 1)]
    barrier = threading.Barrier(copies)
    errors = []

    def run(rt):
        try:
            barrier.wait()
            governor_tick(rt)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(rt,)) for rt in runtimes[:copies]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    governor_tick(runtimes[-1])  # and a late duplicate


def test_duplicated_and_overlapping_ticks_warn_once_and_stop_once(nb_cloud, notices):
    cloud = nb_cloud
    rt = runtime(cloud, POLICY)
    ids = _idle_fleet(cloud, rt, 8)
    start = cloud.api_calls.mark()
    for _ in range(4):  # cullers, (idle 60 min) warnings, grace, stops
        _overlapping_ticks(cloud)
        cloud.advance(30 * 60 if _ else 60 * 60)
    _overlapping_ticks(cloud)
    warnings = Counter(n["details"]["instance"] for n in notices.of("notebook_idle_warning"))
    stops = Counter(n["details"]["instance"] for n in notices.of("notebook_stopped"))
    assert all(warnings[i] == 1 and stops[i] == 1 for i in ids), (warnings, stops)
    assert cloud.api_calls.count(start, product="dsw", action="StopInstance") == len(ids)
    for iid in ids:
        assert states(rt, iid) == ["warned", "stopping", "stopped"]
        assert status(rt, iid) == "Stopped"

    # the owner starts one again and leaves it idle: a new episode, warned once more
    again = ids[0]
    rt.clients.dsw.start_instance(again)
    cloud.advance(10)
    seed(cloud, again, cpu=1, gpu=1, minutes=200, step=300)
    for minutes in (0, 65):
        cloud.advance(minutes * 60)
        _overlapping_ticks(cloud)
    assert states(rt, again)[-2:] == ["restarted", "warned"]
    episodes = [r.data["episode"] for r in rt.ledger.history(f"notebooks/{again}") if r.state == "warned"]
    assert len(set(episodes)) == 2
    assert Counter(n["details"]["instance"] for n in notices.of("notebook_idle_warning"))[again] == 2


def test_dry_run_changes_nothing_and_says_what_it_would_do(nb_cloud, notices):
    cloud = nb_cloud
    rt = runtime(cloud, {**POLICY, "mode": "dry-run"})
    idle = create(rt, "idle_1")
    busy = create(rt, "busy_1")
    hand = create(rt, "hand_1")
    cloud.advance(10)
    seed(cloud, idle, cpu=1, gpu=1, minutes=200, step=300, start=cloud.clock.now() - 70 * 60)
    seed(cloud, busy, cpu=90, gpu=90, minutes=200, step=300)
    seed(cloud, hand, cpu=90, gpu=90, minutes=200, step=300)
    rt.clients.dsw.create_idle_instance_culler(hand, models.CreateIdleInstanceCullerRequest(
        cpu_percent_threshold=5, gpu_percent_threshold=5, max_idle_time_in_minutes=600))
    before = cloud.api_calls.mark()

    result = governor_tick(rt)

    actions = {(a["instance_id"], a["action"]) for a in result["actions"]}
    assert (idle, "would warn") in actions and (idle, "would culler create") in actions
    assert (hand, "would culler replace") in actions and (busy, "would culler create") in actions
    assert result["outcome"] == "planned"
    # nothing changed: no ledger object, no notification, no culler created, every instance running
    assert not list(rt.clients.bucket(BUCKET).list_objects_v2(prefix=".autopilot/").object_list)
    assert notices.received == []
    assert culler(rt, idle) is None and culler(rt, busy) is None and culler(rt, hand)["MaxIdleTimeInMinutes"] == 600
    assert {status(rt, i) for i in (idle, busy, hand)} == {"Running"}
    written = {k: v for k, v in cloud.api_calls.by_action(before).items()
               if k.split(":")[1] not in ("ListInstances", "GetInstanceMetrics", "GetObject", "ListObjects", "HeadObject", "GetInstance")}
    assert written == {}, written


def test_warn_mode_warns_once_but_never_stops_nor_touches_cullers(nb_cloud, notices):
    cloud = nb_cloud
    rt = runtime(cloud, {**POLICY, "mode": "warn"})
    (iid,) = _idle_fleet(cloud, rt, 1)
    for minutes in (65, 35, 30):
        cloud.advance(minutes * 60)
        result = governor_tick(rt)
    assert sorted(a["action"] for a in result["actions"]) == ["would culler create", "would stop"]
    assert len(notices.of("notebook_idle_warning")) == 1 and notices.of("notebook_stopped") == []
    assert status(rt, iid) == "Running" and culler(rt, iid) is None
    assert states(rt, iid) == ["warned"]


def test_the_timer_entry_runs_a_tick_and_rejects_what_is_not_a_timer(nb_cloud, tmp_path):
    from pai_autopilot.settings import Settings

    from .notebooks_support import BASE_CONFIG

    config = tmp_path / "autopilot.yaml"
    config.write_text(json.dumps({**BASE_CONFIG, "notebooks": POLICY}))
    env = {**nb_cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(config)}
    settings = Settings.resolve(environ=env)
    rt = runtime(nb_cloud, POLICY)
    event = load_event("timerDswGovernor.json")
    assert json.loads(event)["triggerName"] == "every-5-minutes"

    result = on_governor_tick(event, None, settings=settings, credentials=rt.credentials)

    assert result["outcome"] == "noop" and result["running"] == 0 and result["mode"] == "enforce"
    with pytest.raises(EventParseError):
        on_governor_tick(load_event("ossObjectCreated.json"), None, settings=settings, credentials=rt.credentials)
    bad = {"triggerTime": "2027-01-15T08:00:00Z", "triggerName": "t", "payload": json.dumps({"mode": "yolo"})}
    with pytest.raises(EventParseError, match="mode must be"):
        on_governor_tick(json.dumps(bad).encode(), None, settings=settings, credentials=rt.credentials)


def test_a_failed_stop_is_retried_by_a_later_tick_and_saves_the_image_when_labelled(nb_cloud, notices):
    from localcloud.core.faults import Fault
    from pai_autopilot.errors import TransientError

    cloud = nb_cloud
    rt = runtime(cloud, POLICY)
    iid = create(rt, "nb_save", labels={"autopilot-save-image": "true"})
    cloud.advance(10)
    seed(cloud, iid, cpu=1, gpu=1, minutes=400, step=300, start=cloud.clock.now() - 65 * 60)
    governor_tick(rt)  # warned
    cloud.advance(30 * 60)
    cloud.faults.add(Fault(service="dsw", operation="StopInstance", status=500, count=3))  # every SDK attempt
    with pytest.raises(TransientError, match="1 notebook step"):  # FC retries the invocation …
        governor_tick(rt)
    assert status(rt, iid) == "Running" and states(rt, iid) == ["warned", "stopping"]
    other = runtime(cloud, POLICY, request_id="another-tick")
    assert governor_tick(other)["counts"] == {"wait": 1}  # another invocation leaves the claimed stop to its owner
    # … and FC's retry (the same request id) takes its own claim over at once, saving the image first
    assert governor_tick(rt)["counts"] == {"stop": 1}
    assert states(rt, iid) == ["warned", "stopping", "stopped"]
    described = rt.clients.dsw.get_instance(iid, models.GetInstanceRequest()).body
    assert described.status in ("Stopping", "Saving") and described.latest_snapshot is not None
    assert [n["details"]["image saved"] for n in notices.of("notebook_stopped")] == ["yes"]


def test_a_stop_claimed_by_a_tick_that_died_is_taken_over_after_the_lease(nb_cloud, notices):
    from localcloud.core.faults import Fault
    from pai_autopilot.errors import TransientError
    from pai_autopilot.notebooks.decide import GOVERNOR_TIMEOUT_S, STOP_LEASE_S

    cloud = nb_cloud
    rt = runtime(cloud, POLICY, request_id="dead-tick")
    iid = create(rt, "nb_lease")
    cloud.advance(10)
    seed(cloud, iid, cpu=1, gpu=1, minutes=400, step=300, start=cloud.clock.now() - 65 * 60)
    governor_tick(rt)  # warned
    cloud.advance(30 * 60)
    cloud.faults.add(Fault(service="dsw", operation="StopInstance", status=500, count=3))
    with pytest.raises(TransientError):  # its FC retries never come (say they all failed)
        governor_tick(rt)
    cloud.advance(GOVERNOR_TIMEOUT_S)  # past the claimant's FC timeout, inside the lease's margin: still its own
    later = runtime(cloud, POLICY, request_id="later-tick")
    assert governor_tick(later)["counts"] == {"wait": 1}
    cloud.advance(STOP_LEASE_S - GOVERNOR_TIMEOUT_S)  # the lease is over: the next tick stops it
    assert governor_tick(later)["counts"] == {"stop": 1}
    assert states(rt, iid) == ["warned", "stopping", "stopped"] and status(rt, iid) == "Stopping"
    assert len(notices.of("notebook_stopped")) == 1


def test_scope_by_workspace_and_labels_and_the_platform_culls_when_the_governor_is_down(nb_cloud):
    cloud = nb_cloud
    rt = runtime(cloud, {**POLICY, "scope": {"labels": {"team": "cv"}}})
    mine = create(rt, "cv_nb", labels={"team": "cv", "owner": "alice"})
    other_team = create(rt, "nlp_nb", labels={"team": "nlp"})
    body = {"InstanceName": "elsewhere", "EcsSpec": "ecs.g7.xlarge", "ImageUrl": "img:1", "WorkspaceId": "ws-2",
            "Labels": [{"Key": "team", "Value": "cv"}]}
    other_workspace = rt.clients.dsw.create_instance(models.CreateInstanceRequest().from_map(body)).body.instance_id
    cloud.advance(10)
    for iid in (mine, other_team, other_workspace):
        seed(cloud, iid, cpu=1, gpu=1, minutes=300, step=300)

    result = governor_tick(rt)

    assert result["running"] == 1 and {a["instance_id"] for a in result["actions"]} == {mine}
    assert culler(rt, other_team) is None and culler(rt, other_workspace) is None
    # the governor goes down: the policy's culler (60 + 30 + 15 min) still stops the idle instance
    cloud.advance(106 * 60)
    described = rt.clients.dsw.get_instance(mine, models.GetInstanceRequest()).body
    assert described.status in ("Stopping", "Stopped") and described.reason_code == "IdleInstanceCuller"
    assert status(rt, other_team) == "Running"

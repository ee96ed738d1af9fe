"""The notebook governor's pure parts: policy reading, idle measurement, decisions, links, report math."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl, urlsplit

import msgspec
import pytest

from pai_autopilot.config import parse_config
from pai_autopilot.config.models import Notebooks, QuietHours
from pai_autopilot.errors import InvalidInputError
from pai_autopilot.ledger import Ledger, MemoryStore
from pai_autopilot.notebooks import state
from pai_autopilot.notebooks.decide import decide, decide_culler, decide_unlisted, qualifies
from pai_autopilot.notebooks.links import snooze_url, verify_snooze_query
from pai_autopilot.notebooks.policy import in_quiet_hours, keep_alive, wanted_culler, wants_save_image
from pai_autopilot.notebooks.report import _stop_rows, weekends_covered
from pai_autopilot.notebooks.views import InstanceView, idle_streak_minutes

FRIDAY_8 = 1_800_000_000.0  # 2027-01-15 08:00 UTC (16:00 in Shanghai)
POLICY = Notebooks(mode="enforce", idle_minutes=60, warn_minutes=30)


def inst(idle=None, labels=None, culler=None, gpu=True):
    return InstanceView("dsw-1", "nb", "Running", "ecs.gn7i-c8g1.2xlarge", gpu, 1, "alice", labels or {}, culler, idle, None)


def st(kind="none", **kw):
    return state.NotebookState(kind=kind, **kw)


# -- policy ------------------------------------------------------------------------------------------
def test_quiet_hours_follow_the_cron_in_the_time_zone_and_weekends():
    quiet = QuietHours(cron="* 0-7,20-23 * * *", timezone="Asia/Shanghai", weekends=False)
    assert not in_quiet_hours(quiet, FRIDAY_8)  # 16:00 in Shanghai
    assert in_quiet_hours(quiet, FRIDAY_8 + 4 * 3600)  # 20:00 in Shanghai (12:00 UTC)
    assert not in_quiet_hours(quiet, FRIDAY_8 + 4 * 3600 - 60)  # 19:59
    assert in_quiet_hours(quiet, FRIDAY_8 - 9 * 3600)  # 07:00 in Shanghai
    saturday_noon_shanghai = FRIDAY_8 + 20 * 3600
    assert not in_quiet_hours(quiet, saturday_noon_shanghai)
    assert in_quiet_hours(msgspec.structs.replace(quiet, weekends=True), saturday_noon_shanghai)
    # Friday 16:30 UTC is already Saturday 00:30 in Shanghai
    assert in_quiet_hours(QuietHours(timezone="Asia/Shanghai", weekends=True), FRIDAY_8 + 8.5 * 3600)
    assert not in_quiet_hours(QuietHours(timezone="UTC", weekends=True), FRIDAY_8 + 8.5 * 3600)
    assert not in_quiet_hours(None, FRIDAY_8)


def test_keep_alive_lasts_through_its_date_then_expires():
    labels = {"autopilot-keep-alive": "2027-01-15"}
    assert keep_alive(labels, POLICY, now=FRIDAY_8)[0]
    assert keep_alive(labels, POLICY, now=FRIDAY_8 + 16 * 3600 - 1)[0]  # 23:59:59 UTC
    assert keep_alive(labels, POLICY, now=FRIDAY_8 + 16 * 3600) == (False, "label autopilot-keep-alive=2027-01-15 expired")
    assert not keep_alive({"autopilot-keep-alive": "forever"}, POLICY, now=FRIDAY_8)[0]
    assert "not a date" in keep_alive({"autopilot-keep-alive": "forever"}, POLICY, now=FRIDAY_8)[1]
    # the date is read in the quiet-hours time zone: Shanghai is already on the 16th
    shanghai = msgspec.structs.replace(POLICY, quiet_hours=QuietHours(timezone="Asia/Shanghai"))
    assert not keep_alive(labels, shanghai, now=FRIDAY_8 + 8.5 * 3600)[0]


def test_save_image_by_policy_or_label():
    on = msgspec.structs.replace(POLICY, save_image=True)
    assert wants_save_image({}, on) and not wants_save_image({"autopilot-save-image": "false"}, on)
    assert wants_save_image({"autopilot-save-image": "true"}, POLICY) and not wants_save_image({}, POLICY)


def test_policy_validation_names_the_problem():
    base = {"version": 1, "storage": {"bucket": "demo-bucket"}, "workspace": {"id": "ws"}, "pipelines": {}}
    cfg = parse_config(json.dumps({**base, "notebooks": {"mode": "warn"}}))
    assert cfg.notebooks.mode == "warn" and wanted_culler(cfg.notebooks)["MaxIdleTimeInMinutes"] == 105
    for bad, needle in [({"mode": "kill"}, "mode"), ({"cpu_percent": 0}, "cpu_percent"),
                        ({"quiet_hours": {"cron": "* 25 * * *", "timezone": "UTC"}}, "cron"),
                        ({"quiet_hours": {"timezone": "Mars/Olympus"}}, "time zone")]:
        with pytest.raises(InvalidInputError, match=needle):
            parse_config(json.dumps({**base, "notebooks": bad}))


# -- measuring ---------------------------------------------------------------------------------------
def test_gpu_busy_with_cpu_idle_is_busy():
    cpu = [(t, 1.0) for t in range(0, 3601, 60)]
    assert idle_streak_minutes(cpu, [(t, 95.0) for t in range(0, 3601, 60)], cpu_percent=20, gpu_percent=10,
                               gpu=True, now=3600) == 0
    assert idle_streak_minutes(cpu, [(t, 2.0) for t in range(0, 3601, 60)], cpu_percent=20, gpu_percent=10,
                               gpu=True, now=3600) == 60
    assert idle_streak_minutes(cpu, [], cpu_percent=20, gpu_percent=10, gpu=False, now=3600) == 60
    assert idle_streak_minutes(cpu, [], cpu_percent=20, gpu_percent=10, gpu=True, now=3600) is None  # no GPU data
    assert idle_streak_minutes([], [], cpu_percent=20, gpu_percent=10, gpu=False, now=3600) is None
    # a busy sample ends the streak
    mixed = [(0, 1.0), (600, 50.0), (1200, 1.0)]
    assert idle_streak_minutes(mixed, [], cpu_percent=20, gpu_percent=10, gpu=False, now=3600) == 40


def test_idle_time_is_trusted_only_from_a_culler_with_the_policy_thresholds():
    item = {"InstanceId": "dsw-1", "Status": "Running",
            "IdleInstanceCuller": {"CpuPercentThreshold": 20, "GpuPercentThreshold": 10, "MaxIdleTimeInMinutes": 600,
                                   "IdleTimeInMinutes": 70}}
    assert InstanceView.from_item(item, cpu_percent=20, gpu_percent=10).idle_minutes == 70
    assert InstanceView.from_item(item, cpu_percent=20, gpu_percent=5).idle_minutes is None


# -- deciding ----------------------------------------------------------------------------------------
def test_the_decision_order():
    now = FRIDAY_8
    assert decide(inst(idle=None), st(), POLICY, now=now).action == "none"  # unknown counts as busy
    assert decide(inst(idle=59), st(), POLICY, now=now).action == "none"
    warn = decide(inst(idle=60), st(), POLICY, now=now)
    assert warn.action == "warn" and warn.stop_at == now + 1800
    warned = st("warned", at=now, stop_at=now + 1800)
    assert decide(inst(idle=80), warned, POLICY, now=now + 1200).action == "wait"
    assert decide(inst(idle=90), warned, POLICY, now=now + 1800).action == "stop"
    assert decide(inst(idle=3), warned, POLICY, now=now + 1800).action == "clear"  # busy again
    exempt = inst(idle=500, labels={"autopilot-keep-alive": "2027-01-20"})
    assert decide(exempt, st(), POLICY, now=now).action == "none"
    assert decide(exempt, warned, POLICY, now=now).action == "clear"
    expired = decide(inst(idle=500, labels={"autopilot-keep-alive": "2027-01-14"}), st(), POLICY, now=now)
    assert expired.action == "warn" and expired.reason.endswith("label autopilot-keep-alive=2027-01-14 expired")
    snoozed = st("snoozed", at=now, snoozed_until=now + 3600)
    assert decide(inst(idle=500), snoozed, POLICY, now=now + 3599).action == "none"
    assert decide(inst(idle=500), snoozed, POLICY, now=now + 3600).action == "warn"  # the snooze ended
    stopped = st("stopped", at=now)
    assert decide(inst(idle=0), stopped, POLICY, now=now + 30).action == "wait"  # a listing older than the stop
    assert decide(inst(idle=0), stopped, POLICY, now=now + 600).action == "restarted"
    stopping = st("stopping", at=now)
    assert decide(inst(idle=90), stopping, POLICY, now=now + 10).action == "wait"
    assert decide(inst(idle=90), stopping, POLICY, now=now + 600).action == "stop"


def test_quiet_hours_shorten_the_idle_limit_but_spare_busy_instances():
    quiet = msgspec.structs.replace(POLICY, quiet_hours=QuietHours(timezone="UTC", weekends=True, idle_minutes=15))
    saturday = FRIDAY_8 + 86400
    assert qualifies(inst(idle=15), quiet, saturday) == (True, "inside quiet hours and idle 15 min >= 15 min")
    assert not qualifies(inst(idle=14), quiet, saturday)[0]
    assert not qualifies(inst(idle=15), quiet, FRIDAY_8)[0]  # a weekday morning: the normal limit
    stop_busy = msgspec.structs.replace(quiet, quiet_hours=msgspec.structs.replace(quiet.quiet_hours, stop_busy=True))
    assert qualifies(inst(idle=0), stop_busy, saturday)[0]


def test_unlisted_instances_are_closed_or_forgotten():
    now = FRIDAY_8
    assert decide_unlisted(st("stopping", at=now), POLICY, now=now).action == "close"
    assert decide_unlisted(st("warned", at=now), POLICY, now=now).action == "close"
    assert decide_unlisted(st("stopped", at=now), POLICY, now=now + 3600).action == "none"
    assert decide_unlisted(st("stopped", at=now), POLICY, now=now + 73 * 3600).action == "forget"
    assert decide_unlisted(st("snoozed", snoozed_until=now + 10), POLICY, now=now).action == "none"
    assert decide_unlisted(st("snoozed", snoozed_until=now - 10), POLICY, now=now).action == "forget"


def test_culler_decisions():
    wanted = wanted_culler(POLICY)
    assert decide_culler(inst(), exempt=False, snoozed=False, policy=POLICY).action == "create"
    assert decide_culler(inst(culler=wanted), exempt=False, snoozed=False, policy=POLICY).action == "keep"
    by_hand = {**wanted, "MaxIdleTimeInMinutes": 600}
    verdict = decide_culler(inst(culler=by_hand), exempt=False, snoozed=False, policy=POLICY)
    assert verdict.action == "replace" and verdict.wanted == wanted and "600 min" in verdict.reason
    assert decide_culler(inst(culler=wanted), exempt=True, snoozed=False, policy=POLICY).action == "delete"
    assert decide_culler(inst(culler=by_hand), exempt=True, snoozed=False, policy=POLICY).action == "keep"
    assert decide_culler(inst(culler=wanted), exempt=False, snoozed=True, policy=POLICY).action == "delete"
    off = msgspec.structs.replace(POLICY, native_culler=msgspec.structs.replace(POLICY.native_culler, enabled=False))
    assert decide_culler(inst(), exempt=False, snoozed=False, policy=off).action == "skip"


# -- links -------------------------------------------------------------------------------------------
def test_snooze_links_verify_and_refuse_tampering():
    url = snooze_url("https://hook.example/base/", "dsw-1", 4, secret="k" * 20, key_id="k1", expires_at=5000)
    parts = urlsplit(url)
    assert parts.path == "/base/v1/notebooks/dsw-1/snooze"
    query = dict(parse_qsl(parts.query))
    assert set(query) == {"hours", "exp", "kid", "sig"} and len(query["sig"]) == 64
    assert verify_snooze_query("dsw-1", query, secret="k" * 20, now=4999) == 4.0
    for changed in ({"hours": "400"}, {"exp": "9999"}, {"kid": "k2"}, {"sig": "0" * 64}):
        with pytest.raises(InvalidInputError, match="signature does not match") as excinfo:
            verify_snooze_query("dsw-1", {**query, **changed}, secret="k" * 20, now=4000)
        assert "k" * 20 not in str(excinfo.value) and query["sig"] not in str(excinfo.value)
    with pytest.raises(InvalidInputError, match="signature"):
        verify_snooze_query("dsw-1", query, secret="other-secret-000", now=4000)
    with pytest.raises(InvalidInputError, match="expired"):
        verify_snooze_query("dsw-1", query, secret="k" * 20, now=5001)
    with pytest.raises(InvalidInputError, match="lacks sig"):
        verify_snooze_query("dsw-1", {k: v for k, v in query.items() if k != "sig"}, secret="k" * 20, now=4000)


# -- state and report --------------------------------------------------------------------------------
def test_the_index_key_follows_the_state():
    clock = [FRIDAY_8]
    ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: clock[0])
    warned = state.write(ledger, "dsw-1", "warned", {}, head=None)
    clock[0] += 1800
    stopped = state.write(ledger, "dsw-1", "stopped", {}, head=state.write(ledger, "dsw-1", "stopping", {}, head=warned))
    assert {k: (e.state, e.at) for k, e in state.open_instances(ledger).items()} == {"dsw-1": ("stopped", clock[0])}
    state.write(ledger, "dsw-1", "restarted", {}, head=stopped)
    assert state.open_instances(ledger) == {}


def test_avoided_time_ends_at_the_restart_and_is_capped():
    policy = msgspec.structs.replace(POLICY, max_avoided_hours=10)
    stop = {"instance_id": "dsw-1", "state": "stopped", "at": 0.0, "seq": 2,
            "data": {"stopped_at": 0.0, "ecs_spec": "ecs.gn7e-c12g1.3xlarge", "gpus": 1, "owner": "alice"}}
    restart = {"instance_id": "dsw-1", "state": "restarted", "at": 7200.0, "seq": 3, "data": {}}
    (row,) = _stop_rows([stop, restart], policy, start=0.0, now=50_000.0)
    assert (row["hours"], row["gpu_hours"], row["cost"]) == (2.0, 2.0, 64.0)
    (row,) = _stop_rows([stop], policy, start=0.0, now=50_000.0)
    assert row["hours"] == 10.0 and row["cost"] == 320.0
    unpriced = {**stop, "data": {**stop["data"], "ecs_spec": "ecs.unknown", "gpus": 2}}
    (row,) = _stop_rows([unpriced], policy, start=0.0, now=3600.0)
    assert row["cost"] is None and row["gpu_hours"] == 2.0


def test_weekends_in_a_time_zone():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    sat = dt.datetime(2027, 1, 16, tzinfo=shanghai).timestamp()
    assert weekends_covered(sat, sat + 2 * 86400, shanghai) == ["2027-01-16"]
    assert weekends_covered(sat + 1, sat + 2 * 86400, shanghai) == []
    assert weekends_covered(sat - 86400, sat + 9 * 86400, shanghai) == ["2027-01-16", "2027-01-23"]


def test_the_governor_timer_sample_event():
    from pai_autopilot.events import TimerEvent, parse_event
    from tests.conftest import load_event

    event = parse_event(load_event("timerDswGovernor.json"))
    assert isinstance(event, TimerEvent)
    assert event.trigger_time == "2027-01-15T08:00:00Z" and event.trigger_datetime.timestamp() == FRIDAY_8
    assert event.trigger_name == "every-5-minutes"
    assert event.payload_json() == {"task": "dsw_governor"}

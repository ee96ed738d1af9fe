"""The governor end to end on localcloud: 200 instances with seeded usage timelines, real DSW client,
ledger in OSS, notifications to a receiver, ticks on localcloud's clock.

The fleet (times UTC, Friday; quiet hours 22:00-24:00, quiet idle limit 15 min):

============== ===== ======================================================= ==========================
group          count usage from 20:30                                         expected by 23:30
============== ===== ======================================================= ==========================
busy           100   CPU 80 % GPU 80 % (half of them CPU-only instances)     never warned nor stopped
idle           30    CPU 1 % GPU 1 %                                         warned once, stopped 30 min later
gpu_busy       20    CPU 1 % GPU 90 %                                        never (GPU busy is busy)
exempt         15    idle, keep-alive label next week                        never, no culler
expired        10    idle, keep-alive label yesterday                        warned, stopped
snoozed        10    idle, snoozed 2 h at 21:00                              nothing before 23:00, then warned
quiet          10    busy until 22:00, then idle                             warned 22:20, stopped 22:50
hand_culler    5     busy; culler changed by hand at 21:10                   repaired on the next tick
============== ===== ======================================================= ==========================
"""

from __future__ import annotations

from collections import Counter

from alibabacloud_pai_dsw20220101 import models

from pai_autopilot.notebooks.policy import wanted_culler
from pai_autopilot.notebooks.snooze import snooze_instance
from pai_autopilot.notebooks.tick import governor_tick

from . import notebooks_support
from .notebooks_support import CPU_SPEC, T0, create, runtime, seed, states

_notice_server, nb_cloud, notices = notebooks_support._notice_server, notebooks_support.nb_cloud, notebooks_support.notices  # the fixtures

START = T0 + 12.5 * 3600  # Friday 20:30 UTC
POLICY = {
    "mode": "enforce", "idle_minutes": 60, "warn_minutes": 30, "cpu_percent": 20, "gpu_percent": 10,
    "quiet_hours": {"cron": "* 22-23 * * *", "timezone": "UTC", "weekends": False, "idle_minutes": 15},
    "native_culler": {"enabled": True, "margin_minutes": 15},
}
GROUPS = {"busy": 100, "idle": 30, "gpu_busy": 20, "exempt": 15, "expired": 10, "snoozed": 10, "quiet": 10,
          "hand_culler": 5}


def _fleet(cloud, rt):
    ids: dict[str, list[str]] = {}
    for group, count in GROUPS.items():
        labels = {"exempt": {"autopilot-keep-alive": "2027-01-22"}, "expired": {"autopilot-keep-alive": "2027-01-14"}}
        ids[group] = [create(rt, f"{group}_{i}", labels=labels.get(group),
                             spec=CPU_SPEC if group == "busy" and i % 2 else "ecs.gn7e-c12g1.3xlarge")
                      for i in range(count)]
    cloud.advance(10)
    minutes, step = 200, 300  # a sample every 5 minutes keeps localcloud's culler scans cheap
    for group, members in ids.items():
        for iid in members:
            if group in ("busy", "hand_culler"):
                seed(cloud, iid, cpu=80, gpu=80, minutes=minutes, step=step)
            elif group == "gpu_busy":
                seed(cloud, iid, cpu=1, gpu=90, minutes=minutes, step=step)
            elif group == "quiet":
                seed(cloud, iid, cpu=80, gpu=80, minutes=85, step=step)  # 20:30 … 21:55 busy
                seed(cloud, iid, cpu=1, gpu=1, minutes=minutes - 90, start=cloud.clock.now() + 90 * 60, step=step)
            else:
                seed(cloud, iid, cpu=1, gpu=1, minutes=minutes, step=step)
    return ids


def test_two_hundred_instances_through_an_evening(nb_cloud, notices):
    cloud = nb_cloud
    cloud.clock.freeze(START - 10)
    rt = runtime(cloud, POLICY)
    ids = _fleet(cloud, rt)
    dsw = rt.clients.dsw
    wanted = wanted_culler(rt.config.notebooks)
    timeline: dict[str, list[tuple[float, str]]] = {}
    stopped_at: dict[str, float] = {}
    first_warned: dict[str, float] = {}

    for step in range(19):  # 20:30 … 23:30, every 10 minutes
        now = cloud.clock.now()
        if step == 3:  # 21:00: snooze 2 h
            for iid in ids["snoozed"]:
                assert snooze_instance(rt, iid, 2, actor="test")["outcome"] == "applied"
        if step == 4:  # 21:10: someone edits a culler by hand
            for iid in ids["hand_culler"]:
                dsw.create_idle_instance_culler(iid, models.CreateIdleInstanceCullerRequest(
                    cpu_percent_threshold=5, gpu_percent_threshold=5, max_idle_time_in_minutes=600))
        result = governor_tick(rt)
        for entry in result["actions"]:
            timeline.setdefault(entry["instance_id"], []).append((now, entry["action"]))
            if entry["action"] == "warn":
                first_warned.setdefault(entry["instance_id"], now)
            if entry["action"] == "stop":
                stopped_at[entry["instance_id"]] = now
        cloud.advance(600)

    def actions(iid):
        return [a for _, a in timeline.get(iid, [])]

    described = {i["InstanceId"]: i for i in cloud.services["dsw"].state()["instances"]}  # one read of the truth

    def status(_rt, iid):
        return described[iid]["Status"]

    def culler(_rt, iid):
        c = described[iid]["IdleInstanceCuller"]
        return {k: c[k] for k in ("CpuPercentThreshold", "GpuPercentThreshold", "MaxIdleTimeInMinutes")} if c else None

    warnings = Counter(n["details"]["instance"] for n in notices.of("notebook_idle_warning"))
    stops = Counter(n["details"]["instance"] for n in notices.of("notebook_stopped"))
    # busy and GPU-busy: never warned, never stopped, culler in place
    for iid in ids["busy"] + ids["gpu_busy"]:
        assert status(rt, iid) == "Running" and warnings[iid] == 0 and actions(iid) == ["culler create"], (iid, actions(iid))
        assert culler(rt, iid) == wanted
    # idle and expired exemption: one warning, stopped 30 min after it, recorded once
    for iid in ids["idle"] + ids["expired"]:
        assert warnings[iid] == 1 and stops[iid] == 1, (iid, actions(iid))
        assert stopped_at[iid] - first_warned[iid] == 30 * 60
        assert status(rt, iid) in ("Stopping", "Stopped")
        assert states(rt, iid) == ["warned", "stopping", "stopped"]
    # exempt: never, and no culler that would stop it
    for iid in ids["exempt"]:
        assert status(rt, iid) == "Running" and warnings[iid] == 0 and culler(rt, iid) is None
    # snoozed: nothing until the snooze ends at 23:00, then warned (stop due 23:30)
    for iid in ids["snoozed"]:
        assert first_warned[iid] >= START + 2.5 * 3600, actions(iid)
        assert warnings[iid] == 1
    # quiet hours: idle from 22:00, warned at 22:20 (15 min quiet limit), stopped at 22:50 — before the
    # 60-min limit would even have warned
    for iid in ids["quiet"]:
        assert first_warned[iid] == START + 110 * 60 and stopped_at[iid] == START + 140 * 60, actions(iid)
    # hand-changed cullers: repaired once, never warned
    for iid in ids["hand_culler"]:
        assert actions(iid).count("culler replace") == 1 and warnings[iid] == 0
        assert culler(rt, iid) == wanted

"""The rollout controller as deployed: the canary function on its timer and kicked through FC 3.0
InvokeFunction, the alarm function fed by a CloudMonitor alarm rule through the default bus."""

from __future__ import annotations

import json
import time

import pytest
import requests
import yaml
from alibabacloud_eas20210701 import models

from .conftest import BUCKET, ROOT

FUNCTIONS = "pai-autopilot-canary,pai-autopilot-alarm"
START = 1_900_000_020.0


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    from localcloud import LocalCloud

    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["pipelines"]["demo"]["rollout"].update(min_requests=20, threshold=5)
    path = tmp_path_factory.mktemp("rollout-config") / "autopilot.yaml"
    path.write_text(yaml.safe_dump(config))
    cloud = LocalCloud(project_dir=ROOT, retry_delay_scale=0.05, tick_interval=3600,
                       function_env={"AUTOPILOT_CONFIG": str(path), "LOCALCLOUD_FOLLOW_CLOCK": FUNCTIONS}).start()
    cloud.create_bucket(BUCKET)
    cloud.config_path = str(path)
    yield cloud
    cloud.stop()


@pytest.fixture
def env(cloud):
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.config import load_config
    from pai_autopilot.runtime import Runtime
    from pai_autopilot.settings import Settings

    cloud.reset()
    cloud.clock.freeze(START)
    cloud.fc.restart_timers()
    shell = {**cloud.env(BUCKET), "AUTOPILOT_CANARY_FUNCTION": "pai-autopilot-canary"}
    settings = Settings.resolve(environ=shell)
    rt = Runtime(settings, load_config(cloud.config_path), Credentials.from_env(shell), now=cloud.clock.now)
    rt.__dict__["clients"] = Clients(settings, Credentials.from_env(shell))
    requests.put(f"{cloud.url}/_localcloud/eas/gateway", json={"seed": 3}, timeout=5)
    return rt


def serve(cloud, rt, version: str, canary_profile: dict, *, canary_startup: float = 0) -> str:
    """Stable v1 at 100, the canary at 0 in group demo, the rollout opened (what model_landed leaves)."""
    from pai_autopilot.rollout.state import RolloutSpec, open_rollout, rollout_id
    from pai_autopilot.serving.stable import record_stable

    eas = rt.clients.eas
    for name, profile in (("demo_model", {"latency_ms": 1, "sleep_scale": 0}), (f"demo_model_{version}", canary_profile)):
        body = {"metadata": {"name": name, "instance": 1, "group": "demo"}, "containers": [{"image": "i", "port": 8000}],
                "localcloud": {"startup_seconds": 0, **profile}}
        eas.create_service(models.CreateServiceRequest(body=json.dumps(body)))
    cloud.advance(3)  # the stable is Running (a canary with startup_seconds is not yet)
    eas.release_service(cloud.region, "demo_model", models.ReleaseServiceRequest(weight=100, traffic_state="grouping"))
    eas.release_service(cloud.region, f"demo_model_{version}", models.ReleaseServiceRequest(weight=0, traffic_state="grouping"))
    record_stable(rt.ledger, "demo", version="v1", service="demo_model", reason="first version")
    spec = RolloutSpec(pipeline="demo", version=version, group="demo", canary_service=f"demo_model_{version}",
                       stable_service="demo_model", stable_version="v1")
    open_rollout(rt.ledger, spec)
    return rollout_id("demo", version)


def head(rt, rid):
    from pai_autopilot.rollout.state import read_head

    return read_head(rt.ledger, "demo", rid)


def traffic(cloud, n: int) -> None:
    with requests.Session() as s:
        for _ in range(n):
            s.post(f"{cloud.url}/api/predict/demo", data=b"{}", timeout=5)


def test_the_kick_takes_the_first_step_within_seconds_and_the_timer_the_next(cloud, env):
    from pai_autopilot.rollout.handlers import kick

    rid = serve(cloud, env, "v2", {"latency_ms": 1, "sleep_scale": 0})
    started = time.monotonic()
    kick(env, "demo", rid)
    kick(env, "demo", rid)  # a repeated kick (same task id) is one invocation
    assert cloud.fc.wait_idle(60)
    took = time.monotonic() - started
    assert head(env, rid).data["canary_weight"] == 10 and took < 15, took
    kicks = [r for r in cloud.fc.invocation_records("pai-autopilot-canary") if r["source"] == "api:InvokeFunction"]
    assert len(kicks) == 1 and kicks[0]["status"] == "succeeded"
    # then the every-minute timer: traffic, one interval, the next step
    traffic(cloud, 400)
    cloud.advance(60)
    assert cloud.fc.wait_idle(60)
    assert head(env, rid).data["canary_weight"] == 25


def test_a_cloudmonitor_alarm_during_the_canary_rolls_it_back_through_the_alarm_function(cloud, env):
    from pai_autopilot.rollout.alarm_rules import apply_rule, wanted_rules
    from pai_autopilot.rollout.handlers import kick

    for rule in wanted_rules(env.config, webhook=None):  # what `wire` creates
        apply_rule(env.clients.cms, rule)
    rid = serve(cloud, env, "v5", {"latency_ms": 1, "sleep_scale": 0, "error_rate": 0.9})
    kick(env, "demo", rid)
    assert cloud.fc.wait_idle(60) and head(env, rid).data["canary_weight"] == 10
    for _ in range(3):
        traffic(cloud, 300)
        cloud.advance(60)
        assert cloud.fc.wait_idle(60)
        if head(env, rid).state == "rolled_back":
            break
    final = head(env, rid)
    assert final.state == "rolled_back" and final.by == "alarm:pai-autopilot-demo-5xx", (final.state, final.by)
    assert "CloudMonitor alarm" in final.data["reason"]
    alarm_runs = cloud.fc.invocation_records("pai-autopilot-alarm")
    assert alarm_runs and all(r["status"] == "succeeded" for r in alarm_runs)
    weights = {s.service_name: s.weight for s in env.clients.eas.list_services(models.ListServicesRequest(group_name="demo")).body.services}
    assert weights == {"demo_model": 100, "demo_model_v5": 0}


def test_a_kick_that_lands_before_the_canary_is_ready_takes_the_first_step_once_it_is(cloud, env):
    from pai_autopilot.rollout.handlers import kick

    rid = serve(cloud, env, "v9", {"latency_ms": 1, "sleep_scale": 0, "startup_seconds": 8})
    assert head(env, rid).state == "initializing"
    kick(env, "demo", rid)
    deadline = time.monotonic() + 20
    while not cloud.fc.invocation_records("pai-autopilot-canary") and time.monotonic() < deadline:
        time.sleep(0.2)  # the kick's invocation has started: now the canary becomes ready
    time.sleep(0.5)
    cloud.clock.advance(10)
    assert cloud.fc.wait_idle(60)
    (record,) = cloud.fc.invocation_records("pai-autopilot-canary")
    assert record["result"]["kick"]["polls"] >= 1
    assert head(env, rid).data["canary_weight"] == 10  # no timer fired: the clock moved 10 s, not a minute

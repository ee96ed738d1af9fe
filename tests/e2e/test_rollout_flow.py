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

FUNCTIONS = "*"  # every function's time.time() follows the driven clock (records, windows, deadlines agree)
START = 1_900_000_020.0


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    from localcloud import LocalCloud

    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["pipelines"]["demo"]["rollout"].update(min_requests=20, threshold=5, watch_window_seconds=300)
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


def wait_for_canary(cloud, env, service: str, timeout: float = 30) -> None:
    """Until model_landed created ``service`` and the canary function (kicked) is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = {s.service_name for s in env.clients.eas.list_services(models.ListServicesRequest()).body.services}
        pending = cloud.fc.state()["pending"].get("pai-autopilot-canary", 0)
        if service in names and pending:
            break
        time.sleep(0.2)
    time.sleep(0.5)


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


def test_a_landed_healthy_model_goes_10_25_50_100_then_watching_then_the_old_stable_retires(cloud, env):
    """The acceptance path from a landed model: serving makes the canary, its kick takes the first
    step within seconds of the canary being ready, the timer the next ones; the traffic measured at
    the group endpoint follows each weight within 3 points."""
    from .serving_support import V1, land_model, run_for, serve_first

    fast = {"latency_ms": 1, "sleep_scale": 0}
    serve_first(cloud, env.clients)  # v1: service demo_model_v1, Running, the stable (reconcile)
    requests.put(f"{cloud.url}/_localcloud/eas/services/demo_model_v1/profile", json=fast, timeout=5)
    landed = time.monotonic()
    land_model(env.clients, "v2", {"accuracy": V1["accuracy"] + 0.05, "loss": V1["loss"] - 0.05})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # model_landed created the canary (Creating) and opened its rollout
        names = {s.service_name for s in env.clients.eas.list_services(models.ListServicesRequest()).body.services}
        if "demo_model_v2" in names and cloud.fc.invocation_records("pai-autopilot-canary"):
            break
        time.sleep(0.2)
    requests.put(f"{cloud.url}/_localcloud/eas/services/demo_model_v2/profile", json=fast, timeout=5)
    time.sleep(0.5)
    cloud.clock.advance(10)  # the canary's instance is ready (startup 2 s + 8 s); no timer falls due
    assert cloud.fc.wait_idle(90)
    rid = __import__("pai_autopilot.rollout.state", fromlist=["rollout_id"]).rollout_id("demo", "v2")
    assert head(env, rid).data["canary_weight"] == 10
    assert time.monotonic() - landed < 30  # seconds after landing, not the next minute of the timer
    weights = [10]
    group = f"{cloud.url}/api/predict/demo"
    for _ in range(3):
        with requests.Session() as session:
            served = [session.post(group, data=b"{}", timeout=5).headers.get("x-localcloud-service") for _ in range(1000)]
        share = served.count("demo_model_v2") / 1000
        assert abs(share - weights[-1] / 100) <= 0.03, (weights, share)
        cloud.advance(60)  # the every-minute timer: one interval
        assert cloud.fc.wait_idle(90)
        weights.append(head(env, rid).data["canary_weight"])
    assert weights == [10, 25, 50, 100] and head(env, rid).state == "watching"
    run_for(cloud, 360, step=60)  # the watch window (300 s) passes without a breach
    final = head(env, rid)
    assert final.state == "succeeded", (final.state, final.data.get("reason"))
    v1 = env.clients.eas.describe_service(cloud.region, "demo_model_v1").body
    assert v1.status in ("Stopping", "Stopped")
    from pai_autopilot.serving.stable import read_stable

    assert read_stable(env.ledger, "demo").version == "v2"
    from .serving_support import model_records

    assert [r["state"] for r in model_records(env.clients, "v2")][-2:] == ["canary", "promoted"]


def test_when_a_rollout_closes_the_next_queued_version_becomes_the_canary(cloud, env):
    from pai_autopilot.rollout.control import apply_command
    from pai_autopilot.rollout.state import open_rollout_of, rollout_id

    from .serving_support import land_model, model_records, serve_first

    serve_first(cloud, env.clients)
    land_model(env.clients, "v2", {"accuracy": 0.85, "loss": 0.45})
    wait_for_canary(cloud, env, "demo_model_v2")
    cloud.clock.advance(10)  # the canary is ready: the polling kick takes its first step
    assert cloud.fc.wait_idle(90)
    land_model(env.clients, "v3", {"accuracy": 0.86, "loss": 0.44})  # v2's rollout is open: v3 waits
    assert cloud.fc.wait_idle(90)
    assert model_records(env.clients, "v3")[-1]["state"] == "queued"
    assert open_rollout_of(env.ledger, "demo") == rollout_id("demo", "v2")
    result = apply_command(env, "demo", "abort", actor="ci", reason="v3 is better")
    assert (result["outcome"], result["phase"]) == ("applied", "aborted")
    assert open_rollout_of(env.ledger, "demo") == rollout_id("demo", "v3")  # started by the closing rollout
    assert model_records(env.clients, "v3")[-1]["state"] == "canary"
    aborted = model_records(env.clients, "v2")[-1]  # v2's model record no longer claims an open canary
    assert (aborted["state"], aborted["data"]["reason"]) == ("rolled_back", "abort by ci: v3 is better"), aborted
    wait_for_canary(cloud, env, "demo_model_v3")
    cloud.clock.advance(10)
    assert cloud.fc.wait_idle(90)
    assert head(env, rollout_id("demo", "v3")).data["canary_weight"] == 10  # v3 was kicked too

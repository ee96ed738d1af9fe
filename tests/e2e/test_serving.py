"""Model → service on localcloud: model_landed on its OSS trigger, reconcile on the clock, real EAS SDK."""

from __future__ import annotations

import json

from localcloud.core.faults import DeliveryFaults, Fault
from pai_autopilot.training.runs import run_id

from .conftest import BUCKET
from .serving_support import (
    REGION,
    V1,
    land_dataset,
    land_model,
    ledger_records,
    model_records,
    results,
    rollouts,
    run_for,
    serve_first,
    services,
)


def test_a_trained_model_becomes_a_running_service_with_its_autoscaler(project_cloud, sdk, notices):
    # Given a dataset that trains (the simulated job writes the model, metrics.json, then _SUCCESS)
    project_cloud.clock.freeze()
    land_dataset(sdk, "v1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 150, step=5)
    # Then model_landed created the service in the group (Running is seen on a later reconcile tick)
    assert [r["state"] for r in model_records(sdk, "v1")][:2] == ["claimed", "deploying"]
    # When reconcile ticks (every 5 minutes) after the service is Running
    run_for(project_cloud, 300, step=30)
    # Then one service Running in the group demo
    svcs = services(sdk)
    assert list(svcs) == ["demo_model_v1"]
    svc = svcs["demo_model_v1"]
    assert (svc.status, svc.service_group) == ("Running", "demo")
    # And its autoscaler, read back through the SDK: min/max, strategy, 60 s up, 300 s down
    scaler = sdk.eas.describe_service_auto_scaler(REGION, "demo_model_v1").body
    assert (scaler.min_replica, scaler.max_replica) == (1, 3)
    assert [(s.metric_name, s.threshold) for s in scaler.scale_strategies] == [("qps", 10.0)]
    behavior = scaler.behavior["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 60
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    # And the version is the stable, the run is served, a notification went out
    assert [r["state"] for r in model_records(sdk, "v1")][-1] == "serving"
    (stable,) = ledger_records(sdk, "serving/demo/")
    assert stable["data"]["version"] == "v1" and stable["data"]["metrics"]["accuracy"] > 0
    run_records = ledger_records(sdk, "runs/demo/")
    runs = [r["state"] for r in run_records]
    assert runs[-1] == "served" and "waiting_for_model" in runs
    # each serving mark says why the run moved, not the job's last status
    why = {r["state"]: r["data"].get("reason") for r in run_records}
    assert why["served"].startswith("service demo_model_v1 Running") and why["model_ready"].startswith("model landed")
    events = [n["event"] for n in notices]
    assert events.count("service_running") == 1 and "service_creating" in events
    # And the service's access token is in no record, notification or result
    token = sdk.eas.describe_service(REGION, "demo_model_v1").body.access_token
    shown = json.dumps([ledger_records(sdk, ""), notices, project_cloud.fc.invocation_records()], default=str)
    assert token and token not in shown


def test_a_model_uploaded_by_hand_with_no_run_is_served(project_cloud, sdk):
    project_cloud.clock.freeze()
    serve_first(project_cloud, sdk, "hand1")
    svc = services(sdk)["demo_model_hand1"]
    assert (svc.status, svc.service_group) == ("Running", "demo")
    first = model_records(sdk, "hand1")[0]
    assert first["data"]["hand_uploaded"] is True and first["data"]["run_id"] is None
    assert first["correlation_id"] == run_id("demo", "hand1")  # the timeline still joins
    assert ledger_records(sdk, "runs/demo/") == []


def test_a_second_version_becomes_a_zero_weight_canary_beside_an_untouched_stable(project_cloud, sdk, notices):
    project_cloud.clock.freeze()
    serve_first(project_cloud, sdk)
    before = services(sdk)["demo_model_v1"]
    # When a better second version lands
    land_model(sdk, "v2", {"accuracy": 0.85, "loss": 0.45})
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 30)
    # Then its service is in the same group, created at weight 0 with a rollout open for it (the
    # rollout's first record); the canary controller (kicked, and on its timer) may have taken the
    # first step since: the canary's weight is the rollout's
    svcs = services(sdk)
    canary, stable = svcs["demo_model_v2"], svcs["demo_model_v1"]
    records = rollouts(sdk)
    assert len({r["entity"] for r in records}) == 1
    rollout = records[-1]  # its head
    assert canary.service_group == "demo" and canary.weight == rollout["data"]["canary_weight"]
    assert rollout["state"] in ("initializing", "progressing") and rollout["data"]["canary_service"] == "demo_model_v2"
    first = [r for r in records if r["seq"] == 0]
    assert [(r["state"], r["data"]["canary_weight"]) for r in first] == [("initializing", 0)]
    if rollout["state"] == "initializing":
        assert (stable.weight, stable.total_instance, stable.status) == (before.weight, before.total_instance, "Running")
    else:  # the stable gave the canary its share, and kept its instances
        assert (stable.weight, stable.total_instance, stable.status) == (100 - canary.weight, before.total_instance, "Running")
    assert rollout["data"]["stable_service"] == "demo_model_v1" and rollout["correlation_id"] == run_id("demo", "v2")
    last = model_records(sdk, "v2")[-1]
    assert last["state"] == "canary" and last["data"]["evaluation"]["passed"] is True
    assert last["data"]["capacity"] == {"passed": True, "reason": last["data"]["capacity"]["reason"],
                                        "canary_instances": 1, "stable_instances": 1, "max_instances": 6}
    # And the stable record is untouched
    assert [r["data"]["version"] for r in ledger_records(sdk, "serving/demo/")] == ["v1"]
    assert "canary_created" in [n["event"] for n in notices]


def test_a_worse_model_gets_no_service_and_its_record_shows_both_values(project_cloud, sdk, notices):
    project_cloud.clock.freeze()
    serve_first(project_cloud, sdk)
    land_model(sdk, "v2", {"accuracy": 0.70, "loss": 0.50})
    assert project_cloud.fc.wait_idle(60)
    assert "demo_model_v2" not in services(sdk)
    last = model_records(sdk, "v2")[-1]
    assert last["state"] == "evaluation_failed"
    evaluation = last["data"]["evaluation"]
    assert evaluation["candidate"]["accuracy"] == 0.70 and evaluation["stable"]["accuracy"] == 0.80
    assert "accuracy 0.7 vs stable 0.8" in last["data"]["reason"]
    assert rollouts(sdk) == []
    (notice,) = [n for n in notices if n["event"] == "evaluation_failed"]
    assert "0.7" in notice["details"]["reason"]


def test_a_model_under_no_pipeline_is_ignored_and_an_empty_model_rejected(project_cloud, sdk):
    project_cloud.clock.freeze()
    bucket = sdk.bucket(BUCKET)
    bucket.put_object("models/other/v1/model.pt", b"w")
    bucket.put_object("models/other/v1/_SUCCESS", b"")
    land_model(sdk, "empty1", None, files=False)  # only the marker
    assert project_cloud.fc.wait_idle(60)
    by_key = {r["key"]: r for r in results(project_cloud)}
    assert by_key["models/other/v1/_SUCCESS"]["outcome"] == "ignored"
    assert "no pipeline's models prefix" in by_key["models/other/v1/_SUCCESS"]["reason"]
    assert by_key["models/demo/empty1/_SUCCESS"]["outcome"] == "rejected"
    assert "empty model" in model_records(sdk, "empty1")[-1]["data"]["reason"]
    assert services(sdk) == {}


def test_every_model_event_three_times_and_reordered_one_service_per_version(project_cloud, sdk):
    project_cloud.clock.freeze()
    project_cloud.delivery = DeliveryFaults(duplicate=1.0, extra_copies=2, reorder_window=0.2)
    land_model(sdk, "d1", V1)
    land_model(sdk, "d2", V1)  # equal metrics: whichever lands first, the other passes the gate
    assert project_cloud.fc.wait_idle(60)
    assert len(project_cloud.fc.invocation_records("pai-autopilot-model-landed")) >= 6
    run_for(project_cloud, 330, step=30)
    svcs = services(sdk)
    assert sorted(svcs) == ["demo_model_d1", "demo_model_d2"]
    outcomes = [r["outcome"] for r in results(project_cloud) if r.get("version") in ("d1", "d2")]
    assert outcomes.count("duplicate") >= 4
    # one version is the first (Running, stable), the other queued behind it, then its canary
    states = sorted(model_records(sdk, v)[-1]["state"] for v in ("d1", "d2"))
    assert states == ["canary", "serving"], states
    assert len({r["entity"] for r in rollouts(sdk)}) == 1 and len(ledger_records(sdk, "serving/demo/")) == 1


def test_a_crash_after_create_service_the_retry_creates_none(project_cloud, sdk, monkeypatch):
    project_cloud.clock.freeze()
    serve_first(project_cloud, sdk)
    creates: list[str] = []  # CreateService calls reaching localcloud's EAS
    real = project_cloud.eas.backend.create_service
    monkeypatch.setattr(project_cloud.eas.backend, "create_service", lambda body, query: creates.append("x") or real(body, query))
    # Given ReleaseService (the call right after CreateService) failing through every SDK attempt
    project_cloud.faults.add(Fault(service="eas", operation="ReleaseService", status=500, count=3))
    land_model(sdk, "v2", {"accuracy": 0.85, "loss": 0.45})
    assert project_cloud.fc.wait_idle(60)
    # Then FC retried the invocation, which found the service and created none
    inv = project_cloud.fc.invocation_records("pai-autopilot-model-landed")[-1]  # v2's
    assert inv["attempts"] == 2 and inv["status"] == "succeeded", inv
    assert len(creates) == 1  # the first attempt's; the retry found the service
    assert services(sdk)["demo_model_v2"].weight == 0
    assert model_records(sdk, "v2")[-1]["state"] == "canary"

"""Model → service on localcloud: model_landed on its OSS trigger, reconcile on the clock, real EAS SDK."""

from __future__ import annotations

from .serving_support import REGION, land_dataset, land_model, ledger_records, model_records, run_for, services


def test_a_trained_model_becomes_a_running_service_with_its_autoscaler(project_cloud, sdk, notices):
    # Given a dataset that trains (the simulated job writes the model, metrics.json, then _SUCCESS)
    project_cloud.clock.freeze()
    land_dataset(sdk, "v1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 150, step=5)
    # Then model_landed created the service in the group, not yet Running
    assert [r["state"] for r in model_records(sdk, "v1")] == ["claimed", "deploying"]
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
    runs = [r["state"] for r in ledger_records(sdk, "runs/demo/")]
    assert runs[-1] == "served" and "waiting_for_model" in runs
    events = [n["event"] for n in notices]
    assert events.count("service_running") == 1 and "service_creating" in events

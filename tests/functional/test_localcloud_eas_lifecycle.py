"""EAS lifecycles and autoscaling on localcloud's frozen clock (real alibabacloud_eas20210701 client)."""

from __future__ import annotations

import json

import requests
from alibabacloud_eas20210701 import models

from . import eas_fixtures
from .eas_fixtures import REGION, create, describe, running

eas_cloud, eas = eas_fixtures.eas_cloud, eas_fixtures.eas  # the fixtures, for this module


def snapshot(eas, name):
    svc = describe(eas, name)
    return svc.status, svc.total_instance, svc.running_instance, svc.pending_instance


def test_a_service_is_never_created_running(eas_cloud, eas):
    # Given instances that start instantly
    create(eas, "demo", instance=2, profile={"startup_seconds": 0})
    # Then the service still goes Creating → (Waiting) → Running on the clock
    assert snapshot(eas, "demo") == ("Creating", 0, 0, 0)
    eas_cloud.advance(1.9)
    assert snapshot(eas, "demo")[0] == "Creating"
    eas_cloud.advance(0.1)
    assert snapshot(eas, "demo") == ("Running", 2, 2, 0)


def test_creating_waiting_running_with_instance_counts(eas_cloud, eas):
    create(eas, "demo", instance=3, profile={"startup_seconds": 20})
    seen = []
    for step in (0, 2, 10, 10):
        eas_cloud.advance(step)
        seen.append(snapshot(eas, "demo"))
    assert seen == [("Creating", 0, 0, 0), ("Waiting", 3, 0, 3), ("Waiting", 3, 0, 3), ("Running", 3, 3, 0)]
    reasons = [e.reason for e in eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest()).body.events]
    assert reasons == ["Creating", "Waiting", "Running"]


def test_update_rolls_instances_and_rollback_returns_the_old_version(eas_cloud, eas):
    # Given a running service answering v1
    create(eas, "demo", instance=2, profile={"latency_ms": 0, "body": {"model": "v1"}})
    running(eas_cloud, eas, "demo")
    url = f"{eas_cloud.url}/api/predict/demo"
    assert requests.post(url, timeout=5).json() == {"model": "v1"}
    # When a new version is deployed
    patch = {"localcloud": {"latency_ms": 0, "body": {"model": "v2"}}}
    eas.update_service(REGION, "demo", models.UpdateServiceRequest(body=json.dumps(patch)))
    # Then it is Updating, the old instances keep serving v1 until the new ones are ready
    assert snapshot(eas, "demo") == ("Updating", 4, 2, 2)
    assert requests.post(url, timeout=5).json() == {"model": "v1"}
    eas_cloud.advance(8)
    assert snapshot(eas, "demo") == ("Running", 2, 2, 0)
    assert requests.post(url, timeout=5).json() == {"model": "v2"}
    assert (describe(eas, "demo").current_version, describe(eas, "demo").latest_version) == (2, 2)
    # When it is rolled back to version 1
    eas.update_service_version(REGION, "demo", models.UpdateServiceVersionRequest(version=1))
    assert snapshot(eas, "demo")[0] == "Updating"
    eas_cloud.advance(8)
    # Then version 1 runs and answers again
    svc = describe(eas, "demo")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Running", 1, 2)
    assert json.loads(svc.service_config)["localcloud"]["body"] == {"model": "v1"}
    assert requests.post(url, timeout=5).json() == {"model": "v1"}


def test_manual_scale_is_not_a_new_version(eas_cloud, eas):
    create(eas, "demo", instance=1)
    running(eas_cloud, eas, "demo")
    eas.update_service(REGION, "demo", models.UpdateServiceRequest(body='{"metadata": {"instance": 3}}'))
    assert snapshot(eas, "demo") == ("Scaling", 3, 1, 2)
    eas_cloud.advance(8)
    svc = describe(eas, "demo")
    assert (svc.status, svc.running_instance, svc.current_version, svc.latest_version) == ("Running", 3, 1, 1)
    assert json.loads(svc.service_config)["metadata"]["instance"] == 3
    eas.update_service(REGION, "demo", models.UpdateServiceRequest(body='{"metadata": {"instance": 1}}'))
    assert snapshot(eas, "demo") == ("Running", 1, 1, 0)


def test_stop_start_and_delete(eas_cloud, eas):
    create(eas, "demo", instance=2)
    running(eas_cloud, eas, "demo")
    eas.stop_service(REGION, "demo")
    assert snapshot(eas, "demo") == ("Stopping", 0, 0, 0)
    eas_cloud.advance(2)
    assert snapshot(eas, "demo") == ("Stopped", 0, 0, 0)
    eas.start_service(REGION, "demo")
    assert snapshot(eas, "demo") == ("Starting", 2, 0, 2)
    eas_cloud.advance(8)
    assert snapshot(eas, "demo") == ("Running", 2, 2, 0)
    eas.delete_service(REGION, "demo")
    assert snapshot(eas, "demo")[0] == "Deleting"
    eas_cloud.advance(2)
    assert eas.list_services(models.ListServicesRequest()).body.total_count == 0


def test_a_broken_model_never_gets_ready(eas_cloud, eas):
    create(eas, "demo", profile={"fail_startup": True})
    eas_cloud.advance(10)
    assert snapshot(eas, "demo") == ("Failed", 1, 0, 0)
    warning = eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest(event_type="Warning")).body.events
    assert [e.reason for e in warning] == ["Failed"]
    assert eas.list_service_instances(REGION, "demo", models.ListServiceInstancesRequest()).body.instances[0].status == "Failed"
    assert requests.post(f"{eas_cloud.url}/api/predict/demo", timeout=5).status_code == 503
    # A fixed config recovers it
    eas.update_service(REGION, "demo", models.UpdateServiceRequest(body='{"localcloud": {"fail_startup": false}}'))
    eas_cloud.advance(8)
    assert snapshot(eas, "demo") == ("Running", 1, 1, 0)


def autoscale(eas, name, *, low=1, high=5, threshold=2.0, down=300):
    request = models.CreateServiceAutoScalerRequest(
        min=low, max=high,
        scale_strategies=[models.CreateServiceAutoScalerRequestScaleStrategies(metric_name="qps", threshold=threshold)],
        behavior=models.CreateServiceAutoScalerRequestBehavior(
            scale_down=models.CreateServiceAutoScalerRequestBehaviorScaleDown(stabilization_window_seconds=down)),
    )
    eas.create_service_auto_scaler(REGION, name, request)


def load(cloud, name, count):
    """``count`` gateway requests at the (frozen) clock's current time."""
    with requests.Session() as session:
        for _ in range(count):
            assert session.post(f"{cloud.url}/api/predict/{name}", timeout=5).status_code == 200


def test_autoscaler_scales_up_on_gateway_qps_and_down_slowly(eas_cloud, eas):
    # Given a running service with an autoscaler: 2 QPS per instance, 1..5 instances, 300 s scale-down window
    create(eas, "demo", profile={"latency_ms": 0, "startup_seconds": 5})
    running(eas_cloud, eas, "demo")
    autoscale(eas, "demo")
    assert snapshot(eas, "demo") == ("Running", 1, 1, 0)
    # When the gateway serves 480 requests in a minute (8 QPS on one instance)
    load(eas_cloud, "demo", 480)
    eas_cloud.advance(15)
    # Then it scales up at once to ceil(1 × 8 / 2) = 4, without leaving Running
    assert snapshot(eas, "demo") == ("Running", 4, 1, 3)
    current = eas.describe_service_auto_scaler(REGION, "demo").body.current_metrics[0]
    assert (current.metric_name, current.value) == ("qps", 2.0)  # 8 QPS over 4 instances
    eas_cloud.advance(5)
    assert snapshot(eas, "demo") == ("Running", 4, 4, 0)
    # When traffic stops, it waits out the 300 s window after the last high recommendation (t+15)
    eas_cloud.advance(60)
    assert snapshot(eas, "demo")[1] == 4
    for _ in range(15):
        eas_cloud.advance(15)
    assert snapshot(eas, "demo")[1] == 4  # t+305
    eas_cloud.advance(15)
    assert snapshot(eas, "demo") == ("Running", 1, 1, 0)  # t+320
    reasons = [e.reason for e in eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest()).body.events]
    assert reasons.count("Scaling") == 2


def test_autoscaler_tolerance_bounds_and_cap(eas_cloud, eas):
    create(eas, "demo", instance=2, profile={"latency_ms": 0, "startup_seconds": 0})
    running(eas_cloud, eas, "demo", seconds=2)
    # min 3 lifts the service at once; 3 instances × 2 QPS threshold
    autoscale(eas, "demo", low=3, high=6, threshold=2.0, down=0)
    assert snapshot(eas, "demo") == ("Running", 3, 3, 0)
    # 6.5 QPS on 3 instances is within 10 % of the threshold: no change
    for row in range(390):
        eas_cloud.requests.record("demo", at=eas_cloud.clock.now(), status=200, latency_ms=1.0 + row % 2)
    eas_cloud.advance(15)
    assert snapshot(eas, "demo")[1] == 3
    # 30 QPS would need 15 instances: capped at max 6
    for _ in range(1800):
        eas_cloud.requests.record("demo", at=eas_cloud.clock.now(), status=200, latency_ms=1.0)
    eas_cloud.advance(15)
    assert snapshot(eas, "demo")[1] == 6
    # Deleting the autoscaler keeps the current count
    eas.delete_service_auto_scaler(REGION, "demo")
    eas_cloud.advance(120)
    assert snapshot(eas, "demo")[1] == 6

"""EAS on localcloud through the real alibabacloud_eas20210701 client: every operation, success and error."""

from __future__ import annotations

import json

import pytest
from alibabacloud_eas20210701 import models
from alibabacloud_tea_openapi.exceptions import ClientException

from . import eas_fixtures
from .eas_fixtures import REGION, create, describe, running

eas_cloud, eas = eas_fixtures.eas_cloud, eas_fixtures.eas  # the fixtures, for this module


def fails(call, code: str, status: int) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    assert (info.value.code, info.value.status_code) == (code, status), info.value.message
    return info.value


def test_create_describe_and_list_services(eas_cloud, eas):
    # Given two services, one in a group with labels and a workspace
    created = create(eas, "demo_v1", group="demo", labels={"team": "ml", "tier": "gold"}, workspace_id="ws-1")
    create(eas, "other")
    # Then CreateService answers like EAS, the service starts in Creating and its endpoint is the gateway's
    assert created.service_name == "demo_v1" and created.status == "Creating" and created.region == REGION
    assert created.service_id.startswith("eas-m-")
    assert created.internet_endpoint == f"{eas_cloud.url}/api/predict/demo_v1"
    svc = describe(eas, "demo_v1")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Creating", 1, 1)
    assert (svc.service_group, svc.traffic_state, svc.workspace_id) == ("demo", "grouping", "ws-1")
    assert {(lb.label_key, lb.label_value) for lb in svc.labels} == {("team", "ml"), ("tier", "gold")}
    assert json.loads(svc.service_config)["metadata"]["group"] == "demo"
    assert (svc.cpu, svc.memory, svc.image) == (2, 4000, "registry.example.com/demo/model:v1")
    assert svc.access_token and describe(eas, "other").traffic_state == "standalone"
    # And ListServices filters by name (fuzzy and exact), group, labels (value or key only), workspace, status
    for query, expected in (
        (models.ListServicesRequest(filter="demo"), ["demo_v1"]),
        (models.ListServicesRequest(service_name="other"), ["other"]),
        (models.ListServicesRequest(group_name="demo"), ["demo_v1"]),
        (models.ListServicesRequest(label={"team": "ml"}), ["demo_v1"]),
        (models.ListServicesRequest(label={"tier": None}), ["demo_v1"]),
        (models.ListServicesRequest(label={"team": "infra"}), []),
        (models.ListServicesRequest(workspace_id="ws-1"), ["demo_v1"]),
        (models.ListServicesRequest(service_status="Creating", order="asc", sort="ServiceName"), ["demo_v1", "other"]),
    ):
        listed = eas.list_services(query).body
        assert [s.service_name for s in listed.services] == expected and listed.total_count == len(expected)
    page = eas.list_services(models.ListServicesRequest(page_size=1, page_number=2, sort="ServiceName", order="asc")).body
    assert ([s.service_name for s in page.services], page.total_count, page.page_number, page.page_size) == (["other"], 2, 2, 1)


def test_create_service_errors(eas):
    create(eas, "demo")
    fails(lambda: create(eas, "demo"), "InvalidService.AlreadyExists", 409)
    fails(lambda: create(eas, "Bad-Name"), "InvalidParameter", 400)
    fails(lambda: eas.create_service(models.CreateServiceRequest(body='{"metadata": {"instance": 1}}')), "InvalidParameter", 400)
    fails(lambda: eas.create_service(models.CreateServiceRequest(body="{not json")), "InvalidParameter", 400)
    fails(lambda: create(eas, "demo2", profile={"error_rate": 2}), "InvalidParameter", 400)
    fails(lambda: create(eas, "demo3", instance=-1), "InvalidParameter", 400)


def test_describe_and_list_errors(eas):
    create(eas, "demo")
    fails(lambda: eas.describe_service(REGION, "absent"), "InvalidService.NotFound", 404)
    fails(lambda: eas.describe_service("cn-beijing", "demo"), "InvalidService.NotFound", 404)
    fails(lambda: eas.list_services(models.ListServicesRequest(order="sideways")), "InvalidParameter", 400)
    fails(lambda: eas.list_services(models.ListServicesRequest(sort="Colour")), "InvalidParameter", 400)
    fails(lambda: eas.list_services(models.ListServicesRequest(page_size=0)), "InvalidParameter", 400)


def test_update_service_and_versions(eas_cloud, eas):
    create(eas, "demo")
    fails(lambda: eas.update_service(REGION, "demo", models.UpdateServiceRequest(body="{}")), "InvalidService.Status", 409)
    running(eas_cloud, eas, "demo")
    # When the image changes (merge), a version is added; replace keeps only the body
    patch = {"containers": [{"image": "registry.example.com/demo/model:v2", "port": 8000}]}
    msg = eas.update_service(REGION, "demo", models.UpdateServiceRequest(body=json.dumps(patch))).body.message
    assert msg == f"Succeed to update service [demo] in region [{REGION}]"
    svc = describe(eas, "demo")
    assert (svc.current_version, svc.latest_version, svc.image) == (2, 2, "registry.example.com/demo/model:v2")
    assert json.loads(svc.service_config)["metadata"]["cpu"] == 2  # merged
    eas.update_service(REGION, "demo", models.UpdateServiceRequest(update_type="replace", body='{"metadata": {"instance": 1}}'))
    assert json.loads(describe(eas, "demo").service_config) == {"metadata": {"instance": 1}}
    # Then ListServiceVersions lists them newest first
    versions = eas.list_service_versions(REGION, "demo", models.ListServiceVersionsRequest()).body
    assert versions.total_count == 3 and [v.image_id for v in versions.versions] == [3, 2, 1]
    assert "model:v2" in versions.versions[1].service_config and versions.versions[0].service_runnable == "true"
    paged = eas.list_service_versions(REGION, "demo", models.ListServiceVersionsRequest(page_number=2, page_size=2)).body
    assert [v.image_id for v in paged.versions] == [1]
    # And UpdateServiceVersion rolls back to version 1 (LatestVersion stays)
    eas.update_service_version(REGION, "demo", models.UpdateServiceVersionRequest(version=1))
    svc = describe(eas, "demo")
    assert (svc.current_version, svc.latest_version, svc.image) == (1, 3, "registry.example.com/demo/model:v1")
    # Errors: bad UpdateType, renaming, unknown service, versions out of range
    fails(lambda: eas.update_service(REGION, "demo", models.UpdateServiceRequest(update_type="patch", body="{}")), "InvalidParameter", 400)
    fails(lambda: eas.update_service(REGION, "demo", models.UpdateServiceRequest(body='{"metadata": {"name": "x"}}')), "InvalidParameter", 400)
    fails(lambda: eas.update_service(REGION, "absent", models.UpdateServiceRequest(body="{}")), "InvalidService.NotFound", 404)
    for bad in (0, 4):
        fails(lambda v=bad: eas.update_service_version(REGION, "demo", models.UpdateServiceVersionRequest(version=v)), "InvalidParameter", 400)
    fails(lambda: eas.list_service_versions(REGION, "absent", models.ListServiceVersionsRequest()), "InvalidService.NotFound", 404)


def test_start_stop_restart_delete(eas_cloud, eas):
    create(eas, "demo")
    running(eas_cloud, eas, "demo")
    fails(lambda: eas.start_service(REGION, "demo"), "InvalidService.Status", 409)
    assert eas.restart_service(REGION, "demo").body.message == "Service is restarting"
    assert describe(eas, "demo").status == "Updating"
    assert eas.stop_service(REGION, "demo").body.message == f"Service [demo] in region [{REGION}] is stopping"
    assert describe(eas, "demo").status == "Stopping"
    eas_cloud.advance(2)
    assert describe(eas, "demo").status == "Stopped"
    fails(lambda: eas.stop_service(REGION, "demo"), "InvalidService.Status", 409)
    fails(lambda: eas.restart_service(REGION, "demo"), "InvalidService.Status", 409)
    assert eas.start_service(REGION, "demo").body.message == f"Service [demo] in region [{REGION}] is starting"
    assert describe(eas, "demo").status == "Starting"
    assert eas.delete_service(REGION, "demo").body.message == f"Service [demo] in region [{REGION}] is terminating"
    assert describe(eas, "demo").status == "Deleting"
    fails(lambda: eas.delete_service(REGION, "demo"), "InvalidService.Status", 409)
    eas_cloud.advance(2)
    fails(lambda: eas.delete_service(REGION, "demo"), "InvalidService.NotFound", 404)
    for call in (eas.start_service, eas.stop_service, eas.restart_service):
        fails(lambda c=call: c(REGION, "demo"), "InvalidService.NotFound", 404)


def test_release_service_sets_weight_and_traffic_state(eas):
    create(eas, "demo_v1", group="demo")
    create(eas, "solo")
    msg = eas.release_service(REGION, "demo_v1", models.ReleaseServiceRequest(weight=40, traffic_state="grouping")).body.message
    assert msg == f"Releasing service [demo_v1] in region [{REGION}] with weight [40], service status: [Creating]"
    eas.release_service(REGION, "demo_v1", models.ReleaseServiceRequest(traffic_state="standalone"))
    svc = describe(eas, "demo_v1")
    assert (svc.weight, svc.traffic_state) == (40, "standalone")
    for request in (
        models.ReleaseServiceRequest(weight=1001),
        models.ReleaseServiceRequest(weight=-2),
        models.ReleaseServiceRequest(traffic_state="both"),
        models.ReleaseServiceRequest(),
    ):
        fails(lambda r=request: eas.release_service(REGION, "demo_v1", r), "InvalidParameter", 400)
    fails(lambda: eas.release_service(REGION, "solo", models.ReleaseServiceRequest(traffic_state="grouping")), "InvalidParameter", 400)
    fails(lambda: eas.release_service(REGION, "absent", models.ReleaseServiceRequest(weight=1)), "InvalidService.NotFound", 404)


def test_groups_are_implicit(eas_cloud, eas):
    # Given services naming two groups
    create(eas, "demo_v1", group="demo")
    create(eas, "demo_v2", group="demo")
    create(eas, "shop_v1", group="shop")
    # Then DescribeGroup and ListGroups show them with the group endpoint
    group = eas.describe_group(REGION, "demo").body
    assert (group.name, group.cluster_id, group.internet_endpoint) == ("demo", REGION, f"{eas_cloud.url}/api/predict/demo")
    assert group.access_token and group.create_time.endswith("Z")
    assert [g.name for g in eas.list_groups(models.ListGroupsRequest()).body.groups] == ["demo", "shop"]
    listed = eas.list_groups(models.ListGroupsRequest(filter="sho")).body
    assert [g.name for g in listed.groups] == ["shop"] and listed.total_count == 1
    page = eas.list_groups(models.ListGroupsRequest(page_size="1", page_number="2")).body
    assert [g.name for g in page.groups] == ["shop"] and page.total_count == 2
    # And a group disappears with its last member
    eas.delete_service(REGION, "shop_v1")
    eas_cloud.advance(2)
    fails(lambda: eas.describe_group(REGION, "shop"), "InvalidGroup.NotFound", 404)
    fails(lambda: eas.describe_group("cn-beijing", "demo"), "InvalidGroup.NotFound", 404)
    fails(lambda: eas.list_groups(models.ListGroupsRequest(page_size="0")), "InvalidParameter", 400)


def scaler_request(cls=models.CreateServiceAutoScalerRequest, **kw):
    strategy = getattr(models, cls.__name__ + "ScaleStrategies")
    behavior = getattr(models, cls.__name__ + "Behavior")
    scale_down = getattr(models, cls.__name__ + "BehaviorScaleDown")
    return cls(
        min=kw.get("min", 1), max=kw.get("max", 4),
        scale_strategies=[strategy(metric_name=kw.get("metric", "qps"), threshold=kw.get("threshold", 10))],
        behavior=behavior(scale_down=scale_down(stabilization_window_seconds=kw.get("down", 60))),
    )


def test_autoscaler_crud(eas):
    create(eas, "demo")
    fails(lambda: eas.describe_service_auto_scaler(REGION, "demo"), "InvalidAutoScaler.NotFound", 404)
    fails(lambda: eas.update_service_auto_scaler(REGION, "demo", scaler_request(models.UpdateServiceAutoScalerRequest)),
          "InvalidAutoScaler.NotFound", 404)
    fails(lambda: eas.delete_service_auto_scaler(REGION, "demo"), "InvalidAutoScaler.NotFound", 404)
    # When an autoscaler is created (lowerCamel body), it is described with PascalCase top-level keys
    assert eas.create_service_auto_scaler(REGION, "demo", scaler_request()).body.message == "Succeed to auto scale service [demo]"
    scaler = eas.describe_service_auto_scaler(REGION, "demo").body
    assert (scaler.service_name, scaler.min_replica, scaler.max_replica) == ("demo", 1, 4)
    assert scaler.behavior == {"behavior": {
        "scaleUp": {"stabilizationWindowSeconds": 0}, "scaleDown": {"stabilizationWindowSeconds": 60},
        "onZero": {"scaleDownGracePeriodSeconds": 600, "scaleUpActivationReplicas": 1}}}
    assert [(s.metric_name, s.threshold, s.service) for s in scaler.scale_strategies] == [("qps", 10.0, "demo")]
    assert [(m.metric_name, m.service) for m in scaler.current_metrics] == [("qps", "demo")]
    fails(lambda: eas.create_service_auto_scaler(REGION, "demo", scaler_request()), "InvalidAutoScaler.AlreadyExists", 409)
    # And it is updated and deleted
    msg = eas.update_service_auto_scaler(REGION, "demo", scaler_request(models.UpdateServiceAutoScalerRequest, max=8)).body.message
    assert msg == "Update auto scale for service [demo] successfully"
    assert eas.describe_service_auto_scaler(REGION, "demo").body.max_replica == 8
    assert eas.delete_service_auto_scaler(REGION, "demo").body.message == "Autoscaler for service [demo] deleted successfully"
    for bad in (scaler_request(min=5, max=2), scaler_request(metric="memory"), scaler_request(threshold=0)):
        fails(lambda b=bad: eas.create_service_auto_scaler(REGION, "demo", b), "InvalidParameter", 400)
    fails(lambda: eas.create_service_auto_scaler(REGION, "absent", scaler_request()), "InvalidService.NotFound", 404)


def test_endpoints_instances_and_events(eas_cloud, eas):
    create(eas, "demo", instance=3)
    port = int(eas_cloud.url.rsplit(":", 1)[1])
    endpoints = eas.describe_service_endpoints(REGION, "demo").body
    assert endpoints.access_token == describe(eas, "demo").access_token
    assert endpoints.endpoints[0].internet_endpoints == [f"{eas_cloud.url}/api/predict/demo"]
    assert endpoints.endpoints[0].port == port
    fails(lambda: eas.describe_service_endpoints(REGION, "absent"), "InvalidService.NotFound", 404)
    # Instances: none while Creating, Pending while Waiting, Running after startup
    request = models.ListServiceInstancesRequest
    assert eas.list_service_instances(REGION, "demo", request()).body.total_count == 0
    eas_cloud.advance(2)
    instances = eas.list_service_instances(REGION, "demo", request()).body
    assert instances.total_count == 3 and {i.status for i in instances.instances} == {"Pending"}
    eas_cloud.advance(8)
    instances = eas.list_service_instances(REGION, "demo", request(page_size=2)).body.instances
    assert len(instances) == 2 and {(i.status, i.ready_processes, i.instance_port) for i in instances} == {("Running", 1, 8000)}
    one = instances[0]
    assert [i.instance_name for i in eas.list_service_instances(REGION, "demo", request(instance_name=one.instance_name)).body.instances] == [one.instance_name]
    assert eas.list_service_instances(REGION, "demo", request(filter=one.inner_ip)).body.total_count == 1
    assert eas.list_service_instances(REGION, "demo", request(instance_status="Pending")).body.total_count == 0
    fails(lambda: eas.list_service_instances(REGION, "demo", request(sort="Name")), "InvalidParameter", 400)
    fails(lambda: eas.list_service_instances(REGION, "absent", request()), "InvalidService.NotFound", 404)
    # Events: Creating → Waiting → Running, with EAS's time format, filterable by time and type
    events = eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest()).body
    assert [e.reason for e in events.events] == ["Creating", "Waiting", "Running"] and events.total_count == 3
    assert json.loads(events.events[-1].message)["availableInstance"] == 3
    assert len(events.events[0].time) == 19 and events.events[0].time[10] == " "
    later = eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest(start_time=events.events[1].time)).body
    assert [e.reason for e in later.events] == ["Waiting", "Running"]
    warnings = eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest(event_type="Warning")).body
    assert warnings.total_count == 0 and warnings.total_page_num == 1
    fails(lambda: eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest(start_time="yesterday")), "InvalidParameter", 400)
    fails(lambda: eas.describe_service_event(REGION, "demo", models.DescribeServiceEventRequest(event_type="Info")), "InvalidParameter", 400)
    fails(lambda: eas.describe_service_event(REGION, "absent", models.DescribeServiceEventRequest()), "InvalidService.NotFound", 404)

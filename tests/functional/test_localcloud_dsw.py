"""DSW on localcloud through the real alibabacloud_pai_dsw20220101 client: instances, listing,
updates, labels, and the errors of each (ACS3 signatures verified by the edge)."""

from __future__ import annotations

import json

import pytest
from alibabacloud_pai_dsw20220101 import models
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from darabonba.runtime import RuntimeOptions

from . import dsw_support
from .dsw_support import CPU_SPEC, GPU_SPEC, IMAGE, T0, create, fail, get, running

dsw_cloud, dsw = dsw_support.dsw_cloud, dsw_support.dsw  # the fixtures, for this module


def test_create_and_get_an_instance(dsw):
    # Given a DSW client signed with the local credentials
    # When a GPU instance is created with labels and a tag
    instance_id = create(dsw, "nb_gpu", Labels=[{"Key": "team", "Value": "cv"}], Tag=[{"Key": "env", "Value": "dev"}],
                         Priority=5, Datasets=[{"Uri": "oss://bkt/data/", "MountPath": "/mnt/data"}])
    # Then GetInstance shows it as requested, Creating (never already running)
    body = get(dsw, instance_id)
    assert instance_id.startswith("dsw-")
    assert (body.success, body.code, body.http_status_code, bool(body.request_id)) == (True, "200", 200, True)
    assert (body.instance_name, body.status, body.ecs_spec, body.accelerator_type) == ("nb_gpu", "Creating", GPU_SPEC, "GPU")
    assert (body.image_url, body.workspace_id, body.priority, body.payment_type) == (IMAGE, "ws-1", 5, "PayAsYouGo")
    assert [(label.key, label.value) for label in body.labels] == [("team", "cv")]
    assert [(t.tag_key, t.tag_value) for t in body.tags] == [("env", "dev")]
    assert body.datasets[0].uri == "oss://bkt/data/"
    assert body.gmt_create_time == "2027-01-15T08:00:00Z" and body.accumulated_running_time_in_ms == 0
    assert body.idle_instance_culler is None and body.instance_shutdown_timer is None
    assert body.jupyterlab_url.endswith(f"/{instance_id}/lab/")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"InstanceName": "has-dash"}, "InstanceName is invalid: 'has-dash'"),
        ({"InstanceName": "x" * 28}, "InstanceName is invalid"),
        ({"EcsSpec": None}, "EcsSpec is required"),
        ({"ImageUrl": None}, "ImageUrl or ImageId is required"),
        ({"Priority": 12}, "Priority must be an integer within [1, 9]"),
    ],
)
def test_invalid_create_is_a_validation_error(dsw, change, fragment):
    body = {"InstanceName": "nb_1", "EcsSpec": CPU_SPEC, "ImageUrl": IMAGE, **change}
    err = fail(lambda: dsw.create_instance(models.CreateInstanceRequest().from_map(body)))
    assert (err.code, err.status_code) == ("ValidationError", 400)
    assert fragment in err.data["Message"] and err.data["Success"] is False


def test_get_an_unknown_instance_is_404(dsw):
    err = fail(lambda: dsw.get_instance("dsw-nope", models.GetInstanceRequest()))
    assert (err.code, err.status_code) == ("InstanceNotFound", 404)
    assert "dsw-nope" in err.data["Message"]


def test_list_instances_filters_by_status_name_workspace_accelerator_labels_and_tags(dsw, dsw_cloud):
    # Given a running GPU instance with labels and a tag, and a CPU instance still being created
    gpu = running(dsw, dsw_cloud, "train_gpu", Labels=[{"Key": "team", "Value": "cv"}, {"Key": "tier", "Value": "a"}],
                  Tag=[{"Key": "env", "Value": "dev"}])
    cpu = create(dsw, "explore_cpu", spec=CPU_SPEC, WorkspaceId="ws-2")

    def ids(**query):
        body = dsw.list_instances(models.ListInstancesRequest(**query)).body
        assert body.success is True and body.total_count == len(body.instances)
        return [i.instance_id for i in body.instances]

    # Then each filter selects what it should (labels and tags go on the wire as JSON strings)
    assert ids() == [cpu, gpu]
    assert ids(status="Running") == [gpu] and ids(status="Creating") == [cpu]
    assert ids(instance_name="GPU") == [gpu] and ids(workspace_id="ws-2") == [cpu]
    assert ids(accelerator_type="GPU") == [gpu] and ids(accelerator_type="CPU") == [cpu]
    assert ids(labels={"team": "cv"}) == [gpu] and ids(labels={"team": "nlp"}) == []
    assert ids(tag=[models.ListInstancesRequestTag(key="env", value="dev")]) == [gpu]
    assert ids(instance_id=cpu) == [cpu] and ids(payment_type="Subscription") == []
    # And an instance of a dedicated resource group is listed only with ResourceId (or ALL)
    dsw_cloud.advance(1)
    dedicated = create(dsw, "dedicated", spec="", ResourceId="quota-1",
                       RequestedResource={"CPU": "4", "Memory": "16", "GPU": "1", "GPUType": "A10"})
    assert dedicated not in ids() and ids(resource_id="quota-1") == [dedicated]
    assert ids(resource_id="ALL") == [dedicated, cpu, gpu]
    assert ids(resource_id="ALL", min_gpu="1000", gpu_type="A10") == [dedicated]
    assert ids(resource_id="ALL", payment_type="Subscription") == [dedicated]


def test_list_instances_sorts_and_pages(dsw, dsw_cloud):
    made = []
    for i in range(5):
        made.append(create(dsw, f"nb_{i}", spec=CPU_SPEC, Priority=9 - i))
        dsw_cloud.advance(1)
    page1 = dsw.list_instances(models.ListInstancesRequest(page_size=2, page_number=1, order="ASC")).body
    page3 = dsw.list_instances(models.ListInstancesRequest(page_size=2, page_number=3, order="ASC")).body
    assert [i.instance_id for i in page1.instances] == made[:2] and [i.instance_id for i in page3.instances] == made[4:]
    assert page1.total_count == 5
    by_priority = dsw.list_instances(models.ListInstancesRequest(sort_by="Priority", order="asc")).body.instances
    assert [i.instance_id for i in by_priority] == made[::-1]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"sort_by": "Name"}, "SortBy is invalid"),
        ({"order": "up"}, "Order is invalid"),
        ({"status": "Sleeping"}, "Status is invalid"),
        ({"page_size": 0}, "PageSize must be within"),
    ],
)
def test_invalid_list_query_is_a_validation_error(dsw, query, fragment):
    err = fail(lambda: dsw.list_instances(models.ListInstancesRequest(**query)))
    assert (err.code, err.status_code) == ("ValidationError", 400) and fragment in err.data["Message"]


def test_a_malformed_labels_filter_is_a_validation_error(dsw):
    # Given a ListInstances call whose Labels query value is not JSON (sent and signed by the SDK core)
    request = OpenApiRequest(headers={}, query={"Labels": "not json"})
    params = Params(action="ListInstances", version="2022-01-01", protocol="HTTPS", pathname="/api/v2/instances",
                    method="GET", auth_type="AK", style="ROA", req_body_type="json", body_type="json")
    # Then DSW refuses it
    err = fail(lambda: dsw.call_api(params, request, RuntimeOptions()))
    assert err.code == "ValidationError" and "Labels must be a JSON object string" in err.data["Message"]


def test_update_instance_renames_any_time_and_changes_the_spec_only_when_stopped(dsw, dsw_cloud):
    # Given a running instance
    instance_id = running(dsw, dsw_cloud)
    # When it is renamed and re-prioritised, it keeps running
    dsw.update_instance(instance_id, models.UpdateInstanceRequest(instance_name="renamed", priority=7))
    body = get(dsw, instance_id)
    assert (body.instance_name, body.priority, body.status) == ("renamed", 7, "Running")
    # And a spec change is refused until it is stopped
    err = fail(lambda: dsw.update_instance(instance_id, models.UpdateInstanceRequest(ecs_spec=CPU_SPEC)))
    assert err.code == "ValidationError" and "before changing EcsSpec" in err.data["Message"]
    dsw.stop_instance(instance_id, models.StopInstanceRequest())
    dsw_cloud.advance(5)
    # Then a stopped instance takes the new spec and can be started in the same call
    response = dsw.update_instance(instance_id, models.UpdateInstanceRequest(ecs_spec=CPU_SPEC, start_instance=True)).body
    assert response.instance_id == instance_id and response.success is True
    body = get(dsw, instance_id)
    assert (body.ecs_spec, body.accelerator_type, body.status) == (CPU_SPEC, "CPU", "Starting")


def test_update_unknown_or_invalid(dsw, dsw_cloud):
    err = fail(lambda: dsw.update_instance("dsw-nope", models.UpdateInstanceRequest(instance_name="x")))
    assert (err.code, err.status_code) == ("InstanceNotFound", 404)
    instance_id = create(dsw)
    err = fail(lambda: dsw.update_instance(instance_id, models.UpdateInstanceRequest(instance_name="bad name")))
    assert err.code == "ValidationError"


def test_update_and_delete_labels(dsw, dsw_cloud):
    instance_id = create(dsw, Labels=[{"Key": "team", "Value": "cv"}])
    labels = [models.UpdateInstanceLabelsRequestLabels(key="autopilot-exempt", value="true"),
              models.UpdateInstanceLabelsRequestLabels(key="team", value="nlp")]
    assert dsw.update_instance_labels(instance_id, models.UpdateInstanceLabelsRequest(labels=labels)).body.request_id
    assert {lb.key: lb.value for lb in get(dsw, instance_id).labels} == {"team": "nlp", "autopilot-exempt": "true"}
    listed = dsw.list_instances(models.ListInstancesRequest(labels={"autopilot-exempt": "true"})).body
    assert [i.instance_id for i in listed.instances] == [instance_id]
    dsw.delete_instance_labels(instance_id, models.DeleteInstanceLabelsRequest(label_keys="team,absent"))
    assert {lb.key for lb in get(dsw, instance_id).labels} == {"autopilot-exempt"}
    # Errors: no labels, no keys, unknown instance
    err = fail(lambda: dsw.update_instance_labels(instance_id, models.UpdateInstanceLabelsRequest(labels=[])))
    assert err.code == "ValidationError"
    err = fail(lambda: dsw.delete_instance_labels(instance_id, models.DeleteInstanceLabelsRequest(label_keys="")))
    assert err.code == "ValidationError"
    err = fail(lambda: dsw.update_instance_labels("dsw-nope", models.UpdateInstanceLabelsRequest(labels=labels)))
    assert err.code == "InstanceNotFound"


def test_state_and_reset(dsw, dsw_cloud):
    instance_id = create(dsw)
    state = dsw_cloud.state()["dsw"]
    assert [i["InstanceId"] for i in state["instances"]] == [instance_id]
    assert json.dumps(state)  # JSON-serialisable for GET /_localcloud/state
    dsw_cloud.reset()
    assert dsw_cloud.state()["dsw"] == {"instances": []}
    assert T0  # the clock was frozen at T0 by the fixture

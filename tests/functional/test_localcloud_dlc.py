"""DLC on localcloud through the real alibabacloud_pai_dlc20201203 client (ACS3 signatures verified)."""

from __future__ import annotations

import pytest
from alibabacloud_pai_dlc20201203 import models
from alibabacloud_pai_dlc20201203.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET


def dlc_client(cloud, *, secret: str = LOCAL_ACCESS_KEY_SECRET, key: str = LOCAL_ACCESS_KEY_ID, token: str | None = None) -> Client:
    host = cloud.url.removeprefix("http://")
    return Client(Config(access_key_id=key, access_key_secret=secret, security_token=token, endpoint=host, protocol="http"))


def job_request(name: str = "ap-demo-v1", **extra) -> models.CreateJobRequest:
    body = {
        "DisplayName": name, "JobType": "PyTorchJob", "UserCommand": "python train.py",
        "JobSpecs": [{"Type": "Worker", "Image": "img:1", "PodCount": 1, "EcsSpec": "ecs.c6.large"}],
        "DataSources": [{"Uri": "oss://bkt/datasets/demo/v1/", "MountPath": "/mnt/data/"}],
        "Settings": {"Tags": {"autopilot-run-id": name}},
        **extra,
    }
    return models.CreateJobRequest().from_map(body)


def test_create_get_and_list_a_job(cloud):
    # Given a DLC client signed with the local credentials
    dlc = dlc_client(cloud)
    # When a job is created
    job_id = dlc.create_job(job_request(WorkspaceId="ws-1")).body.job_id
    # Then GetJob shows it as it was requested, starting its lifecycle
    job = dlc.get_job(job_id, models.GetJobRequest()).body
    assert job.job_id == job_id and job.display_name == "ap-demo-v1" and job.status == "Creating"
    assert job.data_sources[0].uri == "oss://bkt/datasets/demo/v1/"
    assert job.settings.tags == {"autopilot-run-id": "ap-demo-v1"}
    assert job.status_history[0].status == "Creating"
    # And ListJobs finds it by workspace, display name (fuzzy) and tags
    for query in (
        models.ListJobsRequest(workspace_id="ws-1"),
        models.ListJobsRequest(display_name="demo-v"),
        models.ListJobsRequest(tags={"autopilot-run-id": "ap-demo-v1"}),
    ):
        listed = dlc.list_jobs(query).body
        assert [j.job_id for j in listed.jobs] == [job_id] and listed.total_count == 1
    assert dlc.list_jobs(models.ListJobsRequest(tags={"autopilot-run-id": "other"})).body.total_count == 0


def test_jobs_move_through_their_lifecycle_on_the_clock(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze()
    job_id = dlc.create_job(job_request()).body.job_id
    seen = []
    for _ in range(4):
        seen.append(dlc.get_job(job_id, models.GetJobRequest()).body.status)
        cloud.advance(3)
    assert seen == ["Creating", "Queuing", "EnvPreparing", "Running"]
    history = [h.status for h in dlc.get_job(job_id, models.GetJobRequest()).body.status_history]
    assert history == ["Creating", "Queuing", "EnvPreparing", "Running"]


def test_list_jobs_pages_and_sorts(cloud):
    dlc = dlc_client(cloud)
    cloud.clock.freeze(1_800_000_000)
    ids = []
    for i in range(5):
        ids.append(dlc.create_job(job_request(f"job-{i}")).body.job_id)
        cloud.advance(1)
    page1 = dlc.list_jobs(models.ListJobsRequest(page_size=2, page_number=1, order="asc")).body
    page3 = dlc.list_jobs(models.ListJobsRequest(page_size=2, page_number=3, order="asc")).body
    assert [j.job_id for j in page1.jobs] == ids[:2] and [j.job_id for j in page3.jobs] == ids[4:]
    assert page1.total_count == 5
    newest_first = dlc.list_jobs(models.ListJobsRequest(page_size=10)).body.jobs
    assert [j.job_id for j in newest_first] == ids[::-1]


def test_sts_credentials_are_accepted_and_a_wrong_token_is_refused(cloud):
    sts = cloud.credentials.issue_sts()
    ok = dlc_client(cloud, key=sts.access_key_id, secret=sts.access_key_secret, token=sts.security_token)
    assert ok.list_jobs(models.ListJobsRequest()).body.total_count == 0
    bad = dlc_client(cloud, key=sts.access_key_id, secret=sts.access_key_secret, token="CAISforged")
    with pytest.raises(ClientException) as info:
        bad.list_jobs(models.ListJobsRequest())
    assert info.value.code == "InvalidSecurityToken" and info.value.status_code == 403


def test_wrong_secret_gets_a_pop_json_error(cloud):
    # Given a client with a wrong secret
    dlc = dlc_client(cloud, secret="not-the-secret")
    # When it calls DLC, the SDK parses the POP JSON error into a ClientException (no crash)
    with pytest.raises(ClientException) as info:
        dlc.list_jobs(models.ListJobsRequest())
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status_code == 400
    assert info.value.request_id
    assert info.value.data["Code"] == "SignatureDoesNotMatch"


def test_unknown_access_key(cloud):
    with pytest.raises(ClientException) as info:
        dlc_client(cloud, key="LTAIunknown").list_jobs(models.ListJobsRequest())
    assert info.value.code == "InvalidAccessKeyId"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"DisplayName": "has space"}, "DisplayName is invalid: 'has space'"),
        ({"JobType": "SparkJob"}, "JobType is invalid: 'SparkJob'"),
        ({"JobSpecs": []}, "JobSpecs is mandatory"),
        ({"JobSpecs": [{"Type": "Worker", "Image": "img", "PodCount": 1}]}, "needs EcsSpec"),
        ({"Priority": 12}, "Priority must be within [1, 9]"),
    ],
)
def test_invalid_create_job_is_a_400_with_the_offending_value(cloud, change, fragment):
    with pytest.raises(ClientException) as info:
        dlc_client(cloud).create_job(job_request(**change))
    assert info.value.code == "InvalidParameter" and info.value.status_code == 400
    assert fragment in info.value.data["Message"]


def test_get_unknown_job_is_404(cloud):
    with pytest.raises(ClientException) as info:
        dlc_client(cloud).get_job("dlcnope", models.GetJobRequest())
    assert (info.value.code, info.value.status_code) == ("JobNotFound", 404)


def test_unknown_product_version_is_a_pop_error(cloud):
    import requests

    response = requests.get(cloud.url + "/api/v2/services", headers={"x-acs-version": "2099-01-01", "x-acs-action": "X"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidVersion"

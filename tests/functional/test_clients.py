"""The client factory: credentials from the environment, one endpoint switch, bounded SDK retries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from alibabacloud_pai_dlc20201203 import models

from localcloud.core.faults import Fault
from pai_autopilot.clients import Clients, Credentials, oss_endpoint, pop_endpoint
from pai_autopilot.errors import SettingsError
from pai_autopilot.settings import Settings


def test_credentials_prefer_the_environment_then_the_fc_context():
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.x", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s", "ALIBABA_CLOUD_SECURITY_TOKEN": "t"}
    assert Credentials.from_env(env) == Credentials("STS.x", "s", "t")
    context = SimpleNamespace(credentials=SimpleNamespace(access_key_id="a", access_key_secret="b", security_token="c"))
    assert Credentials.from_env({}, context) == Credentials("a", "b", "c")
    with pytest.raises(SettingsError, match="ALIBABA_CLOUD_ACCESS_KEY_ID"):
        Credentials.from_env({}, SimpleNamespace())
    assert repr(Credentials("STS.x", "the-secret", "the-token")) == "Credentials(access_key_id='STS.x')"


def test_one_endpoint_switches_every_client():
    cloud = Settings.resolve(environ={"ALIBABA_CLOUD_REGION_ID": "cn-shanghai"})
    local = Settings.resolve(environ={"AUTOPILOT_ENDPOINT": "http://127.0.0.1:9800"})
    internal = Settings.resolve(environ={"AUTOPILOT_OSS_INTERNAL": "true"})
    assert oss_endpoint(cloud) == "https://oss-cn-shanghai.aliyuncs.com"
    assert oss_endpoint(internal) == "https://oss-cn-hangzhou-internal.aliyuncs.com"
    assert pop_endpoint(cloud, "pai-dlc") == ("pai-dlc.cn-shanghai.aliyuncs.com", "https")
    assert oss_endpoint(local) == "http://127.0.0.1:9800"
    assert pop_endpoint(local, "pai-dlc") == ("127.0.0.1:9800", "http")


@pytest.fixture
def dlc(cloud):
    """A DLC client of the project (3 SDK attempts) on localcloud, and the headers of each ListJobs it sends."""
    seen: list[dict[str, str]] = []
    record = cloud.edge.on_request

    def observe(request, response):
        if request.headers.get("x-acs-action") == "ListJobs":
            seen.append(dict(request.headers))
        record(request, response)

    cloud.edge.on_request = observe
    env = {**cloud.env(), "AUTOPILOT_SDK_ATTEMPTS": "3"}
    yield Clients(Settings.resolve(environ=env), Credentials.from_env(env)).dlc, seen
    cloud.edge.on_request = record


def fail_list_jobs(cloud, count: int, **fault) -> None:
    cloud.faults.add(Fault(service="dlc", operation="ListJobs", count=count, **fault))


def test_5xx_is_retried_with_backoff_until_success(cloud, dlc):
    client, seen = dlc
    fail_list_jobs(cloud, 2, status=503, error_code="ServiceUnavailable")
    body = client.list_jobs(models.ListJobsRequest()).body
    assert body.total_count == 0 and len(seen) == 3
    assert [r.get("X-Acs-Retry-Attempts") for r in seen] == [None, "1", "2"]


def test_retries_are_bounded(cloud, dlc):
    from alibabacloud_tea_openapi.exceptions import ServerException

    client, seen = dlc
    fail_list_jobs(cloud, 10, status=503, error_code="ServiceUnavailable")
    with pytest.raises(ServerException) as info:
        client.list_jobs(models.ListJobsRequest())
    assert len(seen) == 3 and info.value.code == "ServiceUnavailable"


def test_throttling_with_retry_after_is_retried(cloud, dlc):
    client, seen = dlc
    fail_list_jobs(cloud, 1, throttle_rate=1.0, retry_after_ms=50)  # 503 Throttling + x-acs-retry-after
    client.list_jobs(models.ListJobsRequest())
    assert len(seen) == 2


def test_a_4xx_throttling_code_is_retried(cloud, dlc):
    client, seen = dlc
    fail_list_jobs(cloud, 1, status=400, error_code="Throttling.User")
    client.list_jobs(models.ListJobsRequest())
    assert len(seen) == 2


def test_a_plain_4xx_is_not_retried(cloud, dlc):
    from alibabacloud_tea_openapi.exceptions import ClientException

    client, seen = dlc
    fail_list_jobs(cloud, 10, status=400, error_code="InvalidParameter")
    with pytest.raises(ClientException):
        client.list_jobs(models.ListJobsRequest())
    assert len(seen) == 1

"""The client factory: credentials from the environment, one endpoint switch, bounded SDK retries."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from alibabacloud_pai_dlc20201203 import models
from werkzeug.wrappers import Request, Response

from localcloud.server import ThreadedServer
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


class FlakyDlc:
    """A server answering ListJobs with ``failures`` errors before succeeding, recording each request."""

    def __init__(self, failures: int, status: int = 503, code: str = "ServiceUnavailable", retry_after: str | None = None):
        self.failures, self.status, self.code, self.retry_after = failures, status, code, retry_after
        self.requests: list[dict[str, str]] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append(dict(request.headers))
        if len(self.requests) <= self.failures:
            headers = {"x-acs-retry-after": self.retry_after} if self.retry_after else {}
            body = json.dumps({"Code": self.code, "Message": "try later", "RequestId": f"R{len(self.requests)}"})
            return Response(body, status=self.status, content_type="application/json", headers=headers)(environ, start_response)
        return Response(json.dumps({"Jobs": [], "TotalCount": 0, "RequestId": "OK"}), content_type="application/json")(environ, start_response)


@pytest.fixture
def flaky():
    servers = []

    def start(app: FlakyDlc) -> Clients:
        server = ThreadedServer(app)
        server.start()
        servers.append(server)
        settings = Settings.resolve(environ={"AUTOPILOT_ENDPOINT": server.url, "AUTOPILOT_SDK_ATTEMPTS": "3"})
        return Clients(settings, Credentials("ak", "sk"))

    yield start
    for server in servers:
        server.stop()


def test_5xx_is_retried_with_backoff_until_success(flaky):
    app = FlakyDlc(failures=2)
    body = flaky(app).dlc.list_jobs(models.ListJobsRequest()).body
    assert body.total_count == 0 and len(app.requests) == 3
    assert [r.get("X-Acs-Retry-Attempts") for r in app.requests] == [None, "1", "2"]


def test_retries_are_bounded(flaky):
    from alibabacloud_tea_openapi.exceptions import ServerException

    app = FlakyDlc(failures=10)
    with pytest.raises(ServerException) as info:
        flaky(app).dlc.list_jobs(models.ListJobsRequest())
    assert len(app.requests) == 3 and info.value.code == "ServiceUnavailable"


def test_throttling_with_retry_after_is_retried(flaky):
    app = FlakyDlc(failures=1, status=400, code="Throttling.User", retry_after="50")
    flaky(app).dlc.list_jobs(models.ListJobsRequest())
    assert len(app.requests) == 2


def test_a_plain_4xx_is_not_retried(flaky):
    from alibabacloud_tea_openapi.exceptions import ClientException

    app = FlakyDlc(failures=10, status=400, code="InvalidParameter")
    with pytest.raises(ClientException):
        flaky(app).dlc.list_jobs(models.ListJobsRequest())
    assert len(app.requests) == 1

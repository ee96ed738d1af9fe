"""localcloud's FC 3.0 InvokeFunction (sync and async) through the real ``alibabacloud_fc20230330`` client."""

from __future__ import annotations

import json
import textwrap

import pytest
from alibabacloud_fc20230330 import models as fc_models
from alibabacloud_fc20230330.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from darabonba.runtime import RuntimeOptions

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

HANDLER = '''
import json

def handler(event, context):
    body = json.loads(event or b"{}")
    if body.get("boom"):
        raise RuntimeError("boom")
    return {"got": body, "request_id": context.request_id}
'''

SYAML = """
edition: 3.0.0
name: invoke-project
access: default
resources:
  echo:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: echo-fn
      runtime: python3.10
      code: ./code
      handler: echo.handler
      timeout: 10
      asyncInvokeConfig:
        maxAsyncRetryAttempts: 0
        maxAsyncEventAgeInSeconds: 3600
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("invoke")
    (root / "functions").mkdir()
    (root / "shared").mkdir()
    (root / "functions" / "echo.py").write_text(textwrap.dedent(HANDLER))
    (root / "s.yaml").write_text(SYAML)
    cloud = LocalCloud(project_dir=root, retry_delay_scale=0.05).start()
    yield cloud
    cloud.stop()


def fc_client(cloud, secret: str = LOCAL_ACCESS_KEY_SECRET) -> Client:
    return Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=secret,
                         endpoint=cloud.url.removeprefix("http://"), protocol="http"))


def invoke(client: Client, name: str, body: bytes, kind: str, task_id: str | None = None):
    headers = fc_models.InvokeFunctionHeaders(x_fc_invocation_type=kind, x_fc_async_task_id=task_id)
    return client.invoke_function_with_options(name, fc_models.InvokeFunctionRequest(body=body), headers, RuntimeOptions())


def test_async_invoke_queues_the_event_once_per_task_id(project):
    project.fc.reset()
    client = fc_client(project)
    # When the function is invoked asynchronously, twice with the same task id
    first = invoke(client, "echo-fn", b'{"kick": 1}', "Async", task_id="kick-ro-1")
    second = invoke(client, "echo-fn", b'{"kick": 1}', "Async", task_id="kick-ro-1")
    # Then both are accepted (202, same request id) and the function ran once with the event
    assert first.status_code == 202 and second.status_code == 202
    assert first.headers["x-fc-request-id"] == second.headers["x-fc-request-id"]
    assert project.fc.wait_idle(30)
    (record,) = project.fc.invocation_records("echo-fn")
    assert record["status"] == "succeeded" and record["result"]["got"] == {"kick": 1}
    assert record["source"] == "api:InvokeFunction"


def test_sync_invoke_answers_the_result_or_the_error_type(project):
    client = fc_client(project)
    ok = invoke(client, "echo-fn", b'{"x": 2}', "Sync")
    assert ok.status_code == 200 and json.loads(ok.body.read())["got"] == {"x": 2}
    failed = invoke(client, "echo-fn", b'{"boom": true}', "Sync")
    assert failed.status_code == 200 and failed.headers["x-fc-error-type"] == "UnhandledInvocationError"
    assert "boom" in json.loads(failed.body.read())["errorMessage"]


def test_unknown_function_bad_type_and_bad_signature_are_pop_errors(project):
    client = fc_client(project)
    with pytest.raises(ClientException) as unknown:
        invoke(client, "nope", b"{}", "Async")
    assert unknown.value.code == "FunctionNotFound" and "echo-fn" in unknown.value.message
    with pytest.raises(ClientException) as bad_type:
        invoke(client, "echo-fn", b"{}", "Later")
    assert bad_type.value.code == "InvalidArgument"
    with pytest.raises(ClientException) as unsigned:
        invoke(fc_client(project, secret="wrong"), "echo-fn", b"{}", "Async")
    assert unsigned.value.status_code in (400, 403)

"""Crash faults: a function instance killed right after one of its calls succeeded (a crash between
a side effect and what the function does next), then FC's async retry runs the event again."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import oss2
import pytest
import requests

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
from localcloud.core.faults import Fault

WRITER = '''
import json, os
import oss2

def handler(event, context):
    key = json.loads(event)["key"]
    auth = oss2.StsAuth(os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"], os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                        os.environ["ALIBABA_CLOUD_SECURITY_TOKEN"])
    bucket = oss2.Bucket(auth, os.environ["AUTOPILOT_ENDPOINT"], "crash-bucket")
    for step in ("first", "second"):
        bucket.put_object(f"out/{key}/{step}", step.encode())
    return {"outcome": "ok", "key": key}
'''

SYAML = """
edition: 3.0.0
name: crash-project
access: default
resources:
  writer:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: writer
      runtime: python3.10
      code: ./code
      handler: writer.handler
      timeout: 30
      asyncInvokeConfig:
        maxAsyncRetryAttempts: 2
        maxAsyncEventAgeInSeconds: 3600
"""


@pytest.fixture(scope="module")
def crashy(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("crash")
    (root / "functions").mkdir()
    (root / "shared").mkdir()
    (root / "functions" / "writer.py").write_text(textwrap.dedent(WRITER))
    (root / "s.yaml").write_text(SYAML)
    cloud = LocalCloud(project_dir=root, retry_delay_scale=0.05).start()
    yield cloud
    cloud.stop()


@pytest.fixture
def bucket(crashy) -> oss2.Bucket:
    crashy.reset()
    crashy.oss.create_bucket("crash-bucket")
    return oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), crashy.url, "crash-bucket")


def _run(cloud, key: str) -> dict:
    cloud.fc.invoke_async("writer", json.dumps({"key": key}).encode())
    assert cloud.fc.wait_idle(60)
    (record,) = [r for r in cloud.fc.invocation_records("writer")]
    return record


def test_a_crash_after_a_call_kills_the_instance_and_the_retry_finishes(crashy, bucket):
    # Given a crash fault on the first object's PutObject
    crashy.faults.add(Fault(service="oss", operation="PutObject", path_contains="/first", crash=True, count=1))
    before = crashy.fc.crashes
    record = _run(crashy, "k1")
    # Then the first attempt died after its write landed, and FC's retry wrote both
    assert record["status"] == "succeeded" and record["attempts"] == 2, record
    assert crashy.fc.crashes == before + 1
    assert bucket.get_object("out/k1/first").read() == b"first"
    assert bucket.get_object("out/k1/second").read() == b"second"


def test_skip_places_the_crash_after_the_nth_matching_call(crashy, bucket):
    # Given: skip the first PutObject of the function, crash after the second
    crashy.faults.add(Fault(service="oss", operation="PutObject", crash=True, skip=1, count=1))
    record = _run(crashy, "k2")
    assert record["status"] == "succeeded" and record["attempts"] == 2
    (crashed,) = [r for r in crashy.fc.invocation_records("writer")]
    assert crashed["attempts"] == 2


def test_a_call_that_failed_or_came_from_outside_the_functions_crashes_nothing(crashy, bucket):
    # Given a crash fault on every PutObject, and the test's own (non-function) writes
    fault_id = crashy.faults.add(Fault(service="oss", operation="PutObject", crash=True, count=1))
    bucket.put_object("by-test.txt", b"x")  # our key is no instance's: the fault is not consumed
    assert [f["count"] for f in crashy.faults.list() if f["id"] == fault_id] == [1]
    # And a PutObject failing by another fault is no side effect: no crash
    crashy.faults.add(Fault(service="oss", operation="PutObject", path_contains="/first", count=1))
    record = _run(crashy, "k3")
    # attempt 1: the first write fails (500 is retried by nothing in the handler: it raises);
    # attempt 2: the first write succeeds and crashes; attempt 3: both writes
    assert record["status"] == "succeeded" and record["attempts"] == 3, record
    assert bucket.object_exists("out/k3/second")


def test_the_control_api_takes_crash_faults(crashy, bucket):
    body = {"service": "oss", "operation": "PutObject", "path_contains": "/second", "crash": True, "skip": 0, "count": 1}
    answer = requests.post(crashy.url + "/_localcloud/faults", json=body, timeout=5).json()
    assert answer["faults"][0]["crash"] is True and answer["faults"][0]["path_contains"] == "/second"
    record = _run(crashy, "k4")
    assert record["status"] == "succeeded" and record["attempts"] == 2
    assert requests.get(crashy.url + "/_localcloud/state", timeout=5).json()["fc"]["crashes"] >= 1

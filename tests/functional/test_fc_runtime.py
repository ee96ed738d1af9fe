"""The local FC runtime on a small project of its own: triggers, async retries, DLQ, timeouts, env."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import oss2
import pytest

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

HANDLER = '''
import json, os, time

def handler(event, context):
    body = json.loads(event)
    key = body["events"][0]["oss"]["object"]["key"] if "events" in body else body.get("key", "")
    if "boom" in key:
        raise RuntimeError("boom: " + key)
    if "slow" in key:
        time.sleep(5)
    print(json.dumps({"event": "probe", "key": key}))
    return {
        "outcome": "ok", "event": body, "request_id": context.request_id,
        "sts_in_context": bool(context.credentials.security_token),
        "env": {k: os.environ.get(k) for k in (
            "FC_FUNCTION_NAME", "FC_FUNCTION_HANDLER", "FC_FUNCTION_MEMORY_SIZE", "FC_REGION", "FC_ACCOUNT_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_SECURITY_TOKEN", "AUTOPILOT_ENDPOINT", "GREETING")},
    }
'''

SYAML = """
edition: 3.0.0
name: probe-project
access: default
resources:
  probe:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: probe
      runtime: python3.10
      code: ./code
      handler: probe.handler
      memorySize: 256
      timeout: 2
      environmentVariables:
        GREETING: hello
      asyncInvokeConfig:
        maxAsyncRetryAttempts: 2
        maxAsyncEventAgeInSeconds: 3600
      triggers:
        - triggerName: in-txt
          triggerType: oss
          sourceArn: acs:oss:cn-hangzhou:${config('AccountID')}:probe-bucket
          invocationRole: acs:ram::1:role/oss
          triggerConfig:
            events: [oss:ObjectCreated:PutObject, oss:ObjectRemoved:DeleteObject]
            filter: {key: {prefix: in/, suffix: .txt}}
  aging:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: aging
      runtime: python3.10
      code: ./code
      handler: probe.handler
      timeout: 2
      asyncInvokeConfig:
        maxAsyncRetryAttempts: 8
        maxAsyncEventAgeInSeconds: 1
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("probe")
    (root / "functions").mkdir()
    (root / "shared").mkdir()
    (root / "functions" / "probe.py").write_text(textwrap.dedent(HANDLER))
    (root / "s.yaml").write_text(SYAML)
    cloud = LocalCloud(project_dir=root, retry_delay_scale=0.05).start()
    cloud.oss.create_bucket("probe-bucket")
    yield cloud
    cloud.stop()


@pytest.fixture
def bucket(probe) -> oss2.Bucket:
    probe.fc.reset()
    return oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), probe.url, "probe-bucket")


def test_only_events_matching_the_trigger_are_delivered_in_native_format(probe, bucket):
    # When objects are written inside and outside the trigger's filter
    for key in ("in/a.txt", "in/a.csv", "out/a.txt", "in/sub/b.txt"):
        bucket.put_object(key, b"data")
    bucket.delete_object("in/a.txt")
    assert probe.fc.wait_idle(30)
    # Then only the matching ones reached the function, each once
    delivered = [(r["result"]["event"]["events"][0]["eventName"], r["result"]["event"]["events"][0]["oss"]["object"]["key"])
                 for r in probe.fc.invocation_records()]
    assert sorted(delivered) == [
        ("ObjectCreated:PutObject", "in/a.txt"), ("ObjectCreated:PutObject", "in/sub/b.txt"),
        ("ObjectRemoved:DeleteObject", "in/a.txt"),
    ]
    # And the event has the native OSS shape
    record = next(r for r in probe.fc.invocation_records() if r["result"]["event"]["events"][0]["oss"]["object"]["key"] == "in/sub/b.txt")
    event = record["result"]["event"]["events"][0]
    assert event["eventSource"] == "acs:oss" and event["region"] == "cn-hangzhou"
    assert event["oss"]["bucket"]["name"] == "probe-bucket"
    assert event["oss"]["bucket"]["arn"] == f"acs:oss:cn-hangzhou:{probe.account_id}:probe-bucket"
    assert event["oss"]["object"]["size"] == 4 and len(event["oss"]["object"]["eTag"]) == 32
    assert event["responseElements"]["requestId"]


def test_function_environment_and_context_are_fc_like(probe, bucket):
    bucket.put_object("in/env.txt", b"x")
    assert probe.fc.wait_idle(30)
    (record,) = probe.fc.invocation_records()
    env = record["result"]["env"]
    assert env["FC_FUNCTION_NAME"] == "probe" and env["FC_FUNCTION_HANDLER"] == "probe.handler"
    assert env["FC_FUNCTION_MEMORY_SIZE"] == "256" and env["FC_REGION"] == "cn-hangzhou"
    assert env["GREETING"] == "hello"  # from s.yaml
    assert env["AUTOPILOT_ENDPOINT"] == probe.url
    assert env["ALIBABA_CLOUD_ACCESS_KEY_ID"].startswith("STS.") and env["ALIBABA_CLOUD_SECURITY_TOKEN"]
    assert record["result"]["sts_in_context"] is True
    assert record["result"]["request_id"] == record["request_id"]
    assert any('"event": "probe"' in line for line in probe.fc.logs("probe"))


def test_a_raising_handler_is_retried_then_dead_lettered(probe, bucket):
    bucket.put_object("in/boom.txt", b"x")
    assert probe.fc.wait_idle(30)
    (record,) = probe.fc.invocation_records()
    assert record["status"] == "dead"
    assert record["attempts"] == 3  # 1 + maxAsyncRetryAttempts
    (dead,) = probe.fc.dead_letters()
    assert dead["error_type"] == "RuntimeError" and dead["error"] == "boom: in/boom.txt"
    assert dead["errors"] == ["boom: in/boom.txt"] * 3
    assert json.loads(dead["event"])["events"][0]["oss"]["object"]["key"] == "in/boom.txt"


def test_a_handler_over_its_timeout_is_killed_and_retried(probe, bucket):
    bucket.put_object("in/slow.txt", b"x")
    assert probe.fc.wait_idle(60)
    (record,) = probe.fc.invocation_records()
    assert record["status"] == "dead" and record["attempts"] == 3
    assert record["error_type"] == "FunctionTimeout" and "timed out after 2 seconds" in record["error"]


def test_invoke_sync_runs_once_in_a_fresh_instance(probe):
    result = probe.fc.invoke_sync("probe", json.dumps({"key": "direct"}).encode())
    assert result.ok and result.cold_start and result.result["event"] == {"key": "direct"}
    failed = probe.fc.invoke_sync("probe", json.dumps({"key": "boom"}).encode())
    assert not failed.ok and failed.error_type == "RuntimeError"


def test_control_api_exposes_invocations_and_dead_letters(probe, bucket):
    import requests

    bucket.put_object("in/boom.txt", b"x")
    assert probe.fc.wait_idle(30)
    dead = requests.get(probe.url + "/_localcloud/fc/dead-letters", timeout=5).json()
    assert [d["attempts"] for d in dead] == [3]
    health = requests.get(probe.url + "/_localcloud/health", timeout=5).json()
    assert health == {"status": "ok", "services": ["oss", "dlc", "eventbridge", "eas", "dsw", "cms", "fc"], "region": "cn-hangzhou"}


def test_reset_empties_standing_buckets_but_keeps_them(probe, bucket):
    # Given a bucket created as a standing bucket, with an object in it
    probe.create_bucket("standing-bucket")
    standing = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), probe.url, "standing-bucket")
    standing.put_object("a.txt", b"x")
    # When localcloud is reset through the control API
    import requests

    assert requests.post(probe.url + "/_localcloud/reset", timeout=5).json() == {"reset": True, "buckets_removed": ["probe-bucket"]}
    # Then the bucket is there, empty; other buckets are gone
    assert [o.key for o in standing.list_objects_v2().object_list] == []
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.list_objects_v2()
    probe.create_bucket("probe-bucket")


def test_retries_stop_when_the_event_is_older_than_its_max_age(probe):
    # Given a function allowed 8 retries but events only 1 s old (backoff 0.05 s, 0.1 s, 0.2 s …)
    probe.fc.reset()
    probe.fc.invoke_async("aging", json.dumps({"key": "boom"}).encode())
    assert probe.fc.wait_idle(30)
    (record,) = probe.fc.invocation_records("aging")
    # Then it was dead-lettered by age, before the retry budget ran out
    assert record["status"] == "dead"
    assert 3 <= record["attempts"] < 9


def test_a_clock_bound_before_the_next_invocation_still_follows_the_clock(tmp_path):
    """A function module that bound ``time.time`` at import (``now=time.time`` as a default) must
    see localcloud's clock on later invocations too, not the offset of its first one."""
    from localcloud import LocalCloud

    (tmp_path / "s.yaml").write_text(
        "edition: 3.0.0\nname: t\naccess: default\nresources:\n  clocky:\n    component: fc3\n    props:\n"
        "      region: cn-hangzhou\n      functionName: clocky\n      runtime: python3.10\n      code: ./code\n"
        "      handler: clocky.handler\n      memorySize: 128\n      timeout: 10\n")
    (tmp_path / "functions").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "functions" / "clocky.py").write_text(
        "import time\n\ndef _now(now=time.time):\n    return now()\n\n"
        "def handler(event, context):\n    return {'bound': _now(), 'live': time.time()}\n")
    cloud = LocalCloud(project_dir=tmp_path, function_env={"LOCALCLOUD_FOLLOW_CLOCK": "*"}).start()
    try:
        cloud.clock.freeze()
        def invoke() -> dict:
            cloud.fc.invoke_async("clocky", b"{}")
            assert cloud.fc.wait_idle(30)
            return cloud.fc.invocation_records("clocky")[-1]

        first = invoke()["result"]
        for _ in range(3):  # until a warm instance answers: its module was imported before the clock moved
            cloud.clock.advance(120)
            record = invoke()
            if not record["cold_start"]:
                break
        assert not record["cold_start"], record
        second = record["result"]
        for result in (first, second):
            assert abs(result["bound"] - result["live"]) < 5, result
        assert second["bound"] - first["bound"] > 100
    finally:
        cloud.stop()

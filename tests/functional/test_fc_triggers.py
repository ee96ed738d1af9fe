"""Timer and HTTP triggers, delivery faults and request faults on the local FC runtime."""

from __future__ import annotations

import base64
import json
import textwrap
from datetime import datetime, timezone

import oss2
import pytest
import requests

from localcloud import LocalCloud
from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
from localcloud.core.faults import DeliveryFaults

ECHO = '''
import json

def handler(event, context):
    return {"outcome": "ok", "event": json.loads(event)}

def http(event, context):
    req = json.loads(event)
    if req["rawPath"] == "/boom":
        raise ValueError("boom")
    body = {"method": req["requestContext"]["http"]["method"], "path": req["rawPath"], "query": req["queryParameters"],
            "body": req["body"], "b64": req["isBase64Encoded"], "sig": req["headers"].get("X-Signature")}
    return {"statusCode": 201, "headers": {"Content-Type": "application/json", "X-Echo": "1"},
            "isBase64Encoded": False, "body": json.dumps(body)}
'''

SYAML = """
edition: 3.0.0
name: triggers
access: default
template:
  fn:
    region: cn-hangzhou
    runtime: python3.10
    code: ./code
    timeout: 5
    asyncInvokeConfig: {maxAsyncRetryAttempts: 0, maxAsyncEventAgeInSeconds: 3600}
resources:
  ticker:
    component: fc3
    extend: {name: fn}
    props:
      functionName: ticker
      handler: echo.handler
      triggers:
        - triggerName: quarter-hour
          triggerType: timer
          triggerConfig: {cronExpression: '0 */15 * * * *', enable: true, payload: '{"job": "reconcile"}'}
        - triggerName: nine-shanghai
          triggerType: timer
          triggerConfig: {cronExpression: 'CRON_TZ=Asia/Shanghai 0 0 9 * * *', enable: true}
        - triggerName: disabled
          triggerType: timer
          triggerConfig: {cronExpression: '@every 1m', enable: false}
  hook:
    component: fc3
    extend: {name: fn}
    props:
      functionName: hook
      handler: echo.http
      triggers:
        - triggerName: web
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [POST, GET]}
  watcher:
    component: fc3
    extend: {name: fn}
    props:
      functionName: watcher
      handler: echo.handler
      triggers:
        - triggerName: any-txt
          triggerType: oss
          sourceArn: acs:oss:cn-hangzhou:${config('AccountID')}:trig-bucket
          invocationRole: acs:ram::1:role/oss
          triggerConfig:
            events: [oss:ObjectCreated:PutObject]
            filter: {key: {prefix: '', suffix: .txt}}
  listener:
    component: fc3
    extend: {name: fn}
    props:
      functionName: listener
      handler: echo.handler
      triggers:
        - triggerName: csv-on-default-bus
          triggerType: eventbridge
          triggerConfig:
            triggerEnable: true
            asyncInvocationType: true
            eventSourceConfig: {eventSourceType: Default}
            eventRuleFilterPattern: '{"source":["acs.oss"],"type":["oss:ObjectCreated:PutObject"],"data":{"oss":{"object":{"key":[{"suffix":".csv"}]}}}}'
"""

START = datetime(2026, 3, 1, 0, 0, 0, tzinfo=timezone.utc).timestamp()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("triggers")
    (root / "functions").mkdir()
    (root / "shared").mkdir()
    (root / "functions" / "echo.py").write_text(textwrap.dedent(ECHO))
    (root / "s.yaml").write_text(SYAML)
    cloud = LocalCloud(project_dir=root, retry_delay_scale=0.05, tick_interval=0.05)
    cloud.clock.freeze(START)
    cloud.start()
    cloud.create_bucket("trig-bucket")
    yield cloud
    cloud.stop()


def fresh(project):
    """Reset the cloud and freeze its clock at START, with no invocation left over."""
    project.reset()  # also resets the clock; freeze again at a known time
    project.clock.freeze(START)
    project.fc.restart_timers()
    # LocalCloud.reset() clears the records, then resets the clock to real time, then re-anchors
    # the timers: a background tick in between sees every timer due from the last test's clock up
    # to today (months of "nine-shanghai" fires). Now that the frozen clock and the timers agree,
    # drop whatever such a tick queued, so each test starts from an empty record.
    project.fc.reset()
    return project


@pytest.fixture
def cloud(project):
    return fresh(project)


def test_a_tick_inside_reset_leaves_nothing_behind(cloud, monkeypatch):
    # Given a test that moved the clock an hour on
    cloud.advance(3600)
    assert cloud.fc.wait_idle(30)
    # When the background ticker runs inside reset(), between the clock reset and the re-anchoring
    rearm = cloud.fc.restart_timers
    calls = []

    def tick_then_rearm():
        if not calls:
            cloud.fc.tick(cloud.clock.now())  # real time: months of fires fall due
        calls.append(1)
        rearm()

    monkeypatch.setattr(cloud.fc, "restart_timers", tick_then_rearm)
    fresh(cloud)
    assert cloud.fc.wait_idle(30)
    # Then the next test still starts with no invocation at all
    assert fired(cloud, "ticker") == []


def fired(cloud, function: str) -> list[dict]:
    return [r["result"]["event"] for r in cloud.fc.invocation_records(function)]


def test_timers_fire_on_the_clock_in_order_and_only_when_enabled(cloud):
    # When the frozen clock is advanced by one hour
    cloud.advance(3600)
    assert cloud.fc.wait_idle(30)
    events = fired(cloud, "ticker")
    # Then the quarter-hour timer fired four times with FC's timer payload, in order
    quarter = [e for e in events if e["triggerName"] == "quarter-hour"]
    assert [e["triggerTime"] for e in quarter] == [
        "2026-03-01T00:15:00Z", "2026-03-01T00:30:00Z", "2026-03-01T00:45:00Z", "2026-03-01T01:00:00Z",
    ]
    # And the Shanghai 09:00 timer (01:00 UTC) once, the disabled one never
    assert [e["triggerName"] for e in events if e not in quarter] == ["nine-shanghai"]
    assert json.loads(events[0]["payload"]) == {"job": "reconcile"}


def test_cron_tz_is_honoured(cloud):
    # 09:00 in Shanghai is 01:00 UTC: nothing before, once at it
    cloud.advance(3600 - 1)
    assert cloud.fc.wait_idle(30)
    assert [e for e in fired(cloud, "ticker") if e["triggerName"] == "nine-shanghai"] == []
    cloud.advance(1)
    assert cloud.fc.wait_idle(30)
    nine = [e for e in fired(cloud, "ticker") if e["triggerName"] == "nine-shanghai"]
    assert [e["triggerTime"] for e in nine] == ["2026-03-01T01:00:00Z"] and nine[0]["payload"] == ""


def test_timers_do_not_fire_while_the_clock_is_frozen(cloud):
    import time

    time.sleep(0.3)  # several real-time ticks
    assert cloud.fc.invocation_records("ticker") == []


def test_http_trigger_round_trip(cloud):
    url = cloud.url + "/_fc/hook/v1/retrain%20now?a=1&a=2"
    response = requests.post(url, data=b'{"x": 1}', headers={"Content-Type": "application/json", "X-Signature": "s"}, timeout=10)
    assert response.status_code == 201 and response.headers["X-Echo"] == "1" and response.headers["x-fc-request-id"]
    assert response.json() == {"method": "POST", "path": "/v1/retrain%20now", "query": {"a": "1,2"}, "body": '{"x": 1}', "b64": False, "sig": "s"}
    binary = requests.post(cloud.url + "/_fc/hook/bin", data=b"\x00\xff", headers={"Content-Type": "application/octet-stream"}, timeout=10)
    assert binary.json()["b64"] is True and base64.b64decode(binary.json()["body"]) == b"\x00\xff"


def test_http_trigger_errors(cloud):
    assert requests.put(cloud.url + "/_fc/hook/x", timeout=10).status_code == 405
    missing = requests.get(cloud.url + "/_fc/nope/x", timeout=10)
    assert missing.status_code == 404 and "hook" in missing.json()["ErrorMessage"]
    boom = requests.get(cloud.url + "/_fc/hook/boom", timeout=10)
    assert boom.status_code == 502 and boom.json() == {"errorMessage": "boom", "errorType": "ValueError"}


def bucket(cloud) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, "trig-bucket")


def test_duplicate_delivery_at_100_percent_delivers_every_event_twice(cloud):
    cloud.delivery = DeliveryFaults(duplicate=1.0)
    for i in range(3):
        bucket(cloud).put_object(f"f{i}.txt", b"x")
    assert cloud.fc.wait_idle(30)
    keys = sorted(e["events"][0]["oss"]["object"]["key"] for e in fired(cloud, "watcher"))
    assert keys == ["f0.txt", "f0.txt", "f1.txt", "f1.txt", "f2.txt", "f2.txt"]


def test_reordering_and_loss(cloud):
    cloud.delivery = DeliveryFaults(reorder_window=0.5)
    for i in range(8):
        bucket(cloud).put_object(f"r{i}.txt", b"x")
    assert cloud.fc.wait_idle(30)
    keys = [e["events"][0]["oss"]["object"]["key"] for e in fired(cloud, "watcher")]
    assert sorted(keys) == [f"r{i}.txt" for i in range(8)]
    assert keys != sorted(keys)  # overtaken (the chance of 8 random delays keeping order is 1/40320)
    cloud.fc.reset()
    cloud.delivery = DeliveryFaults(drop=1.0)
    bucket(cloud).put_object("lost.txt", b"x")
    assert cloud.fc.wait_idle(30)
    assert fired(cloud, "watcher") == [] and cloud.fc.state()["dropped_deliveries"] >= 1


def test_delivery_faults_and_request_faults_through_the_control_api(cloud):
    ok = requests.post(cloud.url + "/_localcloud/delivery", json={"duplicate": 1.0}, timeout=5)
    assert ok.json()["duplicate"] == 1.0 and cloud.delivery.duplicate == 1.0
    bad = requests.post(cloud.url + "/_localcloud/delivery", json={"duplicate": 2}, timeout=5)
    assert bad.status_code == 400 and "duplicate must be within [0, 1], got 2" in bad.json()["Message"]
    unknown = requests.post(cloud.url + "/_localcloud/faults", json={"service": "oss", "colour": "red"}, timeout=5)
    assert unknown.status_code == 400 and "unknown field(s) ['colour']" in unknown.json()["Message"]
    added = requests.post(cloud.url + "/_localcloud/faults", json={"service": "dlc", "operation": "ListJobs", "count": 1}, timeout=5).json()
    assert [f["operation"] for f in added["faults"]] == ["ListJobs"]
    assert requests.delete(cloud.url + f"/_localcloud/faults/{added['id']}", timeout=5).json() == {"faults": []}
    clock = requests.post(cloud.url + "/_localcloud/clock", json={"advance": 900}, timeout=5).json()
    assert clock["now"] == START + 900 and clock["frozen"] is True
    assert cloud.fc.wait_idle(30) and len(fired(cloud, "ticker")) == 1
    logs = requests.get(cloud.url + "/_localcloud/fc/logs/ticker", timeout=5).json()
    assert any("FC Invoke Start" in line for line in logs)


def test_eventbridge_trigger_gets_oss_cloudevents_from_the_default_bus(cloud):
    bucket(cloud).put_object("data/a.csv", b"x")
    bucket(cloud).put_object("data/a.txt", b"x")  # no match for the pattern (suffix)
    assert cloud.fc.wait_idle(30)
    (event,) = fired(cloud, "listener")
    assert event["source"] == "acs.oss" and event["type"] == "oss:ObjectCreated:PutObject" and event["specversion"] == "1.0"
    assert event["subject"] == f"acs:oss:cn-hangzhou:{cloud.account_id}:trig-bucket/data/a.csv"
    assert event["data"]["oss"]["object"]["key"] == "data/a.csv" and event["aliyuneventbusname"] == "default"


def test_a_rule_on_a_custom_bus_delivers_put_events_to_a_function(cloud):
    from alibabacloud_eventbridge20200401 import models as eb
    from alibabacloud_eventbridge20200401.client import Client
    from alibabacloud_tea_openapi.models import Config

    client = Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                           endpoint=cloud.url.removeprefix("http://"), protocol="http"))
    client.create_event_bus(eb.CreateEventBusRequest(event_bus_name="pai-system-demo"))
    target = {"Id": "t1", "Type": "acs.fc.function", "Endpoint": f"acs:fc:cn-hangzhou:{cloud.account_id}:functions/listener",
              "ParamList": [{"ResourceKey": "Body", "Form": "ORIGINAL"}]}
    client.create_rule(eb.CreateRuleRequest(
        event_bus_name="pai-system-demo", rule_name="dlc-status", status="ENABLE",
        filter_pattern=json.dumps({"source": ["acs.pai"], "data": {"Status": ["Succeeded", "Failed"]}}),
        event_targets=[eb.CreateRuleRequestEventTargets().from_map(target)],
    ))
    cloud.delivery = DeliveryFaults(duplicate=1.0)
    events = [{"Id": f"e{i}", "Source": "acs.pai", "Type": "pai:DLC:JobStatusChanged", "Data": json.dumps({"JobId": f"dlc{i}", "Status": s})}
              for i, s in enumerate(["Running", "Succeeded"])]
    put = client.put_events(eb.PutEventsRequest(event_bus_name="pai-system-demo", event_list=[eb.PutEventsRequestEventList().from_map(e) for e in events]))
    assert put.body.data.failed_entry_count == 0
    assert cloud.fc.wait_idle(30)
    delivered = fired(cloud, "listener")
    assert [(e["id"], e["data"]["Status"]) for e in delivered] == [("e1", "Succeeded"), ("e1", "Succeeded")]  # duplicated


def test_a_tick_that_read_the_clock_before_it_was_frozen_fires_nothing_ahead_of_it(cloud):
    # Given a background tick that read real time just before the clock was frozen at START
    stale_now = START + 30 * 86400
    # When it runs after the freeze
    cloud.fc.tick(stale_now)
    assert cloud.fc.wait_idle(30)
    # Then nothing ahead of the frozen clock fired, and the timers still fire on the clock after
    assert fired(cloud, "ticker") == []
    cloud.advance(900)
    assert cloud.fc.wait_idle(30)
    assert [e["triggerTime"] for e in fired(cloud, "ticker")] == ["2026-03-01T00:15:00Z"]

"""CloudMonitor alarms (form callback, alarm JSON, EventBridge) and PAI DLC job events."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from pai_autopilot.errors import EventParseError
from pai_autopilot.events import (
    ASSUMED_DLC_JOB_EVENT,
    DLC_JOB_STATUS_TYPE,
    PAI_SOURCE,
    CloudEvent,
    CmsAlarm,
    HttpRequest,
    cms_alarm,
    dlc_job_status,
    is_dlc_job_event,
    parse_dimensions,
    parse_event,
)
from tests.conftest import load_event


def assert_callback_alarm_matches(alarm: CmsAlarm, fields: dict) -> None:
    """Every CmsAlarm field equals the callback field it comes from."""
    assert alarm.kind == "callback"
    assert alarm.rule_id == fields["ruleId"]
    assert alarm.rule_name == fields["alertName"]
    assert alarm.state == fields["alertState"]
    assert alarm.level == fields["triggerLevel"]
    assert alarm.previous_level == fields["preTriggerLevel"]
    assert alarm.metric_name == fields["metricName"]
    assert alarm.namespace == fields["namespace"]
    assert alarm.metric_project == fields["metricProject"]
    assert alarm.current_value == float(fields["curValue"])
    assert alarm.current_value_text == fields["curValue"]
    assert alarm.expression == fields["expression"]
    assert alarm.timestamp_ms == int(fields["timestamp"])
    assert alarm.user_id == fields["userId"]
    assert alarm.dimensions == {"serviceName": "demo_v2", "userId": "1234567890123456"}
    assert alarm.raw == fields


@pytest.mark.parametrize("name", ["httpCmsAlarmForm.json", "httpCmsAlarmFormBase64.json"])
def test_cms_form_callback_through_http(name):
    # Given the HTTP trigger event carrying the form-encoded callback (plain or base64)
    raw = json.loads(load_event(name))
    req = parse_event(load_event(name))
    # When the alarm is read from the request
    alarm = cms_alarm(req)
    # Then it matches the decoded form fields one by one
    assert isinstance(req, HttpRequest)
    assert_callback_alarm_matches(alarm, req.form())
    assert alarm.state == "ALERT" and alarm.is_firing
    assert alarm.current_value == 0.12
    assert alarm.dedupe_key == "cms/autopilot-demo-canary-5xx/ALERT@1714558200000"
    assert raw["requestContext"]["http"]["method"] == req.method == "POST"


def test_cms_alarm_through_eventbridge():
    # Given the CloudMonitor AlertWebHook CloudEvent (data = callback fields as JSON, assumed)
    raw = json.loads(load_event("eventbridgeCmsAlarm.json"))
    event = parse_event(load_event("eventbridgeCmsAlarm.json"))
    # Then the envelope matches the raw JSON
    assert isinstance(event, CloudEvent)
    assert event.source == raw["source"] == "acs.cms"
    assert event.type == raw["type"] == "cms:CloudMonitor:AlertWebHook"
    assert event.id == raw["id"]
    assert event.subject == raw["subject"]
    assert event.time == raw["time"]
    assert event.event_bus_name == raw["aliyuneventbusname"]
    assert event.data == raw["data"]
    # And its odd time suffix is understood as UTC+8
    assert event.event_datetime.isoformat() == "2024-05-01T18:10:00+08:00"
    # And the alarm inside matches the data fields
    alarm = cms_alarm(event)
    assert_callback_alarm_matches(alarm, raw["data"])
    assert alarm.current_value == 912.5


def test_cms_alarm_json():
    # Given the alarm JSON (the MNS/FC push form) delivered as the event itself
    raw = json.loads(load_event("cmsAlarmJson.json"))
    # When parsed
    alarm = parse_event(load_event("cmsAlarmJson.json"))
    # Then it is normalised into the common model
    assert isinstance(alarm, CmsAlarm)
    assert alarm.kind == "json"
    assert alarm.rule_id == raw["ruleId"]
    assert alarm.rule_name == raw["ruleName"]
    assert alarm.state == "ALERT"
    assert alarm.level == raw["curLevel"] == "CRITICAL"
    assert alarm.previous_level == raw["preLevel"] == "OK"
    assert alarm.metric_name == raw["metricName"]
    assert alarm.namespace == raw["namespace"]
    assert alarm.metric_project == ""
    statistic = raw["escalation"]["statistics"]
    assert alarm.current_value == raw["metricData"][statistic] == 912.5
    assert alarm.current_value_text == "912.5"
    assert alarm.timestamp_ms == raw["time"]
    assert alarm.user_id == raw["userId"]
    assert alarm.dimensions == json.loads(raw["resources"])
    assert alarm.expression is None
    assert alarm.raw == raw
    # And cms_alarm() on a model is the identity
    assert cms_alarm(alarm) is alarm


@pytest.mark.parametrize(
    ("fields", "state"),
    [({"curLevel": "OK", "preLevel": "CRITICAL"}, "OK"), ({"curLevel": "warn"}, "ALERT"),
     ({"curLevel": "NO_DATA"}, "INSUFFICIENT_DATA"), ({"eventName": "AlertOk"}, "OK")],
)
def test_alarm_json_state_mapping(fields, state):
    # Given alarm JSON with various levels, When normalised, Then the state follows the level
    assert CmsAlarm.from_alarm_json({"ruleId": "r", **fields}).state == state


@pytest.mark.parametrize(("given", "state"), [("ALERT", "ALERT"), ("ALARM", "ALERT"), ("alarm", "ALERT"),
                                              ("OK", "OK"), ("INSUFFICIENT_DATA", "INSUFFICIENT_DATA")])
def test_alert_state_aliases(given, state):
    # Given a callback with each documented alertState spelling
    alarm = cms_alarm(f"alertState={given}&ruleId=r1&curValue=1")
    # Then ALARM is an alias of ALERT and the others pass through
    assert alarm.state == state


def test_callback_with_json_dimensions_and_non_numeric_value():
    # Given a callback whose dimensions are JSON and whose curValue is not a number
    body = 'alertState=INSUFFICIENT_DATA&ruleId=r&curValue=--&dimensions={"instanceId":"i-1","port":80}'
    alarm = cms_alarm(HttpRequest(method="POST", body=body.encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}))
    # Then the dimensions are parsed as JSON and the value is None but kept as text
    assert alarm.dimensions == {"instanceId": "i-1", "port": "80"}
    assert alarm.current_value is None
    assert alarm.current_value_text == "--"
    assert alarm.timestamp_ms is None
    assert alarm.level is None and alarm.previous_level is None


def test_http_json_alarm_body():
    # Given the alarm JSON POSTed to the webhook as application/json
    body = load_event("cmsAlarmJson.json")
    req = HttpRequest(method="POST", body=body, headers={"content-type": "application/json"})
    # When read, Then it is the JSON kind
    assert cms_alarm(req).kind == "json"


def test_eventbridge_cms_data_as_form_text():
    # Given a CMS CloudEvent whose data is the raw form text
    text = json.loads(load_event("httpCmsAlarmForm.json"))["body"]
    fields = dict(parse_qsl(text, keep_blank_values=True))
    event = CloudEvent(id="1", source="acs.cms", type="cms:CloudMonitor:AlertWebHook", data=text)
    # Then the same alarm comes out
    assert_callback_alarm_matches(cms_alarm(event), fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{userId=1, instanceId=i-a}", {"userId": "1", "instanceId": "i-a"}),
     ("{}", {}), ("", {}), (None, {}), ("garbage", {}),
     ('{"serviceName": "svc"}', {"serviceName": "svc"}),
     ([{"a": "1"}, {"b": 2}], {"a": "1", "b": "2"}),
     ({"k": "v", "nested": {"x": 1}}, {"k": "v"})],
)
def test_parse_dimensions(text, expected):
    assert parse_dimensions(text) == expected


# ----------------------------------------------------------------------------------- PAI / DLC


def test_dlc_job_status_sample():
    # Given the (assumed-shape) DLC job status event from the PAI workspace bus
    raw = json.loads(load_event("eventbridgeDlcJobStatus.json"))
    event = parse_event(load_event("eventbridgeDlcJobStatus.json"))
    # Then the envelope matches the raw JSON
    assert isinstance(event, CloudEvent)
    assert event.source == raw["source"] == PAI_SOURCE
    assert event.type == raw["type"] == DLC_JOB_STATUS_TYPE
    assert event.id == raw["id"]
    assert event.subject == raw["subject"]
    assert event.event_bus_name == raw["aliyuneventbusname"] == "pai-system-autopilot-demo"
    assert event.account_id == raw["aliyunaccountid"]
    assert event.region_id == raw["aliyunregionid"]
    assert event.data == raw["data"]
    assert event.dedupe_key == f"acs.pai/{raw['id']}"
    # And the job id and status are found
    assert is_dlc_job_event(event)
    assert dlc_job_status(event) == (raw["data"]["JobId"], "Succeeded")
    # And the sample follows the one documented assumption
    assert set(ASSUMED_DLC_JOB_EVENT["data"]) <= set(raw["data"])
    assert {k for k in ASSUMED_DLC_JOB_EVENT if k != "id"} <= set(raw)


@pytest.mark.parametrize(
    ("data", "subject", "type_", "expected"),
    [
        ({"jobId": "dlc1", "status": "RUNNING"}, None, "t", ("dlc1", "Running")),
        ({"job_id": "dlc2", "JobStatus": "failed"}, None, "t", ("dlc2", "Failed")),
        ({"detail": {"JobId": "dlc3", "Status": "Stopped"}}, None, "t", ("dlc3", "Stopped")),
        ({}, "acs:pai:cn-hangzhou:1:job/dlc4", "pai:DLC:JobSucceeded", ("dlc4", "Succeeded")),
        (None, "acs:pai:cn-hangzhou:1:job/dlc5", "t", ("dlc5", None)),
        ('{"JobId": "dlc6", "Status": "Queuing"}', None, "t", ("dlc6", "Queuing")),
        ({"JobId": "dlc7", "Status": "SomethingNew"}, None, "t", ("dlc7", "SomethingNew")),
    ],
)
def test_dlc_job_status_is_tolerant(data, subject, type_, expected):
    # Given DLC events in shapes the real (unconfirmed) event might take
    event = CloudEvent(id="1", source="acs.pai", type=type_, subject=subject, data=data)
    # When read, Then the job id and (normalised) status are found wherever they are
    assert dlc_job_status(event) == expected


def test_dlc_job_status_without_any_job_id_raises():
    event = CloudEvent(id="1", source="acs.pai", type="t", data={"Status": "Running"})
    with pytest.raises(EventParseError, match=r"pai: no job id .* at \$\.data: value \{'Status': 'Running'\}"):
        dlc_job_status(event)


def test_is_dlc_job_event_on_other_events():
    # Given OSS and CMS events, Then they are not DLC job events
    assert not is_dlc_job_event(parse_event(load_event("eventbridgeOssObjectCreated.json")))
    assert not is_dlc_job_event(parse_event(load_event("eventbridgeCmsAlarm.json")))
    # And an unknown type on the PAI bus with a job id is
    assert is_dlc_job_event(CloudEvent(id="1", source="acs.other", type="x", event_bus_name="pai-system-ws",
                                       data={"JobId": "dlc1"}))

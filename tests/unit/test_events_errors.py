"""Input forms, the one error type for every bad input, docstring examples and import cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pai_autopilot.errors import EventParseError, InvalidInputError
from pai_autopilot.events import (
    CloudEvent,
    CmsAlarm,
    HttpRequest,
    OssEvent,
    TimerEvent,
    cms_alarm,
    decode,
    parse_event,
    parse_time,
)
from tests.conftest import EVENTS_DIR, load_event

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p.name for p in EVENTS_DIR.glob("*.json"))
EXPECTED_MODEL = {
    "ossObjectCreated.json": OssEvent,
    "ossObjectCreatedMultiRecord.json": OssEvent,
    "eventbridgeOssObjectCreated.json": CloudEvent,
    "eventbridgeDlcJobStatus.json": CloudEvent,
    "eventbridgeCmsAlarm.json": CloudEvent,
    "timerReconcile.json": TimerEvent,
    "httpWebhook.json": HttpRequest,
    "httpWebhookSigned.json": HttpRequest,  # issue 13: the real signing scheme
    "httpCmsAlarmForm.json": HttpRequest,
    "httpCmsAlarmFormBase64.json": HttpRequest,
    "cmsAlarmJson.json": CmsAlarm,
}


def test_every_sample_is_covered_and_documented():
    # Given the events/ directory, Then every required sample exists and is listed in its README
    readme = (EVENTS_DIR / "README.md").read_text()
    assert set(EXPECTED_MODEL) <= set(SAMPLES)
    assert "eventbridgeBatch.json" in SAMPLES
    for name in SAMPLES:
        assert f"`{name}`" in readme


@pytest.mark.parametrize("name", SAMPLES)
def test_bytes_str_and_dict_inputs_give_the_same_model(name):
    # Given one sample as bytes (what FC passes), str and decoded JSON
    raw = load_event(name)
    # When each form is parsed
    models = [parse_event(raw), parse_event(raw.decode()), parse_event(json.loads(raw)), parse_event(bytearray(raw))]
    # Then they are equal, of the expected type, and parsing a model returns it unchanged
    assert models[0] == models[1] == models[2] == models[3]
    if name in EXPECTED_MODEL:
        assert type(models[0]) is EXPECTED_MODEL[name]
    assert parse_event(models[0]) is models[0]


def test_utf8_bom_is_ignored():
    assert parse_event(b"\xef\xbb\xbf" + load_event("timerReconcile.json")).trigger_name == "reconcile"


def test_decode_passes_decoded_json_through():
    obj = {"a": [1]}
    assert decode(obj) is obj
    assert decode(b'[1, "x"]') == [1, "x"]


# --------------------------------------------------------------------------- malformed input


def _with(name: str, mutate) -> dict:
    obj = json.loads(load_event(name))
    mutate(obj)
    return obj


MALFORMED = [
    # (id, raw input, message fragment)
    ("not-json", b"this is not json", "decode: not valid JSON"),
    ("truncated-json", b'{"events": [', "decode: not valid JSON (Input data was truncated)"),
    ("empty-bytes", b"", "decode: empty event"),
    ("whitespace", "  \n ", "decode: empty event"),
    ("not-utf8", b"\xff\xfe{}", "decode: not valid JSON"),
    ("wrong-python-type", 42, "decode: unsupported event type int"),
    ("json-scalar", b'"hello"', "envelope: expected a JSON object or array, got str at $: value 'hello'"),
    ("unknown-dict", {"foo": 1, "bar": 2}, "envelope: unknown event shape (keys: bar, foo) at $"),
    ("empty-dict", {}, "envelope: unknown event shape (keys: none)"),
    ("events-not-a-list", {"events": {"eventName": "x"}}, "oss: `events` must be a list of records at $.events"),
    ("events-empty", {"events": []}, "oss: `events` is empty at $.events"),
    ("record-not-object", {"events": ["x"]}, "oss: expected `object`, got `str` at $.events[0]: value 'x'"),
    ("record-missing-key",
     _with("ossObjectCreated.json", lambda o: o["events"][0]["oss"]["object"].pop("key")),
     "oss: missing required field at $.events[0].oss.object.key"),
    ("record-missing-bucket",
     _with("ossObjectCreatedMultiRecord.json", lambda o: o["events"][2]["oss"].pop("bucket")),
     "oss: missing required field at $.events[2].oss.bucket"),
    ("size-wrong-type",
     _with("ossObjectCreated.json", lambda o: o["events"][0]["oss"]["object"].update(size="12")),
     "oss: expected `int`, got `str` at $.events[0].oss.object.size: value '12'"),
    ("etag-wrong-type",
     _with("ossObjectCreated.json", lambda o: o["events"][0]["oss"]["object"].update(eTag=None)),
     "oss: expected `str`, got `null` at $.events[0].oss.object.eTag: value None"),
    ("cloudevent-missing-id",
     _with("eventbridgeOssObjectCreated.json", lambda o: o.pop("id")),
     "cloudevent: missing required field at $.id"),
    ("cloudevent-source-wrong-type",
     _with("eventbridgeOssObjectCreated.json", lambda o: o.update(source=["acs.oss"])),
     "cloudevent: expected `str`, got `array` at $.source: value ['acs.oss']"),
    ("batch-empty", b"[]", "cloudevent: empty batch at $: value []"),
    ("batch-member-bad", [{"id": "1", "source": "s", "type": "t"}, {"id": 2, "source": "s", "type": "t"}],
     "cloudevent: expected `str`, got `int` at $[1].id: value 2"),
    ("batch-member-not-object", [1], "cloudevent: expected `object`, got `int` at $[0]: value 1"),
    ("timer-missing-name", {"triggerTime": "2024-05-01T10:00:00Z", "triggerName": None},
     "timer: expected `str`, got `null` at $.triggerName"),
    ("timer-payload-object", {"triggerTime": "t", "triggerName": "n", "payload": {"a": 1}},
     "timer: expected `str | null`, got `object` at $.payload: value {'a': 1}"),
    ("http-missing-method",
     _with("httpWebhook.json", lambda o: o["requestContext"]["http"].pop("method")),
     "http: missing required field at $.requestContext.http.method"),
    ("http-bad-base64",
     _with("httpCmsAlarmFormBase64.json", lambda o: o.update(body="not*base64!")),
     "http: body is not valid base64 at $.body: value 'not*base64!'"),
    ("http-bad-base64-padding",
     _with("httpCmsAlarmFormBase64.json", lambda o: o.update(body="YWJj" + "Z")),
     "http: body is not valid base64"),
    ("http-header-wrong-type",
     _with("httpWebhook.json", lambda o: o["headers"].update({"X-Multi": ["a", "b"]})),
     "http: expected `str`, got `array` at $.headers"),
    ("alarm-json-unknown-level", {"ruleId": "r", "curLevel": "PANIC"},
     "cms: unknown curLevel (expected one of CRITICAL, WARN, WARNING, INFO, OK, INSUFFICIENT_DATA, NO_DATA) "
     "at $.curLevel: value 'PANIC'"),
    ("alarm-unknown-alert-state", {"alertName": "x", "alertState": "FIRING"},
     "cms: unknown alertState (expected one of ALERT, ALARM, OK, INSUFFICIENT_DATA) at $.alertState: value 'FIRING'"),
    ("alarm-missing-alert-state", {"alertName": "x", "ruleId": "r"}, "cms: missing required field at $.alertState"),
    ("alarm-json-without-level", {"ruleId": "r", "ruleName": "n"}, "cms: cannot tell the alarm state"),
    ("alarm-metric-data-not-json", {"ruleId": "r", "curLevel": "OK", "metricData": "{oops"},
     "cms: not valid JSON at $.metricData: value '{oops'"),
]


@pytest.mark.parametrize(("raw", "fragment"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_input_raises_event_parse_error(raw, fragment):
    # Given a malformed or unknown event, When parsed, Then one error type names stage, path and value
    with pytest.raises(EventParseError) as info:
        parse_event(raw)
    assert fragment in str(info.value)
    # And it is classified as invalid input (FC must not retry it)
    assert isinstance(info.value, InvalidInputError)
    assert info.value.retryable is False
    assert info.value.stage == str(info.value).split(":", 1)[0]


def test_unknown_alert_state_in_the_http_form_names_the_body_field():
    # Given the CMS form callback with an alertState nobody documents
    raw = json.loads(load_event("httpCmsAlarmForm.json"))
    raw["body"] = raw["body"].replace("alertState=ALERT", "alertState=RED")
    # When the alarm is read from the request
    with pytest.raises(EventParseError) as info:
        cms_alarm(parse_event(raw))
    # Then the message points at the form field inside the body
    assert "cms: unknown alertState" in str(info.value)
    assert "at $.body.alertState: value 'RED'" in str(info.value)


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        (HttpRequest(method="POST", body=b""), "cms: empty or non-form alarm body at $.body"),
        (HttpRequest(method="POST", body=b"{not json"), "http: body is not valid JSON"),
        (CloudEvent(id="1", source="acs.cms", type="t", data=[1]), "cms: `data` must be a JSON object at $.data"),
        (CloudEvent(id="1", source="acs.oss", type="t"), "cms: not a CloudMonitor event"),
    ],
)
def test_cms_alarm_rejects_other_payloads(event, fragment):
    with pytest.raises(EventParseError, match=None) as info:
        cms_alarm(event)
    assert fragment in str(info.value)


def test_oss_record_of_a_non_oss_cloud_event_raises():
    event = parse_event(load_event("eventbridgeCmsAlarm.json"))
    with pytest.raises(EventParseError, match=r"cloudevent: not an OSS event .* at \$\.source: value 'acs\.cms'"):
        event.oss_record()


def test_oss_cloud_event_with_bad_data_names_the_data_path():
    raw = json.loads(load_event("eventbridgeOssObjectCreated.json"))
    raw["data"]["oss"]["object"]["size"] = 1.5
    with pytest.raises(EventParseError, match=r"oss: expected `int`, got `float` at \$\.data\.oss\.object\.size: value 1\.5"):
        parse_event(raw).oss_record()


def test_long_offending_values_are_truncated():
    with pytest.raises(EventParseError) as info:
        parse_event(b"x" * 10_000)
    assert len(str(info.value)) < 200
    assert str(info.value).endswith("...")


# ------------------------------------------------------------------------------ time parsing


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-05-01T08:00:00.000Z", "2024-05-01T08:00:00+00:00"),
        ("2024-05-01T08:00:00.123456789Z", "2024-05-01T08:00:00.123456+00:00"),
        ("2024-05-01T16:00:00+08:00", "2024-05-01T16:00:00+08:00"),
        ("2024-05-01T16:00:00+0800", "2024-05-01T16:00:00+08:00"),
        ("2024-05-01 16:00:00 PRC", "2024-05-01T16:00:00+08:00"),
        ("2024-05-01T16:00:00Asia/Shanghai", "2024-05-01T16:00:00+08:00"),
        ("2024-05-01T08:00:00", "2024-05-01T08:00:00+00:00"),
        ("2024-05-01", "2024-05-01T00:00:00+00:00"),
        ("1714550400", "2024-05-01T08:00:00+00:00"),
        (1714550400000, "2024-05-01T08:00:00+00:00"),
    ],
)
def test_parse_time_is_lenient(text, iso):
    assert parse_time(text).isoformat() == iso


@pytest.mark.parametrize("text", [None, "", "soon", "2024-13-01T00:00:00Z", "2024-05-01T08:00:00 Mars/Olympus", True])
def test_parse_time_gives_none_for_nonsense(text):
    assert parse_time(text) is None


# ----------------------------------------------------------------------- docs and import cost

# (every module's doctests run in tests/unit/test_doctests.py)


def test_every_public_name_has_a_docstring_example():
    import pai_autopilot.events as events

    for name in events.__all__:
        obj = getattr(events, name)
        if callable(obj) and not name.isupper() and name not in ("Event", "EventParseError"):
            assert ">>>" in (obj.__doc__ or ""), name


def test_importing_events_is_cheap():
    # Given a fresh interpreter
    code = (
        "import sys, json; sys.path.insert(0, 'shared'); import pai_autopilot.events; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    # When the events package is imported
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = json.loads(out.stdout)
    # Then no SDK, oss2, pydantic or other heavy library comes with it
    heavy = ("pydantic", "oss2", "alibabacloud", "Tea", "darabonba", "requests", "yaml", "structlog", "urllib3")
    assert [m for m in loaded if m.startswith(heavy)] == []

"""FC 3.0 HTTP trigger requests and timer ticks, asserted field by field against the samples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from pai_autopilot.errors import EventParseError
from pai_autopilot.events import HttpRequest, TimerEvent, parse_event
from tests.conftest import load_event


def assert_request_matches(req: HttpRequest, raw: dict) -> None:
    ctx, http = raw["requestContext"], raw["requestContext"]["http"]
    assert req.version == raw["version"]
    assert req.raw_path == raw["rawPath"]
    assert req.path == http["path"]
    assert req.method == http["method"]
    assert req.protocol == http["protocol"]
    assert req.source_ip == http["sourceIp"]
    assert req.user_agent == http["userAgent"]
    assert req.headers == raw["headers"]
    assert req.query == raw["queryParameters"]
    assert req.is_base64_encoded == raw["isBase64Encoded"]
    expected_body = base64.b64decode(raw["body"]) if raw["isBase64Encoded"] else raw["body"].encode()
    assert req.body == expected_body
    assert req.request_id == ctx["requestId"]
    assert req.account_id == ctx["accountId"]
    assert req.domain_name == ctx["domainName"]
    assert req.domain_prefix == ctx["domainPrefix"]
    assert req.time == ctx["time"]
    assert req.time_epoch == ctx["timeEpoch"]
    assert isinstance(req.time_epoch, str)
    assert req.time_epoch_ms == int(ctx["timeEpoch"])
    assert req.raw == raw


def test_http_webhook_request():
    # Given the webhook sample (JSON body, signature headers, multi-value query)
    raw = json.loads(load_event("httpWebhook.json"))
    # When parsed
    req = parse_event(load_event("httpWebhook.json"))
    # Then it is an HttpRequest matching the raw event field by field
    assert isinstance(req, HttpRequest)
    assert_request_matches(req, raw)
    assert req.json() == json.loads(raw["body"])
    assert req.content_type == "application/json"
    assert req.request_datetime == datetime.fromtimestamp(1714557600.123, tz=timezone.utc)
    # And headers are found case-insensitively, multi-values kept comma-joined as delivered
    assert req.header("x-autopilot-signature") == raw["headers"]["X-Autopilot-Signature"]
    assert req.header("X-AUTOPILOT-TIMESTAMP") == "1714557600"
    assert req.header("x-absent") is None
    assert req.query["tag"] == "ci,nightly"


def test_http_webhook_signature_is_reproducible_from_the_model():
    # Given the documented demo signing scheme: HMAC-SHA256("<timestamp>.<body>")
    req = parse_event(load_event("httpWebhook.json"))
    message = req.header("x-autopilot-timestamp", "").encode() + b"." + req.body
    # When recomputed from the parsed request
    digest = hmac.new(b"demo-webhook-secret", message, hashlib.sha256).hexdigest()
    # Then it equals the header (the body bytes are exactly what was signed)
    assert req.header("X-Autopilot-Signature") == f"sha256={digest}"


def test_http_repr_masks_signature_headers():
    # Given the parsed webhook request
    req = parse_event(load_event("httpWebhook.json"))
    # When rendered for a log line
    text = repr(req)
    # Then the signature value is masked and ordinary headers are shown
    assert req.header("x-autopilot-signature") not in text
    assert "'X-Autopilot-Signature': '***'" in text
    assert "'Content-Type': 'application/json'" in text


@pytest.mark.parametrize("name", ["httpCmsAlarmForm.json", "httpCmsAlarmFormBase64.json"])
def test_http_cms_form_requests(name):
    # Given the CMS callback delivered plain and base64-encoded
    raw = json.loads(load_event(name))
    # When parsed
    req = parse_event(load_event(name))
    # Then the body bytes are the decoded form, whatever the transport encoding
    assert isinstance(req, HttpRequest)
    assert_request_matches(req, raw)
    assert req.content_type == "application/x-www-form-urlencoded"
    form = req.form()
    assert form["alertState"] == "ALERT"
    assert form["dimensions"] == "{serviceName=demo_v2, userId=1234567890123456}"
    assert form["expression"] == "$Average>=0.05"
    assert form["productGroupName"] == ""
    assert form["unit"] == "%"


def test_plain_and_base64_form_bodies_are_identical():
    # Given the same callback sent two ways
    plain = parse_event(load_event("httpCmsAlarmForm.json"))
    encoded = parse_event(load_event("httpCmsAlarmFormBase64.json"))
    # Then the decoded bodies are byte-identical
    assert not plain.is_base64_encoded and encoded.is_base64_encoded
    assert plain.body == encoded.body


def test_http_minimal_event_defaults_and_path_fallback():
    # Given an HTTP event without body, headers, query or http.path
    req = HttpRequest.from_json({"rawPath": "/a%20b", "requestContext": {"http": {"method": "get"},
                                                                        "timeEpoch": 1714557600123}})
    # Then the body is empty, the method upper-cased and the path decoded from rawPath
    assert (req.body, req.headers, req.query) == (b"", {}, {})
    assert req.method == "GET"
    assert req.path == "/a b"
    assert req.raw_path == "/a%20b"
    assert req.time_epoch == "1714557600123"
    assert req.content_type == ""


def test_http_binary_body_is_decoded():
    # Given a binary body sent base64-encoded
    payload = bytes(range(256))
    req = HttpRequest.from_json({"body": base64.b64encode(payload).decode(), "isBase64Encoded": True,
                                 "requestContext": {"http": {"method": "PUT"}}})
    # Then body holds the original bytes, and text() refuses non-UTF-8
    assert req.body == payload
    with pytest.raises(EventParseError, match=r"http: body is not utf-8 text at \$\.body"):
        req.text()


def test_http_json_of_non_json_body_raises():
    # Given a form body
    req = parse_event(load_event("httpCmsAlarmForm.json"))
    # When read as JSON, Then a parse error names the stage and path
    with pytest.raises(EventParseError, match=r"http: body is not valid JSON .* at \$\.body: value b'alertName="):
        req.json()


def test_timer_event():
    # Given the reconcile timer sample
    raw = json.loads(load_event("timerReconcile.json"))
    # When parsed
    event = parse_event(load_event("timerReconcile.json"))
    # Then every field matches and the JSON payload is decoded on demand
    assert isinstance(event, TimerEvent)
    assert event.trigger_time == raw["triggerTime"]
    assert event.trigger_name == raw["triggerName"] == "reconcile"
    assert event.payload == raw["payload"]
    assert event.payload_json() == json.loads(raw["payload"]) == {"maxRuns": 50, "dryRun": False}
    assert event.trigger_datetime == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert event.raw == raw


@pytest.mark.parametrize("payload", [None, "", "   "])
def test_timer_without_payload_gives_default(payload):
    # Given a timer tick with an absent or blank payload
    raw = {"triggerTime": "2023-12-26T07:49:00Z", "triggerName": "canary"}
    if payload is not None:
        raw["payload"] = payload
    # When the JSON payload is asked for, Then the default comes back
    event = parse_event(raw)
    assert event.payload == payload
    assert event.payload_json() is None
    assert event.payload_json(default={}) == {}


def test_timer_free_text_payload():
    # Given a timer whose payload is plain text (the docs' own example)
    event = parse_event({"triggerTime": "2023-12-26T07:49:00Z", "triggerName": "t", "payload": "awesome-fc"})
    # Then the text is available as-is, and asking for JSON is a clear error
    assert event.payload == "awesome-fc"
    with pytest.raises(EventParseError, match=r"timer: payload is not JSON .* at \$\.payload: value 'awesome-fc'"):
        event.payload_json()

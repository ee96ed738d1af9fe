"""Secrets never reach a log line, a result or an error message (pure parts: no I/O)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from pai_autopilot import log as aplog
from pai_autopilot.errors import EventParseError, SettingsError, TransientError
from pai_autopilot.events import parse_event
from pai_autopilot.settings import Settings

TOKEN = "CAISsentinelStsToken/+=0001"
SECRET = "sentinel-Access-Key-Secret-0001"


@pytest.fixture
def out():
    stream = io.StringIO()
    with aplog.quiet("DEBUG", stream):
        yield stream


def oss_style_failure(headers):
    """An exception raised where SDK frames hold the signed request's headers in locals."""
    raise RuntimeError("AccessDenied {'status': 403, 'details': {'Code': 'AccessDenied'}}")


def test_tracebacks_have_no_frame_locals_and_the_line_is_scrubbed_last(out):
    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        headers = {"x-oss-security-token": TOKEN, "Authorization": f"OSS4 Credential=ak,Signature=abc{SECRET}"}  # noqa: F841
        oss_style_failure(headers)

    with pytest.raises(RuntimeError):
        handler(b"{}", SimpleNamespace(request_id="r"))
    text = out.getvalue()
    (line,) = [json.loads(x) for x in text.splitlines()]
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert {"filename", "lineno", "name"} == set(line["exception"][0]["frames"][-1])
    assert TOKEN not in text and SECRET not in text and "x-oss-security-token" not in text


def test_a_secret_in_an_exception_message_is_scrubbed_in_the_log_and_in_what_is_raised(out):
    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        try:
            raise ValueError(f"signed with {{'x-oss-security-token': '{TOKEN}'}}")
        except ValueError as exc:
            raise TransientError(f"OSS failed: {exc}") from exc

    with pytest.raises(TransientError) as info:
        handler(b"{}", SimpleNamespace(request_id="r"))
    raised = str(info.value)
    assert "CAISsentinelStsToken" not in raised and info.value.__cause__ is None and info.value.__suppress_context__
    assert "CAISsentinelStsToken" not in out.getvalue()


def test_credentials_from_context_are_hidden_wherever_they_appear(out):
    creds = SimpleNamespace(access_key_id="STS.id", access_key_secret="ctx-Secret-Sentinel-9", security_token="ctx-Token-Sentinel-9")

    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        aplog.get_logger().info("signing", note=f"with {context.credentials.access_key_secret}")
        return {"outcome": "ok", "echo": context.credentials.security_token}

    result = handler(b"{}", SimpleNamespace(request_id="r", credentials=creds))
    assert result["echo"] == "***"
    assert "Sentinel-9" not in out.getvalue()


def test_an_event_of_unknown_shape_is_echoed_capped_and_redacted():
    event = {"AccessKeySecret": SECRET, "endpoint": "http://admin:hunter2pw@10.0.0.1/", "blob": "x" * 100_000}
    with pytest.raises(EventParseError) as info:
        parse_event(json.dumps(event))
    text = str(info.value)
    assert SECRET not in text and "hunter2pw" not in text and len(text) < 300
    assert "'AccessKeySecret': '***'" in text


def test_a_deeply_nested_value_is_previewed_without_walking_it():
    deep: list = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    from pai_autopilot.events.decode import preview

    assert len(preview(deep)) <= 80


def test_a_settings_error_strips_url_userinfo():
    with pytest.raises(SettingsError) as info:
        Settings.resolve(environ={"AUTOPILOT_ENDPOINT": f"http://user:{SECRET}@127.0.0.1:9800/path"})
    assert SECRET not in str(info.value) and "http://***@127.0.0.1:9800/path" in str(info.value)


def test_results_are_scrubbed_of_secret_keys_and_values(out, monkeypatch):
    monkeypatch.setenv("AUTOPILOT_WEBHOOK_SECRET", "whsec-Sentinel-Value-0001")

    @aplog.invocation("fn", level=lambda: "DEBUG")
    def handler(event, context):
        return {"outcome": "ok", "reason": "bad signature for whsec-Sentinel-Value-0001", "token": "abc"}

    result = handler(b"{}", None)
    assert result == {"outcome": "ok", "reason": "bad signature for ***", "token": "***"}


def test_a_failing_notification_logs_the_host_only(out):
    from pai_autopilot.config.models import Notification as Target
    from pai_autopilot.notify import Notification, RateLimiter, notify

    urls = {"NO_SCHEME": "oapi.dingtalk.com/robot/send?access_token=tok-Sentinel-0001",
            "SPACE": "https://oapi.dingtalk.com/robot/send?access_token=tok Sentinel-0002"}
    targets = [Target(type="dingtalk", url_env="NO_SCHEME", secret_env="SIGN"), Target(type="webhook", url_env="SPACE")]
    outcomes = notify(targets, Notification("run_started", "t"), environ={**urls, "SIGN": "SECsign-Sentinel-0003"},
                      limiter=RateLimiter(100), timeout=0.5)
    text = out.getvalue() + json.dumps(outcomes)
    assert all(o.startswith("failed: ") for o in outcomes.values())
    assert "Sentinel" not in text and "access_token" not in text
    assert "oapi.dingtalk.com" in text

"""CloudMonitor alarms on services in rollout: rollback within the invocation, idempotent, HTTP callback."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from pai_autopilot.rollout.handlers import on_alarm
from pai_autopilot.settings import Settings

from ..conftest import load_event_json
from . import rollout_fixtures
from .rollout_fixtures import HEALTHY

rollout_env = rollout_fixtures.rollout_env


def eventbridge_alarm(service: str, *, ts: int = 1714558200000, state: str = "ALERT") -> bytes:
    event = load_event_json("eventbridgeCmsAlarm.json")
    event["data"].update(dimensions=f"{{serviceName={service}, userId=1}}", timestamp=str(ts), alertState=state)
    return json.dumps(event).encode()


def run(env, event: bytes, **settings):
    """The alarm use case as the function runs it, on the test's configuration and clock."""
    from pai_autopilot.rollout import handlers

    original = handlers.runtime
    handlers.runtime = lambda context, s=None, c=None: env.runtime()
    try:
        return on_alarm(event, None, settings=Settings.resolve(environ=env.env, **settings))
    finally:
        handlers.runtime = original


def test_alarm_during_the_canary_rolls_back_within_the_invocation_and_duplicates_are_noops(rollout_env):
    env = rollout_env
    env.start("v5", HEALTHY)
    env.tick()
    assert env.weights()["demo_model_v5"] == 10
    results = [run(env, eventbridge_alarm("demo_model_v5")) for _ in range(3)]
    assert [r["outcome"] for r in results] == ["applied", "noop", "noop"]
    assert env.head().state == "rolled_back" and env.weights() == {"demo_model": 100, "demo_model_v5": 0}
    assert "CloudMonitor alarm demo-canary-p99-latency: TP99 = 912.5" in env.head().data["reason"]
    assert [r.state for r in env.history()].count("rolled_back") == 1
    # a later alarm (another time) on the closed rollout changes nothing either
    assert run(env, eventbridge_alarm("demo_model_v5", ts=1714558260000))["outcome"] == "notified"
    assert [r.state for r in env.history()].count("rolling_back") == 1


def test_an_alarm_that_is_not_firing_or_names_another_service_only_notifies(rollout_env):
    env = rollout_env
    env.start("v2", HEALTHY)
    env.tick()
    assert run(env, eventbridge_alarm("demo_model_v2", state="OK"))["alarms"][0]["outcome"] == "ignored"
    assert run(env, eventbridge_alarm("demo_model"))["outcome"] == "notified"  # the stable, not the canary
    assert env.head().state == "progressing"


def test_the_form_encoded_http_callback_needs_the_token(rollout_env):
    env = rollout_env
    env.start("v5", HEALTHY)
    env.tick()
    http = load_event_json("httpCmsAlarmForm.json")
    form = dict(__import__("urllib.parse").parse.parse_qsl(http["body"]))
    form["dimensions"] = "{serviceName=demo_model_v5, userId=1}"
    http["body"] = urlencode(form)
    http["queryParameters"] = {"token": "wrong"}
    denied = run(env, json.dumps(http).encode(), alarm_token="demo-alarm-token")
    assert denied["statusCode"] == 403 and env.head().state == "progressing"
    assert "demo-alarm-token" not in json.dumps(denied)
    assert run(env, json.dumps(http).encode())["statusCode"] == 403  # no token configured: refused
    http["queryParameters"] = {"token": "demo-alarm-token"}
    done = run(env, json.dumps(http).encode(), alarm_token="demo-alarm-token")
    assert done["statusCode"] == 200 and json.loads(done["body"])["outcome"] == "applied"
    assert env.head().state == "rolled_back"
    assert "5xxResponseRatio = 0.12" in env.head().data["reason"]


def test_a_callback_that_meets_an_unavailable_cloud_answers_a_retryable_503_and_its_retry_rolls_back(rollout_env):
    from localcloud.core.faults import Fault

    env = rollout_env
    env.start("v5", HEALTHY)
    env.tick()
    http = load_event_json("httpCmsAlarmForm.json")
    form = dict(__import__("urllib.parse").parse.parse_qsl(http["body"]))
    form["dimensions"] = "{serviceName=demo_model_v5, userId=1}"
    http["body"] = urlencode(form)
    http["queryParameters"] = {"token": "demo-alarm-token"}
    env.cloud.faults.add(Fault(service="eas", operation="ReleaseService", error_rate=1.0, status=503,
                               error_code="ServiceUnavailable"))
    try:
        failed = run(env, json.dumps(http).encode(), alarm_token="demo-alarm-token", sdk_attempts=1)
    finally:
        env.cloud.faults.clear()
    body = json.loads(failed["body"])
    assert failed["statusCode"] == 503 and body["error"] == "Unavailable" and body["retryable"], failed
    assert env.head().state == "rolling_back"  # the intent is recorded; its weights are not set yet
    again = run(env, json.dumps(http).encode(), alarm_token="demo-alarm-token")  # CloudMonitor's retry
    assert again["statusCode"] == 200 and json.loads(again["body"])["outcome"] == "applied", again
    assert env.head().state == "rolled_back" and env.weights() == {"demo_model": 100, "demo_model_v5": 0}

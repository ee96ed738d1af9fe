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


def callback_event(service: str, query: dict[str, str]) -> bytes:
    http = load_event_json("httpCmsAlarmForm.json")
    form = dict(__import__("urllib.parse").parse.parse_qsl(http["body"]))
    form["dimensions"] = f"{{serviceName={service}, userId=1}}"
    http["body"] = urlencode(form)
    http["queryParameters"] = query
    return json.dumps(http).encode()


def refusal(response: dict) -> tuple[int, str]:
    return response["statusCode"], json.loads(response["body"])["error"]["code"]


SECRET = "alarm-test-webhook-secret-0123456789"


def logged(capsys) -> list[str]:
    """The JSON log lines written so far (the library logs to stdout, the stream it was configured with)."""
    out = capsys.readouterr().out
    return [line for line in out.splitlines() if line.startswith("{")]


def test_the_form_encoded_http_callback_needs_the_token_derived_from_the_webhook_secret(rollout_env, capsys):
    from pai_autopilot.ops.callback import CMS_CALLBACK_PATH
    from pai_autopilot.ops.signature import Secret, callback_token

    env = rollout_env
    env.start("v5", HEALTHY)
    env.tick()
    token = callback_token(Secret(SECRET), "POST", CMS_CALLBACK_PATH)  # what the webhook's /v1/alerts/cms takes
    keyed = {"webhook_secret": SECRET, "webhook_key_id": "ci"}
    # nothing configured to check a token with: refused, 403 not_configured
    assert refusal(run(env, callback_event("demo_model_v5", {"kid": "ci", "token": token}))) == (403, "not_configured")
    # a wrong token, another key's, a token without its kid, or none: 401 bad_signature, nothing done
    for query in ({"kid": "ci", "token": "0" * 64}, {"kid": "other", "token": token}, {"token": token}, {}):
        denied = run(env, callback_event("demo_model_v5", query), **keyed)
        assert refusal(denied) == (401, "bad_signature"), (query, denied)
        assert token not in json.dumps(denied) and SECRET not in json.dumps(denied)
    assert env.head().state == "progressing"
    done = run(env, callback_event("demo_model_v5", {"kid": "ci", "token": token}), **keyed)
    assert done["statusCode"] == 200 and json.loads(done["body"])["outcome"] == "applied", done
    assert env.head().state == "rolled_back"
    assert "5xxResponseRatio = 0.12" in env.head().data["reason"]
    lines = logged(capsys)
    assert any('"alarm callback refused"' in line for line in lines), lines
    assert not any(token in line or SECRET in line for line in lines)


def test_the_deprecated_alarm_token_still_opens_the_callback_for_one_release(rollout_env, capsys):
    from pai_autopilot.ops import callback

    callback._warned.clear()  # a warning once per process: this test's process state
    env = rollout_env
    env.start("v5", HEALTHY)
    env.tick()
    denied = run(env, callback_event("demo_model_v5", {"token": "wrong"}), alarm_token="demo-alarm-token")
    assert refusal(denied) == (401, "bad_signature") and env.head().state == "progressing"
    assert "demo-alarm-token" not in json.dumps(denied)
    assert refusal(run(env, callback_event("demo_model_v5", {}), alarm_token="demo-alarm-token")) == (401, "bad_signature")
    done = run(env, callback_event("demo_model_v5", {"token": "demo-alarm-token"}), alarm_token="demo-alarm-token",
               webhook_secret=SECRET)
    assert done["statusCode"] == 200 and json.loads(done["body"])["outcome"] == "applied"
    assert env.head().state == "rolled_back"
    again = run(env, callback_event("demo_model_v5", {"token": "demo-alarm-token"}), alarm_token="demo-alarm-token")
    assert again["statusCode"] == 200 and json.loads(again["body"])["outcome"] in ("noop", "notified"), again
    lines = logged(capsys)
    assert sum('"deprecated setting"' in line and "AUTOPILOT_ALARM_TOKEN" in line for line in lines) == 1, lines
    assert not any("demo-alarm-token" in line for line in lines)


def test_a_callback_that_meets_an_unavailable_cloud_answers_a_retryable_503_and_its_retry_rolls_back(rollout_env):
    from localcloud.core.faults import Fault

    env = rollout_env
    env.start("v5", HEALTHY)
    env.tick()
    from pai_autopilot.ops.callback import CMS_CALLBACK_PATH
    from pai_autopilot.ops.signature import Secret, callback_token

    event = callback_event("demo_model_v5", {"kid": "ci", "token": callback_token(Secret(SECRET), "POST", CMS_CALLBACK_PATH)})
    keyed = {"webhook_secret": SECRET, "webhook_key_id": "ci"}
    env.cloud.faults.add(Fault(service="eas", operation="ReleaseService", error_rate=1.0, status=503,
                               error_code="ServiceUnavailable"))
    try:
        failed = run(env, event, sdk_attempts=1, **keyed)
    finally:
        env.cloud.faults.clear()
    body = json.loads(failed["body"])
    assert (failed["statusCode"], body["error"]["code"]) == (503, "unavailable") and body["error"]["retryable"], failed
    assert env.head().state == "rolling_back"  # the intent is recorded; its weights are not set yet
    again = run(env, event, **keyed)  # CloudMonitor's retry
    assert again["statusCode"] == 200 and json.loads(again["body"])["outcome"] == "applied", again
    assert env.head().state == "rolled_back" and env.weights() == {"demo_model": 100, "demo_model_v5": 0}


def test_a_copy_arriving_while_another_handles_the_alarm_is_a_noop_and_a_dead_claim_is_handled_again(rollout_env):
    from pai_autopilot.events import parse_event
    from pai_autopilot.events.alarm import cms_alarm
    from pai_autopilot.rollout.alarms import alarm_key

    env = rollout_env
    env.start("v2", HEALTHY)
    env.tick()
    event = eventbridge_alarm("demo_model")  # the stable: a notification, the path that could repeat
    key = alarm_key(cms_alarm(parse_event(event)))
    # another delivery of the same alarm claimed it a moment ago and is still at work
    env.runtime().ledger.claim(key, "received", {"request_id": "another-copy"}, by="alarm:r")
    assert run(env, event)["outcome"] == "noop"
    assert [r.state for r in env.runtime().ledger.history(key)] == ["received"]
    # that delivery died: once its claim is older than the lease, the alarm is handled after all
    env.cloud.clock.advance(Settings.resolve(environ=env.env).lease_seconds + 1)
    assert run(env, event)["outcome"] == "notified"
    assert [r.state for r in env.runtime().ledger.history(key)] == ["received", "handled"]

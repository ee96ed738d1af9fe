"""The rollout controller's ticks against localcloud: real EAS weights, real CloudMonitor metrics."""

from __future__ import annotations

import pytest

from . import rollout_fixtures
from .rollout_fixtures import HEALTHY

rollout_env = rollout_fixtures.rollout_env


class Hook:
    """A webhook receiver answering ``status``; keeps every request (headers and JSON body)."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict, dict]] = []

    def __call__(self, environ, start_response):
        import json

        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        self.received.append((dict(request.headers), json.loads(request.get_data() or b"{}")))
        return Response("{}", status=self.status, content_type="application/json")(environ, start_response)


@pytest.fixture
def hook():
    from localcloud.server import ThreadedServer

    receiver = Hook()
    server = ThreadedServer(receiver)
    server.start()
    receiver.url = server.url
    yield receiver
    server.stop()




def test_healthy_canary_goes_10_25_50_100_then_watching_then_the_old_stable_retires(rollout_env, hook, monkeypatch):
    from alibabacloud_eas20210701 import models

    env = rollout_env
    monkeypatch.setenv("ROLLOUT_NOTIFY_URL", hook.url)
    env.notifications = [{"type": "webhook", "url_env": "ROLLOUT_NOTIFY_URL"}]
    env.start("v2", HEALTHY)
    env.eas.create_service_auto_scaler(env.region, "demo_model", models.CreateServiceAutoScalerRequest(
        min=1, max=4, scale_strategies=[models.CreateServiceAutoScalerRequestScaleStrategies(metric_name="qps", threshold=50)]))
    assert env.tick()["transitions"] == 1  # canary Running: first step
    for _ in range(3):  # (the traffic split at the group endpoint is measured in tests/e2e/test_rollout_flow.py)
        served = env.traffic(300)
        assert served["demo_model_v2"] > 0 and served["demo_model"] > 0
        env.advance(60)
        assert env.tick()["transitions"] == 1
    assert env.head().state == "watching" and env.weights() == {"demo_model": 0, "demo_model_v2": 100}
    assert env.traffic(200)["demo_model_v2"] == 200
    assert [r.data["canary_weight"] for r in env.history() if r.state in ("progressing", "promoting")] == [10, 25, 50, 100]
    # the watch window passes without a breach: the old stable is scaled to zero
    env.advance(300)
    env.tick()
    assert env.head().state == "succeeded"
    assert env.status("demo_model") in ("Stopping", "Stopped")
    from pai_autopilot.serving.stable import read_stable

    stable = read_stable(env.runtime().ledger, "demo")
    assert (stable.version, stable.previous_version) == ("v2", "v1")
    # the autoscaler now belongs to the new stable
    assert env.eas.describe_service_auto_scaler(env.region, "demo_model_v2").body.max_replica == 4
    # one notification per phase change, with the values
    events = [body["event"] for _, body in hook.received]
    assert events == ["rollout_progressing"] * 3 + ["rollout_watching", "rollout_succeeded"]
    step = hook.received[1][1]
    assert step["title"] == "demo v2: rollout progressing" and "5xx ratio" in step["details"]["canary"]


def test_canary_answering_20_percent_errors_rolls_back_after_threshold_checks(rollout_env):
    env = rollout_env
    env.start("v3", {"latency_ms": 5, "sleep_scale": 0, "error_rate": 0.2, "error_status": 503})
    env.tick()
    env.traffic(400)
    env.advance(60)
    first = env.tick()["rollouts"][0]
    assert first["action"] == "fail_check" and env.weights()["demo_model_v3"] == 10
    env.traffic(400)
    env.advance(60)
    env.tick()
    head = env.head()
    assert head.state == "rolled_back"
    assert env.weights() == {"demo_model": 100, "demo_model_v3": 0}
    gate = head.data["last_gate"]
    assert gate["canary"]["error_ratio"] > 0.1 and gate["stable"]["error_ratio"] == 0.0
    assert "2 failed checks" in head.data["reason"] and "p=" in head.data["reason"]
    assert env.status("demo_model_v3") in ("Stopping", "Stopped")  # cleanup_after 0: stopped at once
    assert [r.state for r in env.history()][-2:] == ["rolling_back", "rolled_back"]


def test_canary_with_no_traffic_holds_then_rolls_back_at_the_progress_deadline(rollout_env):
    env = rollout_env
    env.start("v4", HEALTHY)
    env.tick()
    states = []
    for _ in range(6):
        env.advance(60)
        env.tick()
        states.append(env.head().state)
    assert states[0] == "holding" and "min_requests" in env.history()[2].data["reason"]
    assert states[-1] == "rolled_back" and "progress_deadline" in env.head().data["reason"]
    assert all(r.data["canary_weight"] <= 10 for r in env.history())  # never promoted
    assert len([r for r in env.history() if r.state == "holding"]) == 1  # one hold record, not one per tick


def test_duplicated_and_overlapping_ticks_never_step_twice(rollout_env):
    from concurrent.futures import ThreadPoolExecutor

    env = rollout_env
    env.start("v2", HEALTHY)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: env.tick(), range(3)))
    assert sum(r["transitions"] for r in results) == 1
    env.traffic(300)
    env.advance(60)
    results = [env.tick() for _ in range(3)]
    assert [r["transitions"] for r in results] == [1, 0, 0]
    assert [r.data["canary_weight"] for r in env.history()] == [0, 10, 25]


def test_a_canary_whose_smoke_request_fails_is_rolled_back_never_weighted(rollout_env):
    env = rollout_env
    env.config(smoke={"path": "/predict", "body": '{"x": 1}', "expect_status": 200})
    env.start("v8", {"latency_ms": 0, "error_rate": 1.0, "error_status": 500})
    env.tick()
    head = env.head()
    assert head.state == "rolled_back" and "smoke request failed: HTTP 500, expected HTTP 200" in head.data["reason"]
    assert all(r.data["canary_weight"] == 0 for r in env.history())
    assert env.weights() == {"demo_model": 100, "demo_model_v8": 0}


def test_a_passing_smoke_request_lets_the_first_step_happen(rollout_env, capsys):
    import json

    env = rollout_env
    env.config(smoke={"path": "", "expect_status": 200})
    env.start("v2", {**HEALTHY, "require_token": True})  # the canary answers only with its token
    result = env.tick()
    assert env.head().data["canary_weight"] == 10
    token = env.eas.describe_service(env.region, "demo_model_v2").body.access_token
    seen = json.dumps([r.data for r in env.history()]) + json.dumps(result) + capsys.readouterr().out
    assert token and token not in seen  # the token was sent, and left no trace


def test_confirm_promotion_503_holds_at_the_last_step_then_200_promotes(rollout_env, hook, monkeypatch):
    env = rollout_env
    monkeypatch.setenv("CONFIRM_URL", hook.url)
    monkeypatch.setenv("CONFIRM_SECRET", "s3cret")
    env.config(step_weights=[50, 100], webhooks=[{"type": "confirm_promotion", "url_env": "CONFIRM_URL",
                                                  "secret_env": "CONFIRM_SECRET"}])
    env.start("v2", HEALTHY)
    env.tick()
    hook.status = 503
    for _ in range(2):
        env.traffic(200)
        env.advance(60)
        env.tick()
    head = env.head()
    assert head.state == "holding" and "confirm_promotion answered HTTP 503" in head.data["reason"]
    assert env.weights()["demo_model_v2"] == 50
    headers, payload = hook.received[-1]
    assert payload["type"] == "confirm_promotion" and payload["versions"] == {"canary": "v2", "stable": "v1"}
    assert payload["last_gate"]["canary"]["requests"] > 0 and headers["X-Autopilot-Signature"].startswith("sha256=")
    from pai_autopilot.rollout.hooks import sign

    body = __import__("json").dumps(payload, separators=(",", ":")).encode()
    assert headers["X-Autopilot-Signature"] == sign(body, secret="s3cret", timestamp=int(headers["X-Autopilot-Timestamp"]))
    hook.status = 200
    env.traffic(200)
    env.advance(60)
    env.tick()
    assert env.head().state == "watching" and env.weights()["demo_model_v2"] == 100


def test_shadowed_canary_with_30_percent_errors_rolls_back_during_shadowing(rollout_env):
    env = rollout_env
    env.config(shadow={"ratio": 50, "duration_seconds": 300})
    env.start("v7", {"latency_ms": 0, "error_rate": 0.3})
    env.tick()
    assert env.head().state == "shadowing"
    mirror = env.eas.describe_service_mirror(env.region, "demo_model").body
    assert (mirror.ratio, mirror.target) == ("50", "demo_model_v7")
    for _ in range(2):
        served = env.traffic(300)
        assert served == {"demo_model": 300}  # users only ever see the stable
        env.advance(60)
        env.tick()
    head = env.head()
    assert head.state == "rolled_back" and head.data["last_gate"]["canary"]["error_ratio"] > 0.15
    assert all(r.data["canary_weight"] == 0 for r in env.history())
    from alibabacloud_tea_openapi.exceptions import ClientException

    with pytest.raises(ClientException):
        env.eas.describe_service_mirror(env.region, "demo_model")  # the mirror is gone


def test_a_breach_inside_the_watch_window_serves_the_previous_version_again_in_one_step(rollout_env):
    env = rollout_env
    env.config(step_weights=[100])
    env.start("v6", HEALTHY)
    env.tick()
    assert env.head().state == "watching"
    import requests

    requests.put(f"{env.cloud.url}/_localcloud/eas/services/demo_model_v6/profile",
                 json={"latency_ms": 0, "error_rate": 0.5}, timeout=5)
    env.traffic(300)
    env.advance(60)
    result = env.tick()["rollouts"][0]
    assert (result["action"], result["phase"]) == ("revert", "rolled_back")
    assert env.weights() == {"demo_model": 100, "demo_model_v6": 0}
    assert env.traffic(100) == {"demo_model": 100}
    from pai_autopilot.serving.stable import read_stable

    assert read_stable(env.runtime().ledger, "demo").version == "v1"


def test_pre_rollout_webhook_gates_the_first_step_and_post_rollout_hears_the_end(rollout_env, hook, monkeypatch):
    env = rollout_env
    monkeypatch.setenv("HOOK_URL", hook.url)
    env.config(step_weights=[100], webhooks=[{"type": "pre_rollout", "url_env": "HOOK_URL"},
                                             {"type": "post_rollout", "url_env": "HOOK_URL"}])
    env.start("v2", HEALTHY)
    hook.status = 500
    assert env.tick()["transitions"] == 0 and env.head().state == "initializing"  # waits, no weight
    hook.status = 200
    env.tick()
    assert env.head().state == "watching"
    apply_command = __import__("pai_autopilot.rollout.control", fromlist=["apply_command"]).apply_command
    apply_command(env.runtime(), "demo", "rollback", actor="ci", reason="drill")
    kinds = [(body["type"], body["phase"]) for _, body in hook.received]
    assert kinds == [("pre_rollout", "initializing"), ("pre_rollout", "initializing"), ("post_rollout", "rolled_back")]


def test_the_canary_instances_follow_its_weight(rollout_env):
    env = rollout_env
    env.config(step_weights=[25, 50, 100])
    env.serving = {"instances": 4}  # the stable's size; the canary gets ceil(4 × weight / 100)
    env.start("v2", HEALTHY)
    env.tick()
    counts = [env.eas.describe_service(env.region, "demo_model_v2").body.total_instance]
    for _ in range(2):
        env.traffic(300)
        env.advance(60)
        env.tick()
        counts.append(env.eas.describe_service(env.region, "demo_model_v2").body.total_instance)
    assert env.head().state == "watching"
    assert [r.data["canary_instances"] for r in env.history() if r.state in ("progressing", "promoting")] == [1, 2, 4]
    assert counts == [1, 2, 4]

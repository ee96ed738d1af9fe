"""Notifications against a recording webhook server: formats, signatures, failures that never raise."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlparse

import pytest
from werkzeug.wrappers import Request, Response

from localcloud.server import ThreadedServer
from pai_autopilot.config.models import Notification as Target
from pai_autopilot.notify import Notification, RateLimiter, notify

NOTE = Notification("run_succeeded", "Run ap-demo-v1 succeeded", {"job_id": "dlc1", "model": "oss://b/models/demo/v1/"})


class Recorder:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, dict]] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.full_path, json.loads(request.get_data() or b"{}")))
        return Response("{}", status=self.status, content_type="application/json")(environ, start_response)


@pytest.fixture
def hook():
    recorder = Recorder()
    server = ThreadedServer(recorder)
    server.start()
    yield recorder, server.url
    server.stop()


def test_dingtalk_is_signed_as_dingtalk_verifies(hook):
    recorder, url = hook
    env = {"DING_URL": url + "/robot/send?access_token=t", "DING_SECRET": "SEC123"}
    outcome = notify([Target(type="dingtalk", url_env="DING_URL", secret_env="DING_SECRET")], NOTE, environ=env,
                     limiter=RateLimiter(), now=lambda: 1_700_000_000.5)
    assert outcome == {"dingtalk#0": "sent"}
    path, body = recorder.requests[0]
    query = parse_qs(urlparse(path).query)
    ts = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(b"SEC123", f"{ts}\nSEC123".encode(), hashlib.sha256).digest()).decode()
    assert ts == "1700000000500" and query["sign"] == [expected] and query["access_token"] == ["t"]
    assert body["msgtype"] == "markdown" and "dlc1" in body["markdown"]["text"]


def test_lark_wecom_and_webhook_bodies(hook):
    recorder, url = hook
    env = {"LARK": url + "/lark", "WECOM": url + "/wecom", "HOOK": url + "/hook", "LARK_SECRET": "k"}
    targets = [Target(type="lark", url_env="LARK", secret_env="LARK_SECRET"), Target(type="wecom", url_env="WECOM"),
               Target(type="webhook", url_env="HOOK")]
    assert set(notify(targets, NOTE, environ=env, limiter=RateLimiter(), now=lambda: 1000.0).values()) == {"sent"}
    bodies = {path: body for path, body in recorder.requests}
    lark = bodies["/lark?"]
    assert lark["timestamp"] == "1000" and lark["sign"] == base64.b64encode(hmac.new(b"1000\nk", b"", hashlib.sha256).digest()).decode()
    assert bodies["/wecom?"]["msgtype"] == "markdown"
    assert bodies["/hook?"] == {"event": "run_succeeded", "title": NOTE.title, "details": NOTE.details}


def test_failures_never_raise_and_subscriptions_filter(hook):
    recorder, url = hook
    recorder.status = 500
    targets = [Target(type="webhook", url_env="HOOK"), Target(type="webhook", url_env="DOWN"),
               Target(type="webhook", url_env="UNSET"), Target(type="webhook", url_env="HOOK", events=["run_failed"])]
    env = {"HOOK": url + "/h", "DOWN": "http://127.0.0.1:9/down"}
    outcome = notify(targets, NOTE, environ=env, limiter=RateLimiter(), timeout=1)
    assert outcome["webhook#0"] == "failed: HTTP 500" or outcome["webhook#0"].startswith("failed: HTTPError")
    assert outcome["webhook#1"].startswith("failed: URLError")
    assert outcome["webhook#2"] == "no-url" and outcome["webhook#3"] == "skipped"


def test_rate_limit_drops_a_burst(hook):
    recorder, url = hook
    limiter = RateLimiter(per_minute=3)
    outcomes = [notify([Target(type="webhook", url_env="HOOK")], NOTE, environ={"HOOK": url}, limiter=limiter)["webhook#0"] for _ in range(5)]
    assert outcomes == ["sent"] * 3 + ["rate-limited"] * 2 and len(recorder.requests) == 3

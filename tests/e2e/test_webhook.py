"""The webhook function through localcloud's FC HTTP trigger: forgeries, routes, retrain, runs and status."""

from __future__ import annotations

import json
import time

import pytest

from localcloud.core.faults import DeliveryFaults
from pai_autopilot.training.runs import retrain_run_id, run_id

from .conftest import WEBHOOK_SECRET
from .test_training_lifecycle import dlc_jobs, land, run_for
from .webhook_support import Webhook, ledger_keys


@pytest.fixture
def hook(project_cloud) -> Webhook:
    return Webhook(project_cloud)


def code(response) -> str:
    return response.json()["error"]["code"]


def test_forged_requests_get_their_status_and_change_nothing(hook, project_cloud, sdk):
    # Given a landed version whose marker event was lost: a genuine retrain request would submit it
    project_cloud.delivery = DeliveryFaults(drop=1.0)
    land(sdk, "v7")
    assert project_cloud.fc.wait_idle(60)
    project_cloud.delivery = DeliveryFaults()
    body = json.dumps({"pipeline": "demo", "version": "v7"}).encode()
    before = ledger_keys(sdk)
    good = hook.headers("POST", "/v1/retrain", body)
    attempts = {
        "unsigned": hook.send("POST", "/v1/retrain", body),
        "wrong secret": hook.send("POST", "/v1/retrain", body, hook.headers("POST", "/v1/retrain", body, secret="x" * 32)),
        "unknown key": hook.send("POST", "/v1/retrain", body, hook.headers("POST", "/v1/retrain", body, key_id="other")),
        "stale": hook.send("POST", "/v1/retrain", body, hook.headers("POST", "/v1/retrain", body, now=time.time() - 301)),
        "future": hook.send("POST", "/v1/retrain", body, hook.headers("POST", "/v1/retrain", body, now=time.time() + 400)),
        "tampered body": hook.send("POST", "/v1/retrain", body.replace(b"v7", b"v8"), good),
        "tampered path": hook.send("POST", "/v1/retrain/", body, good),
        "tampered query": hook.send("POST", "/v1/retrain", body, good, query={"force": "true"}),
        "tampered signature": hook.send("POST", "/v1/retrain", body, {**good, "X-Autopilot-Signature": "v1=" + "0" * 64}),
        "oversized": hook.send("POST", "/v1/retrain", b"{" + b" " * (1 << 20) + b"}", hook.headers("POST", "/v1/retrain", b"{}")),
    }
    expected = {name: (401, "bad_signature") for name in attempts}
    expected.update({"stale": (401, "stale"), "future": (401, "stale"), "oversized": (413, "too_large")})
    assert {name: (r.status_code, code(r)) for name, r in attempts.items()} == expected
    assert "X-Autopilot-Signature" in attempts["unsigned"].json()["error"]["message"]  # names the fix
    assert "clock" in attempts["stale"].json()["error"]["message"]
    # Then nothing changed: no nonce recorded, no run claimed, no job
    assert ledger_keys(sdk) == before and dlc_jobs(sdk) == []
    # When the genuine request is sent, then replayed
    first = hook.send("POST", "/v1/retrain", body, good)
    assert first.status_code == 202 and first.json()["outcome"] == "submitted", first.text
    after_first = ledger_keys(sdk)
    replay = hook.send("POST", "/v1/retrain", body, good)
    assert (replay.status_code, code(replay)) == (401, "replayed")
    assert ledger_keys(sdk) == after_first and len(dlc_jobs(sdk)) == 1
    # And no secret or signature appears in any log line or answer
    texts = hook.logs() + [r.text for r in (*attempts.values(), first, replay)]
    leaked = [t for t in texts if WEBHOOK_SECRET in t or any(s.split("=", 1)[1] in t for s in hook.signatures)]
    assert leaked == [] and any('"webhook request"' in line for line in hook.logs())


def test_routes_answer_with_stable_codes(hook):
    assert (r := hook.call("GET", "/v1/nope")).status_code == 404 and code(r) == "not_found"
    wrong = hook.call("GET", "/v1/retrain")
    assert (wrong.status_code, code(wrong), wrong.headers["Allow"]) == (405, "method_not_allowed", "POST")
    assert (r := hook.call("POST", "/v1/retrain", b"{not json")).status_code == 400 and code(r) == "bad_request"
    missing = hook.call("POST", "/v1/retrain", {"pipeline": "demo"})
    assert (missing.status_code, code(missing)) == (422, "invalid") and "'version' is required" in missing.text
    unknown = hook.call("POST", "/v1/retrain", {"pipeline": "nope", "version": "v1"})
    assert (unknown.status_code, code(unknown)) == (404, "not_found") and "known: demo" in unknown.text
    no_reason = hook.call("POST", "/v1/rollouts/demo/abort", {})
    assert (no_reason.status_code, code(no_reason)) == (422, "invalid") and "'reason' is required for abort" in no_reason.text
    assert (r := hook.call("GET", "/v1/runs/ap-nope")).status_code == 404 and code(r) == "not_found"
    assert (r := hook.call("GET", "/v1/timeline/demo/v404")).status_code == 404 and "ap-demo-v404-" in r.text


def _absent(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # its parent package is absent too
        return True


def test_routes_whose_library_is_absent_answer_not_available(hook):
    json_body, form = "application/json", "application/x-www-form-urlencoded"
    cases = [("pai_autopilot.rollout.control", "POST", "/v1/rollouts/demo/pause", {}, json_body),
             ("pai_autopilot.notebooks.snooze", "POST", "/v1/notebooks/dsw-1/snooze", {"hours": 2}, json_body),
             ("pai_autopilot.rollout.alarms", "POST", "/v1/alerts/cms", b"alertName=x&alertState=ALERT&curValue=1", form)]
    absent = [c for c in cases if _absent(c[0])]
    if not absent:
        pytest.skip("every optional library is deployed")
    for _, method, path, body, content_type in absent:
        response = hook.call(method, path, body, content_type=content_type)
        assert (response.status_code, code(response)) == (501, "not_available"), (path, response.text)


def test_retrain_through_the_webhook_is_recorded_with_who_and_why(hook, project_cloud, sdk):
    project_cloud.clock.freeze()
    project_cloud.delivery = DeliveryFaults(drop=1.0)  # the marker event is lost
    land(sdk, "v5")
    assert project_cloud.fc.wait_idle(60)
    project_cloud.delivery = DeliveryFaults()
    submitted = hook.call("POST", "/v1/retrain", {"pipeline": "demo", "version": "v5", "reason": "marker event lost"})
    assert submitted.status_code == 202, submitted.text
    run = run_id("demo", "v5")
    assert submitted.json() | {"job_id": None} == {"outcome": "submitted", "run_id": run, "pipeline": "demo", "version": "v5",
                                                   "job_id": None, "requested_by": "webhook:ci"}
    # a repeated request is a no-op
    again = hook.call("POST", "/v1/retrain", {"pipeline": "demo", "version": "v5"})
    assert again.status_code == 200 and again.json()["outcome"] == "noop" and len(dlc_jobs(sdk)) == 1
    # a forced retrain needs a reason, then starts a second run recorded as forced by the key
    assert code(hook.call("POST", "/v1/retrain", {"pipeline": "demo", "version": "v5", "force": True})) == "invalid"
    forced = hook.call("POST", "/v1/retrain", {"pipeline": "demo", "version": "v5", "force": True, "reason": "new labels",
                                               "now": True})  # now: past max_active_runs (1), v5's run still active
    assert forced.status_code == 202 and forced.json()["run_id"] == retrain_run_id("demo", "v5", 1), forced.text
    assert len(dlc_jobs(sdk)) == 2
    # without now, a forced retrain at max_active_runs waits in the queue
    waits = hook.call("POST", "/v1/retrain", {"pipeline": "demo", "version": "v5", "force": True, "reason": "again"})
    assert (waits.status_code, waits.json()["outcome"]) == (202, "queued") and len(dlc_jobs(sdk)) == 2, waits.text
    run_for(project_cloud, 10)
    shown = hook.call("GET", f"/v1/runs/{retrain_run_id('demo', 'v5', 1)}").json()
    assert shown["run"]["forced"] and shown["run"]["requested_by"] == "webhook:ci"
    assert shown["timeline"][0]["reason"] == f"forced retrain #1 of {run} by webhook:ci"
    timeline = hook.call("GET", "/v1/timeline/demo/v5").json()
    first = [e for e in timeline["events"] if e["entity"] == f"runs/demo/{run}"][0]
    assert first["summary"] == "submitted on demand by webhook:ci; why: marker event lost"


@pytest.fixture
def cli(project_cloud):
    import typer
    from typer.testing import CliRunner

    from pai_autopilot.cli.ops import register

    from .conftest import ROOT, WEBHOOK_KEY_ID

    app = typer.Typer()
    register(app)
    env = {**project_cloud.env("autopilot-demo"), "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"),
           "AUTOPILOT_WEBHOOK_SECRET": WEBHOOK_SECRET, "AUTOPILOT_WEBHOOK_KEY_ID": WEBHOOK_KEY_ID}

    def invoke(*args: str, **extra: str):
        return CliRunner().invoke(app, list(args), env={**env, **extra})

    return invoke


def test_status_cli_gives_the_same_answer_as_the_route(cli, hook, project_cloud, sdk):
    project_cloud.clock.freeze()
    land(sdk, "v1")
    assert project_cloud.fc.wait_idle(60)
    run_for(project_cloud, 10)
    route = hook.call("GET", "/v1/status").json()
    printed = cli("status", "--json")
    assert printed.exit_code == 0, printed.output
    assert {**json.loads(printed.output), "generated_at": None} == {**route, "generated_at": None}
    (demo,) = route["pipelines"]
    assert demo["pipeline"] == "demo" and demo["newest_run"]["run_id"] == run_id("demo", "v1")
    assert demo["newest_run"]["state"] in ("submitted", "running") and demo["stable"] is None and demo["rollout"] is None
    table = cli("status").output.splitlines()
    assert table[0].split()[:3] == ["PIPELINE", "NEWEST", "RUN"] and table[1].split()[:3] == ["demo", run_id("demo", "v1"), "v1"]
    assert table[-1] == "notebooks: not available in this deployment" or table[-1].startswith("notebooks")


def test_webhook_sign_prints_a_curl_line_that_works(cli, hook, project_cloud, sdk):
    import subprocess

    project_cloud.delivery = DeliveryFaults(drop=1.0)
    land(sdk, "v3")
    assert project_cloud.fc.wait_idle(60)
    project_cloud.delivery = DeliveryFaults()
    signed = cli("webhook", "sign", "POST", "/v1/retrain", '{"pipeline": "demo", "version": "v3", "reason": "it\'s CI"}',
                 AUTOPILOT_WEBHOOK_URL=hook.base)
    assert signed.exit_code == 0 and signed.output.startswith("curl -sS -X POST "), signed.output
    ran = subprocess.run(["bash", "-c", signed.output], capture_output=True, text=True, timeout=60, check=False)
    assert json.loads(ran.stdout)["outcome"] == "submitted", ran.stdout + ran.stderr
    again = subprocess.run(["bash", "-c", signed.output], capture_output=True, text=True, timeout=60, check=False)
    assert json.loads(again.stdout)["error"]["code"] == "replayed"  # each line works once
    # a GET with a quoted version and the HTML page; the URL left as a variable for CI scripts
    line = cli("webhook", "sign", "GET", "/v1/timeline/demo/v3", "--accept", "text/html").output
    assert line.startswith('curl -sS -X GET "${AUTOPILOT_WEBHOOK_URL}"/v1/timeline/demo/v3 ')
    page = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60, check=False,
                          env={"AUTOPILOT_WEBHOOK_URL": hook.base, "PATH": "/usr/bin:/bin"})
    assert page.stdout.startswith("<!doctype html>"), page.stdout[:300]
    # errors: no secret, a bad method
    missing = cli("webhook", "sign", "GET", "/v1/status", AUTOPILOT_WEBHOOK_SECRET="")
    assert missing.exit_code == 2 and "AUTOPILOT_WEBHOOK_SECRET is not set" in missing.output
    assert cli("webhook", "sign", "DELETE", "/v1/status").exit_code == 2
    assert "-H 'X-Autopilot-Timestamp: 1000'" in cli("webhook", "sign", "GET", "/v1/status", "--at", "1000").output


def test_cloudmonitor_calls_back_with_the_url_token(cli, hook):
    from urllib.parse import parse_qsl, urlsplit

    printed = cli("webhook", "callback-url", AUTOPILOT_WEBHOOK_URL=hook.base)
    assert printed.exit_code == 0, printed.output
    url = urlsplit(printed.output.strip())
    assert url.path.endswith("/v1/alerts/cms")
    query = dict(parse_qsl(url.query))
    form = "application/x-www-form-urlencoded"
    alarm = b"alertName=p99&alertState=ALERT&curValue=912&ruleId=r1&dimensions=%7BserviceName%3Ddemo_model_v2%7D"
    accepted = hook.send("POST", "/v1/alerts/cms", alarm, query=query, content_type=form)
    assert accepted.status_code == 200 and accepted.json()["outcome"] == "notified", accepted.text  # no rollout acts on it
    wrong = hook.send("POST", "/v1/alerts/cms", alarm, query={**query, "token": "0" * 64}, content_type=form)
    assert (wrong.status_code, code(wrong)) == (401, "bad_signature")
    # the token opens this route only
    other = hook.send("GET", "/v1/status", query=query)
    assert (other.status_code, code(other)) == (401, "bad_signature")
    assert not any(query["token"] in line for line in hook.logs())


def test_help_explains_every_command(cli):
    for args in (["status"], ["timeline"], ["webhook"], ["webhook", "sign"], ["webhook", "callback-url"]):
        shown = cli(*args, "--help")
        assert shown.exit_code == 0 and "Usage:" in shown.output, args
    assert "AUTOPILOT_WEBHOOK_SECRET" in cli("webhook", "sign", "--help").output
    assert "/v1/rollouts/PIPELINE" in cli("webhook", "--help").output


def test_status_and_timeline_name_an_unreachable_endpoint():
    from typer.testing import CliRunner

    from pai_autopilot.cli import app

    from .conftest import ROOT
    from .test_local_up import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sk", "AUTOPILOT_ENDPOINT": endpoint,
           "AUTOPILOT_BUCKET": "autopilot-demo", "AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"), "AUTOPILOT_SDK_ATTEMPTS": "1"}
    for args in (["status"], ["timeline", "demo", "v1"]):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 3 and f"error: cannot reach {endpoint}: connection refused" in result.output, (args, result.output)
    unknown = CliRunner().invoke(app, ["timeline", "nope", "v1"], env=env)
    assert unknown.exit_code == 2 and "no pipeline 'nope'; known: demo" in unknown.output

"""Sentinel secrets never leave the process, on any error path of any function or CLI command.

Planted: the access key secret and STS token (from the environment and from FC's
``context.credentials``), DingTalk and Lark signing secrets, webhook URL tokens (DingTalk
``access_token``, a Lark path token, a generic webhook ``key``), ``AUTOPILOT_WEBHOOK_SECRET``, an
endpoint's userinfo password. Driven, against localcloud with the real SDKs: every function in
functions/ (discovered) with every sample event plus a real marker, job event and timer, under
each fault (wrong secret, bad token, access denied on read and on write, 5xx, timeouts, bad
config, bad settings, bad events); then every CLI command of the shipped app (discovered). What
is searched: log lines, stdout/stderr, results, raised exceptions with their full tracebacks (what
FC prints), CLI output, and every notification a local webhook receiver got (bodies and headers).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import yaml

from localcloud import LocalCloud
from localcloud.core.credentials import Credential
from localcloud.core.faults import Fault

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"
FUNCTIONS = sorted(p.stem for p in (ROOT / "functions").glob("*.py") if p.stem != "__init__")
SAMPLES = {p.name: p.read_bytes() for p in sorted((ROOT / "events").glob("*.json"))}

STS_ID = "STS.sentinelKeyId01"
SENTINELS = {
    "access key secret": "SNTL-access-key-secret-7Qx9",
    "sts token": "SNTLstsToken/+=CAIS-9fK2",
    "wrong secret": "SNTL-wrong-secret-Zp4r",
    "bad token": "SNTL-bad-token-Yh6w",
    "context secret": "SNTL-context-secret-Lm3e",
    "context token": "SNTL-context-token-Rt8u",
    "dingtalk signing secret": "SNTL-ding-sign-Kd2s",
    "dingtalk url token": "SNTLdingAccessToken0042",
    "lark signing secret": "SNTL-lark-sign-Vb5n",
    "lark url token": "SNTLlarkHookToken0043",
    "webhook url token": "SNTLwebhookKey0044",
    "broken url token": "SNTLbrokenUrlToken0045",
    "webhook secret": "SNTL-webhook-secret-Qa1z",
    "endpoint password": "SNTL-endpoint-pass-Ws7x",
}


class Receiver:
    """A local webhook receiver: every request's path, headers and body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        self.requests.append({"path": request.full_path, "headers": dict(request.headers), "body": request.get_data(as_text=True)})
        return Response('{"errcode": 0}', content_type="application/json")(environ, start_response)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[SimpleNamespace]:
    from localcloud.server import ThreadedServer

    receiver = Receiver()
    server = ThreadedServer(receiver)
    server.start()
    cloud = LocalCloud().start()
    cloud.create_bucket(BUCKET)
    cloud.credentials.add(Credential(STS_ID, SENTINELS["access key secret"], SENTINELS["sts token"]))
    cloud.credentials.add(Credential("STS.sentinelCtx01", SENTINELS["context secret"], SENTINELS["context token"]))
    cloud.dlc.backend.set_workspaces({"12345": "demo"})
    root = tmp_path_factory.mktemp("sentinel")
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["notifications"] = [
        {"type": "dingtalk", "url_env": "DING_URL", "secret_env": "DING_SIGNING"},
        {"type": "lark", "url_env": "LARK_URL", "secret_env": "LARK_SIGNING"},
        {"type": "webhook", "url_env": "HOOK_URL"},
        {"type": "dingtalk", "url_env": "BROKEN_URL"},  # no scheme, a space: the send fails
    ]
    (root / "autopilot.yaml").write_text(yaml.safe_dump(config))
    broken = dict(config, notifications=[{"type": "dingtalk", "url": f"https://x/?access_token={SENTINELS['dingtalk url token']}"}])
    (root / "broken.yaml").write_text(yaml.safe_dump(broken))
    (root / "binary.yaml").write_bytes(b"\x00\xff" + SENTINELS["webhook secret"].encode())
    env = {
        **cloud.env(BUCKET),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": STS_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SENTINELS["access key secret"],
        "ALIBABA_CLOUD_SECURITY_TOKEN": SENTINELS["sts token"],
        "AUTOPILOT_CONFIG": str(root / "autopilot.yaml"),
        "AUTOPILOT_LOG_LEVEL": "DEBUG",
        "AUTOPILOT_SDK_ATTEMPTS": "1",
        "AUTOPILOT_SDK_TIMEOUT_MS": "300",
        "AUTOPILOT_NOTIFY_PER_MINUTE": "100000",
        "AUTOPILOT_WEBHOOK_SECRET": SENTINELS["webhook secret"],
        "DING_URL": f"{server.url}/robot/send?access_token={SENTINELS['dingtalk url token']}",
        "DING_SIGNING": SENTINELS["dingtalk signing secret"],
        "LARK_URL": f"{server.url}/open-apis/bot/v2/hook/{SENTINELS['lark url token']}",
        "LARK_SIGNING": SENTINELS["lark signing secret"],
        "HOOK_URL": f"{server.url}/hook?key={SENTINELS['webhook url token']}",
        "BROKEN_URL": f"{server.host}:{server.port}/robot send?access_token={SENTINELS['broken url token']}",
    }
    yield SimpleNamespace(cloud=cloud, receiver=receiver, env=env, root=root, captured=[], codes=set())
    cloud.stop()
    server.stop()


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    from pai_autopilot.settings import _current

    names = {n for n in os.environ if n.startswith(("ALIBABA_CLOUD_", "AUTOPILOT_"))} | set(env)
    saved = {n: os.environ.get(n) for n in names}
    for name in names:
        os.environ.pop(name, None)
    os.environ.update({k: v for k, v in env.items() if v is not None})
    saved_settings = list(_current)
    _current.clear()
    try:
        yield
    finally:
        _current[:] = saved_settings
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def marker_event(key: str, etag: str = "E0") -> bytes:
    return json.dumps({"events": [{"eventName": "ObjectCreated:PutObject", "eventSource": "acs:oss", "region": "cn-hangzhou",
                                   "oss": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": 0, "eTag": etag}}}]}).encode()


def job_event(job_id: str) -> bytes:
    return json.dumps({"id": f"ev-{job_id}", "source": "acs.pai", "type": "pai:DLC:JobStatusChanged", "specversion": "1.0",
                       "aliyuneventbusname": "pai-system-demo", "data": {"JobId": job_id, "Status": "Running"}}).encode()


TIMER = b'{"triggerTime": "2026-01-01T00:00:00Z", "triggerName": "reconcile", "payload": "{}"}'
BAD_EVENTS = {
    "secret-shaped event": json.dumps({"AccessKeySecret": SENTINELS["access key secret"], "SecurityToken": SENTINELS["sts token"]}).encode(),
    "secret in a url": json.dumps({"endpoint": f"http://admin:{SENTINELS['endpoint password']}@h/"}).encode(),
}


def invoke(world: SimpleNamespace, function: str, event: bytes, context: Any) -> None:
    """Run one handler in-process; keep everything it wrote, returned or raised."""
    from pai_autopilot import log as aplog

    handler = importlib.import_module(function).handler
    logs, out, err = io.StringIO(), io.StringIO(), io.StringIO()
    with _capture_logs(aplog, logs), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = handler(event, context)
            text = json.dumps(result, default=str)
        except BaseException as exc:  # what FC would print: the message and the whole chain
            text = "".join(traceback.format_exception(exc))
    world.captured.append(f"{function} {logs.getvalue()} {out.getvalue()} {err.getvalue()} {text}")
    for code in ("SignatureDoesNotMatch", "InvalidSecurityToken", "AccessDenied", "InternalError", "timed out",
                 "Timeout", "notification failed", "ConfigError", "SettingsError", "EventParseError", "submitted"):
        if code in world.captured[-1]:
            world.codes.add(code)


def _capture_logs(aplog: Any, stream: io.StringIO) -> Any:
    """The library's log lines into ``stream`` (``configure`` for a library without ``quiet``)."""
    if hasattr(aplog, "quiet"):
        return aplog.quiet("DEBUG", stream)

    @contextlib.contextmanager
    def configured() -> Iterator[None]:
        aplog.configure("DEBUG", stream=stream)
        yield
    return configured()


def ctx(credentials: Any = None) -> SimpleNamespace:
    return SimpleNamespace(request_id="sentinel", credentials=credentials)


def events_for_every_function(world: SimpleNamespace) -> dict[str, bytes]:
    """Every sample, a real marker, a job event for the real job, a timer, and the bad events."""
    from alibabacloud_pai_dlc20201203 import models

    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.settings import Settings

    dlc = Clients(Settings.resolve(environ=world.cloud.env(BUCKET)), Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET)).dlc
    job_ids = [j.job_id for j in dlc.list_jobs(models.ListJobsRequest()).body.jobs or []]
    assert job_ids, "the setup marker created no job"
    events = {**SAMPLES, **BAD_EVENTS, "marker": marker_event("datasets/demo/v1/_SUCCESS"),
              "new marker": marker_event("datasets/demo/v2/_SUCCESS", "E2"), "timer": TIMER}
    for job_id in job_ids[:1]:
        events["job event"] = job_event(job_id)
    return events


def land(world: SimpleNamespace, version: str) -> None:
    import oss2

    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

    bucket = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), world.cloud.url, BUCKET)
    bucket.put_object(f"datasets/demo/{version}/part-0.csv", f"{version}\n".encode())
    bucket.put_object(f"datasets/demo/{version}/_SUCCESS", b"")


def oss_fault(operations: tuple[str, ...], code: str, status: int) -> list[Fault]:
    return [Fault(service="oss", operation=op, error_code=code, status=status, error_rate=1.0, message=f"injected {code}")
            for op in operations]


READS = ("GetObject", "ListObjects", "HeadObject", "GetObjectMeta")
WRITES = ("PutObject", "CopyObject", "DeleteObject")


def scenarios(world: SimpleNamespace) -> dict[str, tuple[dict[str, str], list[Fault], Any]]:
    """name → (environment overrides, faults, context credentials)."""
    creds = SimpleNamespace(access_key_id="STS.sentinelCtx01", access_key_secret=SENTINELS["context secret"],
                            security_token=SENTINELS["context token"])
    no_env_creds = {"ALIBABA_CLOUD_ACCESS_KEY_ID": None, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None, "ALIBABA_CLOUD_SECURITY_TOKEN": None}
    return {
        "ok": ({}, [], None),
        "context credentials": (no_env_creds, [], creds),
        "context credentials, denied": (no_env_creds, oss_fault(READS, "AccessDenied", 403), creds),
        "wrong secret": ({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": SENTINELS["wrong secret"]}, [], None),
        "bad token": ({"ALIBABA_CLOUD_SECURITY_TOKEN": SENTINELS["bad token"]}, [], None),
        "denied on read": ({}, oss_fault(READS, "AccessDenied", 403), None),
        "denied on write": ({}, oss_fault(WRITES, "AccessDenied", 403), None),
        "5xx": ({}, [Fault(service="*", operation="*", error_code="InternalError", status=500, error_rate=1.0)], None),
        "timeout": ({}, [Fault(service="dlc", operation="*", latency_ms=700)], None),
        "bad config": ({"AUTOPILOT_CONFIG": str(world.root / "broken.yaml")}, [], None),
        "binary config": ({"AUTOPILOT_CONFIG": str(world.root / "binary.yaml")}, [], None),
        "bad settings": ({"AUTOPILOT_ENDPOINT": f"http://admin:{SENTINELS['endpoint password']}@127.0.0.1:1/x"}, [], None),
    }


#: A request signature echoed by an SDK error (OSS's SignatureProvided, a v4 Signature=, DingTalk's sign=).
SIGNATURE = __import__("re").compile(r"(SignatureProvided['\"]?\s*[:=]\s*['\"]?|Signature=|[?&]sign=)(?!\*\*\*)[0-9A-Za-z%+/=]{16,}")


def leaks(texts: list[str]) -> list[tuple[str, str]]:
    found = []
    for text in texts:
        match = SIGNATURE.search(text)
        if match:
            found.append(("a request signature", text[max(0, match.start() - 80): match.end() + 20]))
            break
    for name, value in SENTINELS.items():
        spellings = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
        for text in texts:
            hit = next((s for s in spellings if s in text), None)
            if hit:
                at = text.index(hit)
                found.append((name, text[max(0, at - 120): at + 60]))
                break
    for text in texts:  # a sentinel cut short still leaks
        if "SNTL" in text and not found:
            at = text.index("SNTL")
            found.append(("a SNTL fragment", text[max(0, at - 120): at + 60]))
    return found


def test_no_sentinel_in_any_function_output(world):
    sys.path.insert(0, str(ROOT / "functions"))
    try:
        # Given a dataset version that trains, so job and timer events reach the cloud too
        land(world, "v1")
        land(world, "v2")
        with environment(world.env):
            invoke(world, "dataset_landed", marker_event("datasets/demo/v1/_SUCCESS"), ctx())
        events = events_for_every_function(world)
        # When every function gets every event under every fault
        for overrides, faults, credentials in scenarios(world).values():
            ids = [world.cloud.faults.add(f) for f in faults]
            try:
                with environment({**world.env, **overrides}):
                    for function in FUNCTIONS:
                        for event in events.values():
                            invoke(world, function, event, ctx(credentials))
            finally:
                for fid in ids:
                    world.cloud.faults.remove(fid)
    finally:
        sys.path.remove(str(ROOT / "functions"))
    Path(os.environ.get("SENTINEL_DUMP", "/dev/null")).write_text("\n=====\n".join(world.captured))
    # Then every error path was really taken (the test cannot pass by doing nothing)
    assert {"SignatureDoesNotMatch", "InvalidSecurityToken", "AccessDenied", "InternalError", "notification failed", "timed out",
            "ConfigError", "SettingsError", "EventParseError", "submitted"} <= world.codes, world.codes
    assert world.receiver.requests, "no notification was delivered"
    # And no sentinel appears anywhere: logs, stdout/stderr, results, tracebacks, notifications
    notifications = [json.dumps({"headers": r["headers"], "body": r["body"]}) for r in world.receiver.requests]
    found = leaks(world.captured + notifications)
    assert [name for name, _where in found] == [], found


def cli_commands() -> list[tuple[str, ...]]:
    """Every command of the shipped typer app, as its path of names."""
    import typer.main

    from pai_autopilot.cli import app

    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(typer.main.get_command(app), ())
    return found


#: Commands that run until stopped or for minutes (serve, the narrated demo, pip, load generation):
#: their error paths share the code driven through the other commands.
LONG_RUNNING = {("local", "up"), ("demo",), ("package",), ("local", "traffic")}
ARGS = {("retrain",): ["demo", "v1"], ("run", "show"): ["ap-demo-v1-00000000"], ("local", "logs"): ["dataset_landed"],
        ("local", "invoke"): ["dataset_landed", "--event", "events/ossObjectCreated.json"], ("validate",): []}


def test_no_sentinel_in_any_cli_output(world):
    from typer.testing import CliRunner

    from pai_autopilot.cli import app, report_unexpected
    from pai_autopilot.redact import register_env_secrets

    commands = [c for c in cli_commands() if c not in LONG_RUNNING]
    assert ("runs",) in commands and ("wire",) in commands
    outputs: list[str] = []
    for name, (overrides, faults, _creds) in scenarios(world).items():
        if name.startswith("context"):
            continue
        ids = [world.cloud.faults.add(f) for f in faults]
        try:
            env = {**world.env, **overrides}
            for command in commands:
                args = [*command, *ARGS.get(command, [])]
                if command == ("validate",):
                    args.append(env["AUTOPILOT_CONFIG"])
                with environment(env):
                    result = CliRunner().invoke(app, args, env={k: v for k, v in env.items()}, catch_exceptions=True)
                    # what `main` prints for an exception no command handled (never its traceback)
                    unhandled = result.exception if not isinstance(result.exception, (SystemExit, type(None))) else None
                    if unhandled is not None:
                        register_env_secrets()
                    last = report_unexpected(unhandled) if unhandled is not None else ""
                outputs.append(f"{name} {' '.join(args)} {result.output} {last}")
        finally:
            for fid in ids:
                world.cloud.faults.remove(fid)
    Path(os.environ.get("SENTINEL_DUMP", "/dev/null")).write_text("\n=====\n".join(outputs))
    # Then the commands met the errors (wrong secret, denied, 5xx, bad config), and leaked nothing
    text = "\n".join(outputs)
    assert "SignatureDoesNotMatch" in text and "InvalidSecurityToken" in text and "AccessDenied" in text
    found = leaks(outputs)
    assert [name for name, _where in found] == [], found

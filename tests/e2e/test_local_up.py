"""`pai-autopilot local up` in the foreground + `local env` in a shell, as a newcomer uses them."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import oss2
import pytest
import requests
from alibabacloud_pai_dlc20201203 import models
from alibabacloud_pai_dlc20201203.client import Client
from alibabacloud_tea_openapi.models import Config

from localcloud.core.credentials import CredentialStore
from localcloud.core.errors import ServiceError

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "pai-autopilot")


# a trained run waits for its model, then serving moves it on (model_ready, served)
TRAINED = ("waiting_for_model", "model_ready", "served")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exported(port: int) -> dict[str, str]:
    out = subprocess.run([CLI, "local", "env", "--port", str(port)], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    env = {}
    for line in out.splitlines():
        assert line.startswith("export ")
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = shlex.split(value)[0]
    return env


def test_local_env_prints_the_exports_the_server_accepts():
    env = exported(9911)
    assert sorted(env) == ["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_REGION_ID",
                           "AUTOPILOT_BUCKET", "AUTOPILOT_ENDPOINT", "LOCALCLOUD_PORT"]
    assert env["ALIBABA_CLOUD_REGION_ID"] == "cn-hangzhou" and env["AUTOPILOT_ENDPOINT"] == "http://127.0.0.1:9911"
    assert env["LOCALCLOUD_PORT"] == "9911"  # so the `local` commands after `eval` find this localcloud
    assert env["AUTOPILOT_BUCKET"] == "autopilot-demo"
    # the pair is the one a localcloud verifies signatures with, and nothing else is
    store = CredentialStore()
    assert store.secret_for(env["ALIBABA_CLOUD_ACCESS_KEY_ID"], None) == env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    with pytest.raises(ServiceError):
        store.secret_for("not-" + env["ALIBABA_CLOUD_ACCESS_KEY_ID"], None)


def wait_up(endpoint: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(endpoint + "/_localcloud/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        assert server.poll() is None, server.communicate()[0]
        assert time.monotonic() < deadline, "localcloud did not come up"
        time.sleep(0.1)


def test_the_newcomer_path_by_hand_local_up_env_wire_upload(tmp_path):
    """Only what a newcomer types: `local up`, `local env`, `wire`, an upload. Nothing created by hand."""
    port = free_port()
    server = subprocess.Popen([CLI, "local", "up", "--port", str(port), "--quiet"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        env = {**os.environ, **exported(port)}
        wait_up(env["AUTOPILOT_ENDPOINT"], server)
        wired = subprocess.run([CLI, "wire"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert wired.returncode == 0, wired.stdout + wired.stderr
        assert "create     eventbridge rule: pai-system-demo/pai-autopilot-job-events" in wired.stdout
        # the marker upload, with the exported credentials (the server accepts them)
        bucket = oss2.Bucket(oss2.Auth(env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]),
                             env["AUTOPILOT_ENDPOINT"], env["AUTOPILOT_BUCKET"])
        bucket.put_object("datasets/demo/v1/part-0.csv", b"x,y\n1,3\n")
        bucket.put_object("datasets/demo/v1/_SUCCESS", b"")
        # the run follows its job's status events (job_events through the wired rule), to the end;
        # localcloud's clock is moved on (as `local clock --advance` does) so the job does not take minutes
        deadline = time.monotonic() + 60
        while True:
            keys = sorted(o.key for o in bucket.list_objects_v2(prefix=".autopilot/runs/demo/").object_list)
            if keys and json.loads(bucket.get_object(keys[-1]).read())["state"] in TRAINED:
                break
            assert time.monotonic() < deadline, keys
            requests.post(env["AUTOPILOT_ENDPOINT"] + "/_localcloud/clock", json={"advance": 10}, timeout=10)
            time.sleep(0.3)
        shown = subprocess.run([CLI, "runs", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        (run,) = json.loads(shown.stdout)
        assert run["state"] in TRAINED and run["status"] == "Succeeded", run
        invocations = requests.get(env["AUTOPILOT_ENDPOINT"] + "/_localcloud/fc/invocations", timeout=5).json()
        job_events = [i for i in invocations if i["function"] == "pai-autopilot-job-events"]
        assert job_events and {i["source"] for i in job_events} == {"eventbridge:pai-system-demo/pai-autopilot-job-events"}
        assert {i["status"] for i in job_events} == {"succeeded"}
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = server.communicate(timeout=30)
    assert "workspace: 12345 (demo), events on bus pai-system-demo" in output, output
    assert output.rstrip().endswith("stopped") and server.returncode == 0, output[-2000:]
    assert "Traceback" not in output


def test_local_up_then_a_real_client_upload_yields_one_job():
    port = free_port()
    server = subprocess.Popen(
        [CLI, "local", "up", "--port", str(port), "--quiet"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        env = exported(port)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(env["AUTOPILOT_ENDPOINT"] + "/_localcloud/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "localcloud did not come up"
            time.sleep(0.1)
        # A newcomer's script: oss2 with the exported credentials uploads a dataset version
        auth = oss2.Auth(env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])
        bucket = oss2.Bucket(auth, env["AUTOPILOT_ENDPOINT"], env["AUTOPILOT_BUCKET"])
        bucket.put_object("datasets/demo/v1/part-0.csv", b"x,y\n1,3\n")
        bucket.put_object("datasets/demo/v1/_SUCCESS", b"")
        bucket.put_object("datasets/demo/v1/_SUCCESS", b"")  # uploaded twice
        dlc = Client(Config(
            access_key_id=env["ALIBABA_CLOUD_ACCESS_KEY_ID"], access_key_secret=env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            endpoint=env["AUTOPILOT_ENDPOINT"].removeprefix("http://"), protocol="http",
        ))
        deadline = time.monotonic() + 60
        while True:
            records = requests.get(env["AUTOPILOT_ENDPOINT"] + "/_localcloud/fc/invocations", timeout=5).json()
            done = [r for r in records if r["status"] in ("succeeded", "dead")]
            if len(done) == 2:
                break
            assert time.monotonic() < deadline, records
            time.sleep(0.2)
        jobs = dlc.list_jobs(models.ListJobsRequest()).body.jobs
        assert len(jobs) == 1
        assert "--dataset-uri oss://autopilot-demo/datasets/demo/v1/" in jobs[0].user_command
        job = dlc.get_job(jobs[0].job_id, models.GetJobRequest()).body
        assert job.data_sources[0].uri == "oss://autopilot-demo/datasets/demo/v1/"
        # the second delivery creates nothing: a duplicate marker, or (racing the first one's content
        # fingerprint claim) a conflict the invocation answers as a no-op
        outcomes = sorted(r["outcome"] for r in done)
        assert outcomes in (["duplicate", "submitted"], ["noop", "submitted"]), outcomes
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert f"localcloud on http://127.0.0.1:{port}" in output
    assert server.returncode in (0, -15), output


def cli(*args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, cwd=ROOT, input=input, env={**os.environ, **(env or {})}, timeout=60)


def test_control_commands_against_a_running_localcloud():
    port = free_port()
    server = subprocess.Popen([CLI, "local", "up", "--port", str(port), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    p = ["--port", str(port)]
    try:
        deadline = time.monotonic() + 30
        while cli("local", "state", *p).returncode != 0:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        # clock: freeze, advance
        frozen = json.loads(cli("local", "clock", "--freeze", *p).stdout)
        advanced = json.loads(cli("local", "clock", "--advance", "60", *p).stdout)
        assert frozen["frozen"] and advanced["now"] == frozen["now"] + 60
        # faults: add, list, clear; a bad value is a clear error
        added = json.loads(cli("local", "fault", "--service", "oss", "--operation", "PutObject", "--count", "1", *p).stdout)
        assert added["faults"][0]["operation"] == "PutObject"
        bad = cli("local", "fault", "--error-rate", "3", *p)
        assert bad.returncode == 2 and b"error_rate must be within [0, 1], got 3.0" in bad.stderr  # wrong input
        assert json.loads(cli("local", "fault", "--clear", *p).stdout) == {"faults": []}
        # delivery faults
        assert json.loads(cli("local", "delivery", "--duplicate", "1", *p).stdout)["duplicate"] == 1.0
        assert json.loads(cli("local", "delivery", *p).stdout)["duplicate"] == 0.0
        # invoke one function on a sample event, against this localcloud (the version is not in OSS: rejected)
        env = {"AUTOPILOT_ENDPOINT": f"http://127.0.0.1:{port}"}
        ran = cli("local", "invoke", "dataset_landed", "--event", "events/ossObjectCreated.json", env=env)
        assert ran.returncode == 0, ran.stderr
        result = json.loads(ran.stdout[ran.stdout.index(b"\n{") :])
        assert result["outcome"] == "rejected" and "marker" in result["records"][0]["reason"]
        missing = cli("local", "invoke", "nope", "--event", "events/ossObjectCreated.json", env=env)
        assert missing.returncode == 2 and b"dataset_landed (pai-autopilot-dataset-landed)" in missing.stderr
        # reset, state
        assert json.loads(cli("local", "reset", *p).stdout) == {"reset": True}
        assert json.loads(cli("local", "state", *p).stdout)["dlc"]["jobs"] == []
    finally:
        server.terminate()
        server.wait(timeout=15)
    down = cli("local", "state", *p)
    assert down.returncode == 3 and b"no localcloud on port" in down.stderr and b"connection refused" in down.stderr


def test_the_demo_runs_the_story_and_exits_0():
    done = cli("demo")
    out = done.stdout.decode()
    assert done.returncode == 0, out[-2000:] + done.stderr.decode()[-2000:]
    assert "duplicate marker" in out and "checkpoint complete" in out
    assert any(state in out for state in ("waiting_for_model", "model_ready", "served"))  # serving moves the run on
    assert "model at" in out

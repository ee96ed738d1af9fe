"""Expected failures of the shipped CLI: one ``error: …`` line naming the value and the fix, a
documented exit code (cli/failures.py), never a traceback. In-process with the shipped app."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pai_autopilot.cli import app

from .conftest import BUCKET, ROOT
from .test_local_up import free_port

CONFIG = str(ROOT / "autopilot.yaml")


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    own = [line for line in result.output.splitlines() if not line.startswith("[pai-autopilot-")]  # not function logs
    assert not any("Traceback" in line for line in own), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def cloud_env(cloud, **changes: str) -> dict[str, str]:
    return {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": CONFIG, **changes}


@pytest.fixture
def down() -> dict[str, str]:
    """Settings pointing at a port where nothing listens."""
    port = free_port()
    return {"ALIBABA_CLOUD_ACCESS_KEY_ID": "ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sk",
            "AUTOPILOT_ENDPOINT": f"http://127.0.0.1:{port}", "AUTOPILOT_BUCKET": BUCKET, "AUTOPILOT_CONFIG": CONFIG}


def test_an_unreachable_endpoint_is_named_with_connection_refused(down):
    endpoint = down["AUTOPILOT_ENDPOINT"]
    for args in (["runs"], ["wire", "--dry-run", "--config", CONFIG]):
        result = run(*args, env=down)
        assert result.exit_code == 3, (args, result.output)
        assert f"error: cannot reach {endpoint}: connection refused; start localcloud" in result.output, result.output


def test_a_wrong_secret_and_a_wrong_bucket(project_cloud):
    wrong = run("runs", env=cloud_env(project_cloud, ALIBABA_CLOUD_ACCESS_KEY_SECRET="not-the-secret"))
    assert wrong.exit_code == 2 and "refused the credentials (SignatureDoesNotMatch)" in wrong.output, wrong.output
    assert "not-the-secret" not in wrong.output
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in wrong.output
    bucket = run("runs", env=cloud_env(project_cloud, AUTOPILOT_BUCKET="nosuch-bucket"))
    assert bucket.exit_code == 2 and "bucket 'nosuch-bucket' does not exist at http://127.0.0.1:" in bucket.output, bucket.output
    wired = run("wire", "--dry-run", "--config", CONFIG, env=cloud_env(project_cloud, AUTOPILOT_BUCKET="nosuch-bucket"))
    assert wired.exit_code == 2 and "bucket 'nosuch-bucket' does not exist" in wired.output, wired.output


def test_local_commands_refuse_wrong_input(project_cloud, tmp_path):
    port = project_cloud.url.rsplit(":", 1)[1]
    p = ["--port", port]
    nothing = run("local", "fault", *p)
    assert nothing.exit_code == 2 and "error: nothing to inject: pass --error-rate" in nothing.output
    service = run("local", "fault", "--service", "nosuch", "--count", "1", *p)
    assert service.exit_code == 2 and "no service 'nosuch' to inject faults into; known: *, oss, dlc" in service.output
    assert project_cloud.faults.list() == []
    both = run("local", "clock", "--freeze", "--unfreeze", *p)
    assert both.exit_code == 2 and "--freeze and --unfreeze contradict each other" in both.output
    missing = run("local", "env", "--config", str(tmp_path / "missing.yaml"))
    assert missing.exit_code == 2 and f"--config {tmp_path / 'missing.yaml'}: no such file" in missing.output
    target = run("local", "traffic", "--target", "nosuch", "--qps", "1", "--duration", "1", *p)
    assert target.exit_code == 2 and "no EAS service or group 'nosuch'" in target.output, target.output
    assert project_cloud.requests.services() == []  # not one request sent


def test_local_clock_shows_a_readable_time(project_cloud):
    project_cloud.clock.freeze()
    shown = run("local", "clock", "--port", project_cloud.url.rsplit(":", 1)[1])
    assert shown.exit_code == 0 and '"time": "20' in shown.output and 'Z"' in shown.output, shown.output


def test_local_logs_accepts_the_short_function_name(project_cloud, sdk):
    sdk.bucket(BUCKET).put_object("datasets/demo/v1/_SUCCESS", b"")  # an empty version: rejected, logged
    assert project_cloud.fc.wait_idle(60)
    port = project_cloud.url.rsplit(":", 1)[1]
    short, full = run("local", "logs", "dataset_landed", "--port", port), run("local", "logs", "pai-autopilot-dataset-landed", "--port", port)
    assert short.exit_code == 0 and short.output == full.output and "datasets/demo/v1/_SUCCESS" in short.output
    unknown = run("local", "logs", "nosuch", "--port", port)
    assert unknown.exit_code == 2 and "no function 'nosuch'" in unknown.output and "dataset_landed" in unknown.output


def test_local_up_refuses_a_missing_project_dir_and_a_busy_port(tmp_path):
    missing = run("local", "up", "--project-dir", str(tmp_path / "nonexistent"), "--config", CONFIG)
    assert missing.exit_code == 2 and "is not a directory" in missing.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run("local", "up", "--port", str(port), "--config", CONFIG, "--project-dir", str(ROOT))
    assert busy.exit_code == 2 and f"error: port {port} is busy" in busy.output
    assert "localcloud on" not in busy.output  # said before any banner


def test_local_invoke_exits_1_when_the_function_raises(down):
    # the reconcile timer against an endpoint that is down: the handler raises TransientError
    result = run("local", "invoke", "reconcile", "--event", str(ROOT / "events" / "timerReconcile.json"),
                 "--project-dir", str(ROOT), "--endpoint", down["AUTOPILOT_ENDPOINT"])
    assert result.exit_code == 1 and "error: the function raised TransientError" in result.output, result.output[-2000:]


def test_package_without_the_runtime_python(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PATH", str(tmp_path))  # no python3.x on PATH
    result = run("package", "--output", str(tmp_path / "code"), "--python-version", "3.9")
    assert result.exit_code == 2 and "needs a python3.9 interpreter" in result.output and "--no-deps" in result.output
    done = run("package", "--output", str(tmp_path / "code"), "--no-deps")
    assert done.exit_code == 0 and "packaged " in done.output and "files, no wheels (--no-deps)" in done.output


def test_help_documents_the_exit_codes():
    assert "Exit codes: 0 done; 1 failed or refused; 2 wrong input" in run("--help").output
    assert "--now" in run("retrain", "--help").output and "queued" in run("retrain", "--help").output

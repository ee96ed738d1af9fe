"""Fixtures for whole flows: localcloud running the project's own s.yaml functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"


class Notices:
    """A webhook receiver: every notification the functions send (JSON bodies)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        self.received.append(json.loads(Request(environ).get_data() or b"{}"))
        return Response("{}", content_type="application/json")(environ, start_response)


@pytest.fixture(scope="session")
def _notices():
    from localcloud.server import ThreadedServer

    notices = Notices()
    server = ThreadedServer(notices)
    server.start()
    yield notices, server.url
    server.stop()


@pytest.fixture(scope="session")
def _project_cloud(_notices, tmp_path_factory):
    from localcloud import LocalCloud

    # the shipped configuration, plus a webhook target for the notifications
    config = yaml.safe_load((ROOT / "autopilot.yaml").read_text())
    config["notifications"] = [{"type": "webhook", "url_env": "AUTOPILOT_NOTIFY_URL"}]
    path = tmp_path_factory.mktemp("config") / "autopilot.yaml"
    path.write_text(yaml.safe_dump(config))
    cloud = LocalCloud(
        project_dir=ROOT,
        function_env={"AUTOPILOT_CONFIG": str(path), "AUTOPILOT_LOG_LEVEL": "DEBUG", "AUTOPILOT_NOTIFY_URL": _notices[1],
                      "AUTOPILOT_NOTIFY_PER_MINUTE": "10000",  # many runs per minute in tests
                      # the canary kick ticks once instead of polling for readiness (the clock only
                      # moves when a test moves it; tests/e2e/test_rollout_flow.py covers the polling)
                      "AUTOPILOT_KICK_WAIT_SECONDS": "0"},
        retry_delay_scale=0.05,
    ).start()
    cloud.create_bucket(BUCKET)
    wire_job_events(cloud)
    yield cloud
    cloud.stop()


@pytest.fixture
def notices(_notices, project_cloud) -> list[dict[str, Any]]:
    """The notifications sent during the test (emptied first)."""
    _notices[0].received.clear()
    return _notices[0].received


JOB_EVENTS = "pai-autopilot-job-events"


def wire_job_events(cloud: Any) -> None:
    """What `wire` does on the cloud: name workspace 12345 "demo" and route its bus to job_events."""
    cloud.dlc.backend.set_workspaces({"12345": "demo"})
    cloud.eventbridge.backend.subscribe_function("pai-system-demo", "autopilot-job-events", {"source": [{"prefix": "acs.pai"}]}, JOB_EVENTS)


@pytest.fixture
def project_cloud(_project_cloud: Any) -> Any:
    """localcloud with the project's functions on their triggers; reset (the bucket stays, empty)."""
    _project_cloud.reset()
    wire_job_events(_project_cloud)
    return _project_cloud


@pytest.fixture
def sdk(project_cloud: Any) -> Any:
    """Real SDK clients (oss2 bucket, DLC) built by the project's own client factory."""
    from pai_autopilot.clients import Clients, Credentials
    from pai_autopilot.settings import Settings

    env = project_cloud.env(BUCKET)
    return Clients(Settings.resolve(environ=env), Credentials.from_env(env))

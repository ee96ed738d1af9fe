"""Fixtures for whole flows: localcloud running the project's own s.yaml functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"


@pytest.fixture(scope="session")
def _project_cloud():
    from localcloud import LocalCloud

    cloud = LocalCloud(
        project_dir=ROOT,
        function_env={"AUTOPILOT_CONFIG": str(ROOT / "autopilot.yaml"), "AUTOPILOT_LOG_LEVEL": "DEBUG"},
        retry_delay_scale=0.05,
    ).start()
    cloud.create_bucket(BUCKET)
    wire_job_events(cloud)
    yield cloud
    cloud.stop()


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

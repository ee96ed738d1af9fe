"""Helpers for the notebook governor tests: a runtime on localcloud's clock, fleets of instances with
seeded usage timelines (through the real DSW client), ledger reads, a notification receiver.

Instances are created through the real SDK and run after ``cloud.advance(10)``; usage is seeded
with localcloud's DSW control (``seed_usage``): a constant sample every minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from alibabacloud_pai_dsw20220101 import models

from pai_autopilot.clients import Credentials
from pai_autopilot.config import parse_config
from pai_autopilot.runtime import Runtime
from pai_autopilot.settings import Settings

BUCKET = "autopilot-demo"
T0 = 1_800_000_000.0  # Friday 2027-01-15 08:00 UTC
IMAGE = "dsw-registry-vpc.cn-hangzhou.cr.aliyuncs.com/pai/pytorch:2.1-gpu-py310"
GPU_SPEC = "ecs.gn7e-c12g1.3xlarge"
CPU_SPEC = "ecs.g7.xlarge"

BASE_CONFIG = {
    "version": 1,
    "storage": {"bucket": BUCKET},
    "workspace": {"id": "ws-1"},
    "pipelines": {},
    "notifications": [{"type": "webhook", "url_env": "AUTOPILOT_NOTIFY_URL"}],
}


class Notices:
    """A webhook receiver for the notifications (JSON bodies)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        self.received.append(json.loads(Request(environ).get_data() or b"{}"))
        return Response("{}", content_type="application/json")(environ, start_response)

    def of(self, event: str) -> list[dict[str, Any]]:
        return [n for n in self.received if n.get("event") == event]


@pytest.fixture(scope="session")
def _notice_server() -> Iterator[tuple[Notices, str]]:
    from localcloud.server import ThreadedServer

    notices = Notices()
    server = ThreadedServer(notices)
    server.start()
    yield notices, server.url
    server.stop()


@pytest.fixture
def notices(_notice_server: tuple[Notices, str]) -> Notices:
    _notice_server[0].received.clear()
    return _notice_server[0]


@pytest.fixture
def nb_cloud(cloud: Any, monkeypatch: pytest.MonkeyPatch, _notice_server: tuple[Notices, str]) -> Any:
    """localcloud with the bucket, its clock frozen at T0, notifications to the receiver."""
    cloud.create_bucket(BUCKET)
    cloud.clock.freeze(T0)
    monkeypatch.setenv("AUTOPILOT_NOTIFY_URL", _notice_server[1])
    from pai_autopilot.notify import sender

    monkeypatch.setattr(sender, "_limiters", [sender.RateLimiter(per_minute=100_000)])
    return cloud


def runtime(cloud: Any, notebooks: dict[str, Any], *, request_id: str = "test", **env: str) -> Runtime:
    """A Runtime on localcloud (its clock is the runtime's now) with this ``notebooks:`` policy; ``request_id``
    is the FC request's (the same for FC's retries of one invocation, its own for each other tick)."""
    config = parse_config(json.dumps({**BASE_CONFIG, "notebooks": notebooks}))
    environ = {**cloud.env(BUCKET), **env}
    return Runtime(Settings.resolve(environ=environ), config, Credentials.from_env(environ),
                   request_id=request_id, now=cloud.clock.now)


def create(rt: Runtime, name: str, *, spec: str = GPU_SPEC, labels: dict[str, str] | None = None,
           gpus: int | None = None) -> str:
    body: dict[str, Any] = {"InstanceName": name, "EcsSpec": spec, "ImageUrl": IMAGE, "WorkspaceId": "ws-1",
                            "UserId": f"u-{name}"}
    if gpus is not None:
        body["RequestedResource"] = {"CPU": "8", "GPU": str(gpus), "Memory": "32Gi"}
    if labels:
        body["Labels"] = [{"Key": k, "Value": v} for k, v in labels.items()]
    return rt.clients.dsw.create_instance(models.CreateInstanceRequest().from_map(body)).body.instance_id


def seed(cloud: Any, instance_id: str, *, cpu: float, gpu: float | None = None, minutes: float = 600,
         start: float | None = None, step: float = 60) -> None:
    """Constant usage every ``step`` seconds for ``minutes`` from ``start`` (default: now)."""
    dsw = cloud.services["dsw"]
    dsw.seed_usage(instance_id, "CpuCoreUsage", value=cpu, duration=minutes * 60, step=step, start=start)
    if gpu is not None:
        dsw.seed_usage(instance_id, "GpuCoreUsage", value=gpu, duration=minutes * 60, step=step, start=start)


def status(rt: Runtime, instance_id: str) -> str:
    return rt.clients.dsw.get_instance(instance_id, models.GetInstanceRequest()).body.status


def culler(rt: Runtime, instance_id: str) -> dict[str, Any] | None:
    body = rt.clients.dsw.get_instance(instance_id, models.GetInstanceRequest()).body.to_map()
    c = body.get("IdleInstanceCuller")
    return {k: c[k] for k in ("CpuPercentThreshold", "GpuPercentThreshold", "MaxIdleTimeInMinutes")} if c else None


def states(rt: Runtime, instance_id: str) -> list[str]:
    return [r.state for r in rt.ledger.history(f"notebooks/{instance_id}")]


def record_dicts(rt: Runtime, instance_id: str) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(r) for r in rt.ledger.history(f"notebooks/{instance_id}")]

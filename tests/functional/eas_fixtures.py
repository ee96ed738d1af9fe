"""Fixtures and helpers for the EAS tests: the running localcloud with EAS registered, a real
``alibabacloud_eas20210701`` client signed with the local credentials, and small builders.

Use the fixtures in a test module: ``eas_cloud, eas = eas_fixtures.eas_cloud, eas_fixtures.eas``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_eas20210701 import models
from alibabacloud_eas20210701.client import Client
from alibabacloud_tea_openapi.models import Config

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
from localcloud.eas import EasService

REGION = "cn-hangzhou"


@pytest.fixture
def eas_cloud(cloud: Any) -> Any:
    """The running localcloud with EAS registered (once) and its gateway on the edge; clock frozen."""
    if "eas" not in cloud.services:
        cloud.register(
            EasService(clock=cloud.clock, region=cloud.region, account_id=cloud.account_id,
                       requests=cloud.requests, timeline=cloud.timeline, edge=cloud.edge)
        )
    cloud.clock.freeze()
    return cloud


@pytest.fixture
def eas(eas_cloud: Any) -> Client:
    """A real EAS client pointed at localcloud."""
    return eas_client(eas_cloud)


def eas_client(cloud: Any, *, secret: str = LOCAL_ACCESS_KEY_SECRET) -> Client:
    host = cloud.url.removeprefix("http://")
    return Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=secret, endpoint=host, protocol="http"))


def service_config(name: str, *, instance: int = 1, group: str | None = None, profile: dict[str, Any] | None = None,
                   **extra: Any) -> str:
    """A service config JSON string like the project sends (a custom image on public resources)."""
    metadata: dict[str, Any] = {"name": name, "instance": instance, "cpu": 2, "memory": 4000}
    if group:
        metadata["group"] = group
    config: dict[str, Any] = {
        "metadata": metadata,
        "containers": [{"image": "registry.example.com/demo/model:v1", "port": 8000, "script": "python serve.py"}],
        **extra,
    }
    if profile is not None:
        config["localcloud"] = profile
    return json.dumps(config)


def create(eas: Client, name: str, **kwargs: Any) -> models.CreateServiceResponseBody:
    labels = kwargs.pop("labels", None)
    workspace = kwargs.pop("workspace_id", None)
    request = models.CreateServiceRequest(body=service_config(name, **kwargs), labels=labels, workspace_id=workspace)
    return eas.create_service(request).body


def describe(eas: Client, name: str) -> models.Service:
    return eas.describe_service(REGION, name).body


def running(cloud: Any, eas: Client, *names: str, seconds: float = 10.0) -> None:
    """Advance the clock until the services are Running (default startup: 2 s + 8 s)."""
    cloud.advance(seconds)
    for name in names:
        assert describe(eas, name).status == "Running", name

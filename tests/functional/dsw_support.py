"""Fixtures and helpers for the DSW tests: localcloud with DSW registered, a real
``alibabacloud_pai_dsw20220101`` client signed with the local credentials, and small builders.

Use the fixtures in a test module: ``from tests.functional.dsw_support import dsw, dsw_cloud``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_pai_dsw20220101 import models
from alibabacloud_pai_dsw20220101.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
from localcloud.dsw import DswService

T0 = 1_800_000_000.0  # a multiple of 60
GPU_SPEC = "ecs.gn6i-c4g1.xlarge"
CPU_SPEC = "ecs.g6.large"
IMAGE = "dsw-registry-vpc.cn-hangzhou.cr.aliyuncs.com/pai/pytorch:2.1-gpu-py310"


def dsw_service(cloud: Any) -> DswService:
    """The cloud's DSW, registered on it if the cloud does not have one yet."""
    if "dsw" not in cloud.services:
        cloud.register(DswService(clock=cloud.clock, region=cloud.region, account_id=cloud.account_id,
                                  timeline=cloud.timeline))
    return cloud.services["dsw"]


@pytest.fixture
def dsw_cloud(cloud: Any) -> Any:
    """The running localcloud with DSW registered, its clock frozen at ``T0``."""
    dsw_service(cloud)
    cloud.clock.freeze(T0)
    return cloud


@pytest.fixture
def dsw(dsw_cloud: Any) -> Client:
    """A real DSW client pointed at localcloud."""
    return Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                         endpoint=dsw_cloud.url.removeprefix("http://"), protocol="http"))


def create(dsw: Client, name: str = "nb_1", *, spec: str = GPU_SPEC, **extra: Any) -> str:
    """Create an instance and return its id."""
    body = {"InstanceName": name, "EcsSpec": spec, "ImageUrl": IMAGE, "WorkspaceId": "ws-1", **extra}
    return dsw.create_instance(models.CreateInstanceRequest().from_map(body)).body.instance_id


def running(dsw: Client, cloud: Any, name: str = "nb_1", **kw: Any) -> str:
    """Create an instance and advance the clock until it runs."""
    instance_id = create(dsw, name, **kw)
    cloud.advance(10)
    assert get(dsw, instance_id).status == "Running"
    return instance_id


def get(dsw: Client, instance_id: str) -> models.GetInstanceResponseBody:
    return dsw.get_instance(instance_id, models.GetInstanceRequest()).body


def fail(call: Callable[[], Any]) -> ClientException:
    with pytest.raises(ClientException) as excinfo:
        call()
    return excinfo.value

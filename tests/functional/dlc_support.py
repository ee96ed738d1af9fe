"""Helpers of the DLC tests: the real ``alibabacloud_pai_dlc20201203`` client, job bodies, the
``/_localcloud/dlc`` control routes, and waiting for a status."""

from __future__ import annotations

import time
from typing import Any

import oss2
import pytest
import requests
from alibabacloud_pai_dlc20201203 import models
from alibabacloud_pai_dlc20201203.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

T0 = 1_800_000_000.0


def dlc_client(cloud: Any, *, secret: str = LOCAL_ACCESS_KEY_SECRET, key: str = LOCAL_ACCESS_KEY_ID,
               token: str | None = None) -> Client:
    host = cloud.url.removeprefix("http://")
    return Client(Config(access_key_id=key, access_key_secret=secret, security_token=token, endpoint=host, protocol="http"))


def job_request(name: str = "ap-demo-v1", **extra: Any) -> models.CreateJobRequest:
    body = {
        "DisplayName": name, "JobType": "PyTorchJob", "UserCommand": "python train.py",
        "JobSpecs": [{"Type": "Worker", "Image": "img:1", "PodCount": 1, "EcsSpec": "ecs.c6.large"}],
        "DataSources": [{"Uri": "oss://bkt/datasets/demo/v1/", "MountPath": "/mnt/data/"}],
        "Settings": {"Tags": {"autopilot-run-id": name}},
        **extra,
    }
    return models.CreateJobRequest().from_map(body)


def spot_specs(pods: int = 1) -> list[dict[str, Any]]:
    return [{"Type": "Worker", "Image": "img:1", "PodCount": pods, "EcsSpec": "ecs.gn6i-c4g1.xlarge",
             "UseSpotInstance": True, "SpotSpec": {"SpotStrategy": "SpotWithPriceLimit", "SpotDiscountLimit": 0.5}}]


def training_envs(run: str = "run-1", *, resume_from: str = "", **knobs: Any) -> dict[str, str]:
    """The project's AUTOPILOT_* Envs (training/jobs.py) plus ``LOCALCLOUD_<KNOB>`` runner settings."""
    envs = {
        "AUTOPILOT_RUN_ID": run,
        "AUTOPILOT_DATASET_URI": "oss://bkt/datasets/demo/v1/",
        "AUTOPILOT_CHECKPOINT_URI": f"oss://bkt/checkpoints/demo/{run}/",
        "AUTOPILOT_OUTPUT_URI": f"oss://bkt/models/demo/{run}/",
        "AUTOPILOT_RESUME_FROM": resume_from,
    }
    envs.update({f"LOCALCLOUD_{k.upper()}": str(v) for k, v in knobs.items()})
    return envs


def get(dlc: Client, job_id: str) -> models.GetJobResponseBody:
    return dlc.get_job(job_id, models.GetJobRequest()).body


def history(dlc: Client, job_id: str) -> list[str]:
    return [h.status for h in get(dlc, job_id).status_history]


def wait_status(dlc: Client, job_id: str, statuses: tuple[str, ...], timeout: float = 10.0) -> models.GetJobResponseBody:
    """Poll GetJob (real time) until the job is in one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = get(dlc, job_id)
        if job.status in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def control(cloud: Any, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{cloud.url}/_localcloud/dlc{path}", json=body, timeout=5)


def fault(cloud: Any, **rule: Any) -> int:
    response = control(cloud, "POST", "/faults", rule)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def fail(call: Any) -> ClientException:
    with pytest.raises(ClientException) as excinfo:
        call()
    return excinfo.value


def bucket(cloud: Any, name: str = "bkt") -> oss2.Bucket:
    b = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, name)
    b.create_bucket()
    return b


def keys(b: oss2.Bucket, prefix: str) -> list[str]:
    return sorted(o.key for o in oss2.ObjectIterator(b, prefix=prefix))

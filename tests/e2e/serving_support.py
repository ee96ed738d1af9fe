"""Helpers for the serving flows: land datasets and models, read model records, EAS through the SDK."""

from __future__ import annotations

import json
from typing import Any

from .conftest import BUCKET

REGION = "cn-hangzhou"


def run_for(cloud: Any, seconds: float, step: float = 10.0) -> None:
    """Advance the frozen clock in steps, letting functions settle after each."""
    for _ in range(int(seconds / step)):
        cloud.advance(step)
        assert cloud.fc.wait_idle(60)


def land_dataset(sdk: Any, version: str, content: bytes | None = None) -> None:
    bucket = sdk.bucket(BUCKET)
    bucket.put_object(f"datasets/demo/{version}/part-0.csv", content or f"x,y\n1,{version}\n".encode())
    bucket.put_object(f"datasets/demo/{version}/_SUCCESS", b"")


def land_model(sdk: Any, version: str, metrics: dict[str, float] | None = None, *, files: bool = True) -> None:
    """A model uploaded by hand: model.pt, metrics.json, then _SUCCESS."""
    bucket = sdk.bucket(BUCKET)
    if files:
        bucket.put_object(f"models/demo/{version}/model.pt", b"weights-" + version.encode())
    if metrics is not None:
        bucket.put_object(f"models/demo/{version}/metrics.json", json.dumps({"metrics": metrics}).encode())
    bucket.put_object(f"models/demo/{version}/_SUCCESS", b"")


def ledger_records(sdk: Any, prefix: str) -> list[dict[str, Any]]:
    bucket = sdk.bucket(BUCKET)
    keys = sorted(o.key for o in bucket.list_objects_v2(prefix=".autopilot/" + prefix, max_keys=1000).object_list)
    return [json.loads(bucket.get_object(k).read()) for k in keys]


def model_records(sdk: Any, version: str) -> list[dict[str, Any]]:
    return [r for r in ledger_records(sdk, "models/demo/") if r["data"].get("version") == version]


def services(sdk: Any) -> dict[str, Any]:
    """Every EAS service, by name (ListServices through the SDK)."""
    from alibabacloud_eas20210701 import models

    body = sdk.eas.list_services(models.ListServicesRequest(page_size=100)).body
    return {s.service_name: s for s in body.services or []}


V1 = {"accuracy": 0.80, "loss": 0.50}


def serve_first(cloud: Any, sdk: Any, version: str = "v1", metrics: dict[str, float] | None = None) -> None:
    """A hand-uploaded first version, taken to Running by reconcile (one 5-minute tick)."""
    land_model(sdk, version, V1 if metrics is None else metrics)
    assert cloud.fc.wait_idle(60)
    run_for(cloud, 330, step=30)
    assert model_records(sdk, version)[-1]["state"] == "serving", model_records(sdk, version)


def rollouts(sdk: Any) -> list[dict[str, Any]]:
    return ledger_records(sdk, "rollouts/demo/")


def results(cloud: Any) -> list[dict[str, Any]]:
    """Every record of every model_landed invocation's result."""
    out = []
    for inv in cloud.fc.invocation_records("pai-autopilot-model-landed"):
        out.extend((inv.get("result") or {}).get("records") or [])
    return out

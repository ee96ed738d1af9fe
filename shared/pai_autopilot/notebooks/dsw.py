"""The DSW calls the governor makes, through the real ``alibabacloud_pai_dsw20220101`` client.

Every SDK error is classified at this boundary (:func:`~pai_autopilot.errors.classify_sdk_error`):
throttling, 5xx and network errors become :class:`~pai_autopilot.errors.TransientError` (FC
retries the tick), other 4xx become :class:`~pai_autopilot.errors.InvalidInputError`.

* :func:`list_running` — ListInstances, ``Status=Running`` in the scope, in pages of
  :data:`PAGE_SIZE` (⌈N/100⌉ calls for N running instances);
* :func:`idle_from_metrics` — GetInstanceMetrics (CPU, then GPU only if CPU is idle), for an
  instance whose culler does not report an idle time by the policy's thresholds;
* :func:`set_culler` / :func:`delete_culler` — Create/DeleteIdleInstanceCuller (DSW keeps one
  culler per instance: a changed one is deleted, then created);
* :func:`stop` — StopInstance, with ``SaveImage`` when asked; :func:`get_instance` — GetInstance.

Example
-------
>>> PAGE_SIZE
100
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInputError, classify_sdk_error
from .views import idle_streak_minutes, iso

PAGE_SIZE = 100
NOT_FOUND = ("InstanceNotFound", "IdleInstanceCullerNotFound")


def _models() -> Any:
    from alibabacloud_pai_dsw20220101 import models

    return models


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "code", "") or "")


def list_running(client: Any, *, workspace_id: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every running instance in the scope, as wire-key dicts (pages of 100)."""
    models = _models()
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        request = models.ListInstancesRequest(
            status="Running", workspace_id=workspace_id or None, resource_id="ALL",
            labels=dict(labels) if labels else None, page_number=page, page_size=PAGE_SIZE,
            sort_by="GmtCreateTime", order="ASC",
        )
        try:
            body = client.list_instances(request).body.to_map()
        except Exception as exc:
            raise classify_sdk_error(exc, "ListInstances") from exc
        batch = body.get("Instances") or []
        items.extend(batch)
        total = int(body.get("TotalCount") or 0)
        if len(batch) < PAGE_SIZE or page >= math.ceil(total / PAGE_SIZE):
            return items
        page += 1


def _samples(client: Any, instance_id: str, metric: str, *, start: float, end: float) -> list[tuple[float, float]]:
    models = _models()
    request = models.GetInstanceMetricsRequest(metric_type=metric, start_time=iso(start), end_time=iso(end))
    try:
        body = client.get_instance_metrics(instance_id, request).body.to_map()
    except Exception as exc:
        raise classify_sdk_error(exc, "GetInstanceMetrics") from exc
    points: list[tuple[float, float]] = []
    for pod in body.get("PodMetrics") or []:
        points.extend((float(m["Time"]), float(m["Value"])) for m in pod.get("Metrics") or [] if m.get("Time") is not None)
    return sorted(points)


def idle_from_metrics(client: Any, instance_id: str, *, gpu: bool, cpu_percent: int, gpu_percent: int,
                      lookback_minutes: int, now: float) -> int | None:
    """The idle streak in minutes from GetInstanceMetrics over the last ``lookback_minutes`` (None: no data)."""
    start = now - lookback_minutes * 60.0
    cpu = _samples(client, instance_id, "CpuCoreUsage", start=start, end=now)
    if not cpu:
        return None
    busy_cpu = idle_streak_minutes(cpu, [], cpu_percent=cpu_percent, gpu_percent=gpu_percent, gpu=False, now=now)
    if not gpu or not busy_cpu:
        return busy_cpu  # CPU busy now: busy, whatever the GPU does
    gpu_points = _samples(client, instance_id, "GpuCoreUsage", start=start, end=now)
    return idle_streak_minutes(cpu, gpu_points, cpu_percent=cpu_percent, gpu_percent=gpu_percent, gpu=True, now=now)


def delete_culler(client: Any, instance_id: str) -> bool:
    """DeleteIdleInstanceCuller; False when there was none."""
    try:
        client.delete_idle_instance_culler(instance_id)
    except Exception as exc:
        if _code(exc) in NOT_FOUND:
            return False
        raise classify_sdk_error(exc, "DeleteIdleInstanceCuller") from exc
    return True


def set_culler(client: Any, instance_id: str, wanted: Mapping[str, int], *, replace: bool) -> None:
    """CreateIdleInstanceCuller with the policy's settings (deleting the old one first when ``replace``)."""
    if replace:
        delete_culler(client, instance_id)
    request = _models().CreateIdleInstanceCullerRequest().from_map(dict(wanted))
    try:
        client.create_idle_instance_culler(instance_id, request)
    except Exception as exc:
        raise classify_sdk_error(exc, "CreateIdleInstanceCuller") from exc


def stop(client: Any, instance_id: str, *, save_image: bool) -> str:
    """StopInstance; ``"stopped"``, or ``"not-running"`` when DSW says it cannot be stopped any more."""
    try:
        client.stop_instance(instance_id, _models().StopInstanceRequest(save_image=save_image))
    except Exception as exc:
        err = classify_sdk_error(exc, "StopInstance")
        if isinstance(err, InvalidInputError) and _code(exc) in ("ValidationError", *NOT_FOUND):
            return "not-running"  # stopped or deleted meanwhile (a status race), nothing to retry
        raise err from exc
    return "stopped"


def get_instance(client: Any, instance_id: str) -> dict[str, Any] | None:
    """GetInstance as a wire-key dict, or None when DSW does not know the id."""
    try:
        return client.get_instance(instance_id, _models().GetInstanceRequest()).body.to_map()
    except Exception as exc:
        if _code(exc) == "InstanceNotFound" or getattr(exc, "status_code", None) == 404:
            return None
        raise classify_sdk_error(exc, "GetInstance") from exc


def labels_query(labels: Mapping[str, str]) -> str:
    """The ``Labels`` filter as DSW receives it (a JSON string), for messages.

    Example
    -------
    >>> labels_query({"team": "cv"})
    '{"team": "cv"}'
    """
    return json.dumps(dict(labels))

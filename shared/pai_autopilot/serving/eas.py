"""The EAS calls of the serving flow, through the real ``alibabacloud_eas20210701`` client.

Every call names the region as ``ClusterId`` (reference/alibaba-api.md §2), and every SDK error is
classified at this boundary (throttling/5xx → :class:`~pai_autopilot.errors.TransientError`, so FC
retries; other 4xx → :class:`~pai_autopilot.errors.InvalidInputError`). The SDK is imported inside
the functions, never at import time.

* :func:`describe_service` — the ``Service`` object as a wire-key dict, or None when there is none;
* :func:`ensure_service` — DescribeService, then CreateService only when the name is free (a
  crash between CreateService and the ledger append never yields a second service);
* :func:`release` — ReleaseService (group traffic weight);
* :func:`ensure_autoscaler` — CreateServiceAutoScaler, unless one exists (then it is left alone);
* :func:`describe_resource` — a dedicated resource group's capacity and usage;
* :func:`failure_reason` — why a service failed to start, from DescribeServiceEvent's warnings.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from ..errors import classify_sdk_error
from ..runtime import Runtime


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "code", "") or "")


def describe_service(rt: Runtime, name: str) -> dict[str, Any] | None:
    """DescribeService as a wire-key dict; None when the service does not exist."""
    try:
        return rt.clients.eas.describe_service(rt.settings.region, name).body.to_map()
    except Exception as exc:
        if _code(exc).endswith("NotFound") or getattr(exc, "status_code", None) == 404:
            return None
        raise classify_sdk_error(exc, "DescribeService") from exc


def ensure_service(rt: Runtime, config: dict[str, Any], *, labels: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """The service named in ``config``: the existing one, else a new one. Returns (Service dict, created)."""
    from alibabacloud_eas20210701 import models

    name = config["metadata"]["name"]
    existing = describe_service(rt, name)
    if existing is not None:
        return existing, False
    request = models.CreateServiceRequest(body=json.dumps(config), labels=labels, workspace_id=rt.workspace_id or None)
    try:
        rt.clients.eas.create_service(request)
    except Exception as exc:
        if _code(exc).endswith("AlreadyExists"):  # a racing duplicate created it first
            return describe_service(rt, name) or {"ServiceName": name}, False
        raise classify_sdk_error(exc, "CreateService") from exc
    return describe_service(rt, name) or {"ServiceName": name, "Status": "Creating"}, True


def release(rt: Runtime, name: str, weight: int) -> None:
    """ReleaseService: set the service's share of its group's traffic."""
    from alibabacloud_eas20210701 import models

    try:
        rt.clients.eas.release_service(rt.settings.region, name, models.ReleaseServiceRequest(weight=weight))
    except Exception as exc:
        raise classify_sdk_error(exc, "ReleaseService") from exc


def ensure_autoscaler(rt: Runtime, name: str, body: dict[str, Any]) -> bool:
    """CreateServiceAutoScaler from ``body`` (see :func:`~.service_config.autoscaler_body`); False if one existed."""
    from alibabacloud_eas20210701 import models

    try:
        rt.clients.eas.create_service_auto_scaler(rt.settings.region, name, models.CreateServiceAutoScalerRequest().from_map(body))
    except Exception as exc:
        if _code(exc).endswith("AlreadyExists"):
            return False
        raise classify_sdk_error(exc, "CreateServiceAutoScaler") from exc
    return True


def describe_resource(rt: Runtime, resource_id: str) -> dict[str, Any]:
    """DescribeResource of a dedicated resource group (CpuCount/CpuUsed, Memory/MemoryUsed, GpuCount/GpuUsed)."""
    try:
        return rt.clients.eas.describe_resource(rt.settings.region, resource_id).body.to_map()
    except Exception as exc:
        raise classify_sdk_error(exc, "DescribeResource") from exc


def failure_reason(rt: Runtime, name: str, service: dict[str, Any]) -> str:
    """The newest Warning event's reason and message (else the service's own Reason/Message)."""
    from alibabacloud_eas20210701 import models

    try:
        events = rt.clients.eas.describe_service_event(
            rt.settings.region, name, models.DescribeServiceEventRequest(event_type="Warning", page_size=20)
        ).body.events or []
    except Exception as exc:
        raise classify_sdk_error(exc, "DescribeServiceEvent") from exc
    if events:
        last = events[-1]
        message = last.message or ""
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(message).get("message", message)
        return f"{last.reason}: {message}"
    return f"{service.get('Reason') or service.get('Status')}: {service.get('Message') or 'no event recorded'}"

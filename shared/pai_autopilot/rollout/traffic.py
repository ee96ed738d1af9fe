"""The EAS side effects of a rollout: group weights, the canary's instances, mirrors, retirement.

Every operation sets an absolute state (a weight, an instance count, a mirror ratio; stop,
delete), so applying it twice is harmless: that is what lets an intent recorded by a tick that
crashed be completed by the next one (see :mod:`.apply`). SDK errors are classified with
:func:`~pai_autopilot.errors.classify_sdk_error` (transient → FC retries; 4xx → invalid input).

Example
-------
>>> desired_instances(weight=25, total=8, max_instances=None), desired_instances(weight=10, total=1, max_instances=None)
(2, 1)
>>> desired_instances(weight=100, total=8, max_instances=4)
4
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import classify_sdk_error
from ..runtime import Runtime

#: EAS codes that mean "already in the state we want" for the idempotent operations below.
GONE_CODES = ("InvalidService.NotFound", "InvalidMirror.NotFound", "InvalidAutoScaler.NotFound")
MIRROR_EXISTS = "InvalidMirror.AlreadyExists"
WRONG_STATUS = "InvalidService.Status"


def desired_instances(*, weight: int, total: int, max_instances: int | None) -> int:
    """The canary's instance count for its traffic weight: ``ceil(total × weight / 100)``, at least 1, within the budget."""
    count = max(1, math.ceil(total * weight / 100))
    return min(count, max_instances) if max_instances else count


def _models() -> Any:
    from alibabacloud_eas20210701 import models

    return models


def _call(what: str, fn: Any, *args: Any, tolerate: tuple[str, ...] = ()) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        if getattr(exc, "code", None) in tolerate:
            return None
        raise classify_sdk_error(exc, what) from exc


def release(rt: Runtime, service: str, weight: int) -> None:
    """ReleaseService: ``service`` takes ``weight`` of its group's traffic (grouping)."""
    request = _models().ReleaseServiceRequest(weight=int(weight), traffic_state="grouping")
    _call(f"ReleaseService {service}", rt.clients.eas.release_service, rt.settings.region, service, request)


def set_weights(rt: Runtime, *, canary: str, stable: str | None, canary_weight: int, recovering: bool = False) -> None:
    """The canary at ``canary_weight``, the stable (if any) at the rest: two ReleaseService calls.

    ``recovering`` (finishing what an invocation that crashed may have done in part): each service's
    weight is read first (DescribeService) and released only when it is not the one wanted, so a
    weight step never reaches EAS twice.
    """
    for service, weight in ((canary, canary_weight), (stable, 100 - canary_weight)):
        if not service:
            continue
        if recovering and has_weight(rt, service, weight):
            continue
        release(rt, service, weight)


def has_weight(rt: Runtime, service: str, weight: int) -> bool:
    """Whether ``service`` already takes ``weight`` of its group's traffic (grouping); a missing one does not."""
    body = describe(rt, service)
    return body is not None and str(getattr(body, "traffic_state", "") or "") == "grouping" \
        and int(getattr(body, "weight", -1) if getattr(body, "weight", None) is not None else -1) == int(weight)


def describe(rt: Runtime, service: str) -> Any | None:
    """DescribeService's body, or None when the service does not exist."""
    response = _call(f"DescribeService {service}", rt.clients.eas.describe_service, rt.settings.region, service,
                     tolerate=("InvalidService.NotFound",))
    return None if response is None else response.body


def status(rt: Runtime, service: str) -> str:
    """The service's status (``Deleted`` when it does not exist)."""
    body = describe(rt, service)
    return "Deleted" if body is None else str(body.status)


def scale(rt: Runtime, service: str, instances: int) -> None:
    """UpdateService with only ``metadata.instance``: a manual scale, no new version."""
    request = _models().UpdateServiceRequest(body=json.dumps({"metadata": {"instance": int(instances)}}))
    _call(f"UpdateService {service} (scale)", rt.clients.eas.update_service, rt.settings.region, service, request)


def start_mirror(rt: Runtime, *, source: str, target: str, ratio: int) -> None:
    """``source`` mirrors ``ratio`` % of its requests to ``target`` (create, or update an existing mirror)."""
    m = _models()
    eas, region = rt.clients.eas, rt.settings.region
    done = _call(f"CreateServiceMirror {source}", eas.create_service_mirror, region, source,
                 m.CreateServiceMirrorRequest(ratio=ratio, target=[target]), tolerate=(MIRROR_EXISTS,))
    if done is None:
        _call(f"UpdateServiceMirror {source}", eas.update_service_mirror, region, source,
              m.UpdateServiceMirrorRequest(ratio=ratio, target=[target]))


def stop_mirror(rt: Runtime, source: str) -> None:
    """Remove ``source``'s mirror (nothing to do when it has none)."""
    _call(f"DeleteServiceMirror {source}", rt.clients.eas.delete_service_mirror, rt.settings.region, source,
          tolerate=GONE_CODES)


def start(rt: Runtime, service: str) -> None:
    """StartService (a stopped service comes back); a service not stopped is fine."""
    _call(f"StartService {service}", rt.clients.eas.start_service, rt.settings.region, service, tolerate=(WRONG_STATUS,))


def stop(rt: Runtime, service: str) -> None:
    """StopService (scale to zero); a stopped or missing service is fine."""
    _call(f"StopService {service}", rt.clients.eas.stop_service, rt.settings.region, service,
          tolerate=(*GONE_CODES, WRONG_STATUS))


def delete(rt: Runtime, service: str) -> None:
    """DeleteService; a missing or already deleting service is fine."""
    _call(f"DeleteService {service}", rt.clients.eas.delete_service, rt.settings.region, service,
          tolerate=(*GONE_CODES, WRONG_STATUS))


def move_autoscaler(rt: Runtime, *, old: str, new: str) -> bool:
    """Give ``new`` the autoscaler of ``old`` (same bounds and strategies) and remove ``old``'s; False if none."""
    m = _models()
    eas, region = rt.clients.eas, rt.settings.region
    found = _call(f"DescribeServiceAutoScaler {old}", eas.describe_service_auto_scaler, region, old, tolerate=GONE_CODES)
    if found is None:
        return False
    body = found.body
    strategies = [m.CreateServiceAutoScalerRequestScaleStrategies(metric_name=s.metric_name, threshold=s.threshold)
                  for s in (body.scale_strategies or [])]
    request = m.CreateServiceAutoScalerRequest(min=body.min_replica, max=body.max_replica, scale_strategies=strategies)
    _call(f"CreateServiceAutoScaler {new}", eas.create_service_auto_scaler, region, new, request,
          tolerate=("InvalidAutoScaler.AlreadyExists",))
    _call(f"DeleteServiceAutoScaler {old}", eas.delete_service_auto_scaler, region, old, tolerate=GONE_CODES)
    return True

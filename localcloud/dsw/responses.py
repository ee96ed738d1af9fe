"""DSW's HTTP layer: the routing table, parsing each ROA call, serializing the backend's answer.

Every body, success included, carries ``Success, Code, Message, HttpStatusCode, RequestId``
**[C]**; on success localcloud sends ``Code: "200"`` and an empty ``Message`` **[A]**.

Control routes (``/_localcloud/dsw/…``):

=============================================== ==============================================
route                                           what it does
=============================================== ==============================================
``POST /_localcloud/dsw/instances/<id>/usage``  seed the usage timeline (spec in :mod:`.usage`);
                                                ``{"instanceId", "samples": n}``
``GET  /_localcloud/dsw/instances/<id>/usage``  every seeded series, whether the instance is
                                                idle now and its ``IdleTimeInMinutes``
``POST /_localcloud/dsw/instances/<id>/fail``   the instance fails now: ``{"reasonCode",
                                                "reasonMessage"}`` (optional)
=============================================== ==============================================
"""

from __future__ import annotations

from typing import Any

from ..core.pop import PopRequest, PopService, Route, parse_bool
from . import culler as culling
from .exceptions import validation
from .instance import Step
from .models import DswBackend

OK = {"Success": True, "Code": "200", "Message": "", "HttpStatusCode": 200}
_INSTANCE = "/api/v2/instances/{InstanceId}"


def _ok(**fields: Any) -> dict[str, Any]:
    return {**OK, **fields}


def _body(req: PopRequest) -> dict[str, Any]:
    if req.json is None:
        return {}
    if not isinstance(req.json, dict):
        raise validation("The request body must be a JSON object.")
    return req.json


class DswResponses:
    """One method per DSW action, named after the action in snake_case."""

    def __init__(self, backend: DswBackend) -> None:
        self.backend = backend

    def _describe(self, instance_id: str) -> dict[str, Any]:
        with self.backend.lock:
            inst = self.backend.get_instance(instance_id)
            return self.backend.describe(inst, self.backend.clock.now())

    def create_instance(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceId=self.backend.create_instance(_body(req)).instance_id)

    def get_instance(self, req: PopRequest) -> dict[str, Any]:
        return _ok(**self._describe(req.path_params["InstanceId"]))

    def list_instances(self, req: PopRequest) -> dict[str, Any]:
        with self.backend.lock:
            page, total = self.backend.list_instances(req.query)
            now = self.backend.clock.now()
            return _ok(Instances=[self.backend.describe(inst, now) for inst in page], TotalCount=total)

    def update_instance(self, req: PopRequest) -> dict[str, Any]:
        inst = self.backend.update_instance(req.path_params["InstanceId"], _body(req))
        return _ok(InstanceId=inst.instance_id)

    def start_instance(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceId=self.backend.start_instance(req.path_params["InstanceId"]).instance_id)

    def stop_instance(self, req: PopRequest) -> dict[str, Any]:
        save = parse_bool(req.query.get("SaveImage"), default=False)
        return _ok(InstanceId=self.backend.stop_instance(req.path_params["InstanceId"], save_image=bool(save)).instance_id)

    def stop_instances(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceIds=self.backend.stop_instances(_body(req).get("InstanceIds")))

    def delete_instance(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceId=self.backend.delete_instance(req.path_params["InstanceId"]).instance_id)

    def update_instance_labels(self, req: PopRequest) -> dict[str, Any]:
        self.backend.update_labels(req.path_params["InstanceId"], _body(req).get("Labels"))
        return _ok()

    def delete_instance_labels(self, req: PopRequest) -> dict[str, Any]:
        self.backend.delete_labels(req.path_params["InstanceId"], req.query.get("LabelKeys"))
        return _ok()

    def get_instance_metrics(self, req: PopRequest) -> dict[str, Any]:
        inst, points = self.backend.instance_metrics(req.path_params["InstanceId"], req.query)
        metrics = [{"Time": t, "Value": v} for t, v in points]
        return _ok(InstanceId=inst.instance_id, PodMetrics=[{"PodId": inst.pod_id, "Metrics": metrics}])

    def create_idle_instance_culler(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceId=self.backend.create_culler(req.path_params["InstanceId"], _body(req)).instance_id)

    def get_idle_instance_culler(self, req: PopRequest) -> dict[str, Any]:
        _, body = self.backend.culler_of(req.path_params["InstanceId"])
        return _ok(**body)

    def delete_idle_instance_culler(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceId=self.backend.delete_culler(req.path_params["InstanceId"]).instance_id)

    def create_instance_shutdown_timer(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceId=self.backend.create_timer(req.path_params["InstanceId"], _body(req)).instance_id)

    def get_instance_shutdown_timer(self, req: PopRequest) -> dict[str, Any]:
        _, body = self.backend.timer_of(req.path_params["InstanceId"])
        return _ok(**body)

    def delete_instance_shutdown_timer(self, req: PopRequest) -> dict[str, Any]:
        return _ok(InstanceId=self.backend.delete_timer(req.path_params["InstanceId"]).instance_id)


class DswService(PopService):
    """PAI-DSW 2022-01-01 (ROA, JSON) on the edge.

    Example
    -------
    >>> from localcloud.core.clock import Clock
    >>> from localcloud.core.metrics import Timeline
    >>> dsw = DswService(clock=Clock(), region="cn-hangzhou", account_id="1", timeline=Timeline())
    >>> dsw.control("GET", "/instances/dsw-x/usage", {})[0]
    404
    """

    name = "dsw"
    version = "2022-01-01"
    routes = (
        Route("CreateInstance", "POST", "/api/v2/instances"),
        Route("ListInstances", "GET", "/api/v2/instances"),
        Route("StopInstances", "PUT", "/api/v2/batch/instances/stop"),
        Route("GetInstance", "GET", _INSTANCE),
        Route("UpdateInstance", "PUT", _INSTANCE),
        Route("DeleteInstance", "DELETE", _INSTANCE),
        Route("StartInstance", "PUT", _INSTANCE + "/start"),
        Route("StopInstance", "PUT", _INSTANCE + "/stop"),
        Route("UpdateInstanceLabels", "PUT", _INSTANCE + "/labels"),
        Route("DeleteInstanceLabels", "DELETE", _INSTANCE + "/labels"),
        Route("GetInstanceMetrics", "GET", "/api/v2/instance/{InstanceId}/metrics"),
        Route("CreateIdleInstanceCuller", "POST", _INSTANCE + "/idleinstanceculler"),
        Route("GetIdleInstanceCuller", "GET", _INSTANCE + "/idleinstanceculler"),
        Route("DeleteIdleInstanceCuller", "DELETE", _INSTANCE + "/idleinstanceculler"),
        Route("CreateInstanceShutdownTimer", "POST", _INSTANCE + "/shutdowntimer"),
        Route("GetInstanceShutdownTimer", "GET", _INSTANCE + "/shutdowntimer"),
        Route("DeleteInstanceShutdownTimer", "DELETE", _INSTANCE + "/shutdowntimer"),
    )

    def __init__(self, *, clock: Any, region: str, account_id: str, timeline: Any) -> None:
        self.backend = DswBackend(clock=clock, region=region, account_id=account_id, timeline=timeline)
        self.responses = DswResponses(self.backend)

    def reset(self) -> None:
        self.backend.reset()

    def state(self) -> dict[str, Any]:
        return self.backend.state()

    def tick(self, now: float) -> None:
        self.backend.tick(now)

    # -- controls ------------------------------------------------------------------------------
    def seed_usage(self, instance_id: str, metric: str, *, points: Any = None, value: float | None = None,
                   duration: float = 0.0, step: float = 60.0, start: float | None = None) -> int:
        """Write usage samples for an existing instance (spec in :mod:`.usage`); returns how many.

        Example: ``dsw.seed_usage(iid, "GpuCoreUsage", value=2.0, duration=7200)`` writes 2 % every
        60 s for two hours from now; ``points=[[0, 2.0], [600, 80.0]]`` writes two samples.
        """
        self.backend.get_instance(instance_id)
        now = self.backend.clock.now()
        return self.backend.usage.seed(instance_id, metric, points=points, value=value, duration=duration,
                                       step=step, start=now if start is None else start)

    def fail_instance(self, instance_id: str, reason_code: str = "InternalError",
                      reason_message: str = "The instance failed (localcloud control).") -> None:
        """Make the instance ``Failed`` now (a bad world for automation to cope with)."""
        with self.backend.lock:
            inst = self.backend.get_instance(instance_id)
            if inst.status == "Deleting":
                raise ValueError(f"the instance {instance_id} is being deleted")
            now = self.backend.clock.now()
            inst.schedule((Step(0, "Failed"),), at=now, reason=(reason_code, reason_message))
            self.backend.catch_up(inst, now)

    def control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """``/_localcloud/dsw/…`` (table in the module doc)."""
        parts = [p for p in path.split("/") if p]
        if len(parts) != 3 or parts[0] != "instances" or parts[2] not in ("usage", "fail"):
            return 404, {"Code": "NotFound", "Message": f"no DSW control route {method} /_localcloud/dsw{path}"}
        instance_id, what = parts[1], parts[2]
        with self.backend.lock:
            inst = self.backend.instances.get(instance_id)
            if inst is None or inst.gone:
                known = sorted(self.backend.instances)
                return 404, {"Code": "NotFound", "Message": f"no DSW instance {instance_id!r}; known: {known}"}
            now = self.backend.clock.now()
            try:
                if (method, what) == ("POST", "usage"):
                    count = self.backend.usage.seed_spec(instance_id, body, now=now)
                    return 200, {"instanceId": instance_id, "samples": count}
                if (method, what) == ("GET", "usage"):
                    return 200, self._usage_report(instance_id, now)
                if (method, what) == ("POST", "fail"):
                    self.fail_instance(instance_id, str(body.get("reasonCode") or "InternalError"),
                                       str(body.get("reasonMessage") or "The instance failed (localcloud control)."))
                    return 200, {"instanceId": instance_id, "status": inst.status}
            except ValueError as exc:
                return 400, {"Code": "InvalidRequest", "Message": str(exc)}
        return 404, {"Code": "NotFound", "Message": f"no DSW control route {method} /_localcloud/dsw{path}"}

    def _usage_report(self, instance_id: str, now: float) -> dict[str, Any]:
        backend = self.backend
        inst = backend.get_instance(instance_id)
        idle = None
        if inst.culler is not None:
            idle = culling.is_idle(backend.usage, instance_id, inst.culler, gpu=inst.is_gpu, at=now)
        return {"instanceId": instance_id, "status": inst.status, "acceleratorType": inst.accelerator_type,
                "metrics": backend.usage.dump(instance_id), "idleNow": idle,
                "idleTimeInMinutes": backend.idle_minutes(inst, now)}

"""EAS's HTTP layer: the routing table, parsing of each ROA call and serialization (no validation).

Endpoints in responses (``InternetEndpoint`` …) point at the localcloud edge the client called
(``http://<Host header>/api/predict/<name>``), so they work as they are.

Control routes (``/_localcloud/eas/…``, see :meth:`EasService.control`):

=================================================== ==========================================
``GET    /_localcloud/eas/services/<name>/profile``  the effective behaviour profile
``PUT    /_localcloud/eas/services/<name>/profile``  override it (body: a profile, see
                                                     :mod:`localcloud.eas.profiles`)
``DELETE /_localcloud/eas/services/<name>/profile``  back to the profile of the config
``PUT    /_localcloud/eas/gateway``                  ``{"seed": 42}``: reseed traffic splits
``PUT    /_localcloud/eas/resources/<id>``           define a dedicated resource group
                                                     (``{"cpu", "memory", "gpu"}``, see
                                                     :mod:`localcloud.eas.resources`)
=================================================== ==========================================
"""

from __future__ import annotations

import json
from typing import Any

from ..core.pop import PopRequest, PopService, Route
from .gateway import PREFIX, InferenceGateway
from .models import EasBackend
from .profiles import BehaviourProfile
from .services import event_time, iso

S = "/api/v2/services/{ClusterId}/{ServiceName}"
ROUTES = (
    Route("CreateService", "POST", "/api/v2/services"),
    Route("ListServices", "GET", "/api/v2/services"),
    Route("DescribeService", "GET", S),
    Route("UpdateService", "PUT", S),
    Route("DeleteService", "DELETE", S),
    Route("UpdateServiceVersion", "PUT", S + "/version"),
    Route("ListServiceVersions", "GET", S + "/versions"),
    Route("StartService", "PUT", S + "/start"),
    Route("StopService", "PUT", S + "/stop"),
    Route("RestartService", "PUT", S + "/restart"),
    Route("ReleaseService", "PUT", S + "/release"),
    Route("CreateServiceAutoScaler", "POST", S + "/autoscaler"),
    Route("UpdateServiceAutoScaler", "PUT", S + "/autoscaler"),
    Route("DescribeServiceAutoScaler", "GET", S + "/autoscaler"),
    Route("DeleteServiceAutoScaler", "DELETE", S + "/autoscaler"),
    Route("DescribeServiceEndpoints", "GET", S + "/endpoints"),
    Route("ListServiceInstances", "GET", S + "/instances"),
    Route("DescribeServiceEvent", "GET", S + "/events"),
    Route("CreateServiceMirror", "POST", S + "/mirror"),
    Route("DescribeServiceMirror", "GET", S + "/mirror"),
    Route("UpdateServiceMirror", "PUT", S + "/mirror"),
    Route("DeleteServiceMirror", "DELETE", S + "/mirror"),
    Route("ListGroups", "GET", "/api/v2/groups"),
    Route("DescribeGroup", "GET", "/api/v2/groups/{ClusterId}/{GroupName}"),
    Route("DescribeResource", "GET", "/api/v2/resources/{ClusterId}/{ResourceId}"),
)


def base_url(req: PopRequest) -> str:
    """``http://<host the client called>`` (the Host header may already carry the scheme)."""
    host = req.request.headers.get("Host") or "127.0.0.1"
    return host.rstrip("/") if host.startswith(("http://", "https://")) else f"http://{host}"


class EasResponses:
    """One method per EAS action, named after the action in snake_case."""

    def __init__(self, backend: EasBackend) -> None:
        self.backend = backend

    def _key(self, req: PopRequest) -> tuple[str, str]:
        return req.path_params["ClusterId"], req.path_params["ServiceName"]

    def _done(self, message: str) -> dict[str, Any]:
        return {"Message": message}

    def _where(self, name: str) -> str:
        return f"[{name}] in region [{self.backend.region}]"

    # -- services ------------------------------------------------------------------------------
    def create_service(self, req: PopRequest) -> dict[str, Any]:
        svc = self.backend.create_service(req.body_bytes, req.query)
        url = svc.endpoint(base_url(req))
        return {"ServiceId": svc.service_id, "ServiceName": svc.name, "Status": svc.status,
                "Region": svc.region, "InternetEndpoint": url, "IntranetEndpoint": url}

    def describe_service(self, req: PopRequest) -> dict[str, Any]:
        return self.backend.describe_service(*self._key(req)).describe(base_url(req))

    def list_services(self, req: PopRequest) -> dict[str, Any]:
        services, total, number, size = self.backend.list_services(req.query)
        base = base_url(req)
        return {"Services": [s.describe(base) for s in services], "PageNumber": number, "PageSize": size, "TotalCount": total}

    def update_service(self, req: PopRequest) -> dict[str, Any]:
        cluster, name = self._key(req)
        self.backend.update_service(cluster, name, req.body_bytes, req.query.get("UpdateType"))
        return self._done(f"Succeed to update service {self._where(name)}")

    def update_service_version(self, req: PopRequest) -> dict[str, Any]:
        cluster, name = self._key(req)
        self.backend.update_service_version(cluster, name, req.param("Version"))
        return self._done(f"Service {self._where(name)} is starting")

    def list_service_versions(self, req: PopRequest) -> dict[str, Any]:
        cluster, name = self._key(req)
        versions, total, number, size = self.backend.list_service_versions(cluster, name, req.query)
        items = [{
            "BuildTime": iso(v.built_at), "ImageAvailable": "true", "ImageId": v.number,
            "Message": "Service is Running" if not v.profile.fail_startup else "Instances failed to start",
            "ServiceConfig": json.dumps(v.config, ensure_ascii=False),
            "ServiceRunnable": "false" if v.profile.fail_startup else "true",
        } for v in versions]
        return {"Versions": items, "PageNumber": number, "PageSize": size, "TotalCount": total}

    def start_service(self, req: PopRequest) -> dict[str, Any]:
        name = self.backend.start_service(*self._key(req)).name
        return self._done(f"Service {self._where(name)} is starting")

    def stop_service(self, req: PopRequest) -> dict[str, Any]:
        name = self.backend.stop_service(*self._key(req)).name
        return self._done(f"Service {self._where(name)} is stopping")

    def restart_service(self, req: PopRequest) -> dict[str, Any]:
        self.backend.restart_service(*self._key(req))
        return self._done("Service is restarting")

    def delete_service(self, req: PopRequest) -> dict[str, Any]:
        name = self.backend.delete_service(*self._key(req)).name
        return self._done(f"Service {self._where(name)} is terminating")

    def release_service(self, req: PopRequest) -> dict[str, Any]:
        svc = self.backend.release_service(*self._key(req), req.json)
        return self._done(
            f"Releasing service {self._where(svc.name)} with weight [{svc.weight}], service status: [{svc.status}]"
        )

    # -- autoscaler ----------------------------------------------------------------------------
    def create_service_auto_scaler(self, req: PopRequest) -> dict[str, Any]:
        svc = self.backend.create_autoscaler(*self._key(req), req.json)
        return self._done(f"Succeed to auto scale service [{svc.name}]")

    def update_service_auto_scaler(self, req: PopRequest) -> dict[str, Any]:
        svc = self.backend.update_autoscaler(*self._key(req), req.json)
        return self._done(f"Update auto scale for service [{svc.name}] successfully")

    def describe_service_auto_scaler(self, req: PopRequest) -> dict[str, Any]:
        svc, scaler = self.backend.describe_autoscaler(*self._key(req))
        return scaler.describe(svc.name)

    def delete_service_auto_scaler(self, req: PopRequest) -> dict[str, Any]:
        svc = self.backend.delete_autoscaler(*self._key(req))
        return self._done(f"Autoscaler for service [{svc.name}] deleted successfully")

    # -- endpoints, instances, events ----------------------------------------------------------
    def describe_service_endpoints(self, req: PopRequest) -> dict[str, Any]:
        svc = self.backend.describe_service(*self._key(req))
        base = base_url(req)
        port = int(base.rsplit(":", 1)[1]) if base.count(":") == 2 and base.rsplit(":", 1)[1].isdigit() else 80
        url = svc.endpoint(base)
        endpoint = {"EndpointType": "DefaultGateway", "InternetEndpoints": [url], "IntranetEndpoints": [url],
                    "PathType": "ServicePath", "Port": port, "BackendId": ""}
        return {"AccessToken": svc.access_token, "Endpoints": [endpoint], "Message": ""}

    def list_service_instances(self, req: PopRequest) -> dict[str, Any]:
        svc, instances, total, number, size = self.backend.list_service_instances(*self._key(req), req.query)
        return {"Instances": [svc.describe_instance(i) for i in instances], "PageNumber": number,
                "PageSize": size, "TotalCount": total}

    def describe_service_event(self, req: PopRequest) -> dict[str, Any]:
        events, total, number, pages = self.backend.describe_service_event(*self._key(req), req.query)
        items = [{"Time": event_time(e["at"]), "Type": e["Type"], "Reason": e["Reason"], "Message": e["Message"]}
                 for e in events]
        return {"Events": items, "PageNum": number, "TotalCount": total, "TotalPageNum": pages}

    # -- traffic mirroring (see :mod:`.mirrors`) ------------------------------------------------
    def create_service_mirror(self, req: PopRequest) -> dict[str, Any]:
        mirror = self.backend.create_mirror(*self._key(req), req.json)
        return self._done(f"Succeed to create traffic mirror of service [{mirror.source}] to {list(mirror.targets)}")

    def describe_service_mirror(self, req: PopRequest) -> dict[str, Any]:
        return self.backend.describe_mirror(*self._key(req)).describe()

    def update_service_mirror(self, req: PopRequest) -> dict[str, Any]:
        mirror = self.backend.update_mirror(*self._key(req), req.json)
        return self._done(f"Succeed to update traffic mirror of service [{mirror.source}] (ratio {mirror.ratio})")

    def delete_service_mirror(self, req: PopRequest) -> dict[str, Any]:
        mirror = self.backend.delete_mirror(*self._key(req))
        return self._done(f"Succeed to delete traffic mirror of service [{mirror.source}]")

    # -- groups --------------------------------------------------------------------------------
    def describe_group(self, req: PopRequest) -> dict[str, Any]:
        group = self.backend.describe_group(req.path_params["ClusterId"], req.path_params["GroupName"])
        return group.describe(base_url(req))

    def describe_resource(self, req: PopRequest) -> dict[str, Any]:
        return self.backend.describe_resource(req.path_params["ClusterId"], req.path_params["ResourceId"])

    def list_groups(self, req: PopRequest) -> dict[str, Any]:
        groups, total, number, size = self.backend.list_groups(req.query)
        base = base_url(req)
        return {"Groups": [g.describe(base) for g in groups], "PageNumber": number, "PageSize": size, "TotalCount": total}


class EasService(PopService):
    """PAI-EAS 2021-07-01 (ROA, JSON) on the edge, plus its inference gateway.

    ``requests``/``timeline`` are LocalCloud's shared logs (the gateway writes rows, the
    autoscaler reads them); pass ``edge`` to mount the gateway on ``/api/predict/``.
    """

    name = "eas"
    version = "2021-07-01"
    routes = ROUTES

    def __init__(
        self, *, clock: Any, region: str, account_id: str, requests: Any = None, timeline: Any = None,
        edge: Any = None, seed: int | None = None,
    ) -> None:
        self.backend = EasBackend(clock=clock, region=region, account_id=account_id, requests=requests, timeline=timeline)
        self.responses = EasResponses(self.backend)
        self.seed = seed
        self.gateway = InferenceGateway(self.backend, seed=seed)
        if edge is not None:
            edge.mount(PREFIX, self.gateway)

    def handle(self, request: Any, action: str | None) -> Any:
        """One API call, under the backend's lock (so serialization sees a consistent state)."""
        with self.backend.lock:
            return super().handle(request, action)

    def reset(self) -> None:
        self.backend.reset()
        self.gateway.reseed(self.seed)

    def tick(self, now: float) -> None:
        self.backend.sync(now)

    def state(self) -> dict[str, Any]:
        return self.backend.state()

    def control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """``/_localcloud/eas/…``: service profiles and the gateway's seed (table in the module doc)."""
        parts = [p for p in path.split("/") if p]
        if parts == ["gateway"] and method in ("PUT", "POST"):
            seed = body.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                return 400, {"Code": "InvalidRequest", "Message": f"seed must be an integer or null, got {seed!r}"}
            self.gateway.reseed(seed)
            return 200, {"seed": seed}
        if len(parts) == 2 and parts[0] == "resources" and method in ("PUT", "POST"):
            try:
                group = self.backend.define_resource(parts[1], body)
            except ValueError as exc:
                return 400, {"Code": "InvalidRequest", "Message": str(exc)}
            return 200, {"resource": group.resource_id, "cpu": group.cpu, "memory": group.memory, "gpu": group.gpu}
        if len(parts) == 3 and parts[0] == "services" and parts[2] == "profile":
            return self._profile(method, parts[1], body)
        return 404, {"Code": "NotFound", "Message": f"no EAS control route {method} /_localcloud/eas{path}"}

    def _profile(self, method: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        with self.backend.lock:
            svc = self.backend.services.get(name)
            if svc is None:
                return 404, {"Code": "NotFound", "Message": f"no EAS service {name!r}; known: {sorted(self.backend.services)}"}
            if method in ("PUT", "POST"):
                try:
                    svc.profile_override = BehaviourProfile.parse(body)
                except ValueError as exc:
                    return 400, {"Code": "InvalidRequest", "Message": str(exc)}
            elif method == "DELETE":
                svc.profile_override = None
            elif method != "GET":
                return 404, {"Code": "NotFound", "Message": f"no EAS control route {method} for a profile"}
            return 200, {"service": name, "override": svc.profile_override is not None, "profile": svc.profile().to_dict()}

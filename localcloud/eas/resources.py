"""EAS dedicated resource groups: their capacity and what the services on them use (DescribeResource).

A resource group is defined through the control API (``PUT /_localcloud/eas/resources/<id>`` with
``{"cpu": 32, "memory": 131072, "gpu": 0, "name": "…"}``); its usage is computed from the
services whose config names it (``metadata.resource``): ``cpu``, ``memory`` (MB) and ``gpu`` of
the config times the service's live instances. ``DescribeResource`` answers ``CpuCount``/``CpuUsed``,
``Memory``/``MemoryUsed``, ``GpuCount``/``GpuUsed``, ``InstanceCount`` (field names from the SDK's
``DescribeResourceResponseBody``); an unknown id answers 404 ``InvalidResource.NotFound`` (assumed code).

Example
-------
>>> rg = ResourceGroup("eas-r-1", "gpu-pool", cpu=8, memory=32000, gpu=1)
>>> rg.describe(region="cn-hangzhou", account_id="1", used=(6, 24000, 1), instances=3)["CpuUsed"]
6
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..core.errors import ServiceError
from .config import metadata


@dataclasses.dataclass
class ResourceGroup:
    resource_id: str
    name: str
    cpu: int
    memory: int
    gpu: int = 0

    def describe(self, *, region: str, account_id: str, used: tuple[int, int, int], instances: int) -> dict[str, Any]:
        cpu, memory, gpu = used
        return {
            "ClusterId": region, "ResourceId": self.resource_id, "ResourceName": self.name, "ResourceType": "Dedicated",
            "Status": "ResourceReady", "CpuCount": self.cpu, "CpuUsed": cpu, "Memory": self.memory, "MemoryUsed": memory,
            "GpuCount": self.gpu, "GpuUsed": gpu, "InstanceCount": instances, "PostPaidInstanceCount": instances,
            "PrePaidInstanceCount": 0, "OwnerUid": account_id, "CreateTime": "", "UpdateTime": "", "ExtraData": "",
            "Message": "",
        }


def resource_not_found(resource_id: str) -> ServiceError:
    return ServiceError("InvalidResource.NotFound", f"Resource [{resource_id}] does not exist.", status=404)


class ResourceOps:
    """Resource-group operations of :class:`~localcloud.eas.models.EasBackend` (a mixin)."""

    lock: Any
    region: str
    account_id: str
    services: dict[str, Any]
    resource_groups: dict[str, ResourceGroup]

    def sync(self, now: float | None = None) -> float:  # pragma: no cover - EasBackend's
        raise NotImplementedError

    def define_resource(self, resource_id: str, body: dict[str, Any]) -> ResourceGroup:
        values = {}
        for key in ("cpu", "memory", "gpu"):
            value = body.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be an integer >= 0, got {value!r}")
            values[key] = value
        with self.lock:
            group = ResourceGroup(resource_id, str(body.get("name") or resource_id), **values)
            self.resource_groups[resource_id] = group
            return group

    def describe_resource(self, cluster_id: str, resource_id: str) -> dict[str, Any]:
        self.sync()
        with self.lock:
            group = self.resource_groups.get(resource_id) if cluster_id == self.region else None
            if group is None:
                raise resource_not_found(resource_id)
            cpu = memory = gpu = instances = 0
            for svc in self.services.values():
                meta = metadata(svc.config)
                if meta.get("resource") != resource_id:
                    continue
                live = svc.counts()[0] or (svc.replicas if svc.phase in ("Creating", "Active") else 0)
                cpu += int(meta.get("cpu") or 0) * live
                memory += int(meta.get("memory") or 0) * live
                gpu += int(meta.get("gpu") or 0) * live
                instances += live
            return group.describe(region=self.region, account_id=self.account_id, used=(cpu, memory, gpu), instances=instances)

"""EAS state and behaviour: every service and group of the account, one method per operation.

All validation lives here; :mod:`.responses` only parses and serializes. Before each operation
the backend brings every service up to the clock (:meth:`EasBackend.sync`), so lifecycles hold
whether or not the ticker ran.

Group operations live in :class:`~.groups.GroupOps`, autoscaler operations (and where their
metrics come from) in :class:`~.scaling.ScalingOps`; both are mixed in here.

Example
-------
>>> from localcloud.core.clock import Clock
>>> clock = Clock(); clock.freeze(0)
>>> eas = EasBackend(clock=clock, region="cn-hangzhou", account_id="1")
>>> svc = eas.create_service('{"metadata": {"name": "demo", "instance": 1}}', {})
>>> svc.status
'Creating'
>>> clock.advance(10); eas.describe_service("cn-hangzhou", "demo").status
'Running'
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ..core.metrics import RequestLog, Timeline
from .config import (
    config_group,
    config_instances,
    config_name,
    config_profile,
    deep_merge,
    only_scale_changed,
    parse_config,
    validate_name,
)
from .exceptions import (
    invalid_parameter,
    invalid_status,
    service_exists,
    service_not_found,
)
from .groups import Group, GroupOps
from .mirrors import Mirror, MirrorOps
from .queries import page_of, parse_event_time, select_instances, select_services
from .resources import ResourceGroup, ResourceOps
from .scaling import ScalingOps
from .services import DELETING_SECONDS, STOPPING_SECONDS, Instance, Service, Version

BUSY = ("Creating", "Stopping", "Deleting")


class EasBackend(GroupOps, ScalingOps, ResourceOps, MirrorOps):
    """All EAS resources of one account in one region."""

    def __init__(
        self, *, clock: Any, region: str, account_id: str,
        requests: RequestLog | None = None, timeline: Timeline | None = None,
    ) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.requests = requests if requests is not None else RequestLog()
        self.timeline = timeline if timeline is not None else Timeline()
        self.lock = threading.RLock()
        self.services: dict[str, Service] = {}
        self.groups: dict[str, Group] = {}
        self.mirrors: dict[str, Mirror] = {}
        self.resource_groups: dict[str, ResourceGroup] = {}  # dedicated resource groups (control API)

    def reset(self) -> None:
        with self.lock:
            self.services.clear()
            self.groups.clear()
            self.mirrors.clear()
            self.resource_groups.clear()

    # -- time ----------------------------------------------------------------------------------
    def sync(self, now: float | None = None) -> float:
        """Advance every lifecycle and autoscaler to ``now``; forget deleted services and empty groups."""
        now = self.clock.now() if now is None else now
        with self.lock:
            for svc in list(self.services.values()):
                svc.advance(now)
                if svc.phase == "Deleted":
                    del self.services[svc.name]
                    self.forget_mirrors_of(svc.name)
                elif svc.autoscaler is not None and svc.phase == "Active":
                    self._autoscale(svc, now)
            members = {s.group for s in self.services.values() if s.group}
            for name in [g for g in self.groups if g not in members]:
                del self.groups[name]
        return now

    # -- services ------------------------------------------------------------------------------
    def create_service(self, body: Any, query: dict[str, str]) -> Service:
        """CreateService: the body is the service config itself."""
        config = parse_config(body)
        name = config_name(config)
        if not name:
            raise invalid_parameter("The service name is mandatory: set metadata.name (or name).")
        validate_name(name)
        group = config_group(config)
        config_instances(config)
        config_profile(config)
        labels = _labels(query.get("Labels"), "Labels")
        now = self.sync()
        with self.lock:
            if name in self.services:
                raise service_exists(name)
            svc = Service.create(
                name=name, config=config, now=now, region=self.region, account_id=self.account_id,
                workspace_id=query.get("WorkspaceId") or str(config.get("metadata", {}).get("workspace_id") or ""),
                labels=labels, group=group,
            )
            self.services[name] = svc
            if group and group not in self.groups:
                self.groups[group] = Group.create(group, region=self.region, now=now)
            return svc

    def service(self, cluster_id: str, name: str) -> Service:
        """The service ``name`` in region ``cluster_id`` (brought up to the clock)."""
        self.sync()
        with self.lock:
            svc = self.services.get(name) if cluster_id == self.region else None
        if svc is None:
            raise service_not_found(name)
        return svc

    describe_service = service

    def list_services(self, query: dict[str, str]) -> tuple[list[Service], int, int, int]:
        """ListServices: (page, total, page number, page size)."""
        self.sync()
        with self.lock:
            services = list(self.services.values())
        label = _labels(query.get("Label"), "Label", allow_null=True)
        selected = select_services(services, query, label)
        page, number, size = page_of(selected, query, "PageNumber", "PageSize", default_size=100)
        return page, len(selected), number, size

    def update_service(self, cluster_id: str, name: str, body: Any, update_type: str | None) -> Service:
        """UpdateService: merge or replace the config; a new version unless only the instance count changed."""
        update_type = update_type or "merge"
        if update_type not in ("merge", "replace"):
            raise invalid_parameter(f"UpdateType must be merge or replace, got {update_type!r}.")
        patch = parse_config(body)
        svc = self.service(cluster_id, name)
        with self.lock:
            now = self.clock.now()
            if svc.phase in BUSY:
                raise invalid_status(name, svc.status, "update")
            config = deep_merge(svc.config, patch) if update_type == "merge" else patch
            given = config_name(config)
            if given and given != name:
                raise invalid_parameter(f"The service name cannot change (from [{name}] to [{given}]).")
            group, replicas = config_group(config), config_instances(config)
            profile = config_profile(config)
            if svc.autoscaler is not None:
                replicas = svc.autoscaler.clamp(replicas)
            if only_scale_changed(svc.config, config):
                svc.versions[svc.current_version - 1].config = config
                if replicas != svc.replicas and svc.phase in ("Active", "Failed"):
                    svc.phase, svc.op = "Active", svc.op or "Scaling"
                    svc.event(now, "Scaling", f"Service scales from {svc.replicas} to {replicas} instance(s)")
                    svc.scale_to(replicas, now)
                svc.replicas = replicas
            else:
                svc.versions.append(Version(svc.latest_version + 1, config, now, profile))
                svc.current_version, svc.replicas = svc.latest_version, replicas
                if svc.phase in ("Active", "Failed"):
                    svc.roll(now, "Updating")
            self._move(svc, group, now)
            svc.updated_at = now
            svc.advance(now)
            return svc

    def update_service_version(self, cluster_id: str, name: str, version: Any) -> Service:
        """UpdateServiceVersion: switch to an existing version (a rollback) and roll the instances."""
        svc = self.service(cluster_id, name)
        with self.lock:
            if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= svc.latest_version:
                raise invalid_parameter(f"Version must be an integer within [1, {svc.latest_version}], got {version!r}.")
            if svc.phase in BUSY:
                raise invalid_status(name, svc.status, "change the version of")
            now = self.clock.now()
            svc.current_version = version
            replicas = config_instances(svc.config)
            svc.replicas = svc.autoscaler.clamp(replicas) if svc.autoscaler else replicas
            if svc.phase in ("Active", "Failed"):
                svc.roll(now, "Updating")
            svc.updated_at = now
            svc.advance(now)
            return svc

    def list_service_versions(self, cluster_id: str, name: str, query: dict[str, str]) -> tuple[list[Version], int, int, int]:
        svc = self.service(cluster_id, name)
        with self.lock:
            versions = sorted(svc.versions, key=lambda v: v.number, reverse=True)
        page, number, size = page_of(versions, query, "PageNumber", "PageSize", default_size=100)
        return page, len(versions), number, size

    def start_service(self, cluster_id: str, name: str) -> Service:
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.phase != "Stopped":
                raise invalid_status(name, svc.status, "start")
            now = self.clock.now()
            replicas = config_instances(svc.config)
            svc.instances, svc.phase, svc.op = [], "Active", "Starting"
            svc.event(now, "Starting", "Service is starting")
            svc.scale_to(svc.autoscaler.clamp(replicas) if svc.autoscaler else replicas, now)
            svc.updated_at = now
            svc.advance(now)
            return svc

    def stop_service(self, cluster_id: str, name: str) -> Service:
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.phase not in ("Active", "Failed", "Creating"):
                raise invalid_status(name, svc.status, "stop")
            now = self.clock.now()
            svc.begin("Stopping", now, STOPPING_SECONDS)
            svc.updated_at = now
            return svc

    def restart_service(self, cluster_id: str, name: str) -> Service:
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.phase not in ("Active", "Failed"):
                raise invalid_status(name, svc.status, "restart")
            now = self.clock.now()
            svc.roll(now, "Updating")
            svc.updated_at = now
            svc.advance(now)
            return svc

    def delete_service(self, cluster_id: str, name: str) -> Service:
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.phase == "Deleting":
                raise invalid_status(name, svc.status, "delete")
            svc.begin("Deleting", self.clock.now(), DELETING_SECONDS)
            return svc

    def release_service(self, cluster_id: str, name: str, body: Any) -> Service:
        """ReleaseService: set the service's group traffic ``Weight`` and/or ``TrafficState``."""
        body = body if isinstance(body, dict) else {}
        weight, state = body.get("Weight"), body.get("TrafficState")
        if weight is None and state is None:
            raise invalid_parameter("Give Weight and/or TrafficState.")
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int) or not -1 <= weight <= 1000):
            raise invalid_parameter(f"Weight must be an integer within [-1, 1000], got {weight!r}.")
        if state is not None and state not in ("grouping", "standalone"):
            raise invalid_parameter(f"TrafficState must be grouping or standalone, got {state!r}.")
        svc = self.service(cluster_id, name)
        with self.lock:
            if svc.phase == "Deleting":
                raise invalid_status(name, svc.status, "release")
            if state == "grouping" and not svc.group:
                raise invalid_parameter(f"Service [{name}] is not in a service group (set metadata.group).")
            if weight is not None:
                svc.weight = weight
            if state is not None:
                svc.traffic_state = state
            svc.updated_at = self.clock.now()
            return svc

    # -- instances and events ------------------------------------------------------------------
    def list_service_instances(self, cluster_id: str, name: str, query: dict[str, str]) -> tuple[Service, list[Instance], int, int, int]:
        svc = self.service(cluster_id, name)
        with self.lock:
            selected = select_instances(svc, query)
        page, number, size = page_of(selected, query, "PageNumber", "PageSize", default_size=100)
        return svc, page, len(selected), number, size

    def describe_service_event(self, cluster_id: str, name: str, query: dict[str, str]) -> tuple[list[dict[str, Any]], int, int, int]:
        """DescribeServiceEvent: (page of events, total, page number, total pages)."""
        svc = self.service(cluster_id, name)
        now = self.clock.now()
        start = parse_event_time(query.get("StartTime"), "StartTime", default=now - 7 * 86400)
        end = parse_event_time(query.get("EndTime"), "EndTime", default=now)
        kind = query.get("EventType") or ""
        if kind not in ("", "Normal", "Warning"):
            raise invalid_parameter(f"EventType must be Normal or Warning, got {kind!r}.")
        instance = query.get("InstanceName") or ""
        with self.lock:
            events = sorted(svc.events, key=lambda e: e["at"])
        selected = [
            e for e in events
            if start <= e["at"] <= end and (not kind or e["Type"] == kind) and (not instance or e["Instance"] == instance)
        ]
        page, number, size = page_of(selected, query, "PageNum", "PageSize", default_size=100)
        pages = max(1, -(-len(selected) // size))
        return page, len(selected), number, pages

    # -- gateway and state -----------------------------------------------------------------------
    def resolve(self, target: str) -> tuple[str, Any]:
        """What ``/api/predict/<target>`` names: ``("group", [members])``, ``("service", svc)`` or ``("none", None)``.

        A group name wins over a service name; ``<group>.<service>`` reaches one member directly.
        """
        self.sync()
        with self.lock:
            if target in self.groups:
                return "group", self.members(target)
            if target in self.services:
                return "service", self.services[target]
            group, _, name = target.partition(".")
            svc = self.services.get(name)
            if name and svc is not None and svc.group == group:
                return "service", svc
        return "none", None

    def state(self, base_url: str = "") -> dict[str, Any]:
        self.sync()
        with self.lock:
            return {
                "services": [svc.describe(base_url) for svc in self.services.values()],
                "groups": [g.describe(base_url) for g in self.groups.values()],
                "autoscalers": {
                    s.name: s.autoscaler.describe(s.name) for s in self.services.values() if s.autoscaler is not None
                },
                "profiles": {s.name: s.profile().to_dict() for s in self.services.values()},
                "mirrors": [m.describe() for m in self.mirrors.values()],
            }


def _labels(raw: Any, name: str, *, allow_null: bool = False) -> dict[str, Any]:
    """A label map sent as a JSON string (CreateService ``Labels``, ListServices ``Label``)."""
    if raw in (None, ""):
        return {}
    try:
        labels = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise invalid_parameter(f"{name} must be a JSON object string, got {raw!r}.") from None
    if not isinstance(labels, dict):
        raise invalid_parameter(f"{name} must be a JSON object string, got {raw!r}.")
    for key, value in labels.items():
        if not (isinstance(value, str) or (allow_null and value is None)):
            raise invalid_parameter(f"{name}[{key!r}] must be a string, got {value!r}.")
    return dict(labels)

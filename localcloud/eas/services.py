"""One EAS service: its versions, instances and lifecycle on localcloud's clock.

Status path (transitions happen at the times they were due, whenever the clock is read):

* create: ``Creating`` (:data:`CREATING_SECONDS`) → ``Waiting`` (instances start, each ready after
  the profile's ``startup_seconds``) → ``Running`` when every instance is ready;
* a config change (UpdateService, UpdateServiceVersion, RestartService): ``Updating`` — new
  instances start while the old ones keep serving, then the old ones go — → ``Running``;
* a manual scale (only ``metadata.instance`` changed): ``Scaling`` → ``Running``; the
  autoscaler scales without leaving ``Running`` (``PendingInstance`` shows the new instances);
* ``Stopping`` (:data:`STOPPING_SECONDS`) → ``Stopped``; StartService: ``Starting`` → ``Running``;
* ``Deleting`` (:data:`DELETING_SECONDS`) → gone;
* a profile with ``fail_startup``: instances never get ready and the service ends ``Failed``.

Example
-------
>>> svc = Service.create(name="demo", config={"metadata": {"instance": 2}}, now=0.0, region="cn-hangzhou",
...                      account_id="1", workspace_id="", labels={})
>>> [(t, svc.advance(t) or svc.status) for t in (0, 2, 9.9, 10)]
[(0, 'Creating'), (2, 'Waiting'), (9.9, 'Waiting'), (10, 'Running')]
>>> svc.counts()
(2, 2, 0)
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from typing import Any

from .autoscaler import AutoScaler
from .config import config_image, config_instance_type, config_instances, config_port, config_profile
from .profiles import BehaviourProfile

CREATING_SECONDS = 2.0
STOPPING_SECONDS = 2.0
DELETING_SECONDS = 2.0
MAX_EVENTS = 1000


def iso(ts: float) -> str:
    """Epoch seconds → ``2021-01-29T11:13:20Z`` (EAS's CreateTime/UpdateTime format)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def event_time(ts: float) -> str:
    """Epoch seconds → ``2022-04-09 06:30:00`` (UTC; DescribeServiceEvent's format)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


@dataclasses.dataclass
class Version:
    number: int
    config: dict[str, Any]
    built_at: float
    profile: BehaviourProfile


@dataclasses.dataclass
class Instance:
    name: str
    version: int
    created_at: float
    ready_at: float
    inner_ip: str
    host_ip: str
    status: str = "Pending"  # Pending | Running | Failed | Terminating
    started_at: float | None = None
    retiring: bool = False  # replaced by a newer instance; serves until that one is ready


@dataclasses.dataclass
class Service:
    """State of one service; the backend holds the lock around every call."""

    name: str
    service_id: str
    region: str
    account_id: str
    workspace_id: str
    labels: dict[str, str]
    access_token: str
    created_at: float
    updated_at: float
    versions: list[Version]
    current_version: int
    group: str | None = None
    traffic_state: str = "standalone"
    weight: int = 100
    phase: str = "Creating"  # Creating | Active | Stopping | Stopped | Deleting | Deleted | Failed
    op: str | None = None  # while Active and not settled: Waiting | Updating | Starting | Scaling
    phase_until: float = 0.0
    replicas: int = 1
    instances: list[Instance] = dataclasses.field(default_factory=list)
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    autoscaler: AutoScaler | None = None
    profile_override: BehaviourProfile | None = None
    _ip_counter: int = 0

    @classmethod
    def create(
        cls, *, name: str, config: dict[str, Any], now: float, region: str, account_id: str,
        workspace_id: str, labels: dict[str, str], group: str | None = None,
    ) -> Service:
        svc = cls(
            name=name, service_id="eas-m-" + secrets.token_hex(8), region=region, account_id=account_id,
            workspace_id=workspace_id, labels=dict(labels), access_token=new_token(), created_at=now,
            updated_at=now, versions=[Version(1, config, now, config_profile(config))], current_version=1,
            group=group, traffic_state="grouping" if group else "standalone",
            replicas=config_instances(config), phase_until=now + CREATING_SECONDS,
        )
        svc.event(now, "Creating", "Service is creating")
        return svc

    # -- facts -------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return self.versions[self.current_version - 1].config

    @property
    def latest_version(self) -> int:
        return len(self.versions)

    @property
    def status(self) -> str:
        if self.phase == "Active":
            return self.op or "Running"
        return self.phase

    def profile(self, version: int | None = None) -> BehaviourProfile:
        """The behaviour of ``version``'s instances (the control API's override wins)."""
        if self.profile_override is not None:
            return self.profile_override
        return self.versions[(version or self.current_version) - 1].profile

    def running(self) -> list[Instance]:
        return [i for i in self.instances if i.status == "Running"]

    def counts(self) -> tuple[int, int, int]:
        """(TotalInstance, RunningInstance, PendingInstance)."""
        live = [i for i in self.instances if i.status != "Terminating"]
        running = sum(1 for i in live if i.status == "Running")
        pending = sum(1 for i in live if i.status == "Pending")
        return len(live), running, pending

    def serves(self) -> bool:
        """Whether the gateway can route a request here (some instance is ready)."""
        return self.phase in ("Active", "Failed") and bool(self.running())

    # -- lifecycle ---------------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Apply every transition due at or before ``now``, each at the time it was due."""
        if self.phase == "Creating" and now >= self.phase_until:
            self.phase, self.op = "Active", "Waiting"
            self.event(self.phase_until, "Waiting", "Waiting for instances to be ready")
            self.scale_to(self.replicas, self.phase_until)
        if self.phase == "Stopping" and now >= self.phase_until:
            self.instances, self.phase = [], "Stopped"
            self.event(self.phase_until, "Stopped", "Service is stopped")
        if self.phase == "Deleting" and now >= self.phase_until:
            self.instances, self.phase = [], "Deleted"
        if self.phase == "Active":
            self._progress(now)

    def _progress(self, now: float) -> None:
        for inst in sorted((i for i in self.instances if i.status == "Pending"), key=lambda i: i.ready_at):
            if inst.ready_at > now:
                continue
            if self.profile(inst.version).fail_startup:
                inst.status = "Failed"
            else:
                inst.status, inst.started_at = "Running", inst.ready_at
        fresh = [i for i in self.instances if not i.retiring]
        if any(i.status == "Pending" for i in fresh):
            return
        settled_at = max((i.ready_at for i in fresh), default=now)
        if any(i.status == "Failed" for i in fresh):
            self.phase, self.op = "Failed", None
            self.event(settled_at, "Failed", "Instances failed to start: the container exited before it was ready",
                       kind="Warning")
            return
        self.instances = fresh
        if self.op is not None:
            self.op = None
            self.event(settled_at, "Running", "Service is running")

    def scale_to(self, replicas: int, at: float) -> None:
        """Add pending instances of the current version, or remove the surplus (pending first)."""
        self.replicas = replicas
        fresh = [i for i in self.instances if not i.retiring and i.status != "Terminating"]
        if len(fresh) < replicas:
            startup = self.profile().startup_seconds
            for _ in range(replicas - len(fresh)):
                self.instances.append(self._new_instance(at, startup))
        elif len(fresh) > replicas:
            order = {"Failed": 0, "Pending": 1, "Running": 2}
            surplus = sorted(fresh, key=lambda i: (order.get(i.status, 0), -i.created_at))[: len(fresh) - replicas]
            self.instances = [i for i in self.instances if i not in surplus]

    def roll(self, at: float, op: str) -> None:
        """Replace every instance by one of the current version; the old ones serve until then."""
        self.instances = [i for i in self.instances if i.status == "Running"]
        for inst in self.instances:
            inst.retiring = True
        self.phase, self.op = "Active", op
        self.scale_to(self.replicas, at)
        self.event(at, op, f"Service is {op.lower()}")

    def begin(self, phase: str, at: float, seconds: float) -> None:
        """Enter Stopping or Deleting: instances terminate, the phase ends after ``seconds``."""
        self.phase, self.op, self.phase_until = phase, None, at + seconds
        for inst in self.instances:
            inst.status = "Terminating"
        self.event(at, phase, f"Service is {phase.lower()}")

    def _new_instance(self, at: float, startup: float) -> Instance:
        self._ip_counter += 1
        n = self._ip_counter
        return Instance(
            name=f"{self.name}-{self.service_id[-6:]}-{secrets.token_hex(3)}", version=self.current_version,
            created_at=at, ready_at=at + startup, inner_ip=f"10.0.{n // 250}.{n % 250 + 2}",
            host_ip=f"11.0.{n // 250}.{n % 250 + 2}",
        )

    def event(self, at: float, reason: str, message: str, *, kind: str = "Normal", instance: str = "") -> None:
        total, running, _ = self.counts()
        detail = {"versionId": self.current_version, "message": message,
                  "availableInstance": running, "unavailableInstance": total - running}
        self.events.append({"at": at, "Type": kind, "Reason": reason, "Instance": instance,
                            "Message": json.dumps(detail, separators=(",", ":"))})
        if len(self.events) > MAX_EVENTS:
            del self.events[0]


    # -- serialization -----------------------------------------------------------------------
    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/api/predict/{self.name}"

    def describe(self, base_url: str) -> dict[str, Any]:
        """The ``Service`` object (DescribeService body, ListServices ``Services[]``)."""
        config, meta = self.config, self.config.get("metadata") or {}
        total, running, pending = self.counts()
        status = self.status
        return {
            "ServiceName": self.name, "ServiceId": self.service_id, "ServiceUid": self.service_id,
            "Status": status, "Reason": status.upper(), "Message": STATUS_MESSAGES.get(status, ""),
            "ServiceConfig": json.dumps(config, ensure_ascii=False),
            "CurrentVersion": self.current_version, "LatestVersion": self.latest_version,
            "TotalInstance": total, "RunningInstance": running, "PendingInstance": pending,
            "Cpu": _int(meta.get("cpu")), "Memory": _int(meta.get("memory")), "Gpu": _int(meta.get("gpu")),
            "Image": config_image(config),
            "InternetEndpoint": self.endpoint(base_url), "IntranetEndpoint": self.endpoint(base_url),
            "SecondaryInternetEndpoint": "", "SecondaryIntranetEndpoint": "",
            "AccessToken": self.access_token, "ServiceGroup": self.group or "",
            "TrafficState": self.traffic_state, "Weight": self.weight,
            "Labels": [{"LabelKey": k, "LabelValue": v} for k, v in sorted(self.labels.items())],
            "Resource": str(meta.get("resource") or "eas-r-public"), "ResourceAlias": "",
            "Role": "", "RoleAttrs": "", "Region": self.region, "Namespace": self.name,
            "CallerUid": self.account_id, "ParentUid": self.account_id,
            "CreateTime": iso(self.created_at), "UpdateTime": iso(self.updated_at),
            "SafetyLock": "none", "Source": "", "WorkspaceId": self.workspace_id, "QuotaId": "",
            "Gateway": "", "AppType": "", "AppVersion": "", "AppConfig": "", "AppSpecName": "", "ExtraData": "",
        }

    def describe_instance(self, inst: Instance) -> dict[str, Any]:
        """A ListServiceInstances ``Instances[]`` item."""
        ready = inst.status == "Running"
        reason = {"Running": "RUNNING", "Pending": "PodInitializing", "Failed": "CrashLoopBackOff",
                  "Terminating": "Terminating"}[inst.status]
        return {
            "InstanceName": inst.name, "Status": inst.status, "Reason": reason, "RestartCount": 0,
            "ReadyProcesses": 1 if ready else 0, "TotalProcesses": 1,
            "StartAt": iso(inst.started_at or inst.created_at), "StartTime": iso(inst.created_at),
            "HostIP": inst.host_ip, "HostName": f"localcloud-{inst.host_ip.replace('.', '-')}",
            "InnerIP": inst.inner_ip, "InstancePort": config_port(self.config), "Namespace": self.name,
            "Role": "Standard", "ResourceType": "PublicResource", "InstanceType": config_instance_type(self.config),
            "IsSpot": False, "Isolated": False, "LastState": [], "Zone": f"{self.region}-b",
            "TenantHostIP": "", "TenantInstanceIP": "", "ExternalIP": "", "ExternalInstancePort": 0,
            "CurrentAmount": 0.0, "OriginalAmount": 0.0,
        }


STATUS_MESSAGES = {
    "Creating": "Service is creating", "Waiting": "Waiting for instances to be ready",
    "Running": "Service is Running", "Updating": "Service is updating", "Scaling": "Service is scaling",
    "Starting": "Service is starting", "Stopping": "Service is stopping", "Stopped": "Service is stopped",
    "Deleting": "Service is deleting", "Failed": "Instances failed to start",
}


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def new_token() -> str:
    """An access token shaped like EAS's (base64 of a hex digest)."""
    import base64

    return base64.b64encode(secrets.token_hex(24).encode()).decode().rstrip("=")

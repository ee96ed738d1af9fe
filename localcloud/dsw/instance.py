"""A DSW instance: its fields, its lifecycle plan on localcloud's clock, its wire form.

An operation gives the instance a *plan* (timed steps, offsets from the call in simulated
seconds); the backend applies the steps as the clock passes them. Paths **[A]** (the statuses
are the real ones **[C]**; the timings are localcloud's):

=============== ==========================================================================
operation       path
=============== ==========================================================================
CreateInstance  Creating → ResourceAllocating (+2 s) → EnvPreparing (+5 s) → Running (+10 s)
StartInstance   Starting → EnvPreparing (+3 s) → Running (+8 s)
StopInstance    Stopping → Stopped (+5 s)
… SaveImage     Stopping → Saving (+3 s) → Saved (+13 s); LatestSnapshot Committing (+3 s)
                → Pushing (+8 s) → Saved (+13 s)
DeleteInstance  Deleting → gone (+3 s)
=============== ==========================================================================

``AccumulatedRunningTimeInMs`` sums the time spent ``Running``.

Example
-------
>>> inst = Instance(instance_id="dsw-1", name="nb", created_at=0.0, spec={"EcsSpec": "ecs.gn6i-c4g1.xlarge"})
>>> inst.schedule(CREATE_PATH, at=0.0)
>>> inst.apply_due(10.0); inst.status, inst.is_gpu
('Running', True)
>>> inst.schedule(STOP_PATH, at=70.0); inst.apply_due(75.0); inst.status, inst.running_ms(75.0)
('Stopped', 60000)
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .times import iso

STATUSES = (
    "Creating", "SaveFailed", "Stopped", "Failed", "ResourceAllocating", "Stopping", "Updating", "Saving",
    "Queuing", "Recovering", "Starting", "Running", "Saved", "Deleting", "EnvPreparing",
)
#: statuses a StopInstance / culler / timer may stop
STOPPABLE = ("Creating", "Queuing", "ResourceAllocating", "EnvPreparing", "Starting", "Running", "Recovering", "Updating")
#: resting statuses of a stopped instance (StartInstance, UpdateInstance of the spec allowed)
STOPPED = ("Stopped", "Saved", "Failed", "SaveFailed")
GONE = "<gone>"  # internal: the instance has been deleted


@dataclasses.dataclass(frozen=True)
class Step:
    """Enter ``status`` (``None``: keep it) and/or set the latest snapshot's status at ``offset`` s."""

    offset: float
    status: str | None
    snapshot: str | None = None


CREATE_PATH = (Step(0, "Creating"), Step(2, "ResourceAllocating"), Step(5, "EnvPreparing"), Step(10, "Running"))
START_PATH = (Step(0, "Starting"), Step(3, "EnvPreparing"), Step(8, "Running"))
STOP_PATH = (Step(0, "Stopping"), Step(5, "Stopped"))
SAVE_PATH = (Step(0, "Stopping"), Step(3, "Saving", "Committing"), Step(8, None, "Pushing"), Step(13, "Saved", "Saved"))
DELETE_PATH = (Step(0, "Deleting"), Step(3, GONE))

_GPU_SPEC = re.compile(r"^(?:ecs|ml)\.(?:ebm)?g[nvu]\d", re.IGNORECASE)


@dataclasses.dataclass
class Instance:
    instance_id: str
    name: str
    created_at: float
    spec: dict[str, Any]  # the CreateInstance fields echoed by GetInstance (EcsSpec, ImageUrl, Datasets, …)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: list[dict[str, str]] = dataclasses.field(default_factory=list)
    pod_id: str = ""
    status: str = "Creating"
    reason_code: str = ""
    reason_message: str = ""
    modified_at: float = 0.0
    plan: list[tuple[float, Step]] = dataclasses.field(default_factory=list)
    running_since: float | None = None
    accumulated_s: float = 0.0
    culler: dict[str, Any] | None = None  # thresholds + created_at
    timer: dict[str, Any] | None = None  # due + created_at/modified_at
    snapshots: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    # -- facts ------------------------------------------------------------------------------
    @property
    def gone(self) -> bool:
        return self.status == GONE

    @property
    def is_gpu(self) -> bool:
        return self.accelerator_type == "GPU"

    @property
    def accelerator_type(self) -> str:
        resource = self.spec.get("RequestedResource") or {}
        if _positive(resource.get("GPU")) or _GPU_SPEC.match(str(self.spec.get("EcsSpec") or "")):
            return "GPU"
        return "CPU"

    def running_ms(self, now: float) -> int:
        running = now - self.running_since if self.running_since is not None else 0.0
        return int((self.accumulated_s + max(running, 0.0)) * 1000)

    # -- lifecycle --------------------------------------------------------------------------
    def schedule(self, path: tuple[Step, ...], *, at: float, reason: tuple[str, str] = ("", "")) -> None:
        """Replace the plan with ``path`` starting at ``at``; the reason applies from the first step."""
        self.plan = [(at + step.offset, step) for step in path]
        self.reason_code, self.reason_message = reason

    def next_step_at(self) -> float | None:
        return self.plan[0][0] if self.plan else None

    def apply_due(self, now: float) -> None:
        """Apply every planned step at or before ``now``, in order."""
        while self.plan and self.plan[0][0] <= now:
            at, step = self.plan.pop(0)
            self.apply(step, at)

    def apply(self, step: Step, at: float) -> None:
        if step.snapshot is not None and self.snapshots:
            self.snapshots[-1]["Status"] = step.snapshot
            self.snapshots[-1]["GmtModifiedTime"] = iso(at)
        if step.status is not None and step.status != self.status:
            if self.status == "Running" and self.running_since is not None:
                self.accumulated_s += max(at - self.running_since, 0.0)
                self.running_since = None
            if step.status == "Running":
                self.running_since = at
            self.status = step.status
            self.modified_at = at

    # -- wire form ----------------------------------------------------------------------------
    def describe(self, now: float, *, region: str, account_id: str, idle_minutes: int) -> dict[str, Any]:
        """GetInstance's instance fields (ListInstances' ``Instances[]`` items are the same)."""
        spec = self.spec
        image_url = str(spec.get("ImageUrl") or "")
        base = f"https://dsw-gateway-{region}.data.aliyun.com/{self.instance_id}"
        body: dict[str, Any] = {
            "InstanceId": self.instance_id,
            "InstanceName": self.name,
            "Status": self.status,
            "ReasonCode": self.reason_code,
            "ReasonMessage": self.reason_message,
            "EcsSpec": spec.get("EcsSpec") or "",
            "AcceleratorType": self.accelerator_type,
            "PaymentType": "Subscription" if spec.get("ResourceId") else "PayAsYouGo",
            "ResourceId": spec.get("ResourceId") or "",
            "ResourceName": spec.get("ResourceId") or "",
            "RequestedResource": dict(spec.get("RequestedResource") or {}),
            "GmtCreateTime": iso(self.created_at),
            "GmtModifiedTime": iso(self.modified_at or self.created_at),
            "AccumulatedRunningTimeInMs": self.running_ms(now),
            "Labels": [{"Key": k, "Value": v} for k, v in self.labels.items()],
            "Tags": [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in self.tags],
            "ImageId": spec.get("ImageId") or "",
            "ImageName": image_url.rsplit("/", 1)[-1],
            "ImageUrl": image_url,
            "Datasets": list(spec.get("Datasets") or []),
            "CloudDisks": list(spec.get("CloudDisks") or []),
            "EnvironmentVariables": dict(spec.get("EnvironmentVariables") or {}),
            "UserId": spec.get("UserId") or account_id,
            "UserName": spec.get("UserId") or "localcloud",  # [A] the RAM user; localcloud: the UserId given
            "WorkspaceId": spec.get("WorkspaceId") or "",
            "WorkspaceName": spec.get("WorkspaceId") or "",
            "WorkspaceSource": spec.get("WorkspaceSource") or "",
            "Priority": spec.get("Priority"),
            "Accessibility": spec.get("Accessibility") or "PRIVATE",
            "Driver": spec.get("Driver") or "",
            "UserVpc": dict(spec.get("UserVpc") or {}),
            "InstanceUrl": f"https://dsw-{region}.data.aliyun.com/notebook.htm?instance={self.instance_id}",
            "JupyterlabUrl": f"{base}/lab/",
            "WebIDEUrl": f"{base}/ide/",
            "TerminalUrl": f"{base}/tty/",
            "InstanceSnapshotList": [dict(s) for s in self.snapshots],
            "IdleInstanceCuller": self.culler_body(idle_minutes),
            "InstanceShutdownTimer": self.timer_body(now),
        }
        if self.snapshots:
            body["LatestSnapshot"] = dict(self.snapshots[-1])
        return body

    def culler_body(self, idle_minutes: int) -> dict[str, Any] | None:
        if self.culler is None:
            return None
        return {
            "InstanceId": self.instance_id,
            "CpuPercentThreshold": self.culler["CpuPercentThreshold"],
            "GpuPercentThreshold": self.culler["GpuPercentThreshold"],
            "MaxIdleTimeInMinutes": self.culler["MaxIdleTimeInMinutes"],
            "IdleTimeInMinutes": idle_minutes,
        }

    def timer_body(self, now: float) -> dict[str, Any] | None:
        if self.timer is None:
            return None
        due = self.timer["due"]
        return {
            "InstanceId": self.instance_id,
            "DueTime": iso(due),
            "RemainingTimeInMs": max(int((due - now) * 1000), 0),
            "GmtCreateTime": iso(self.timer["created_at"]),
            "GmtModifiedTime": iso(self.timer["modified_at"]),
        }


def _positive(raw: Any) -> bool:
    try:
        return float(raw or 0) > 0
    except (TypeError, ValueError):
        return False

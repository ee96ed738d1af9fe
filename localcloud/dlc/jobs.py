"""A DLC job's state: status and its history, pods, events, logs and the GetJob / ListJobs views.

Every status change goes through :meth:`Job.enter`, which closes the previous ``StatusHistory``
entry, moves the pods along, appends a GetJobEvents line and queues the change in ``outbox`` for
the backend to publish on the workspace bus. *When* a job changes status is decided elsewhere
(:mod:`.lifecycle`, :mod:`.runner`, :mod:`.executor`).

Example
-------
>>> from .settings import RunnerSettings
>>> job = Job.new("dlc1", {"DisplayName": "a", "JobType": "PyTorchJob", "UserCommand": "echo",
...               "JobSpecs": [{"Type": "Worker", "Image": "i", "PodCount": 2, "EcsSpec": "e"}]},
...               plan=RunnerSettings().plan({}), now=0.0)
>>> job.enter("Queuing", 2.0); job.enter("EnvPreparing", 4.0)
>>> [p.pod_id for p in job.pods], job.pods[0].status
(['dlc1-worker-0', 'dlc1-worker-1'], 'Pending')
>>> job.finish("Failed", 9.0, "JobPreempted", "spot instance reclaimed", evicted=True)
>>> d = job.describe(10.0, "ws")
>>> d["Status"], d["ReasonCode"], d["GmtFailedTime"], d["Pods"][0]["SubStatus"], d["Duration"]
('Failed', 'JobPreempted', '1970-01-01T00:00:09Z', 'Evicted', 9)
>>> [h["Status"] for h in d["StatusHistory"]]
['Creating', 'Queuing', 'EnvPreparing', 'Failed']
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from . import assumed
from .settings import JobPlan

TERMINAL = ("Succeeded", "Failed", "Stopped")
MAX_LOG_LINES = 20_000


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ``2024-05-01T08:00:00Z`` (the format DLC timestamps are read in)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def is_spot(specs: list[dict[str, Any]]) -> bool:
    return any(str(s.get("UseSpotInstance")).lower() == "true" for s in specs if isinstance(s, dict))


@dataclasses.dataclass
class Pod:
    pod_id: str
    pod_uid: str
    role: str
    ip: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    status: str = "Pending"
    sub_status: str = "Normal"

    def describe(self, now: float) -> dict[str, Any]:
        end = self.finished_at if self.finished_at is not None else now
        return {
            "PodId": self.pod_id, "PodUid": self.pod_uid, "Type": self.role, "Status": self.status,
            "SubStatus": self.sub_status, "Ip": self.ip, "NodeName": f"localcloud-node-{self.ip.rsplit('.', 1)[-1]}",
            "GmtCreateTime": iso(self.created_at), "GmtStartTime": iso(self.started_at),
            "GmtFinishTime": iso(self.finished_at),
            "Duration": round(end - self.started_at, 3) if self.started_at is not None else 0,
            "HistoryPods": [],
        }


@dataclasses.dataclass
class Progress:
    """The simulated runner's state: ``step`` was reached at ``step_time``; ``pending`` holds the
    (time, step) of checkpoint markers still being written; ``cursor`` is the time of the last thing
    that happened (events are applied in time order, never before it)."""

    start_step: int
    step: int
    step_time: float
    cursor: float
    pending: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    completed: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Job:
    job_id: str
    display_name: str
    job_type: str
    user_command: str
    job_specs: list[dict[str, Any]]
    workspace_id: str
    resource_id: str
    data_sources: list[dict[str, Any]]
    envs: dict[str, str]
    settings: dict[str, Any]
    max_running_minutes: int | None
    priority: int
    created_at: float
    request: dict[str, Any]
    plan: JobPlan
    spot: bool = False
    status: str = "Creating"
    sub_status: str = ""
    reason_code: str = ""
    reason_message: str = ""
    phase_started: float = 0.0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    pods: list[Pod] = dataclasses.field(default_factory=list)
    events: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    logs: dict[str, list[tuple[float, str]]] = dataclasses.field(default_factory=dict)
    outbox: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    progress: Progress | None = None
    fired: set[int] = dataclasses.field(default_factory=set)

    @classmethod
    def new(cls, job_id: str, body: dict[str, Any], *, plan: JobPlan, now: float) -> Job:
        specs = list(body["JobSpecs"])
        job = cls(
            job_id=job_id, display_name=body["DisplayName"], job_type=body["JobType"],
            user_command=body["UserCommand"], job_specs=specs,
            workspace_id=str(body.get("WorkspaceId") or ""), resource_id=str(body.get("ResourceId") or ""),
            data_sources=list(body.get("DataSources") or []), envs={str(k): str(v) for k, v in (body.get("Envs") or {}).items()},
            settings=dict(body.get("Settings") or {}), max_running_minutes=body.get("JobMaxRunningTimeMinutes"),
            priority=body.get("Priority") or 1, created_at=now, request=body, plan=plan, spot=is_spot(specs),
        )
        job.enter("Creating", now)
        return job

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.settings.get("Tags") or {})

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def entered(self, status: str) -> float | None:
        """When the job first entered ``status`` (``None`` if it never did)."""
        for h in self.history:
            if h["Status"] == status:
                return h["_at"]
        return None

    # -- changes -----------------------------------------------------------------------------
    def enter(self, status: str, at: float, code: str = "", message: str = "", *, evicted: bool = False) -> None:
        previous = self.status if self.history else ""
        if self.history:
            self.history[-1]["EndTime"] = iso(at)
        self.history.append({"Status": status, "ReasonCode": code, "ReasonMessage": message,
                             "StartTime": iso(at), "EndTime": None, "_at": at})
        self.status, self.reason_code, self.reason_message, self.phase_started = status, code, message, at
        kind = "Warning" if status == "Failed" else "Normal"
        text = f"job {self.job_id} {previous or 'submitted'} -> {status}" + (f": {code} {message}".rstrip() if code else "")
        self.event(at, f"Job{status}", text, kind=kind)
        self._move_pods(status, at, evicted)
        self.outbox.append({
            "JobId": self.job_id, "DisplayName": self.display_name, "JobType": self.job_type,
            "WorkspaceId": self.workspace_id, "Status": status, "PreviousStatus": previous,
            "ReasonCode": code, "ReasonMessage": message, "GmtModifiedTime": iso(at),
        })

    def finish(self, status: str, at: float, code: str, message: str, *, evicted: bool = False) -> None:
        if self.progress is not None:
            self.progress.pending.clear()  # an in-flight checkpoint never gets its marker
        self.enter(status, at, code, message, evicted=evicted)

    def event(self, at: float, reason: str, message: str, *, kind: str = "Normal") -> None:
        self.events.append((at, assumed.event_line(at, reason, message, kind=kind)))

    def log(self, at: float, line: str, pod: str | None = None) -> None:
        """A line of the pod's log (default: the first pod, rank 0)."""
        target = pod or (self.pods[0].pod_id if self.pods else "")
        lines = self.logs.setdefault(target, [])
        lines.append((at, line))
        if len(lines) > MAX_LOG_LINES:
            del lines[: len(lines) - MAX_LOG_LINES]

    def _move_pods(self, status: str, at: float, evicted: bool) -> None:
        if status == "EnvPreparing" and not self.pods:
            index = 0
            for spec in self.job_specs:
                role = str(spec.get("Type") or "Worker")
                for i in range(int(spec.get("PodCount") or 1)):
                    index += 1
                    self.pods.append(Pod(assumed.pod_id(self.job_id, role, i), str(uuid.uuid4()), role,
                                         f"10.0.{len(self.job_id) % 200}.{index + 1}", at))
                    self.event(at, "PodCreated", f"pod {self.pods[-1].pod_id} scheduled")
        for pod in self.pods:
            if pod.finished_at is not None:
                continue
            if status == "Running":
                pod.status, pod.started_at = "Running", at
            elif status in TERMINAL:
                pod.status = "Succeeded" if status == "Succeeded" else "Failed"
                pod.finished_at = at
                pod.sub_status = "Evicted" if evicted else "Normal"

    # -- views -------------------------------------------------------------------------------
    def describe(self, now: float, workspace_name: str) -> dict[str, Any]:
        """The GetJob body."""
        end = self.phase_started if self.finished else now
        finished = iso(self.phase_started) if self.finished else None
        return {
            "JobId": self.job_id,
            "DisplayName": self.display_name,
            "JobType": self.job_type,
            "Status": self.status,
            "SubStatus": self.sub_status,
            "ReasonCode": self.reason_code,
            "ReasonMessage": self.reason_message,
            "Duration": int(end - self.created_at),
            "GmtCreateTime": iso(self.created_at),
            "GmtSubmittedTime": iso(self.created_at),
            "GmtRunningTime": iso(self.entered("Running")),
            "GmtFinishTime": finished,
            "GmtSuccessedTime": finished if self.status == "Succeeded" else None,
            "GmtFailedTime": finished if self.status == "Failed" else None,
            "GmtStoppedTime": finished if self.status == "Stopped" else None,
            "JobSpecs": self.job_specs,
            "Pods": [p.describe(now) for p in self.pods],
            "StatusHistory": [{k: v for k, v in h.items() if not k.startswith("_")} for h in self.history],
            "Settings": self.settings,
            "DataSources": self.data_sources,
            "Envs": self.envs,
            "UserCommand": self.user_command,
            "WorkspaceId": self.workspace_id,
            "WorkspaceName": workspace_name,
            "ResourceId": self.resource_id,
            "ResourceType": "ECS",
            "Priority": self.priority,
            "JobMaxRunningTimeMinutes": self.max_running_minutes,
        }

    def list_item(self, now: float, workspace_name: str) -> dict[str, Any]:
        """A ListJobs ``Jobs[]`` item (it repeats GetJob's fields and adds a few)."""
        item = self.describe(now, workspace_name)
        modified = self.history[-1]["_at"] if self.history else self.created_at
        item.update({"GmtModifiedTime": iso(modified), "IsDeleted": False, "Username": "localcloud",
                     "NodeCount": str(sum(int(s.get("PodCount") or 1) for s in self.job_specs))})
        return item

"""DLC state and behaviour: jobs, their validation, and their lifecycle on localcloud's clock.

A job never starts finished: it is ``Creating`` when created and moves to ``Queuing``,
``EnvPreparing`` and ``Running`` as the clock passes the offsets in :data:`LIFECYCLE`.
(Jobs that run to completion, fail or are preempted come with localcloud part 2.)

Example
-------
>>> from localcloud.core.clock import Clock
>>> clock = Clock(); clock.freeze(0)
>>> dlc = DlcBackend(clock=clock, region="cn-hangzhou", account_id="1")
>>> job = dlc.create_job({"DisplayName": "a", "JobType": "PyTorchJob", "UserCommand": "echo",
...                       "JobSpecs": [{"Type": "Worker", "Image": "img", "PodCount": 1, "EcsSpec": "ecs.c6.large"}]})
>>> job.status
'Creating'
>>> clock.advance(60); dlc.get_job(job.job_id).status
'Running'
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
import time
from typing import Any

from .exceptions import invalid_parameter, job_not_found

JOB_TYPES = (
    "TFJob", "PyTorchJob", "MPIJob", "XGBoostJob", "OneFlowJob", "ElasticBatchJob",
    "SlurmJob", "RayJob", "DataJuicerJob",
)
STATUSES = (
    "Creating", "Queuing", "Bidding", "EnvPreparing", "SanityChecking", "Running", "Restarting",
    "Stopping", "SucceededReserving", "FailedReserving", "Succeeded", "Failed", "Stopped",
)
TERMINAL = ("Succeeded", "Failed", "Stopped")
#: (seconds after creation, status) — the path every job takes until it runs.
LIFECYCLE: tuple[tuple[float, str], ...] = ((0, "Creating"), (2, "Queuing"), (4, "EnvPreparing"), (8, "Running"))
_DISPLAY_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,256}$")
SORT_KEYS = {"DisplayName", "JobType", "Status", "GmtCreateTime", "GmtFinishTime"}


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ``2024-05-01T08:00:00Z`` (the format DLC timestamps are read in)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_time(value: str) -> float:
    """Parse an ISO-8601 UTC time such as ``2024-05-01T08:00:00Z`` (fractions allowed)."""
    text = value.strip().replace("Z", "").split(".")[0]
    try:
        return float(time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S")) - time.timezone)
    except ValueError:
        raise invalid_parameter(f"Invalid time {value!r}: expected yyyy-MM-ddTHH:mm:ssZ.") from None


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
    status: str = "Creating"
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.settings.get("Tags") or {})

    def advance(self, now: float) -> None:
        """Move along :data:`LIFECYCLE` up to ``now``, recording each status once."""
        if self.status in TERMINAL:
            return
        entered = {h["Status"] for h in self.history}
        for offset, status in LIFECYCLE:
            if now >= self.created_at + offset and status not in entered:
                self._enter(status, self.created_at + offset)

    def _enter(self, status: str, at: float) -> None:
        if self.history:
            self.history[-1]["EndTime"] = iso(at)
        self.history.append({"Status": status, "ReasonCode": "", "ReasonMessage": "", "StartTime": iso(at), "EndTime": None})
        self.status = status

    def describe(self, now: float) -> dict[str, Any]:
        """The GetJob body."""
        times = {h["Status"]: h["StartTime"] for h in self.history}
        running = times.get("Running")
        return {
            "JobId": self.job_id,
            "DisplayName": self.display_name,
            "JobType": self.job_type,
            "Status": self.status,
            "SubStatus": "",
            "ReasonCode": "",
            "ReasonMessage": "",
            "Duration": int(now - self.created_at),
            "GmtCreateTime": iso(self.created_at),
            "GmtSubmittedTime": iso(self.created_at),
            "GmtRunningTime": running,
            "JobSpecs": self.job_specs,
            "Pods": [],
            "StatusHistory": [dict(h) for h in self.history],
            "Settings": self.settings,
            "DataSources": self.data_sources,
            "Envs": self.envs,
            "UserCommand": self.user_command,
            "WorkspaceId": self.workspace_id,
            "ResourceId": self.resource_id,
            "ResourceType": "ECS",
            "Priority": self.priority,
            "JobMaxRunningTimeMinutes": self.max_running_minutes,
        }

    def list_item(self, now: float) -> dict[str, Any]:
        """A ListJobs ``Jobs[]`` item (it repeats GetJob's fields and adds a few)."""
        item = self.describe(now)
        item.update({"GmtModifiedTime": iso(now), "NodeCount": str(sum(int(s.get("PodCount") or 1) for s in self.job_specs)),
                     "IsDeleted": False, "Username": "localcloud"})
        return item



class DlcBackend:
    """All DLC jobs of the account, one method per API operation."""

    def __init__(self, *, clock: Any, region: str, account_id: str) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self._lock = threading.RLock()
        self.jobs: dict[str, Job] = {}

    def reset(self) -> None:
        with self._lock:
            self.jobs.clear()

    # -- operations --------------------------------------------------------------------------
    def create_job(self, body: dict[str, Any]) -> Job:
        """CreateJob: validate the body like DLC does and start the job's lifecycle."""
        if not isinstance(body, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        name = body.get("DisplayName")
        if not name or not isinstance(name, str) or not _DISPLAY_NAME.match(name):
            raise invalid_parameter(
                f"DisplayName is invalid: {name!r}. Use 1-256 letters, digits, '_', '.' or '-'."
            )
        job_type = body.get("JobType")
        if job_type not in JOB_TYPES:
            raise invalid_parameter(f"JobType is invalid: {job_type!r}. Expected one of {', '.join(JOB_TYPES)}.")
        command = body.get("UserCommand")
        if not command or not isinstance(command, str):
            raise invalid_parameter("UserCommand is mandatory for this action.")
        specs = body.get("JobSpecs")
        if not isinstance(specs, list) or not specs:
            raise invalid_parameter("JobSpecs is mandatory for this action.")
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict) or not spec.get("Type") or not spec.get("Image"):
                raise invalid_parameter(f"JobSpecs[{i}] needs Type and Image.")
            if not spec.get("EcsSpec") and not spec.get("ResourceConfig") and not body.get("ResourceId"):
                raise invalid_parameter(f"JobSpecs[{i}] needs EcsSpec, or ResourceConfig with a ResourceId.")
        for i, source in enumerate(body.get("DataSources") or []):
            if not (source.get("DataSourceId") or source.get("Uri")):
                raise invalid_parameter(f"DataSources[{i}] needs DataSourceId or Uri.")
        priority = body.get("Priority") or 1
        if not isinstance(priority, int) or not 1 <= priority <= 9:
            raise invalid_parameter(f"Priority must be within [1, 9], got {priority!r}.")
        now = self.clock.now()
        job = Job(
            job_id="dlc" + secrets.token_hex(7),
            display_name=name,
            job_type=job_type,
            user_command=command,
            job_specs=specs,
            workspace_id=str(body.get("WorkspaceId") or ""),
            resource_id=str(body.get("ResourceId") or ""),
            data_sources=list(body.get("DataSources") or []),
            envs=dict(body.get("Envs") or {}),
            settings=dict(body.get("Settings") or {}),
            max_running_minutes=body.get("JobMaxRunningTimeMinutes"),
            priority=priority,
            created_at=now,
            request=body,
        )
        job.advance(now)
        with self._lock:
            self.jobs[job.job_id] = job
        return job

    def get_job(self, job_id: str) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise job_not_found(job_id)
        job.advance(self.clock.now())
        return job

    def list_jobs(self, query: dict[str, Any]) -> tuple[list[Job], int]:
        """ListJobs with its filters, sorting and paging. Returns (page, total count)."""
        now = self.clock.now()
        with self._lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            job.advance(now)
        start = parse_time(query["StartTime"]) if query.get("StartTime") else now - 7 * 86400
        end = parse_time(query["EndTime"]) if query.get("EndTime") else float("inf")
        tags = _parse_tags(query.get("Tags"))
        job_ids = {j for j in (query.get("JobIds") or "").split(",") if j}

        def keep(job: Job) -> bool:
            checks = (
                start <= job.created_at <= end,
                not query.get("WorkspaceId") or job.workspace_id == query["WorkspaceId"],
                not query.get("Status") or job.status == query["Status"],
                not query.get("JobType") or job.job_type == query["JobType"],
                not query.get("DisplayName") or _name_matches(job.display_name, query),
                not query.get("JobId") or job.job_id == query["JobId"],
                not job_ids or job.job_id in job_ids,
                not query.get("ResourceId") or job.resource_id == query["ResourceId"],
                all(job.tags.get(k) == v for k, v in tags.items()),
            )
            return all(checks)

        selected = [job for job in jobs if keep(job)]
        sort_by = query.get("SortBy") or "GmtCreateTime"
        if sort_by not in SORT_KEYS:
            raise invalid_parameter(f"SortBy is invalid: {sort_by!r}. Expected one of {', '.join(sorted(SORT_KEYS))}.")
        order = (query.get("Order") or "desc").lower()
        if order not in ("asc", "desc"):
            raise invalid_parameter(f"Order is invalid: {order!r}. Expected asc or desc.")
        key = {
            "DisplayName": lambda j: j.display_name, "JobType": lambda j: j.job_type, "Status": lambda j: j.status,
            "GmtCreateTime": lambda j: (j.created_at, j.job_id), "GmtFinishTime": lambda j: (j.created_at, j.job_id),
        }[sort_by]
        selected.sort(key=key, reverse=order == "desc")
        page = _int(query, "PageNumber", 1, 1, 10**6)
        size = _int(query, "PageSize", 10, 1, 1000)
        return selected[(page - 1) * size : page * size], len(selected)

    def state(self) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            return {"jobs": [job.describe(now) for job in self.jobs.values()]}


def _name_matches(name: str, query: dict[str, Any]) -> bool:
    wanted = query["DisplayName"]
    mode = (query.get("DisplayNameSearchMode") or "fuzzy").lower()
    return name == wanted if mode == "exact" else wanted.lower() in name.lower()


def _parse_tags(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    try:
        tags = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise invalid_parameter(f"Tags must be a JSON object string, got {raw!r}.") from None
    if not isinstance(tags, dict):
        raise invalid_parameter(f"Tags must be a JSON object string, got {raw!r}.")
    return {str(k): str(v) for k, v in tags.items()}


def _int(query: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid_parameter(f"{name} must be an integer, got {raw!r}.") from None
    if not lo <= value <= hi:
        raise invalid_parameter(f"{name} must be within [{lo}, {hi}], got {value}.")
    return value

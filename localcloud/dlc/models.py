"""DLC state and behaviour: the account's jobs, one method per API operation, all validation.

A job never starts finished: it is ``Creating`` when created and moves along its lifecycle
(:mod:`.lifecycle`) as localcloud's clock passes — on every :meth:`DlcBackend.tick` and lazily on
every read. While ``Running``, its runner (:mod:`.runner` simulated, :mod:`.executor` exec) gives it
an effect on OSS. Every status change is published on the workspace bus ``pai-system-<name>``
(shape: :mod:`.assumed`). Faults: :mod:`.rules`; settings: :mod:`.settings`.

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
>>> clock.advance(100); dlc.get_job(job.job_id).status
'Succeeded'
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from typing import Any

from . import assumed
from .exceptions import invalid_parameter, job_not_found, job_status, pod_not_found
from .executor import ExecResult, Executor
from .jobs import TERMINAL, Job
from .lifecycle import Lifecycle
from .ossio import OssIO
from .query import int_param, name_matches, parse_tags, parse_time, time_window
from .rules import RuleSet
from .settings import RunnerSettings

log = logging.getLogger("localcloud.dlc")

JOB_TYPES = (
    "TFJob", "PyTorchJob", "MPIJob", "XGBoostJob", "OneFlowJob", "ElasticBatchJob",
    "SlurmJob", "RayJob", "DataJuicerJob",
)
STATUSES = (
    "Creating", "Queuing", "Bidding", "EnvPreparing", "SanityChecking", "Running", "Restarting",
    "Stopping", "SucceededReserving", "FailedReserving", "Succeeded", "Failed", "Stopped",
)
#: The workspace name of jobs created without a ``WorkspaceId`` (localcloud's choice).
DEFAULT_WORKSPACE_NAME = "default"
_DISPLAY_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,256}$")
SORT_KEYS = {"DisplayName", "JobType", "Status", "GmtCreateTime", "GmtFinishTime"}


class DlcBackend:
    """All DLC jobs of the account. ``oss`` / ``eventbridge``: the backends jobs write to and
    publish on (``None``: no effect on OSS, no events)."""

    def __init__(self, *, clock: Any, region: str, account_id: str, oss: Any = None, eventbridge: Any = None) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.eventbridge = eventbridge
        self.settings = RunnerSettings()
        self.rules = RuleSet()
        self.io = OssIO(oss)
        self.workspaces: dict[str, str] = {}
        self.executor = Executor(io=self.io, on_exit=self._exec_exited)
        self.lifecycle = Lifecycle(settings=self.settings, rules=self.rules, io=self.io, executor=self.executor)
        self._lock = threading.RLock()
        self.jobs: dict[str, Job] = {}

    def reset(self) -> None:
        """Forget every job, rule, setting and workspace name; kill exec processes."""
        self.executor.reset()
        with self._lock:
            self.jobs.clear()
            self.rules.clear()
            self.settings.update(RunnerSettings().as_dict())
            self.workspaces.clear()

    # -- operations --------------------------------------------------------------------------
    def create_job(self, body: dict[str, Any]) -> Job:
        """CreateJob: validate the body like DLC does and start the job's lifecycle."""
        _validate(body)
        try:
            plan = self.settings.plan(body.get("Envs") or {})
        except ValueError as exc:
            raise invalid_parameter(str(exc)) from None
        with self._lock:
            now = self.clock.now()
            job = Job.new("dlc" + secrets.token_hex(7), body, plan=plan, now=now)
            self.jobs[job.job_id] = job
            self.rules.on_create(job.job_id, job.display_name)
            self._advance(job, now)
        return job

    def get_job(self, job_id: str) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise job_not_found(job_id)
            self._advance(job, self.clock.now())
            return job

    def list_jobs(self, query: dict[str, Any]) -> tuple[list[Job], int]:
        """ListJobs with its filters, sorting and paging. Returns (page, total count)."""
        sort_by = query.get("SortBy") or "GmtCreateTime"
        if sort_by not in SORT_KEYS:
            raise invalid_parameter(f"SortBy is invalid: {sort_by!r}. Expected one of {', '.join(sorted(SORT_KEYS))}.")
        order = (query.get("Order") or "desc").lower()
        if order not in ("asc", "desc"):
            raise invalid_parameter(f"Order is invalid: {order!r}. Expected asc or desc.")
        page = int_param(query, "PageNumber", 1, 1, 10**6)
        size = int_param(query, "PageSize", 10, 1, 1000)
        status = query.get("Status")
        if status and status not in STATUSES:
            raise invalid_parameter(f"Status is invalid: {status!r}. Expected one of {', '.join(STATUSES)}.")
        with self._lock:
            now = self.clock.now()
            jobs = list(self.jobs.values())
            for job in jobs:
                self._advance(job, now)
        start = parse_time(query["StartTime"], "StartTime") if query.get("StartTime") else now - 7 * 86400
        end = parse_time(query["EndTime"], "EndTime") if query.get("EndTime") else float("inf")
        tags = parse_tags(query.get("Tags"))
        job_ids = {j for j in (query.get("JobIds") or "").split(",") if j}

        def keep(job: Job) -> bool:
            return all((
                start <= job.created_at <= end,
                not query.get("WorkspaceId") or job.workspace_id == query["WorkspaceId"],
                not status or job.status == status,
                not query.get("JobType") or job.job_type == query["JobType"],
                not query.get("DisplayName") or name_matches(job.display_name, query),
                not query.get("JobId") or job.job_id == query["JobId"],
                not job_ids or job.job_id in job_ids,
                not query.get("ResourceId") or job.resource_id == query["ResourceId"],
                all(job.tags.get(k) == v for k, v in tags.items()),
            ))

        selected = [job for job in jobs if keep(job)]
        key = {
            "DisplayName": lambda j: j.display_name, "JobType": lambda j: j.job_type, "Status": lambda j: j.status,
            "GmtCreateTime": lambda j: (j.created_at, j.job_id),
            "GmtFinishTime": lambda j: (j.phase_started if j.finished else float("inf"), j.created_at, j.job_id),
        }[sort_by]
        selected.sort(key=key, reverse=order == "desc")
        return selected[(page - 1) * size : page * size], len(selected)

    def stop_job(self, job_id: str) -> Job:
        """StopJob: ``Stopping`` then ``Stopped``; stopping a stopping job is a no-op."""
        with self._lock:
            job = self.get_job(job_id)
            if job.finished:
                raise job_status(job_id, job.status, "stop", "the job has not finished")
            if job.status != "Stopping":
                self.lifecycle.stop(job, self.clock.now())
                self._flush(job)
            return job

    def delete_job(self, job_id: str) -> None:
        """DeleteJob: only a finished job (assumed); it is gone from GetJob and ListJobs."""
        with self._lock:
            job = self.get_job(job_id)
            if not job.finished:
                raise job_status(job_id, job.status, "delete", f"the job is {', '.join(TERMINAL)} (stop it first)")
            del self.jobs[job_id]

    def get_job_events(self, job_id: str, query: dict[str, Any]) -> list[str]:
        """GetJobEvents: the job's event lines within ``StartTime``..``EndTime``, the newest
        ``MaxEventsNum`` (default 2000), oldest first."""
        limit = int_param(query, "MaxEventsNum", 2000, 1, 100_000)
        with self._lock:
            job = self.get_job(job_id)
            start, end = time_window(query, self.clock.now())
            lines = [line for at, line in job.events if start <= at <= end]
        return lines[-limit:]

    def get_pod_logs(self, job_id: str, pod_id: str, query: dict[str, Any]) -> tuple[Job, str, list[str]]:
        """GetPodLogs: ``(job, pod uid, the last MaxLines lines)``."""
        limit = int_param(query, "MaxLines", 2000, 1, 100_000)
        with self._lock:
            job = self.get_job(job_id)
            pod = next((p for p in job.pods if p.pod_id == pod_id), None)
            if pod is None or (query.get("PodUid") and query["PodUid"] != pod.pod_uid):
                raise pod_not_found(job_id, pod_id)
            start, end = time_window(query, self.clock.now())
            lines = [line for at, line in job.logs.get(pod_id, []) if start <= at <= end]
        live = self.executor.logs(job_id)
        if live is not None and not job.finished:
            lines = lines + live.get(pod_id, [])
        return job, pod.pod_uid, lines[-limit:]

    # -- the clock ---------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        with self._lock:
            for job in list(self.jobs.values()):
                self._advance(job, now)

    def _advance(self, job: Job, now: float) -> None:
        try:
            self.lifecycle.advance(job, now)
        finally:
            self._flush(job)

    def _exec_exited(self, job_id: str, result: ExecResult) -> None:
        """An exec run ended (its processes exited or were killed): finish the job now."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None or job.finished:
                return
            at = self.clock.now()
            for pod, lines in result.logs.items():
                job.logs[pod] = job.logs.get(pod, []) + [(at, line) for line in lines]
            failed = sorted((pod, code) for pod, code in result.codes.items() if code != 0)
            if result.kill_plan is not None:
                status, code, message, evicted = result.kill_plan
            elif result.error:
                status, code, message, evicted = "Failed", assumed.FAIL_REASON_CODE, result.error, False
            elif failed:
                pod, exit_code = failed[0]
                status, code, evicted = "Failed", assumed.FAIL_REASON_CODE, False
                message = f"{assumed.FAIL_REASON_MESSAGE}: exit code {exit_code} on pod {pod}"
            else:
                status, code, message, evicted = "Succeeded", assumed.SUCCESS_REASON_CODE, assumed.SUCCESS_REASON_MESSAGE, False
            job.finish(status, at, code, message, evicted=evicted)
            self._flush(job)

    # -- events ------------------------------------------------------------------------------
    def workspace_name(self, workspace_id: str) -> str:
        return self.workspaces.get(workspace_id) or workspace_id or DEFAULT_WORKSPACE_NAME

    def set_workspaces(self, names: dict[str, str]) -> None:
        with self._lock:
            self.workspaces.update(names)
            for name in names.values():
                self._ensure_bus(assumed.bus_name(name))

    def _flush(self, job: Job) -> None:
        """Publish the job's queued status changes, in order."""
        changes, job.outbox = job.outbox, []
        if self.eventbridge is None:
            return
        for values in changes:
            name = self.workspace_name(values["WorkspaceId"])
            bus = assumed.bus_name(name)
            self._ensure_bus(bus)
            event = assumed.status_event({**values, "WorkspaceName": name}, region=self.region, account_id=self.account_id)
            try:
                self.eventbridge.emit(bus, **event)
            except Exception:  # a publishing bug must not undo a status change
                log.exception("publishing DLC status event on %s failed", bus)

    def _ensure_bus(self, bus: str) -> None:
        """Create the workspace bus if missing (PAI creates it when notifications are enabled)."""
        eb = self.eventbridge
        if eb is None or bus in eb.buses:
            return
        try:
            eb.create_event_bus(bus, "PAI workspace events (localcloud DLC)")
        except Exception as exc:  # already created meanwhile, or a name EventBridge refuses
            log.debug("not creating bus %s: %s", bus, exc)

    # -- inspection --------------------------------------------------------------------------
    def view(self, job: Job, *, item: bool = False) -> dict[str, Any]:
        """The GetJob body of ``job`` (``item``: its ListJobs ``Jobs[]`` item)."""
        with self._lock:
            name = self.workspace_name(job.workspace_id)
            now = self.clock.now()
            return job.list_item(now, name) if item else job.describe(now, name)

    def state(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock.now()
            jobs = []
            for job in self.jobs.values():
                item = job.describe(now, self.workspace_name(job.workspace_id))
                p = job.progress
                item["_localcloud"] = {
                    "runner": job.plan.runner, "spot": job.spot,
                    "progress": None if p is None else {"step": p.step, "start_step": p.start_step,
                                                        "total_steps": job.plan.total_steps,
                                                        "completed_checkpoints": list(p.completed),
                                                        "pending_markers": [s for _, s in p.pending]},
                    "fired_rules": sorted(job.fired),
                }
                jobs.append(item)
            return {"jobs": jobs, "settings": self.settings.as_dict(), "faults": self.rules.list(),
                    "workspaces": dict(self.workspaces)}


def _validate(body: Any) -> None:
    """CreateJob's checks, each naming the offending value."""
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    name = body.get("DisplayName")
    if not name or not isinstance(name, str) or not _DISPLAY_NAME.match(name):
        raise invalid_parameter(f"DisplayName is invalid: {name!r}. Use 1-256 letters, digits, '_', '.' or '-'.")
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
        count = spec.get("PodCount", 1)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000):
            raise invalid_parameter(f"JobSpecs[{i}].PodCount must be within [1, 1000], got {count!r}.")
    for i, source in enumerate(body.get("DataSources") or []):
        if not isinstance(source, dict) or not (source.get("DataSourceId") or source.get("Uri")):
            raise invalid_parameter(f"DataSources[{i}] needs DataSourceId or Uri.")
    envs = body.get("Envs")
    if envs is not None and not isinstance(envs, dict):
        raise invalid_parameter(f"Envs must be a map of strings, got {envs!r}.")
    priority = body.get("Priority") or 1
    if not isinstance(priority, int) or not 1 <= priority <= 9:
        raise invalid_parameter(f"Priority must be within [1, 9], got {priority!r}.")
    minutes = body.get("JobMaxRunningTimeMinutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0):
        raise invalid_parameter(f"JobMaxRunningTimeMinutes must be an integer >= 0, got {minutes!r}.")

"""DSW state and behaviour: instances, one method per operation, all validation, the clock.

Time-driven behaviour happens in :meth:`DswBackend.catch_up` (called by every operation and by
``tick``), which applies, in time order, an instance's planned lifecycle steps, its shutdown
timer (at ``DueTime`` it stops the instance if it can be stopped, then is gone) and its idle
culler (see :mod:`.culler`).

Example
-------
>>> from localcloud.core.clock import Clock
>>> from localcloud.core.metrics import Timeline
>>> clock = Clock(); clock.freeze(0)
>>> dsw = DswBackend(clock=clock, region="cn-hangzhou", account_id="1", timeline=Timeline())
>>> inst = dsw.create_instance({"InstanceName": "nb_1", "EcsSpec": "ecs.g6.large", "ImageUrl": "img:1"})
>>> inst.status
'Creating'
>>> clock.advance(10); dsw.get_instance(inst.instance_id).status
'Running'
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from typing import Any

from . import culler as culling
from .exceptions import (
    culler_not_found,
    instance_not_found,
    invalid_status,
    timer_not_found,
    validation,
)
from .instance import (
    CREATE_PATH,
    DELETE_PATH,
    SAVE_PATH,
    START_PATH,
    STOP_PATH,
    STOPPABLE,
    STOPPED,
    Instance,
)
from .queries import select_instances
from .times import iso, parse_iso, parse_step
from .usage import METRIC_TYPES, UsageTimeline
from .validation import check_priority, id_list, int_in, key_values, labels_of

_NAME = re.compile(r"^[A-Za-z0-9_]{1,27}$")
_ID_CHARS = string.ascii_lowercase + string.digits
TIMER_REASON = "InstanceShutdownTimer"
#: UpdateInstance fields that change what runs; only a stopped instance takes them [A]
SPEC_FIELDS = ("EcsSpec", "ImageId", "ImageUrl", "RequestedResource", "Datasets", "CloudDisks", "Driver", "UserVpc")
#: UpdateInstance fields any live instance takes
SIMPLE_FIELDS = ("Priority", "Accessibility", "EnvironmentVariables", "WorkspaceSource", "UserId", "UserCommand")
#: Disassociate<X> flags → the field they clear
DISASSOCIATE = {
    "DisassociateDatasets": "Datasets", "DisassociateEnvironmentVariables": "EnvironmentVariables",
    "DisassociateVpc": "UserVpc", "DisassociateDriver": "Driver", "DisassociateUserCommand": "UserCommand",
    "DisassociateCredential": "CredentialConfig", "DisassociateSpot": "SpotSpec",
}
DEFAULT_CPU_THRESHOLD = 20  # [A] the doc examples' values
DEFAULT_GPU_THRESHOLD = 10


def _new_id(prefix: str, length: int = 18) -> str:
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(length))


class DswBackend:
    """All DSW instances of the account."""

    def __init__(self, *, clock: Any, region: str, account_id: str, timeline: Any) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.usage = UsageTimeline(timeline)
        self.lock = threading.RLock()
        self.instances: dict[str, Instance] = {}

    def reset(self) -> None:
        with self.lock:
            self.instances.clear()

    # -- the clock ---------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        with self.lock:
            for inst in list(self.instances.values()):
                self.catch_up(inst, now)

    def catch_up(self, inst: Instance, now: float) -> None:
        """Apply lifecycle steps, the shutdown timer and the idle culler up to ``now``, in time order."""
        with self.lock:
            while not inst.gone:
                step_at = inst.next_step_at()
                timer_at = inst.timer["due"] if inst.timer else None
                events: list[tuple[float, int, str]] = []
                if step_at is not None and step_at <= now:
                    events.append((step_at, 0, "step"))
                if timer_at is not None and timer_at <= now:
                    events.append((timer_at, 1, "timer"))
                if inst.culler is not None and inst.status == "Running" and inst.running_since is not None:
                    horizon = min(t for t in (now, step_at, timer_at) if t is not None)
                    cull_at, _ = culling.scan(self.usage, inst.instance_id, inst.culler, gpu=inst.is_gpu,
                                              since=inst.running_since, horizon=horizon)
                    if cull_at is not None:
                        events.append((cull_at, 2, "cull"))
                if not events:
                    break
                at, _, kind = min(events)
                if kind == "step":
                    inst.apply_due(at)
                elif kind == "timer":
                    inst.timer = None
                    if inst.status in STOPPABLE:
                        message = f"Stopped by the shutdown timer due at {iso(at)}."
                        inst.schedule(STOP_PATH, at=at, reason=(TIMER_REASON, message))
                elif inst.culler is not None:
                    message = culling.reason_message(inst.culler, gpu=inst.is_gpu)
                    inst.schedule(STOP_PATH, at=at, reason=(culling.REASON_CODE, message))
            if inst.gone:
                self.instances.pop(inst.instance_id, None)

    def idle_minutes(self, inst: Instance, now: float) -> int:
        """The current idle streak in whole minutes (0 without a culler or unless Running)."""
        if inst.culler is None or inst.status != "Running" or inst.running_since is None:
            return 0
        _, streak = culling.scan(self.usage, inst.instance_id, inst.culler, gpu=inst.is_gpu,
                                 since=inst.running_since, horizon=now)
        return int((now - streak) // 60) if streak is not None else 0

    def describe(self, inst: Instance, now: float) -> dict[str, Any]:
        return inst.describe(now, region=self.region, account_id=self.account_id,
                             idle_minutes=self.idle_minutes(inst, now))

    # -- instances ---------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> Instance:
        now = self.clock.now()
        with self.lock:
            inst = self.instances.get(instance_id)
            if inst is not None:
                self.catch_up(inst, now)
            if inst is None or inst.gone:
                raise instance_not_found(instance_id)
            return inst

    def create_instance(self, body: dict[str, Any]) -> Instance:
        """CreateInstance: validate like DSW does, then start the create path (never Running at once)."""
        if not isinstance(body, dict):
            raise validation("The request body must be a JSON object.")
        name = body.get("InstanceName")
        if not isinstance(name, str) or not _NAME.match(name):
            raise validation(f"InstanceName is invalid: {name!r}. Use 1-27 letters, digits or underscores.")
        if not body.get("EcsSpec") and not (body.get("ResourceId") and body.get("RequestedResource")):
            raise validation("EcsSpec is required (or ResourceId with RequestedResource for a dedicated resource group).")
        if not body.get("ImageUrl") and not body.get("ImageId"):
            raise validation("ImageUrl or ImageId is required.")
        check_priority(body.get("Priority"))
        labels = labels_of(body.get("Labels"), "Labels")
        tags = key_values(body.get("Tag"), "Tag")
        now = self.clock.now()
        spec = {k: v for k, v in body.items() if k not in ("InstanceName", "Labels", "Tag")}
        inst = Instance(instance_id=_new_id("dsw-"), name=name, created_at=now, spec=spec, labels=labels, tags=tags,
                        pod_id=f"{_new_id('dsw-', 6)}-{_new_id('', 10)}-{_new_id('', 5)}", modified_at=now)
        inst.schedule(CREATE_PATH, at=now)
        with self.lock:
            self.instances[inst.instance_id] = inst
            self.catch_up(inst, now)
        return inst

    def list_instances(self, query: dict[str, Any]) -> tuple[list[Instance], int]:
        now = self.clock.now()
        with self.lock:
            for inst in list(self.instances.values()):
                self.catch_up(inst, now)
            return select_instances(list(self.instances.values()), query)

    def update_instance(self, instance_id: str, body: dict[str, Any]) -> Instance:
        """UpdateInstance: name, priority, … any time; the spec/image/datasets only while stopped."""
        if not isinstance(body, dict):
            raise validation("The request body must be a JSON object.")
        with self.lock:
            inst = self.get_instance(instance_id)
            if inst.status in ("Deleting", "Stopping", "Saving"):
                raise invalid_status(instance_id, inst.status, "UpdateInstance", (*STOPPED, *STOPPABLE))
            changes = [f for f in SPEC_FIELDS if f in body and body[f] != inst.spec.get(f)]
            changes += [f for f, on in ((k, body.get(k)) for k in DISASSOCIATE) if on]
            if changes and inst.status not in STOPPED:
                raise validation(f"Stop the instance {instance_id} ({inst.status}) before changing {', '.join(changes)}.")
            if "InstanceName" in body:
                name = body["InstanceName"]
                if not isinstance(name, str) or not _NAME.match(name):
                    raise validation(f"InstanceName is invalid: {name!r}. Use 1-27 letters, digits or underscores.")
                inst.name = name
            check_priority(body.get("Priority"))
            for field in (*SPEC_FIELDS, *SIMPLE_FIELDS):
                if field in body:
                    inst.spec[field] = body[field]
            for flag, field in DISASSOCIATE.items():
                if body.get(flag):
                    inst.spec.pop(field, None)
            now = self.clock.now()
            inst.modified_at = now
            if body.get("StartInstance") and inst.status in STOPPED:
                inst.schedule(START_PATH, at=now)
                self.catch_up(inst, now)
            return inst

    def start_instance(self, instance_id: str) -> Instance:
        with self.lock:
            inst = self.get_instance(instance_id)
            if inst.status not in STOPPED:
                raise invalid_status(instance_id, inst.status, "StartInstance", STOPPED)
            now = self.clock.now()
            inst.schedule(START_PATH, at=now)
            self.catch_up(inst, now)
            return inst

    def stop_instance(self, instance_id: str, *, save_image: bool = False) -> Instance:
        with self.lock:
            inst = self.get_instance(instance_id)
            if inst.status not in STOPPABLE:
                raise invalid_status(instance_id, inst.status, "StopInstance", STOPPABLE)
            self._stop(inst, save_image=save_image)
            return inst

    def _stop(self, inst: Instance, *, save_image: bool) -> None:
        now = self.clock.now()
        if save_image:
            image_url = f"dsw-registry-vpc.{self.region}.cr.aliyuncs.com/pai-dsw/{inst.instance_id}:{int(now)}"
            inst.snapshots.append({
                "ImageId": _new_id("image-", 16), "ImageName": image_url.rsplit("/", 1)[-1], "ImageUrl": image_url,
                "RepositoryUrl": image_url.split(":")[0], "Status": "Committing", "ReasonCode": "",
                "ReasonMessage": "", "GmtCreateTime": iso(now), "GmtModifiedTime": iso(now),
            })
        inst.schedule(SAVE_PATH if save_image else STOP_PATH, at=now)
        self.catch_up(inst, now)

    def stop_instances(self, instance_ids: Any) -> list[str]:
        """StopInstances: every id must exist; the stoppable ones are stopped and returned [A]."""
        ids = id_list(instance_ids)
        with self.lock:
            instances = [self.get_instance(i) for i in ids]
            stopped = []
            for inst in instances:
                if inst.status in STOPPABLE:
                    self._stop(inst, save_image=False)
                    stopped.append(inst.instance_id)
            return stopped

    def delete_instance(self, instance_id: str) -> Instance:
        with self.lock:
            inst = self.get_instance(instance_id)
            if inst.status == "Deleting":
                raise invalid_status(instance_id, inst.status, "DeleteInstance", ("any status but Deleting",))
            now = self.clock.now()
            inst.schedule(DELETE_PATH, at=now)
            inst.apply_due(now)
            return inst

    # -- labels --------------------------------------------------------------------------------
    def update_labels(self, instance_id: str, labels: Any) -> Instance:
        new = labels_of(labels, "Labels")
        if not new:
            raise validation("Labels is required.")
        with self.lock:
            inst = self.get_instance(instance_id)
            inst.labels.update(new)
            inst.modified_at = self.clock.now()
            return inst

    def delete_labels(self, instance_id: str, label_keys: Any) -> Instance:
        keys = [k.strip() for k in str(label_keys or "").split(",") if k.strip()]
        if not keys:
            raise validation("LabelKeys is required: label keys separated by commas.")
        with self.lock:
            inst = self.get_instance(instance_id)
            for key in keys:
                inst.labels.pop(key, None)
            inst.modified_at = self.clock.now()
            return inst

    # -- idle culler and shutdown timer -------------------------------------------------------
    def create_culler(self, instance_id: str, body: dict[str, Any]) -> Instance:
        """CreateIdleInstanceCuller: thresholds 1-100 %, MaxIdleTimeInMinutes >= 1; replaces an existing one."""
        body = body if isinstance(body, dict) else {}
        cpu = int_in(body.get("CpuPercentThreshold"), "CpuPercentThreshold", 1, 100, DEFAULT_CPU_THRESHOLD)
        gpu = int_in(body.get("GpuPercentThreshold"), "GpuPercentThreshold", 1, 100, DEFAULT_GPU_THRESHOLD)
        if body.get("MaxIdleTimeInMinutes") is None:
            raise validation("MaxIdleTimeInMinutes is required.")
        limit = int_in(body.get("MaxIdleTimeInMinutes"), "MaxIdleTimeInMinutes", 1, 100_000, None)
        with self.lock:
            inst = self.get_instance(instance_id)
            inst.culler = {"CpuPercentThreshold": cpu, "GpuPercentThreshold": gpu, "MaxIdleTimeInMinutes": limit,
                           "created_at": self.clock.now()}
            return inst

    def culler_of(self, instance_id: str) -> tuple[Instance, dict[str, Any]]:
        with self.lock:
            inst = self.get_instance(instance_id)
            body = inst.culler_body(self.idle_minutes(inst, self.clock.now()))
            if body is None:
                raise culler_not_found(instance_id)
            return inst, body

    def delete_culler(self, instance_id: str) -> Instance:
        with self.lock:
            inst = self.get_instance(instance_id)
            if inst.culler is None:
                raise culler_not_found(instance_id)
            inst.culler = None
            return inst

    def create_timer(self, instance_id: str, body: dict[str, Any]) -> Instance:
        """CreateInstanceShutdownTimer: ``DueTime`` (ISO-8601 UTC) or ``RemainingTimeInMs``, in the future."""
        body = body if isinstance(body, dict) else {}
        now = self.clock.now()
        if body.get("DueTime"):
            due = parse_iso(body["DueTime"], "DueTime")
        elif body.get("RemainingTimeInMs") is not None:
            due = now + int_in(body["RemainingTimeInMs"], "RemainingTimeInMs", 1, 10**12, None) / 1000.0
        else:
            raise validation("DueTime or RemainingTimeInMs is required.")
        if due <= now:
            raise validation(f"DueTime {iso(due)} is not in the future (now {iso(now)}).")
        with self.lock:
            inst = self.get_instance(instance_id)
            created = inst.timer["created_at"] if inst.timer else now
            inst.timer = {"due": due, "created_at": created, "modified_at": now}
            return inst

    def timer_of(self, instance_id: str) -> tuple[Instance, dict[str, Any]]:
        with self.lock:
            inst = self.get_instance(instance_id)
            body = inst.timer_body(self.clock.now())
            if body is None:
                raise timer_not_found(instance_id)
            return inst, body

    def delete_timer(self, instance_id: str) -> Instance:
        with self.lock:
            inst = self.get_instance(instance_id)
            if inst.timer is None:
                raise timer_not_found(instance_id)
            inst.timer = None
            return inst

    # -- metrics -------------------------------------------------------------------------------
    def instance_metrics(self, instance_id: str, query: dict[str, Any]) -> tuple[Instance, list[tuple[int, float]]]:
        """GetInstanceMetrics from the usage timeline. Default range: the last hour [A]; no
        ``TimeStep``: the raw samples."""
        metric = query.get("MetricType")
        if not metric:
            raise validation("MetricType is required.")
        if metric not in METRIC_TYPES:
            raise validation(f"MetricType is invalid: {metric!r}. Expected one of {', '.join(METRIC_TYPES)}.")
        now = self.clock.now()
        end = parse_iso(query["EndTime"], "EndTime") if query.get("EndTime") else now
        start = parse_iso(query["StartTime"], "StartTime") if query.get("StartTime") else end - 3600
        if start > end:
            raise validation(f"StartTime {iso(start)} is after EndTime {iso(end)}.")
        step = parse_step(query["TimeStep"]) if query.get("TimeStep") else None
        inst = self.get_instance(instance_id)
        return inst, self.usage.query(instance_id, metric, start=start, end=end, step=step)

    def state(self) -> dict[str, Any]:
        now = self.clock.now()
        with self.lock:
            for inst in list(self.instances.values()):
                self.catch_up(inst, now)
            return {"instances": [self.describe(inst, now) for inst in self.instances.values()]}

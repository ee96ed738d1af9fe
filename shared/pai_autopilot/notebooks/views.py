"""What the governor sees of a DSW instance, parsed from the API's answers (pure).

* :class:`InstanceView` — one ListInstances ``Instances[]`` item (``to_map()`` form, wire keys).
  Its ``idle_minutes`` comes from ``IdleInstanceCuller.IdleTimeInMinutes`` **only** when that
  culler measures with the policy's thresholds (otherwise it is ``None`` and the governor reads
  GetInstanceMetrics instead).
* :func:`idle_streak_minutes` — the current idle streak from GetInstanceMetrics samples, with the
  culler's rule: idle when CPU < ``cpu_percent`` **and** (GPU instances) GPU < ``gpu_percent``; a
  series is a step function; no sample → not idle (unknown counts as busy).
* ``running_since`` is ``GmtModifiedTime`` of a Running instance **[A]**: DSW updates it on status
  changes (localcloud does; a label update also touches it, which only makes the estimate later).

Example
-------
>>> item = {"InstanceId": "dsw-1", "InstanceName": "nb", "Status": "Running", "EcsSpec": "ecs.gn7i-c8g1.2xlarge",
...         "AcceleratorType": "GPU", "UserName": "alice", "Labels": [{"Key": "team", "Value": "cv"}],
...         "GmtModifiedTime": "2027-01-15T08:00:00Z", "RequestedResource": {"GPU": "1"},
...         "IdleInstanceCuller": {"CpuPercentThreshold": 20, "GpuPercentThreshold": 10,
...                                "MaxIdleTimeInMinutes": 105, "IdleTimeInMinutes": 42}}
>>> view = InstanceView.from_item(item, cpu_percent=20, gpu_percent=10)
>>> view.idle_minutes, view.labels, view.owner, view.gpus, view.running_since
(42, {'team': 'cv'}, 'alice', 1, 1800000000.0)
>>> InstanceView.from_item(item, cpu_percent=30, gpu_percent=10).idle_minutes is None
True
>>> idle_streak_minutes([(0, 50.0), (600, 1.0)], [(0, 2.0)], cpu_percent=20, gpu_percent=10, gpu=True, now=3600)
50
"""

from __future__ import annotations

import calendar
import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

CULLER_FIELDS = ("CpuPercentThreshold", "GpuPercentThreshold", "MaxIdleTimeInMinutes")


def epoch(value: Any) -> float | None:
    """``2027-01-15T08:00:00Z`` → epoch seconds (``None`` when absent or unparseable)."""
    if not value:
        return None
    try:
        return float(calendar.timegm(time.strptime(str(value).replace("Z", "").split(".")[0], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def iso(ts: float) -> str:
    """Epoch seconds → ``2027-01-15T08:00:00Z``.

    Example
    -------
    >>> iso(1_800_000_000)
    '2027-01-15T08:00:00Z'
    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _gpus(item: Mapping[str, Any]) -> int:
    raw = (item.get("RequestedResource") or {}).get("GPU")
    try:
        return max(int(float(raw or 0)), 0)
    except (TypeError, ValueError):
        return 0


@dataclasses.dataclass(frozen=True)
class InstanceView:
    """A running instance as the governor decides on it."""

    instance_id: str
    name: str
    status: str
    ecs_spec: str
    gpu: bool
    gpus: int
    owner: str
    labels: dict[str, str]
    culler: dict[str, int] | None  # its current IdleInstanceCuller settings (CULLER_FIELDS), or None
    idle_minutes: int | None  # the current idle streak by the policy's thresholds; None = unknown
    running_since: float | None

    @classmethod
    def from_item(cls, item: Mapping[str, Any], *, cpu_percent: int, gpu_percent: int) -> InstanceView:
        """Parse one ListInstances/GetInstance body (wire keys)."""
        raw_culler = item.get("IdleInstanceCuller") or None
        culler = None
        idle: int | None = None
        if raw_culler and raw_culler.get("MaxIdleTimeInMinutes") is not None:
            culler = {k: int(raw_culler.get(k) or 0) for k in CULLER_FIELDS}
            same_rule = culler["CpuPercentThreshold"] == cpu_percent and culler["GpuPercentThreshold"] == gpu_percent
            if same_rule and raw_culler.get("IdleTimeInMinutes") is not None:
                idle = int(raw_culler["IdleTimeInMinutes"])
        status = str(item.get("Status") or "")
        return cls(
            instance_id=str(item["InstanceId"]),
            name=str(item.get("InstanceName") or ""),
            status=status,
            ecs_spec=str(item.get("EcsSpec") or ""),
            gpu=str(item.get("AcceleratorType") or "").upper() == "GPU",
            gpus=_gpus(item),
            owner=str(item.get("UserName") or item.get("UserId") or "unknown"),
            labels={str(lb.get("Key")): str(lb.get("Value") or "") for lb in item.get("Labels") or [] if lb and lb.get("Key")},
            culler=culler,
            idle_minutes=idle,
            running_since=epoch(item.get("GmtModifiedTime")) if status == "Running" else None,
        )

    @classmethod
    def from_facts(cls, instance_id: str, facts: Mapping[str, Any]) -> InstanceView:
        """An instance no longer listed, as its ledger record remembers it (:meth:`facts`), e.g. for the
        stop notice of an instance found stopped.

        Example
        -------
        >>> InstanceView.from_facts("dsw-1", {"name": "nb", "owner": "alice", "gpus": 1}).owner
        'alice'
        """
        return cls(instance_id=instance_id, name=str(facts.get("name") or ""), status="", ecs_spec=str(facts.get("ecs_spec") or ""),
                   gpu=bool(facts.get("gpus")), gpus=int(facts.get("gpus") or 0), owner=str(facts.get("owner") or "unknown"),
                   labels={}, culler=None, idle_minutes=None, running_since=facts.get("running_since"))

    def with_idle(self, minutes: int | None) -> InstanceView:
        return dataclasses.replace(self, idle_minutes=minutes)

    def facts(self) -> dict[str, Any]:
        """What a ledger record keeps of the instance (for the savings report)."""
        return {"name": self.name, "owner": self.owner, "ecs_spec": self.ecs_spec, "gpus": self.gpus,
                "running_since": self.running_since}


def _value_at(points: Sequence[tuple[float, float]], at: float) -> float | None:
    value = None
    for t, v in points:
        if t > at:
            break
        value = v
    return value


def idle_streak_minutes(
    cpu: Sequence[tuple[float, float]], gpu_points: Sequence[tuple[float, float]], *, cpu_percent: int,
    gpu_percent: int, gpu: bool, now: float,
) -> int | None:
    """Whole minutes of the idle streak ending at ``now`` (0 when busy now; None without samples).

    ``cpu``/``gpu_points`` are ``(unix seconds, percent)`` samples, oldest first (GetInstanceMetrics).
    A streak reaching back to the first sample counts from that sample.
    """
    cpu = sorted(cpu)
    gpu_points = sorted(gpu_points)
    if not cpu or (gpu and not gpu_points):
        return None
    marks = sorted({t for t, _ in cpu} | ({t for t, _ in gpu_points} if gpu else set()))
    start: float | None = None
    for mark in marks:
        c = _value_at(cpu, mark)
        g = _value_at(gpu_points, mark) if gpu else 0.0
        idle = c is not None and c < cpu_percent and (not gpu or (g is not None and g < gpu_percent))
        if not idle:
            start = None
        elif start is None:
            start = mark
    return int((now - start) // 60) if start is not None else 0

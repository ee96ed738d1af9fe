"""The native idle culler: when is an instance idle, for how long, and when does it get stopped.

Semantics (the rule **[C]** from the DSW docs; the details **[A]** localcloud's):

* At a moment ``t`` the instance is *idle* when its ``CpuCoreUsage`` is below
  ``CpuPercentThreshold`` **and**, on a GPU instance, its ``GpuCoreUsage`` is below
  ``GpuPercentThreshold`` — reading each metric's usage timeline as a step function (the newest
  sample at or before ``t``).
* **No sample yet → not idle**: an instance nobody reported usage for counts as busy, so it is
  never culled by accident; a GPU instance needs GPU samples too.
* The idle streak is measured from ``max(running since, culler created)``: idle time before the
  instance (re)started or before the culler existed does not count. A busy sample ends the streak.
* ``IdleTimeInMinutes`` = the current streak in whole minutes (0 unless ``Running``).
* The culler stops the instance at the moment its streak **exceeds** ``MaxIdleTimeInMinutes``
  (``streak start + limit``, even when the clock jumped past it), with ``ReasonCode``
  ``IdleInstanceCuller``. The culler stays configured (it acts again after a restart).

Example
-------
>>> from localcloud.core.metrics import Timeline
>>> from localcloud.dsw.usage import UsageTimeline
>>> usage = UsageTimeline(Timeline())
>>> culler = {"CpuPercentThreshold": 20, "GpuPercentThreshold": 5, "MaxIdleTimeInMinutes": 60, "created_at": 0.0}
>>> _ = usage.seed("dsw-1", "CpuCoreUsage", value=1.0, duration=0, start=0)
>>> _ = usage.seed("dsw-1", "GpuCoreUsage", points=[[0, 2.0], [600, 50.0], [1200, 1.0]], start=0)
>>> scan(usage, "dsw-1", culler, gpu=True, since=0.0, horizon=1800.0)
(None, 1200.0)
>>> scan(usage, "dsw-1", culler, gpu=True, since=0.0, horizon=6000.0)
(4800.0, 1200.0)
"""

from __future__ import annotations

from typing import Any

from .usage import UsageTimeline

REASON_CODE = "IdleInstanceCuller"
CPU, GPU = "CpuCoreUsage", "GpuCoreUsage"


def is_idle(usage: UsageTimeline, instance_id: str, culler: dict[str, Any], *, gpu: bool, at: float) -> bool:
    """Whether the instance is idle at ``at`` by the culler's thresholds."""
    cpu = usage.value_at(instance_id, CPU, at)
    if cpu is None or cpu >= culler["CpuPercentThreshold"]:
        return False
    if not gpu:
        return True
    gpu_value = usage.value_at(instance_id, GPU, at)
    return gpu_value is not None and gpu_value < culler["GpuPercentThreshold"]


def scan(
    usage: UsageTimeline, instance_id: str, culler: dict[str, Any], *, gpu: bool, since: float, horizon: float
) -> tuple[float | None, float | None]:
    """Walk the usage from ``max(since, culler created)`` to ``horizon``.

    Returns ``(cull_at, streak_start)``: the first moment the idle streak exceeded the limit (or
    ``None``), and the start of the idle streak at the end of the walk (or ``None`` if not idle).
    """
    base = max(since, culler["created_at"])
    if horizon < base:
        return None, None
    limit = culler["MaxIdleTimeInMinutes"] * 60.0
    marks = [base, *usage.change_times(instance_id, (CPU, GPU) if gpu else (CPU,), start=base, end=horizon)]
    streak: float | None = None
    for i, mark in enumerate(marks):
        segment_end = marks[i + 1] if i + 1 < len(marks) else horizon
        if is_idle(usage, instance_id, culler, gpu=gpu, at=mark):
            streak = mark if streak is None else streak
            if streak + limit < segment_end:
                return streak + limit, streak
        else:
            streak = None
    return None, streak


def reason_message(culler: dict[str, Any], *, gpu: bool) -> str:
    gpu_part = f" and GPU < {culler['GpuPercentThreshold']}%" if gpu else ""
    return (
        f"Stopped by the idle instance culler: CPU < {culler['CpuPercentThreshold']}%{gpu_part} "
        f"for more than {culler['MaxIdleTimeInMinutes']} minutes."
    )

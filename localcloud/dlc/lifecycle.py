"""When a DLC job changes status, on localcloud's clock.

Path: ``Creating → Queuing → (Bidding, spot jobs only) → EnvPreparing → Running → Succeeded /
Failed / Stopped``; StopJob passes through ``Stopping``. Each phase before ``Running`` lasts its
``phase_seconds`` setting plus any ``delay`` rule; a ``hang`` rule on a phase keeps the job there.
``Running`` belongs to the job's runner: :mod:`.runner` (simulated, on the clock) or
:mod:`.executor` (a local process). ``Stopping`` lasts ``stopping_seconds`` (exec: until the
process is gone). A job is advanced lazily, with each change stamped at the time it was due.

Example
-------
>>> from .jobs import Job
>>> from .ossio import OssIO
>>> from .rules import FaultRule, RuleSet
>>> from .settings import RunnerSettings
>>> settings, rules = RunnerSettings(), RuleSet()
>>> life = Lifecycle(settings=settings, rules=rules, io=OssIO(None), executor=None)
>>> body = {"DisplayName": "a", "JobType": "PyTorchJob", "UserCommand": "x",
...         "JobSpecs": [{"Type": "Worker", "Image": "i", "UseSpotInstance": True}]}
>>> job = Job.new("dlc1", body, plan=settings.plan({}), now=0.0)
>>> _ = rules.add(FaultRule(kind="preempt", job_id="dlc1", at_step=5))
>>> life.advance(job, 100.0)
>>> [h["Status"] for h in job.history], job.reason_code, job.history[-1]["StartTime"]
(['Creating', 'Queuing', 'Bidding', 'EnvPreparing', 'Running', 'Failed'], 'JobPreempted', '1970-01-01T00:00:15Z')
"""

from __future__ import annotations

from typing import Any

from . import assumed
from .jobs import Job
from .ossio import OssIO
from .rules import RuleSet, end_time, outcome
from .runner import SimulatedRunner
from .settings import RunnerSettings


class Lifecycle:
    def __init__(self, *, settings: RunnerSettings, rules: RuleSet, io: OssIO, executor: Any) -> None:
        self.settings = settings
        self.rules = rules
        self.executor = executor
        self.runner = SimulatedRunner(io=io, rules=rules, settings=settings)

    def phase_seconds(self, job: Job, phase: str) -> float | None:
        """How long ``phase`` lasts for ``job`` (``None``: forever, a hang rule holds it)."""
        seconds = float(self.settings.phase_seconds.get(phase, 0.0))
        for rule in self.rules.for_job(job.job_id, job.display_name):
            if rule.phase != phase:
                continue
            if rule.kind == "hang":
                return None
            if rule.kind == "delay":
                seconds += float(rule.seconds or 0)
        return seconds

    @staticmethod
    def next_phase(job: Job, phase: str) -> str:
        if phase == "Creating":
            return "Queuing"
        if phase == "Queuing":
            return "Bidding" if job.spot else "EnvPreparing"
        if phase == "Bidding":
            return "EnvPreparing"
        return "Running"

    def advance(self, job: Job, now: float) -> None:
        """Bring ``job`` up to ``now``."""
        while not job.finished:
            status = job.status
            if status == "Stopping":
                if self.executor is not None and self.executor.active(job.job_id):
                    return  # the exec run reports the end when its processes are gone
                end = job.phase_started + self.settings.stopping_seconds
                if now >= end:
                    job.finish("Stopped", end, assumed.STOP_REASON_CODE, assumed.STOP_REASON_MESSAGE)
                return
            if status == "Running":
                if job.plan.runner == "exec":
                    self._watch_exec(job, now)
                else:
                    self.runner.advance(job, now)
                return
            seconds = self.phase_seconds(job, status)
            if seconds is None or now < job.phase_started + seconds:
                return
            at = job.phase_started + seconds
            following = self.next_phase(job, status)
            job.enter(following, at)
            if following == "Running":
                self._start(job, at)

    def stop(self, job: Job, now: float) -> None:
        """StopJob: ``Stopping`` now (an in-flight checkpoint never gets its marker)."""
        if job.progress is not None:
            job.progress.pending.clear()
        job.log(now, "stop requested")
        job.enter("Stopping", now, assumed.STOP_REASON_CODE, assumed.STOP_REASON_MESSAGE)
        if job.plan.runner == "exec" and self.executor is not None:
            self.executor.kill(job.job_id, ("Stopped", assumed.STOP_REASON_CODE, assumed.STOP_REASON_MESSAGE, False))

    def _start(self, job: Job, at: float) -> None:
        if job.plan.runner == "exec" and self.executor is not None:
            job.log(at, "[localcloud] exec runner: starting UserCommand")
            self.executor.start(job)
        else:
            self.runner.start(job, at)

    def _watch_exec(self, job: Job, now: float) -> None:
        """Time-based fault rules and ``JobMaxRunningTimeMinutes`` end an exec job's processes."""
        run_start = job.entered("Running") or now
        for rule in self.rules.for_job(job.job_id, job.display_name):
            if rule.kind not in ("preempt", "fail") or rule.id in job.fired:
                continue
            at = end_time(rule, run_start)
            if at is not None and at <= now:
                job.fired.add(rule.id)
                self.executor.kill(job.job_id, outcome(rule, self.settings))
                return
        if job.max_running_minutes and now >= run_start + 60 * float(job.max_running_minutes):
            self.executor.kill(job.job_id, (assumed.TIMEOUT_STATUS, assumed.TIMEOUT_REASON_CODE,
                                            assumed.TIMEOUT_REASON_MESSAGE, False))

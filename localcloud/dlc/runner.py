"""The simulated runner: a ``Running`` job makes progress in steps on localcloud's clock and has an
effect on OSS, like a training script that checkpoints.

* step ``s`` is reached ``(s - start) / steps_per_second`` clock seconds after the job starts running;
* every ``checkpoint_every`` steps it writes ``<AUTOPILOT_CHECKPOINT_URI>step-<s>/model.pt`` and,
  ``checkpoint_seconds`` later, the marker ``step-<s>/_COMPLETE`` (written LAST: a job that ends in
  between leaves a half-written step with files but no marker);
* after the last step (and its marker) it writes ``model.pt`` and ``metrics.json`` under
  ``AUTOPILOT_OUTPUT_URI``, then ``_SUCCESS``, and the job is ``Succeeded``; ``metrics.json`` is
  ``{"metrics": {"loss", "accuracy", …}, "job_id", "step", "resumed_from_step"}``, the values
  overridden by ``LOCALCLOUD_METRICS`` and by ``metrics`` fault rules (:mod:`.rules`);
* ``AUTOPILOT_RESUME_FROM`` naming ``…/step-<n>/`` starts it at step ``n``; the checkpoint must be
  complete (``model.pt`` and ``_COMPLETE``) or the job fails, like a script that cannot load it;
* fault rules (:mod:`.rules`) preempt it, fail it or stop its progress; an OSS write that fails
  fails the job (``JobFailed``).

Events are applied in time order, each at the time it happened, however late the job is advanced.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import assumed
from .jobs import Job, Progress
from .ossio import OssIO, parse_uri
from .rules import FaultRule, RuleSet, end_time, outcome
from .settings import RunnerSettings

_STEP = re.compile(r"step-(\d+)/?$")


def loss_at(step: int) -> float:
    return round(2.5 / (1 + step / 10), 4)


def accuracy_at(step: int) -> float:
    return round(1 - 0.5 / (1 + step / 20), 4)


class SimulatedRunner:
    def __init__(self, *, io: OssIO, rules: RuleSet, settings: RunnerSettings) -> None:
        self.io = io
        self.rules = rules
        self.settings = settings

    # -- start -------------------------------------------------------------------------------
    def start(self, job: Job, at: float) -> None:
        """The job entered ``Running`` at ``at``: find where it starts from."""
        plan = job.plan
        start = 0
        resume = job.envs.get("AUTOPILOT_RESUME_FROM", "")
        if resume:
            problem = self._resume_problem(resume)
            if problem is not None:
                job.log(at, f"ERROR cannot resume: {problem}")
                job.finish("Failed", at, assumed.FAIL_REASON_CODE, f"cannot resume from {resume}: {problem}")
                return
            start = int(_STEP.search(resume).group(1))  # type: ignore[union-attr]
            job.log(at, f"resuming from {resume} (step {start})")
        job.progress = Progress(start_step=start, step=start, step_time=at, cursor=at)
        job.log(at, f"training: steps {start}->{plan.total_steps}, {plan.steps_per_second:g} steps/s, "
                    f"checkpoint every {plan.checkpoint_every or 'never'}")

    def _resume_problem(self, uri: str) -> str | None:
        if not _STEP.search(uri):
            return "it does not name a step-<n>/ checkpoint"
        try:
            bucket, prefix = parse_uri(uri)
        except ValueError as exc:
            return str(exc)
        if not self.io.exists(bucket, prefix + "model.pt"):
            return f"no {prefix}model.pt in bucket {bucket}"
        if not self.io.exists(bucket, prefix + "_COMPLETE"):
            return f"the checkpoint is incomplete (no {prefix}_COMPLETE)"
        return None

    # -- progress ----------------------------------------------------------------------------
    def advance(self, job: Job, now: float) -> None:
        """Apply everything that happens to the running job up to ``now``, in time order."""
        while job.status == "Running" and job.progress is not None:
            upcoming = self._next(job)
            if upcoming is None or upcoming[0] > now:
                return
            at, _, what, arg = upcoming
            job.progress.cursor = at
            if what == "step":
                self._reach(job, arg, at)
            elif what == "marker":
                self._mark(job, arg, at)
            elif what == "fault":
                self._end(job, arg, at)
            elif what == "timeout":
                job.log(at, f"{assumed.TIMEOUT_REASON_CODE}: {assumed.TIMEOUT_REASON_MESSAGE}")
                job.finish(assumed.TIMEOUT_STATUS, at, assumed.TIMEOUT_REASON_CODE, assumed.TIMEOUT_REASON_MESSAGE)
            else:
                self._succeed(job, at)

    def _next(self, job: Job) -> tuple[float, int, str, Any] | None:
        p, plan = job.progress, job.plan
        assert p is not None
        rules = self.rules.for_job(job.job_id, job.display_name)
        ends = [r for r in rules if r.kind in ("preempt", "fail") and r.id not in job.fired]
        hangs = [r.at_step or 0 for r in rules if r.kind == "hang" and r.phase == "Running"]
        hang_at = min(hangs) if hangs else None
        items: list[tuple[float, int, str, Any]] = []
        if p.step < plan.total_steps and (hang_at is None or p.step < hang_at):
            targets = [plan.total_steps]
            if plan.checkpoint_every:
                targets.append((p.step // plan.checkpoint_every + 1) * plan.checkpoint_every)
            if hang_at is not None:
                targets.append(hang_at)
            targets += [r.at_step for r in ends if r.at_step is not None and r.at_step > p.step]
            target = min(targets)
            items.append((p.step_time + (target - p.step) / plan.steps_per_second, 0, "step", target))
        items += [(at, 1, "marker", step) for at, step in p.pending]
        run_start = job.entered("Running") or p.cursor
        for rule in ends:
            at = end_time(rule, run_start)
            if at is not None:
                items.append((max(at, p.cursor), 2, "fault", rule))
        if job.max_running_minutes:
            items.append((max(run_start + 60 * float(job.max_running_minutes), p.cursor), 3, "timeout", None))
        if p.step >= plan.total_steps and not p.pending:
            items.append((p.cursor, 4, "success", None))
        return min(items, key=lambda item: (item[0], item[1])) if items else None

    def _reach(self, job: Job, step: int, at: float) -> None:
        p, plan = job.progress, job.plan
        assert p is not None
        p.step, p.step_time = step, at
        job.log(at, f"step {step}/{plan.total_steps} loss={loss_at(step)}")
        uri = job.envs.get("AUTOPILOT_CHECKPOINT_URI", "")
        if plan.checkpoint_every and step % plan.checkpoint_every == 0 and uri:
            body = json.dumps({"job_id": job.job_id, "step": step, "loss": loss_at(step)}).encode()
            if not self._write(job, at, uri, f"step-{step}/model.pt", body):
                return
            p.pending.append((at + plan.checkpoint_seconds, step))
        for rule in self.rules.for_job(job.job_id, job.display_name):
            if rule.kind in ("preempt", "fail") and rule.at_step == step and rule.id not in job.fired:
                self._end(job, rule, at)
                return

    def _mark(self, job: Job, step: int, at: float) -> None:
        p = job.progress
        assert p is not None
        p.pending = [(t, s) for t, s in p.pending if s != step]
        uri = job.envs.get("AUTOPILOT_CHECKPOINT_URI", "")
        if self._write(job, at, uri, f"step-{step}/_COMPLETE", b""):
            p.completed.append(step)
            job.log(at, f"checkpoint step-{step} complete at {uri}step-{step}/")

    def _end(self, job: Job, rule: FaultRule, at: float) -> None:
        job.fired.add(rule.id)
        status, code, message, evicted = outcome(rule, self.settings)
        step = job.progress.step if job.progress else 0
        job.log(at, f"{'preempted' if evicted else 'failed'} at step {step}: {code}: {message}")
        if evicted:
            job.event(at, "Preempted", f"job {job.job_id}: {message}", kind="Warning")
        job.finish(status, at, code, message, evicted=evicted)

    def _succeed(self, job: Job, at: float) -> None:
        p, plan = job.progress, job.plan
        assert p is not None
        uri = job.envs.get("AUTOPILOT_OUTPUT_URI", "")
        if uri:
            step = plan.total_steps
            values: dict[str, Any] = {"loss": loss_at(step), "accuracy": accuracy_at(step), **plan.metrics}
            for rule in self.rules.for_job(job.job_id, job.display_name, kind="metrics"):
                values.update(rule.metrics or {})
            metrics = {"metrics": values, "job_id": job.job_id, "step": step, "resumed_from_step": p.start_step}
            model = json.dumps({"job_id": job.job_id, "step": step, "kind": "localcloud-simulated-model"}).encode()
            for name, data in (("model.pt", model), ("metrics.json", json.dumps(metrics).encode()), ("_SUCCESS", b"")):
                if not self._write(job, at, uri, name, data):
                    return
            job.log(at, f"model written to {uri}")
        job.log(at, "training finished")
        job.finish("Succeeded", at, assumed.SUCCESS_REASON_CODE, assumed.SUCCESS_REASON_MESSAGE)

    def _write(self, job: Job, at: float, uri: str, name: str, data: bytes) -> bool:
        """Write ``name`` under ``uri``; on failure fail the job and return False."""
        try:
            bucket, prefix = parse_uri(uri)
            self.io.put(bucket, prefix + name, data)
        except Exception as exc:
            message = f"writing {uri}{name} failed: {getattr(exc, 'code', type(exc).__name__)}: {getattr(exc, 'message', exc)}"
            job.log(at, f"ERROR {message}")
            job.finish("Failed", at, assumed.FAIL_REASON_CODE, message)
            return False
        return True

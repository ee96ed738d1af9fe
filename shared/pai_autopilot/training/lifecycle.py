"""What to do with a run when DLC reports its job's status (pure; DESIGN.md §4 "Job lifecycle").

Events are hints (at-least-once, out of order): ``job_events`` and the ``reconcile`` timer both
read ``GetJob`` and call :func:`decide_on_job_status` with what the ledger knows of the run
(:class:`RunView`), what DLC says (:class:`JobView`) and the pipeline's :class:`RetryPolicy`.
The :class:`Decision` carries its reason, the DLC status to record and the run's next state;
the caller applies it (ledger append, CreateJob, StopJob, notification).

Statuses are ordered by :data:`STATUS_TABLE` (the one table of rank, terminality and outcome):
a status of lower rank than the recorded one is stale, the same status is a duplicate — both
change nothing. Statuses of equal rank are lateral moves (``Running`` ⇄ ``Restarting``): recorded.

Example
-------
>>> run = RunView(state="running", job_id="dlc1", status="Running", spot=True)
>>> job = JobView(job_id="dlc1", status="Failed", reason_code="JobPreempted")
>>> decide_on_job_status(run, job, RetryPolicy(), now=0.0)
Decision(action='resubmit', reason='job dlc1 preempted (JobPreempted; preemption 1 of budget 2): resume on spot', status='Failed', next_state='submitted', spot=True, preempted=True)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from ..config.models import Training

#: ASSUMED (unconfirmed: DLC publishes no ReasonCode list, reference/alibaba-api.md §1) reason
#: codes of a job ended by a spot preemption. The only place they are written down;
#: localcloud's ``localcloud.dlc.assumed.PREEMPT_REASON_CODE`` is one of them.
ASSUMED_PREEMPT_REASON_CODES: frozenset[str] = frozenset({"JobPreempted", "SpotInstanceReclaimed"})

Outcome = Literal["succeeded", "failed", "stopped"]
Action = Literal["noop", "record", "await_model", "resubmit", "fail", "stop"]


class StatusInfo(NamedTuple):
    rank: int
    terminal: bool
    outcome: Outcome | None


#: Every DLC job status (GetJob docstrings): its rank in the lifecycle, whether it is terminal
#: (confirmed: Succeeded, Failed, Stopped), and the outcome it already tells (the ``…Reserving``
#: statuses keep a finished job's pods for debugging: the outcome is known, the job not over).
STATUS_TABLE: dict[str, StatusInfo] = {
    "Creating": StatusInfo(0, False, None),
    "Queuing": StatusInfo(1, False, None),
    "Bidding": StatusInfo(2, False, None),
    "EnvPreparing": StatusInfo(3, False, None),
    "SanityChecking": StatusInfo(4, False, None),
    "Running": StatusInfo(5, False, None),
    "Restarting": StatusInfo(5, False, None),
    "Stopping": StatusInfo(6, False, None),
    "SucceededReserving": StatusInfo(7, False, "succeeded"),
    "FailedReserving": StatusInfo(7, False, "failed"),
    "Succeeded": StatusInfo(8, True, "succeeded"),
    "Failed": StatusInfo(8, True, "failed"),
    "Stopped": StatusInfo(8, True, "stopped"),
}
TERMINAL_STATUSES = frozenset(s for s, info in STATUS_TABLE.items() if info.terminal)
_BY_LOWER = {s.lower(): s for s in STATUS_TABLE}

#: Run states in which the run's current job is being watched.
#: ``resubmitting``: a resubmission recorded (the compare-and-set that lets one invocation create the
#: next attempt's job), its job not yet recorded; ``advance`` finishes it before deciding anything.
ACTIVE_RUN_STATES = frozenset({"submitted", "running", "stopping", "resubmitting"})


@dataclasses.dataclass(frozen=True)
class RunView:
    """What the ledger knows of a run: its state, its current job and attempt counters."""

    state: str
    job_id: str | None
    #: The last DLC status recorded for ``job_id`` (``None``: none yet).
    status: str | None = None
    attempts: int = 1
    preemptions: int = 0
    spot: bool = False


@dataclasses.dataclass(frozen=True)
class JobView:
    """What ``GetJob`` (or an event, re-read with GetJob) says of a job. Times in epoch seconds."""

    job_id: str
    status: str
    reason_code: str = ""
    reason_message: str = ""
    running_since: float | None = None
    max_running_minutes: int | None = None
    #: A pod's ``SubStatus`` is ``Evicted`` ("such as the preemption status", GetJob docs).
    evicted: bool = False


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How preempted runs are resumed (from ``training.preemption_budget``/``on_demand_fallback``)."""

    preemption_budget: int = 2
    on_demand_fallback: bool = True
    preempt_reason_codes: frozenset[str] = ASSUMED_PREEMPT_REASON_CODES

    @classmethod
    def from_training(cls, training: Training) -> RetryPolicy:
        """The policy of a pipeline's training template.

        >>> import msgspec
        >>> from ..config.models import Training
        >>> t = msgspec.convert({"image": "i", "command": "c", "preemption_budget": 0}, Training)
        >>> RetryPolicy.from_training(t).preemption_budget
        0
        """
        return cls(training.preemption_budget, training.on_demand_fallback)


@dataclasses.dataclass(frozen=True)
class Decision:
    """The verdict: ``action`` and its ``reason``; ``status`` to record; the run's ``next_state``.

    ``spot`` is the next attempt's instance kind (``resubmit`` only); ``preempted`` says the
    run's preemption counter goes up by one.
    """

    action: Action
    reason: str
    status: str | None = None
    next_state: str | None = None
    spot: bool | None = None
    preempted: bool = False


def normalise_status(status: str) -> str | None:
    """DLC's spelling of ``status`` (case-insensitive), or ``None`` if it is not a DLC status.

    >>> normalise_status("RUNNING"), normalise_status("Exploded")
    ('Running', None)
    """
    return _BY_LOWER.get(status.strip().lower())


def decide_on_job_status(run: RunView, job: JobView, policy: RetryPolicy, *, now: float) -> Decision:
    """The one decision for ``run`` given ``job``'s status (see the module docstring).

    Example
    -------
    >>> run = RunView(state="submitted", job_id="dlc1", status="Queuing")
    >>> decide_on_job_status(run, JobView("dlc1", "Running", running_since=0.0), RetryPolicy(), now=60.0).action
    'record'
    >>> decide_on_job_status(run, JobView("dlc1", "Creating"), RetryPolicy(), now=60.0).reason
    'stale status Creating: Queuing is already recorded'
    >>> late = JobView("dlc1", "Running", running_since=0.0, max_running_minutes=1)
    >>> decide_on_job_status(run, late, RetryPolicy(), now=61.0).action
    'stop'
    >>> decide_on_job_status(run, JobView("dlc1", "Succeeded"), RetryPolicy(), now=0.0).action
    'await_model'
    """
    if run.state not in ACTIVE_RUN_STATES:
        what = "its job succeeded, waiting for the model" if run.state == "waiting_for_model" else f"run is {run.state}"
        return Decision("noop", f"{what}: job {job.job_id} {job.status} changes nothing")
    if run.job_id is None:
        return Decision("noop", f"no job is recorded for the run yet: job {job.job_id} {job.status} is ignored")
    if job.job_id != run.job_id:
        return Decision("noop", f"job {job.job_id} is not the run's current job {run.job_id} (an earlier attempt?)")
    status = normalise_status(job.status)
    if status is None:
        return Decision("noop", f"unknown DLC status {job.status!r} of job {job.job_id}: nothing recorded")
    info = STATUS_TABLE[status]
    recorded = normalise_status(run.status) if run.status else None
    if recorded is not None:
        before = STATUS_TABLE[recorded]
        if before.terminal or before.outcome is not None:
            return Decision("noop", f"job {job.job_id} already reported {recorded}: {status} changes nothing")
        if info.rank < before.rank:
            return Decision("noop", f"stale status {status}: {recorded} is already recorded")
    duplicate = status == recorded
    if info.outcome == "succeeded":
        reason = f"job {job.job_id} {status}: waiting for the model marker"
        return Decision("await_model", reason, status, "waiting_for_model")
    if info.outcome is not None:
        return _on_failure(run, job, status, policy)
    if status in ("Running", "Restarting"):
        overdue = _overdue(job, now)
        if overdue is not None:
            if run.state == "stopping":
                return Decision("noop", f"job {job.job_id} is over its time limit; StopJob was already requested")
            return Decision("stop", overdue, None if duplicate else status, "stopping")
    if duplicate:
        return Decision("noop", f"duplicate status {status} of job {job.job_id}: already recorded")
    if run.state == "stopping":
        next_state = "stopping"
    else:
        next_state = "running" if info.rank >= STATUS_TABLE["Running"].rank else "submitted"
    reason = f"job {job.job_id} is {status}" + (f" (was {recorded})" if recorded else "")
    return Decision("record", reason, status, next_state)


def _overdue(job: JobView, now: float) -> str | None:
    if job.running_since is None or not job.max_running_minutes:
        return None
    minutes = (now - job.running_since) / 60
    if minutes <= job.max_running_minutes:
        return None
    return f"job {job.job_id} has run {minutes:.1f} min, over its limit of {job.max_running_minutes} min: stop it"


def _on_failure(run: RunView, job: JobView, status: str, policy: RetryPolicy) -> Decision:
    """A failure outcome: resume a spot preemption within budget (or on-demand), else fail."""
    why = (job.reason_code or "no reason code") + (f": {job.reason_message}" if job.reason_message else "")
    head = f"job {job.job_id} {status}"
    if run.state == "stopping":
        return Decision("fail", f"{head} after StopJob (over its time limit; {why})", status, "failed")
    coded = job.reason_code in policy.preempt_reason_codes
    if not coded and not job.evicted:
        return Decision("fail", f"{head} ({why}): not a preemption, final", status, "failed")
    signal = job.reason_code if coded else "a pod was evicted"
    if not run.spot:
        reason = f"{head} ({why}; {signal}) on on-demand instances: only spot preemptions are resumed"
        return Decision("fail", reason, status, "failed")
    nth, budget = run.preemptions + 1, policy.preemption_budget
    if nth <= budget:
        reason = f"job {job.job_id} preempted ({signal}; preemption {nth} of budget {budget}): resume on spot"
        return Decision("resubmit", reason, status, "submitted", spot=True, preempted=True)
    spent = f"job {job.job_id} preempted ({signal}; preemption {nth}, budget {budget} spent"
    if policy.on_demand_fallback:
        return Decision("resubmit", f"{spent}): resume on on-demand", status, "submitted", spot=False, preempted=True)
    return Decision("fail", f"{spent}, no on-demand fallback): final", status, "failed", preempted=True)

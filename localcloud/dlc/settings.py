"""How DLC jobs behave on localcloud: global defaults (control ``PUT /_localcloud/dlc/settings``) and
per-job overrides through the job's ``Envs`` (``LOCALCLOUD_*``).

=================================  ==========================================================
job ``Envs`` key                   meaning
=================================  ==========================================================
``LOCALCLOUD_RUNNER``              ``simulated`` (default) or ``exec`` (run ``UserCommand``)
``LOCALCLOUD_TOTAL_STEPS``         simulated steps until success (default 100)
``LOCALCLOUD_STEPS_PER_SECOND``    simulated steps per clock second (default 1)
``LOCALCLOUD_CHECKPOINT_EVERY``    a checkpoint every N steps (0: none; default 10)
``LOCALCLOUD_CHECKPOINT_SECONDS``  clock seconds a checkpoint takes to write: its ``_COMPLETE``
                                   marker lands that long after its ``model.pt`` (default 1)
``LOCALCLOUD_METRICS``             a JSON object merged into the model's ``metrics.json`` ``metrics``
=================================  ==========================================================

Example
-------
>>> s = RunnerSettings()
>>> plan = s.plan({"LOCALCLOUD_TOTAL_STEPS": "30", "LOCALCLOUD_CHECKPOINT_EVERY": "5"})
>>> plan.total_steps, plan.checkpoint_every, plan.steps_per_second, plan.runner
(30, 5, 1.0, 'simulated')
>>> s.plan({"LOCALCLOUD_RUNNER": "docker"})
Traceback (most recent call last):
...
ValueError: Envs.LOCALCLOUD_RUNNER must be one of simulated, exec; got 'docker'
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from . import assumed

RUNNERS = ("simulated", "exec")
PRE_RUN_PHASES = ("Creating", "Queuing", "Bidding", "EnvPreparing")
ENV_PREFIX = "LOCALCLOUD_"


@dataclasses.dataclass(frozen=True)
class JobPlan:
    """One job's resolved runner configuration."""

    runner: str
    total_steps: int
    steps_per_second: float
    checkpoint_every: int
    checkpoint_seconds: float
    metrics: dict[str, Any]


@dataclasses.dataclass
class RunnerSettings:
    """Global defaults. ``phase_seconds``: how long each phase before ``Running`` lasts
    (``Bidding`` only for spot jobs); ``stopping_seconds``: ``Stopping`` → ``Stopped``."""

    runner: str = "simulated"
    total_steps: int = 100
    steps_per_second: float = 1.0
    checkpoint_every: int = 10
    checkpoint_seconds: float = 1.0
    phase_seconds: dict[str, float] = dataclasses.field(
        default_factory=lambda: {"Creating": 2.0, "Queuing": 2.0, "Bidding": 2.0, "EnvPreparing": 4.0}
    )
    stopping_seconds: float = 2.0
    preempt_status: str = assumed.PREEMPT_STATUS
    preempt_reason_code: str = assumed.PREEMPT_REASON_CODE
    preempt_reason_message: str = assumed.PREEMPT_REASON_MESSAGE

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        _check_runner("runner", self.runner)
        _positive_int("total_steps", self.total_steps, minimum=0)
        _positive_float("steps_per_second", self.steps_per_second, strict=True)
        _positive_int("checkpoint_every", self.checkpoint_every, minimum=0)
        _positive_float("checkpoint_seconds", self.checkpoint_seconds)
        _positive_float("stopping_seconds", self.stopping_seconds)
        if not isinstance(self.phase_seconds, dict):
            raise ValueError(f"phase_seconds must be an object, got {self.phase_seconds!r}")
        for phase, seconds in self.phase_seconds.items():
            if phase not in PRE_RUN_PHASES:
                raise ValueError(f"phase_seconds: unknown phase {phase!r}; known: {', '.join(PRE_RUN_PHASES)}")
            _positive_float(f"phase_seconds.{phase}", seconds)
        if self.preempt_status not in ("Failed", "Stopped"):
            raise ValueError(f"preempt_status must be Failed or Stopped, got {self.preempt_status!r}")

    def update(self, body: dict[str, Any]) -> None:
        """Apply a partial update (``phase_seconds`` merges); all-or-nothing."""
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(body) - fields)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; allowed: {sorted(fields)}")
        merged = dataclasses.asdict(self)
        for key, value in body.items():
            merged[key] = {**merged[key], **value} if key == "phase_seconds" and isinstance(value, dict) else value
        candidate = RunnerSettings(**merged)  # validates
        for key in fields:
            setattr(self, key, getattr(candidate, key))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def plan(self, envs: dict[str, str]) -> JobPlan:
        """The job's configuration: its ``LOCALCLOUD_*`` Envs over these defaults (``ValueError``
        names the offending key)."""
        def env(name: str) -> str | None:
            value = envs.get(ENV_PREFIX + name)
            return None if value in (None, "") else str(value)

        runner = env("RUNNER") or self.runner
        _check_runner("Envs.LOCALCLOUD_RUNNER", runner)
        plan = JobPlan(
            runner=runner,
            total_steps=_as(int, "TOTAL_STEPS", env("TOTAL_STEPS"), self.total_steps),
            steps_per_second=_as(float, "STEPS_PER_SECOND", env("STEPS_PER_SECOND"), self.steps_per_second),
            checkpoint_every=_as(int, "CHECKPOINT_EVERY", env("CHECKPOINT_EVERY"), self.checkpoint_every),
            checkpoint_seconds=_as(float, "CHECKPOINT_SECONDS", env("CHECKPOINT_SECONDS"), self.checkpoint_seconds),
            metrics=_metrics(env("METRICS")),
        )
        _positive_int("Envs.LOCALCLOUD_TOTAL_STEPS", plan.total_steps, minimum=0)
        _positive_float("Envs.LOCALCLOUD_STEPS_PER_SECOND", plan.steps_per_second, strict=True)
        _positive_int("Envs.LOCALCLOUD_CHECKPOINT_EVERY", plan.checkpoint_every, minimum=0)
        _positive_float("Envs.LOCALCLOUD_CHECKPOINT_SECONDS", plan.checkpoint_seconds)
        return plan


def _check_runner(name: str, value: Any) -> None:
    if value not in RUNNERS:
        raise ValueError(f"{name} must be one of {', '.join(RUNNERS)}; got {value!r}")


def _as(kind: type, name: str, raw: str | None, default: Any) -> Any:
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"Envs.{ENV_PREFIX}{name} must be a number, got {raw!r}") from None


def _metrics(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError(f"Envs.{ENV_PREFIX}METRICS must be a JSON object, got {raw!r}")
    return value


def _positive_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _positive_float(name: str, value: Any, *, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (strict and value == 0):
        raise ValueError(f"{name} must be a number {'>' if strict else '>='} 0, got {value!r}")

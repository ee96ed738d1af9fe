"""A pipeline's rollout policy as the pure decisions need it (steps, gates, timings, hooks present).

Example
-------
>>> import msgspec
>>> from ..config.models import Rollout
>>> p = Policy.from_config(msgspec.convert({"step_weight": 20, "max_weight": 50}, Rollout))
>>> p.steps
(20, 40, 100)
>>> Policy.from_config(None).steps
(10, 25, 50, 100)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .gates import Thresholds

if TYPE_CHECKING:
    from ..config.models import Rollout

#: Ticks may fire a little early (a timer at :00, a step recorded at :00.4): a window this share
#: of the interval long counts as complete.
INTERVAL_TOLERANCE = 0.9


@dataclasses.dataclass(frozen=True)
class Policy:
    """Everything :func:`~.lifecycle.decide` reads from ``rollout:``."""

    steps: tuple[int, ...] = (10, 25, 50, 100)
    interval: float = 60.0
    threshold: int = 2
    thresholds: Thresholds = Thresholds()
    progress_deadline: float = 600.0
    max_duration: float = 28800.0
    watch_window: float = 1800.0
    cleanup_after: float = 300.0
    retire: str = "scale_to_zero"
    shadow_ratio: int | None = None
    shadow_duration: float = 0.0
    smoke: bool = False
    confirm_promotion: bool = False
    pre_rollout: bool = False

    @classmethod
    def from_config(cls, rollout: Rollout | None) -> Policy:
        """The policy of a pipeline (``None``: every default)."""
        if rollout is None:
            from ..config.models import Rollout as RolloutConfig

            rollout = RolloutConfig()
        if rollout.step_weight is not None:
            weights = list(range(rollout.step_weight, rollout.max_weight + 1, rollout.step_weight))
        else:
            weights = [w for w in rollout.step_weights if w < 100]
        steps = tuple(dict.fromkeys([*weights, 100]))
        kinds = {w.type for w in rollout.webhooks}
        return cls(
            steps=steps, interval=float(rollout.interval_seconds), threshold=rollout.threshold,
            thresholds=Thresholds(
                min_requests=rollout.min_requests, max_error_ratio=rollout.max_error_ratio,
                max_p99_ms=rollout.max_p99_ms, max_error_ratio_delta=rollout.max_error_ratio_delta,
                max_p99_ratio=rollout.max_p99_ratio, confidence=rollout.confidence,
            ),
            progress_deadline=float(rollout.progress_deadline_seconds), max_duration=float(rollout.max_duration_seconds),
            watch_window=float(rollout.watch_window_seconds), cleanup_after=float(rollout.cleanup_after_seconds),
            retire=rollout.retire,
            shadow_ratio=rollout.shadow.ratio if rollout.shadow else None,
            shadow_duration=float(rollout.shadow.duration_seconds) if rollout.shadow else 0.0,
            smoke=rollout.smoke is not None, confirm_promotion="confirm_promotion" in kinds,
            pre_rollout="pre_rollout" in kinds,
        )

"""FC function ``canary``: the rollout controller's tick (timer every interval, plus the kick
``model_landed`` sends when it opens a rollout). One decision per open rollout per tick."""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.rollout.handlers import on_canary


@invocation("canary")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: ``event`` is FC's timer payload or a kick (bytes)."""
    return on_canary(event, context)

"""FC function ``alarm``: CloudMonitor alarms (EventBridge events on the default bus, and the
form-encoded HTTP callback) → rollback or revert of the rollout they concern, within the invocation."""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.rollout.handlers import on_alarm


@invocation("alarm")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: an EventBridge CloudEvent (or batch), or an HTTP trigger event (bytes)."""
    return on_alarm(event, context)

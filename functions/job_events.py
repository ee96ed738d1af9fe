"""FC function ``job_events``: DLC status events (PAI workspace bus) → runs kept in step.

Trigger: an EventBridge rule on ``pai-system-<workspace>`` targeting this function (the fc3
trigger reaches only the default bus; ``pai-autopilot wire`` creates the rule). Each event is a
hint: the job is re-read with GetJob before anything is decided.
"""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.training.watch import on_job_event


@invocation("job_events")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: ``event`` is one CloudEvent or a batch (bytes)."""
    return on_job_event(event, context)

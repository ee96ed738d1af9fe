"""FC function ``dsw_governor``: a timer (every 5 minutes) governing the DSW notebooks.

Every running in-scope instance carries the policy's native idle culler; an idle one is warned
once (with a signed snooze link), then stopped after the grace; exemptions, snoozes and quiet
hours apply (``pai_autopilot.notebooks``; README.md#notebooks).
"""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.notebooks.tick import on_governor_tick


@invocation("dsw_governor")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: ``event`` is FC's timer payload (bytes)."""
    return on_governor_tick(event, context)

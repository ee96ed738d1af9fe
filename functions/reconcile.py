"""FC function ``reconcile``: a timer that asks DLC for the truth of every open run.

Repairs whatever a lost, duplicated or reordered job event left undone (DESIGN.md §2, rule 1).
"""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.training.watch import on_reconcile


@invocation("reconcile")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: ``event`` is FC's timer payload (bytes)."""
    return on_reconcile(event, context)

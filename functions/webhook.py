"""FC function ``webhook``: the operations API for CI and on-call (HTTP trigger, anonymous auth).

FC does not authenticate the caller (``authType: anonymous``); every request carries our own
HMAC-SHA256 signature (``pai_autopilot.ops.signature``) under ``AUTOPILOT_WEBHOOK_SECRET``. Routes:
retrain, rollout promote/abort/pause/resume/rollback, status, a run, a version's timeline (JSON or
HTML), CloudMonitor's alarm callback and notebook snoozes. The handler never raises: every outcome is
an HTTP answer with a stable error code, so nothing is retried by FC.
"""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.ops.webhook import handle


@invocation("webhook")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: ``event`` is the HTTP trigger's request event (bytes); returns FC's response structure."""
    return handle(event, context)

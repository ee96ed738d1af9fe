"""FC function ``model_landed``: a model version's ``_SUCCESS`` landed in OSS → an EAS service.

Trigger: OSS ``ObjectCreated`` filtered to ``models/`` + ``_SUCCESS`` (see s.yaml). The first
version of a pipeline becomes its service (Running is seen by ``reconcile``, which then adds the
autoscaler); a later one becomes a zero-traffic canary with a rollout record. Any other key is
ignored before any SDK is imported; a repeated or reordered event changes nothing.
"""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.serving.landed import on_model_event


@invocation("model_landed")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: ``event`` is the raw OSS notification (bytes)."""
    return on_model_event(event, context)

"""FC function ``dataset_landed``: a dataset marker landed in OSS → one DLC training run.

Trigger: OSS ``ObjectCreated`` (PutObject, PostObject, CompleteMultipartUpload, CopyObject)
filtered to ``datasets/`` + ``_SUCCESS`` (see s.yaml). Any other key is ignored before any
SDK is imported. A repeated marker or a re-delivered event creates no second job.
"""

from __future__ import annotations

from typing import Any

from pai_autopilot.log import invocation
from pai_autopilot.training.landed import on_dataset_event


@invocation("dataset_landed")
def handler(event: bytes, context: Any) -> dict[str, Any]:
    """FC entry point: ``event`` is the raw OSS notification (bytes)."""
    return on_dataset_event(event, context)

"""``metrics.json``: a model version's offline evaluation, written by the training job beside the model.

Format (``models/<pipeline>/<version>/metrics.json``, optional)::

    {"metrics": {"accuracy": 0.91, "latency_ms_p99": 80}}

Every numeric value under ``metrics`` is a metric; other keys (a job id, the step…) are kept
out. The flat form ``{"accuracy": 0.91, …}`` (no ``metrics`` key) is accepted too: its numeric
top-level values are the metrics. Anything else is a problem reported with the version.

Example
-------
>>> parse_metrics(b'{"metrics": {"accuracy": 0.91, "latency_ms_p99": 80, "note": "x"}, "job_id": "dlc1"}')
{'accuracy': 0.91, 'latency_ms_p99': 80.0}
>>> parse_metrics(b'{"accuracy": 0.9, "step": 100, "ok": true}')
{'accuracy': 0.9, 'step': 100.0}
>>> parse_metrics(b'[1]')
Traceback (most recent call last):
...
ValueError: metrics.json must be a JSON object, got list
"""

from __future__ import annotations

import json
import math
from typing import Any


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))}


def parse_metrics(raw: bytes) -> dict[str, float]:
    """The metrics of a ``metrics.json`` body; ``ValueError`` says what is wrong with it."""
    try:
        doc = json.loads(raw or b"null")
    except ValueError as exc:
        raise ValueError(f"metrics.json is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"metrics.json must be a JSON object, got {type(doc).__name__}")
    inner = doc.get("metrics")
    if inner is not None:
        if not isinstance(inner, dict):
            raise ValueError(f"metrics.json 'metrics' must be an object, got {type(inner).__name__}")
        return _numbers(inner)
    return _numbers(doc)

"""What the soak checks and counts after a phase (``bench/soak.py``): the CI suite's invariants per
pipeline and over the notebooks (:func:`check_all`), the distinct events by function
(:func:`distinct_events`), and the story of a repeated weight step, printed with such a failure
(:func:`repeated_weights_story`).
"""

from __future__ import annotations

import collections
from typing import Any

from localcloud import LocalCloud
from tests.e2e import reliability_support as rs
from tests.e2e import test_reliability_notebooks as nb


def repeated_weights_story(cloud: LocalCloud, sdk: Any, calls: rs.CallLog) -> str:
    """For a failure naming repeated weight steps: per service repeated, its ReleaseService calls in
    order, its pipeline's rollout records (state, canary weight, writer) and the canary invocations."""
    repeated = rs.duplicates(calls).get("weight steps repeating the service's weight") or {}
    lines = []
    for key in repeated:
        service = key.rsplit("@", 1)[0]
        pipeline = service.split("_model_", 1)[0]
        steps = [(c.status, rs._weight(c)) for c in calls.attempts("eas", "ReleaseService") if rs._service_from_path(c) == service]
        lines.append(f"{service}: ReleaseService (status, weight) in order: {steps}")
        for entity, records in rs.ledger(sdk, f"rollouts/{pipeline}/").items():
            lines.append(f"  {entity}: " + ", ".join(f"{r['seq']}:{r['state']}@{r['data'].get('canary_weight')} by {r.get('by')}"
                                                    for r in records))
        ticks = [(r["request_id"][:8], r["source"], r["attempts"], r["status"], r["outcome"])
                 for r in cloud.fc.invocation_records("pai-autopilot-canary")
                 if any((x or {}).get("pipeline") == pipeline for x in (r.get("result") or {}).get("rollouts") or [])]
        lines.append(f"  canary invocations acting on {pipeline}: {ticks[:12]}")
    return "\n".join(lines)


def check_all(cloud: LocalCloud, sdk: Any, calls: rs.CallLog, pipelines: list[str], versions: int,
              notices: list[dict[str, Any]], ids: list[str], *, allow_dead: bool) -> rs.Figures:
    datasets = tuple(f"v{v}" for v in range(1, versions + 1))
    figures = rs.Figures()
    for p in pipelines:
        figures = rs.check_invariants(cloud, sdk, calls, datasets=datasets, models=datasets, pipeline=p,
                                      notices=notices, allow_dead=allow_dead)
    nb.check_notebooks(cloud, sdk, calls, ids, notices, after_faults=allow_dead)
    return figures


def distinct_events(cloud: LocalCloud, copies: int, governor_copies: int) -> dict[str, int]:
    """Events before duplication, by function: trigger deliveries (OSS, EventBridge) / ``copies``, ticks the
    soak fired side by side / ``governor_copies``, the clock's own timer ticks and kicks as they came."""
    counts: collections.Counter[str] = collections.Counter()
    for r in cloud.fc.invocation_records():
        function, source = r["function"].removeprefix("pai-autopilot-"), r["source"]
        if source.endswith(":fired"):
            counts[function] += 1 / governor_copies
        elif source.startswith(("oss:", "eventbridge:")):
            counts[function] += 1 / copies
        else:  # the clock's timer ticks, model_landed's kicks of the canary function
            counts[function] += 1
    return {k: round(v) for k, v in sorted(counts.items())}

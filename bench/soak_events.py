"""The soak's events for the two functions the whole story does not drive: ``alarm`` and ``webhook``.

* :func:`send_alarms` — CloudMonitor alarm events (``acs.cms``, ``cms:CloudMonitor:AlertWebHook``) on the
  default EventBridge bus, as CloudMonitor publishes them: per service one firing (``ALERT``), then its
  recovery (``OK``); the FC runtime delivers them to ``alarm`` through the trigger's delivery faults
  (so three times and reordered in the duplicates phase);
* :func:`send_webhooks` — signed ops-API requests (status, timelines) to ``webhook``'s HTTP trigger,
  each sent three times in a shuffled order: the first copy of each answers 200, every replay 401.

>>> alarm_data("demo_model_v2", 1_700_000_000_000)["dimensions"]
'{serviceName=demo_model_v2, userId=1}'
"""

from __future__ import annotations

import collections
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.webhook_support import Webhook

ALARM_RULE = "autopilot-soak-canary-p99"


def alarm_data(service: str, timestamp_ms: int, state: str = "ALERT") -> dict[str, str]:
    """The ``data`` of a CloudMonitor alarm on ``service`` (p99 latency; ``state`` ALERT or OK), as
    EventBridge carries it."""
    return {"alertName": "soak-canary-p99-latency", "alertState": state, "curValue": "912.5",
            "dimensions": f"{{serviceName={service}, userId=1}}", "expression": "$Average>=500",
            "metricName": "TP99", "metricProject": "acs_pai_eas", "namespace": "acs_pai_eas",
            "preTriggerLevel": "OK" if state == "ALERT" else "CRITICAL", "ruleId": ALARM_RULE,
            "timestamp": str(timestamp_ms), "triggerLevel": "CRITICAL" if state == "ALERT" else "OK", "userId": "1"}


def send_alarms(cloud: Any, services: list[str]) -> int:
    """Publish, per service, a firing alarm then its recovery a minute later on the default bus; how
    many events were published."""
    now_ms = int(cloud.clock.now() * 1000)
    sent = 0
    for state, later in (("ALERT", 0), ("OK", 60_000)):
        for i, service in enumerate(services):
            cloud.eventbridge.backend.emit("default", source="acs.cms", type="cms:CloudMonitor:AlertWebHook",
                                           data=alarm_data(service, now_ms + later + i, state),
                                           subject=f"acs:cms:cn-hangzhou:1:alert/{ALARM_RULE}")
            sent += 1
    return sent


def alarm_figures(cloud: Any, notices: list[dict[str, Any]], sent: int, copies: int) -> dict[str, Any]:
    """What ``alarm`` did with the events: outcomes of its invocations, the notices it sent per service."""
    records = cloud.fc.invocation_records("pai-autopilot-alarm")
    outcomes = collections.Counter(str(r["outcome"]) for r in records)
    per_service = collections.Counter(json.dumps(n.get("title")) for n in notices if n.get("event") == "rollout_alarm")
    return {"alarm_events": sent, "alarm_deliveries": len(records), "alarm_outcomes": dict(outcomes),
            "alarm_deliveries_failed": sum(1 for r in records if r["status"] != "succeeded"),
            "alarm_notices": sum(per_service.values()),
            "alarm_notices_repeated": sum(n - 1 for n in per_service.values() if n > 1),
            "alarm_copies": copies}


def send_webhooks(cloud: Any, pipelines: list[str], versions: list[str], copies: int = 3, seed: int = 7) -> dict[str, Any]:
    """GET /v1/status and /v1/timeline/<pipeline>/<version> for every pair, each signed once and sent
    ``copies`` times, all copies shuffled together and sent four at a time. Returns the figures; the
    caller asserts them (each signature answered 200 once and 401 ``replayed`` on every other copy)."""
    hook = Webhook(cloud)
    paths = ["/v1/status"] + [f"/v1/timeline/{p}/{v}" for p in pipelines for v in versions]
    signed = [(path, hook.headers("GET", path)) for path in paths]
    sends = [item for item in signed for _ in range(copies)]
    random.Random(seed).shuffle(sends)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda s: (s[1]["X-Autopilot-Signature"], _send(hook, *s)), sends))
    by_signature: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for signature, answer in answers:
        by_signature[signature].append(answer)
    wrong = [a for a in by_signature.values()
             if sorted(a) != sorted([(200, "")] + [(401, "replayed")] * (copies - 1))]
    return {"webhook_requests": len(signed), "webhook_sends": len(sends),
            "webhook_answers": dict(collections.Counter(f"{s} {c}".strip() for _, (s, c) in answers)),
            "webhook_wrong": [sorted(a) for a in wrong][:5], "webhook_seconds": round(time.monotonic() - started, 1)}


def _send(hook: Webhook, path: str, headers: dict[str, str]) -> tuple[int, str]:
    response = hook.send("GET", path, b"", headers)
    if response.status_code == 200:
        return 200, ""
    try:
        return response.status_code, str((response.json().get("error") or {}).get("code"))
    except ValueError:
        return response.status_code, response.text[:80]

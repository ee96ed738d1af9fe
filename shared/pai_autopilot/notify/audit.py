"""An audit record of each notification sent, so a model version's timeline can list it.

Each notification that reached at least one subscribed target becomes one ledger entity
``notifications/<correlation id>/<epoch ms>-<event>-<6 hex>`` (one record, state ``sent`` if any target
took it, else ``failed``): one listing per version finds them all. Recording never raises — an audit
write that fails is logged, and the flow goes on (a notification must never make FC retry).

Example
-------
>>> from ..ledger import Ledger, MemoryStore
>>> from .formats import Notification
>>> ledger = Ledger(MemoryStore(), now=lambda: 1.5)
>>> n = Notification("run_started", "run started: ap-demo-v1", {"job": "dlc1"})
>>> record = record_notification(ledger, "ap-demo-v1", n, {"webhook#0": "sent", "dingtalk#1": "skipped"})
>>> record.entity.startswith("notifications/ap-demo-v1/1500-run_started-"), record.state, record.data["outcomes"]
(True, 'sent', {'webhook#0': 'sent'})
>>> record_notification(ledger, "ap-demo-v1", n, {"dingtalk#1": "skipped"}) is None  # nobody subscribed
True
"""

from __future__ import annotations

import secrets
from typing import Any

from ..log import get_logger
from .formats import Notification

NOTIFICATIONS_KIND = "notifications/"
_MAX_DETAIL = 300


def audit_fields(notification: Notification, outcomes: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
    """The audit record's state (``sent`` if any target took it, else ``failed``) and data, or None when
    no target was subscribed. Shared with flows that record deliveries under their own keys (the
    notebook governor's at-least-once notices, :mod:`pai_autopilot.notebooks.delivery`).

    Example
    -------
    >>> audit_fields(Notification("e", "t"), {"webhook#0": "failed: HTTP 500"})[0]
    'failed'
    """
    attempted = {target: outcome for target, outcome in outcomes.items() if outcome != "skipped"}
    if not attempted:
        return None
    details = {str(k): str(v)[:_MAX_DETAIL] for k, v in notification.details.items()}
    state = "sent" if "sent" in attempted.values() else "failed"
    return state, {"event": notification.event, "title": notification.title, "details": details, "outcomes": attempted}


def record_notification(ledger: Any, correlation_id: str | None, notification: Notification,
                        outcomes: dict[str, str]) -> Any:
    """Record ``notification`` and its per-target outcomes under ``correlation_id``; the record, or None."""
    fields = audit_fields(notification, outcomes)
    if fields is None or not correlation_id:
        return None
    state, data = fields
    entity = f"{NOTIFICATIONS_KIND}{correlation_id}/{int(ledger.now() * 1000)}-{notification.event}-{secrets.token_hex(3)}"
    try:
        return ledger.claim(entity, state, data, correlation_id=correlation_id, by="notify")
    except Exception as exc:  # an audit write must never break the flow
        get_logger().warning("notification audit not recorded", notification=notification.event, error=type(exc).__name__)
        return None

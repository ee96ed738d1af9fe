"""Sending notifications: every configured target, rate-limited, never blocking the flow.

A failed or slow webhook is logged and counted, never raised: notifications must not make FC
retry an invocation that did its work. The rate limit is a token bucket per target in this
process (FC instance); a burst beyond it is dropped with a log line.

Example
-------
>>> limiter = RateLimiter(per_minute=2, now=lambda: 0.0)
>>> [limiter.allow("t") for _ in range(3)]
[True, True, False]
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..config.models import Notification as Target
from ..log import get_logger
from ..redact import register_secret, register_url
from .formats import Notification, render

DEFAULT_TIMEOUT = 3.0


class RateLimiter:
    """A token bucket per key: ``per_minute`` sends, refilled continuously."""

    def __init__(self, per_minute: int = 20, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.now = now
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), self.now()))
            now = self.now()
            tokens = min(float(self.per_minute), tokens + (now - last) * self.per_minute / 60)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            return allowed


_limiters: list[RateLimiter] = []


def _default_limiter() -> RateLimiter:
    """The process's limiter, sized by ``AUTOPILOT_NOTIFY_PER_MINUTE`` on first use."""
    if not _limiters:
        from ..settings import current_settings

        _limiters.append(RateLimiter(per_minute=current_settings().notify_per_minute))
    return _limiters[0]


def url_host(url: str) -> str:
    """The host of a webhook URL, the only part of it a log line or an outcome may name.

    Example
    -------
    >>> url_host("https://oapi.dingtalk.com/robot/send?access_token=abc")
    'oapi.dingtalk.com'
    >>> url_host("oapi.dingtalk.com/robot send?access_token=abc")
    '<no scheme>'
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.isalpha():
        return "<no scheme>"
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    return host[:100] or "<no host>"


def subscribed(targets: Sequence[Target], event: str) -> bool:
    """Whether any target takes ``event`` (a target without ``events`` takes every one).

    Example
    -------
    >>> from ..config.models import Notification as T
    >>> subscribed([T(type="webhook", url_env="U", events=["run_failed"])], "notebook_stopped")
    False
    """
    return any(not target.events or event in target.events for target in targets)


def post_json(url: str, body: Mapping[str, Any], timeout: float) -> int:
    """POST ``body`` as JSON; the HTTP status (raises on network errors)."""
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URLs)
        return int(response.status)


def notify(
    targets: Sequence[Target],
    notification: Notification,
    *,
    environ: Mapping[str, str] | None = None,
    limiter: RateLimiter | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    now: Callable[[], float] = time.time,
    ledger: Any = None,
    correlation_id: str | None = None,
) -> dict[str, str]:
    """Send ``notification`` to every target subscribed to its event; outcome per target.

    Outcomes: ``sent``, ``skipped`` (not subscribed), ``rate-limited``, ``no-url`` (its
    environment variable is unset) or ``failed: <reason>``. Never raises. Given a ``ledger`` and
    the model version's ``correlation_id``, the notification is recorded there for the timeline
    (:mod:`.audit`).
    """
    env = os.environ if environ is None else environ
    limiter = limiter or _default_limiter()
    log = get_logger()
    outcomes: dict[str, str] = {}
    for i, target in enumerate(targets):
        name = f"{target.type}#{i}"
        if target.events and notification.event not in target.events:
            outcomes[name] = "skipped"
            continue
        url = env.get(target.url_env)
        if not url:
            outcomes[name] = "no-url"
            log.warning("notification target has no url", target=name, url_env=target.url_env)
            continue
        if not limiter.allow(name):
            outcomes[name] = "rate-limited"
            log.warning("notification rate-limited", target=name, notification=notification.event)
            continue
        secret = env.get(target.secret_env) if target.secret_env else None
        register_url(url)
        register_secret(secret)
        try:
            signed_url, body = render(target.type, url, notification, secret=secret, now=now())
            status = post_json(signed_url, body, timeout)
            outcomes[name] = "sent" if status < 300 else f"failed: HTTP {status}"
        except Exception as exc:  # a notification must never break the flow
            outcomes[name] = f"failed: {type(exc).__name__} posting to {url_host(url)}"
        if outcomes[name] != "sent":
            log.warning("notification failed", target=name, host=url_host(url), outcome=outcomes[name])
    if ledger is not None:  # issue 13: the one call site of the notification audit
        from .audit import record_notification

        record_notification(ledger, correlation_id, notification, outcomes)
    return outcomes

"""Alarm notifications: the callback fields, the ``acs.cms`` event, the form-encoded webhook POST.

Each :class:`~.alarms.Transition` becomes ONE notification: an event on the ``default`` bus
(source ``acs.cms``, type ``cms:CloudMonitor:AlertWebHook``, ``data`` = the callback fields) and,
when the rule has a ``Webhook``, one POST of the same fields form-encoded. A recovery to ``OK``
is posted only when the rule's ``SendOK`` is not false; the event is always published.

The POST runs on one worker thread (in order, never on the ticker): up to
:data:`names.WEBHOOK_ATTEMPTS` tries, :data:`names.WEBHOOK_TIMEOUT_S` each, a 2xx answer ends
them. localcloud is offline, so only URLs on this machine are called (``127.0.0.0/8``,
``localhost``, ``[::1]``); any other URL is recorded as ``skipped`` — set
``CmsService.backend.notifier.resolve`` to map it elsewhere (e.g. to the local FC HTTP trigger).

Example
-------
>>> fields = {"alertState": "ALERT", "ruleId": "r1", "dimensions": "{serviceName=svc}"}
>>> form_body(fields)
b'alertState=ALERT&ruleId=r1&dimensions=%7BserviceName%3Dsvc%7D'
>>> is_local_url("http://127.0.0.1:8000/hook"), is_local_url("https://x.fcapp.run/hook")
(True, False)
"""

from __future__ import annotations

import collections
import ipaddress
import logging
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from . import names
from .alarms import Rule, Transition

log = logging.getLogger("localcloud.cms")
HISTORY = 1000


def dimensions_text(dimensions: dict[str, str]) -> str:
    """``{userId=1, serviceName=svc}``: the callback's notation.

    >>> dimensions_text({"userId": "1", "serviceName": "svc"})
    '{userId=1, serviceName=svc}'
    """
    return "{" + ", ".join(f"{k}={v}" for k, v in dimensions.items()) + "}"


def callback_fields(rule: Rule, change: Transition, *, region: str, account_id: str) -> dict[str, str]:
    """The threshold-alarm callback fields (doc 60714) of one transition, all strings."""
    key = names.dimension_key(rule.namespace)
    metric = names.EAS_METRICS.get(rule.metric_name) if rule.namespace == names.EAS_NAMESPACE else None
    return {
        "alertName": rule.rule_name,
        "alertState": names.CALLBACK_STATES[change.state],
        "curValue": "" if change.value is None else repr(change.value),
        "dimensions": dimensions_text(change.dimensions),
        "expression": change.expression,
        "instanceName": change.dimensions.get(key, ""),
        "metricName": rule.metric_name,
        "metricProject": rule.namespace,
        "namespace": rule.namespace,
        "preTriggerLevel": change.previous_level,
        "rawMetricName": rule.metric_name,
        "regionId": region,
        "ruleId": rule.rule_id,
        "timestamp": str(int(change.at * 1000)),
        "transId": str(uuid.uuid4()),
        "triggerLevel": change.level,
        "unit": metric.unit if metric else "",
        "userId": account_id,
    }


def form_body(fields: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(fields).encode("utf-8")


def is_local_url(url: str) -> bool:
    """True for http(s) URLs on this machine (loopback addresses or ``localhost``)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return False
    if parsed.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parsed.hostname).is_loopback
    except ValueError:
        return False


class Notifier:
    """Publishes the events and posts the webhooks of alarm transitions; keeps a record of both."""

    def __init__(self, *, eventbridge: Any, region: str, account_id: str, clock: Any) -> None:
        self.eventbridge = getattr(eventbridge, "backend", eventbridge)
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.resolve: Callable[[str], str | None] = lambda url: url if is_local_url(url) else None
        self.retry_delay_s = 1.0
        self.attempts = names.WEBHOOK_ATTEMPTS
        self.timeout_s = names.WEBHOOK_TIMEOUT_S
        self._lock = threading.Lock()
        self.sent: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self._queue: queue.Queue[tuple[int, dict[str, Any]] | None] = queue.Queue()
        self._generation = 0
        self._worker: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the record; deliveries still queued are dropped."""
        with self._lock:
            self._generation += 1
            self.sent.clear()

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r, webhook=dict(r["webhook"]) if r.get("webhook") else None) for r in self.sent]

    # -- sending -------------------------------------------------------------------------------
    def notify(self, rule: Rule, change: Transition) -> dict[str, Any]:
        """Publish one transition (event now, webhook on the worker); returns its record."""
        fields = callback_fields(rule, change, region=self.region, account_id=self.account_id)
        record: dict[str, Any] = {"ruleId": rule.rule_id, "state": fields["alertState"], "fields": fields,
                                  "time": self.clock.now(), "event_id": None, "webhook": None}
        if self.eventbridge is not None:
            try:
                env = self.eventbridge.emit(
                    names.ALERT_BUS, source=names.CMS_SOURCE, type=names.CMS_ALERT_TYPE, data=dict(fields),
                    subject=f"acs:cms:{self.region}:{self.account_id}:alert/{rule.rule_id}",
                )
                record["event_id"] = env["id"]
            except Exception as exc:  # a failing bus must not stop the evaluator
                log.exception("publishing the CMS alarm event of rule %s failed", rule.rule_id)
                record["event_error"] = f"{type(exc).__name__}: {exc}"
        if rule.webhook and (change.state != "OK" or rule.send_ok):
            target = self.resolve(rule.webhook)
            record["webhook"] = {"url": rule.webhook, "target": target, "attempts": 0,
                                 "status": "queued" if target else "skipped", "code": None, "error": None}
            if target is None:
                record["webhook"]["error"] = "not a URL on this machine (localcloud is offline)"
        with self._lock:
            self.sent.append(record)
            generation = self._generation
        if record["webhook"] and record["webhook"]["target"]:
            self._start_worker()
            self._queue.put((generation, record))
        return record

    def _start_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="localcloud-cms-webhook", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            generation, record = item
            if generation == self._generation:
                self._post(record)

    def _post(self, record: dict[str, Any]) -> None:
        hook = record["webhook"]
        body = form_body(record["fields"])
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(hook["target"], data=body, method="POST",
                                             headers={"Content-Type": names.WEBHOOK_CONTENT_TYPE})
            code, error = None, None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (local only)
                    code = response.status
            except urllib.error.HTTPError as exc:
                code, error = exc.code, f"HTTP {exc.code}"
            except (OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                hook.update(attempts=attempt, code=code, error=error,
                            status="delivered" if code is not None and 200 <= code < 300 else "failing")
            if hook["status"] == "delivered":
                return
            if attempt < self.attempts:
                time.sleep(self.retry_delay_s)
        with self._lock:
            hook["status"] = "failed"

    def stop(self) -> None:
        """End the worker thread (tests; the thread is a daemon otherwise)."""
        if self._worker is not None and self._worker.is_alive():
            self._queue.put(None)
            self._worker.join(timeout=self.timeout_s * self.attempts + 5)

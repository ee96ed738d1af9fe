"""EventBridge state and behaviour: buses, rules, targets, event routing and delivery.

Every event — from PutEvents, from an OSS object change (on ``default``) or emitted by another
localcloud service — becomes a CloudEvents envelope, is matched against the enabled rules of its
bus, and is handed to each matching rule's targets: ``acs.fc.function`` targets go to the FC
invoker the cloud injects (it only enqueues, so publishing never waits for a function); other
types are recorded. Published events and deliveries are kept in bounded inspectable lists.

Example
-------
>>> from localcloud.core.clock import Clock
>>> eb = EventBridgeBackend(clock=Clock(), region="cn-hangzhou", account_id="1")
>>> calls = []
>>> eb.fc_invoker = lambda fn, payload, label: calls.append((fn, label))
>>> eb.subscribe_function("default", "on-csv", {"data": {"key": [{"suffix": ".csv"}]}}, "ingest")
>>> _ = eb.emit("default", source="demo", type="demo:Put", data={"key": "a.csv"})
>>> calls
[('ingest', 'eventbridge:default/on-csv')]
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ..core.events import ObjectEvent
from . import exceptions as err
from . import patterns
from .cloudevents import entry_envelope, entry_problem, envelope, new_event_id, oss_envelope
from .targets import FC_TYPE, Target, make_target, target_problem

log = logging.getLogger("localcloud.eventbridge")

DEFAULT_BUS = "default"
HISTORY = 1000
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,126}$")
FcInvoker = Callable[[str, bytes, str], None]


@dataclasses.dataclass
class Rule:
    name: str
    bus: str
    filter_pattern: str
    pattern: dict[str, Any]
    status: str
    description: str
    created_at: float
    targets: dict[str, Target] = dataclasses.field(default_factory=dict)
    internal: bool = False

    @property
    def enabled(self) -> bool:
        return self.status == "ENABLE"

    def arn(self, region: str, account_id: str) -> str:
        return f"acs:eventbridge:{region}:{account_id}:eventbus/{self.bus}/rule/{self.name}"

    def describe(self, region: str, account_id: str) -> dict[str, Any]:
        """The GetRule ``Data`` / a ListRules ``Rules[]`` item."""
        return {
            "RuleName": self.name, "RuleARN": self.arn(region, account_id), "EventBusName": self.bus,
            "FilterPattern": self.filter_pattern, "Status": self.status, "Description": self.description,
            "CreatedTimestamp": int(self.created_at * 1000), "DetailMap": {},
            "Targets": [t.describe() for t in self.targets.values()],
        }


@dataclasses.dataclass
class EventBus:
    name: str
    description: str
    created_at: float
    rules: dict[str, Rule] = dataclasses.field(default_factory=dict)

    def arn(self, region: str, account_id: str) -> str:
        return f"acs:eventbridge:{region}:{account_id}:eventbus/{self.name}"

    def describe(self, region: str, account_id: str) -> dict[str, Any]:
        return {"EventBusName": self.name, "EventBusARN": self.arn(region, account_id),
                "Description": self.description, "CreateTimestamp": int(self.created_at * 1000)}


def page(items: Sequence[Any], limit: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    """One page of ``items``: ``NextToken`` is the offset of the next page (``None`` at the end)."""
    size = DEFAULT_LIMIT if limit is None else limit
    if not 0 < size <= MAX_LIMIT:
        raise err.limit_invalid(size, MAX_LIMIT)
    start = 0
    if next_token:
        if not next_token.isdigit():
            raise err.next_token_invalid(next_token)
        start = int(next_token)
    end = start + size
    return list(items[start:end]), (str(end) if end < len(items) else None)


class EventBridgeBackend:
    """All buses of the account, one method per API operation, plus routing and delivery."""

    def __init__(self, *, clock: Any, region: str, account_id: str) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.fc_invoker: FcInvoker | None = None
        self._lock = threading.RLock()
        self.buses: dict[str, EventBus] = {}
        self.published: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self.deliveries: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self._subscriptions: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self.reset()

    # -- control -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every bus but an empty ``default``, every rule and event; re-apply subscriptions."""
        with self._lock:
            self.buses = {DEFAULT_BUS: EventBus(DEFAULT_BUS, "The default event bus.", self.clock.now())}
            self.published.clear()
            self.deliveries.clear()
            for (bus, rule), (pattern, function) in self._subscriptions.items():
                self._apply_subscription(bus, rule, pattern, function)

    def state(self) -> dict[str, Any]:
        with self._lock:
            buses = {}
            for bus in self.buses.values():
                rules = {r.name: {"status": r.status, "pattern": r.pattern, "internal": r.internal,
                                  "targets": [t.describe() for t in r.targets.values()]} for r in bus.rules.values()}
                buses[bus.name] = {"description": bus.description, "rules": rules}
            return {
                "buses": buses,
                "subscriptions": [{"bus": b, "rule": r, "pattern": p, "function": f}
                                  for (b, r), (p, f) in self._subscriptions.items()],
                "published": list(self.published),
                "deliveries": list(self.deliveries),
            }

    # -- buses ---------------------------------------------------------------------------------
    def create_event_bus(self, name: str, description: str = "") -> EventBus:
        if not _NAME.match(name):
            raise err.bus_name_invalid(name)
        with self._lock:
            if name in self.buses:
                raise err.bus_already_exist(name)
            bus = self.buses[name] = EventBus(name, description, self.clock.now())
            return bus

    def get_event_bus(self, name: str) -> EventBus:
        with self._lock:
            bus = self.buses.get(name)
            if bus is None:
                raise err.bus_not_exist(name)
            return bus

    def list_event_buses(self, prefix: str | None, limit: int | None, next_token: str | None
                         ) -> tuple[list[EventBus], str | None, int]:
        with self._lock:
            buses = [b for b in self.buses.values() if b.name.startswith(prefix or "")]
        chunk, token = page(buses, limit, next_token)
        return chunk, token, len(buses)

    def delete_event_bus(self, name: str) -> None:
        with self._lock:
            bus = self.get_event_bus(name)
            if name == DEFAULT_BUS:
                raise err.default_bus_undeletable()
            if bus.rules:
                raise err.bus_not_empty(name)
            del self.buses[name]

    # -- rules ---------------------------------------------------------------------------------
    def create_rule(self, bus: str, name: str, filter_pattern: str | None, *, status: str | None = None,
                    description: str = "", targets: list[Any] | None = None) -> Rule:
        if not _NAME.match(name):
            raise err.rule_name_invalid(name)
        pattern = _parse_pattern(filter_pattern)
        specs = _valid_targets(targets or [])
        with self._lock:
            owner = self.get_event_bus(bus)
            if name in owner.rules:
                raise err.rule_already_exist(bus, name)
            rule = Rule(name, bus, filter_pattern or "{}", pattern, _status(status), description or "",
                        self.clock.now(), {t.id: t for t in specs})
            owner.rules[name] = rule
            return rule

    def get_rule(self, bus: str, name: str) -> Rule:
        with self._lock:
            rule = self.get_event_bus(bus).rules.get(name)
            if rule is None:
                raise err.rule_not_exist(bus, name)
            return rule

    def update_rule(self, bus: str, name: str, *, filter_pattern: str | None = None,
                    status: str | None = None, description: str | None = None) -> Rule:
        pattern = _parse_pattern(filter_pattern) if filter_pattern is not None else None
        with self._lock:
            rule = self.get_rule(bus, name)
            if pattern is not None:
                rule.filter_pattern, rule.pattern = filter_pattern or "{}", pattern
            if status:
                rule.status = _status(status)
            if description is not None:
                rule.description = description
            return rule

    def list_rules(self, bus: str, prefix: str | None, limit: int | None, next_token: str | None
                   ) -> tuple[list[Rule], str | None, int]:
        with self._lock:
            rules = [r for r in self.get_event_bus(bus).rules.values() if r.name.startswith(prefix or "")]
        chunk, token = page(rules, limit, next_token)
        return chunk, token, len(rules)

    def set_rule_status(self, bus: str, name: str, status: str) -> Rule:
        return self.update_rule(bus, name, status=status)

    def delete_rule(self, bus: str, name: str) -> None:
        with self._lock:
            self.get_rule(bus, name)
            del self.buses[bus].rules[name]

    # -- targets -------------------------------------------------------------------------------
    def put_targets(self, bus: str, rule_name: str, specs: list[Any]) -> list[dict[str, str]]:
        """Add or replace targets by ``Id``; invalid ones come back as error entries."""
        errors = []
        with self._lock:
            rule = self.get_rule(bus, rule_name)
            for spec in specs:
                problem = target_problem(spec)
                if problem is not None:
                    entry = str(spec.get("Id", "")) if isinstance(spec, dict) else ""
                    errors.append({"EntryId": entry, "ErrorCode": "InvalidParameter", "ErrorMessage": problem})
                    continue
                target = make_target(spec)
                rule.targets[target.id] = target
        return errors

    def list_targets(self, bus: str, rule_name: str | None, arn: str | None, limit: int | None,
                     next_token: str | None) -> tuple[list[tuple[Rule, Target]], str | None, int]:
        with self._lock:
            rules = [self.get_rule(bus, rule_name)] if rule_name else list(self.get_event_bus(bus).rules.values())
            pairs = [(r, t) for r in rules for t in r.targets.values() if not arn or t.endpoint == arn]
        chunk, token = page(pairs, limit, next_token)
        return chunk, token, len(pairs)

    def delete_targets(self, bus: str, rule_name: str, target_ids: list[Any]) -> list[dict[str, str]]:
        errors = []
        with self._lock:
            rule = self.get_rule(bus, rule_name)
            for target_id in target_ids:
                if rule.targets.pop(str(target_id), None) is None:
                    errors.append({
                        "EntryId": str(target_id), "ErrorCode": "EventTargetNotExist",
                        "ErrorMessage": f"The event target [{target_id}] of event rule [{rule_name}] "
                                        f"on eventbus [{bus}] is not existed!",
                    })
        return errors

    # -- events --------------------------------------------------------------------------------
    def put_events(self, bus: str, entries: list[Any], *, publish_addr: str = "127.0.0.1") -> list[dict[str, str]]:
        """Publish PutEvents entries; one result per entry (failed ones carry an error)."""
        self.get_event_bus(bus)
        results = []
        for entry in entries:
            trace_id = uuid.uuid4().hex
            problem = entry_problem(entry)
            if problem is not None:
                event_id = str(entry.get("Id") or "") if isinstance(entry, dict) else ""
                results.append({"EventId": event_id, "TraceId": trace_id,
                                "ErrorCode": "InvalidArgument", "ErrorMessage": problem})
                continue
            env = entry_envelope(entry, bus=bus, region=self.region, account_id=self.account_id,
                                 now=self.clock.now(), publish_addr=publish_addr)
            self.publish(bus, env)
            results.append({"EventId": env["id"], "TraceId": trace_id})
        return results

    def emit(self, bus: str, *, source: str, type: str, data: Any, subject: str | None = None,
             id: str | None = None) -> dict[str, Any]:
        """Publish an event from inside localcloud (a cloud service's own event); returns it."""
        env = envelope(id=id or new_event_id(), source=source, type=type, data=data, subject=subject,
                       bus=bus, region=self.region, account_id=self.account_id, now=self.clock.now())
        self.publish(bus, env)
        return env

    def on_hub_event(self, event: Any) -> None:
        """Hub subscriber: each OSS object change becomes an event on the ``default`` bus."""
        if isinstance(event, ObjectEvent):
            self.publish(DEFAULT_BUS, oss_envelope(event, region=self.region, account_id=self.account_id,
                                                   now=self.clock.now()))

    def publish(self, bus: str, env: dict[str, Any]) -> list[str]:
        """Route one envelope through the bus's enabled rules; returns the matched rule names."""
        with self._lock:
            owner = self.buses.get(bus)
            rules = [r for r in owner.rules.values() if r.enabled and patterns.matches(r.pattern, env)] if owner else []
            self.published.append({"bus": bus, "event": env, "matched_rules": [r.name for r in rules],
                                   "time": self.clock.now()})
            jobs = [(r.name, t) for r in rules for t in r.targets.values()]
        if jobs:
            payload = json.dumps(env, ensure_ascii=False).encode("utf-8")
            for rule_name, target in jobs:
                self._deliver(bus, rule_name, target, env, payload)
        return [r.name for r in rules]

    def _deliver(self, bus: str, rule: str, target: Target, env: dict[str, Any], payload: bytes) -> None:
        record: dict[str, Any] = {"bus": bus, "rule": rule, "target": target.id, "type": target.type,
                                  "endpoint": target.endpoint, "event_id": env["id"], "time": self.clock.now()}
        function = target.function
        if function is None:
            record.update(status="recorded", event=env)
        elif self.fc_invoker is None:
            record.update(function=function, status="undelivered", error="no FC invoker is set")
        else:
            record["function"] = function
            try:
                self.fc_invoker(function, payload, f"eventbridge:{bus}/{rule}")
                record["status"] = "invoked"
            except Exception as exc:  # a failing invoker must not fail the publisher
                log.exception("EventBridge delivery to %s failed", function)
                record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        with self._lock:
            self.deliveries.append(record)

    # -- internal subscriptions (s.yaml eventbridge triggers) ---------------------------------
    def subscribe_function(self, bus: str, rule_name: str, pattern: dict[str, Any] | str, function_name: str) -> None:
        """Deliver the bus's events matching ``pattern`` to ``function_name`` (idempotent).

        Kept as a rule with one FC target; it survives :meth:`reset` (like the project's triggers).
        """
        parsed = patterns.parse(pattern)  # raises PatternError with the reason
        with self._lock:
            self._subscriptions[(bus, rule_name)] = (parsed, function_name)
            self._apply_subscription(bus, rule_name, parsed, function_name)

    def unsubscribe_function(self, bus: str, rule_name: str) -> None:
        with self._lock:
            if self._subscriptions.pop((bus, rule_name), None) is not None:
                owner = self.buses.get(bus)
                if owner is not None:
                    owner.rules.pop(rule_name, None)

    def _apply_subscription(self, bus: str, rule_name: str, pattern: dict[str, Any], function: str) -> None:
        owner = self.buses.get(bus)
        if owner is None:
            owner = self.buses[bus] = EventBus(bus, "", self.clock.now())
        target = make_target({
            "Id": f"fc-{function}", "Type": FC_TYPE, "PushRetryStrategy": "BACKOFF_RETRY",
            "Endpoint": f"acs:fc:{self.region}:{self.account_id}:functions/{function}",
            "ParamList": [{"ResourceKey": "Body", "Form": "ORIGINAL"}],
        })
        existing = owner.rules.get(rule_name)
        owner.rules[rule_name] = Rule(
            rule_name, bus, json.dumps(pattern, ensure_ascii=False), pattern, "ENABLE",
            f"FC trigger for {function}", existing.created_at if existing else self.clock.now(),
            {target.id: target}, internal=True,
        )


def _parse_pattern(text: str | None) -> dict[str, Any]:
    try:
        return patterns.parse(text)
    except patterns.PatternError as exc:
        raise err.pattern_invalid(str(exc)) from None


def _status(status: str | None) -> str:
    if not status:
        return "ENABLE"
    if status not in ("ENABLE", "DISABLE"):
        raise err.invalid_parameter(f"Status [{status}] is invalid; valid values: ENABLE, DISABLE.")
    return status


def _valid_targets(specs: list[Any]) -> list[Target]:
    targets, seen = [], set()
    for spec in specs:
        problem = target_problem(spec)
        if problem is not None:
            raise err.invalid_parameter(problem)
        if spec["Id"] in seen:
            raise err.invalid_parameter(f"The target id [{spec['Id']}] appears more than once.")
        seen.add(spec["Id"])
        targets.append(make_target(spec))
    return targets

"""EventBridge's HTTP layer: parse each RPC call and serialize the backend's answer.

EventBridge 2020-04-01 is RPC style: every call is ``POST /`` with ``x-acs-action`` and
``x-acs-version`` headers. Parameters arrive in the query, except PutEvents whose parameters are a
form body; list parameters (``EventTargets``, ``Targets``, ``TargetIds``, ``EventList``) are JSON
strings. Every answer is the envelope ``{RequestId, Code, Message, Success, Data}``, with
``Code`` ``"Success"`` (``"200"`` for PutEvents).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from ..core.errors import ServiceError
from ..core.pop import PopRequest, PopService, Route, parse_int
from . import exceptions as err
from .models import EventBridgeBackend


def ok(data: Any = None, *, code: str = "Success") -> dict[str, Any]:
    body: dict[str, Any] = {"Code": code, "Message": "success", "Success": True}
    if data is not None:
        body["Data"] = data
    return body


def required(req: PopRequest, name: str) -> str:
    value = req.param(name)
    if value is None or value == "":
        raise err.missing(name)
    return str(value)


def json_list(req: PopRequest, name: str, *, needed: bool = False) -> list[Any]:
    """A list parameter sent as a JSON string."""
    raw = req.param(name)
    if raw is None or raw == "":
        if needed:
            raise err.missing(name)
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        raise err.invalid_parameter(f"{name} is not valid JSON: {raw[:200]}") from None
    if not isinstance(value, list):
        raise err.invalid_parameter(f"{name} must be a JSON array.")
    return value


def paging(req: PopRequest) -> tuple[int | None, str | None]:
    return parse_int("Limit", req.param("Limit")), req.param("NextToken") or None


class EventBridgeResponses:
    """One method per EventBridge action, named after the action in snake_case."""

    def __init__(self, backend: EventBridgeBackend) -> None:
        self.backend = backend

    def _arn_args(self) -> tuple[str, str]:
        return self.backend.region, self.backend.account_id

    # -- buses ---------------------------------------------------------------------------------
    def create_event_bus(self, req: PopRequest) -> dict[str, Any]:
        bus = self.backend.create_event_bus(required(req, "EventBusName"), req.param("Description") or "")
        return ok({"EventBusARN": bus.arn(*self._arn_args())})

    def get_event_bus(self, req: PopRequest) -> dict[str, Any]:
        return ok(self.backend.get_event_bus(required(req, "EventBusName")).describe(*self._arn_args()))

    def list_event_buses(self, req: PopRequest) -> dict[str, Any]:
        buses, token, total = self.backend.list_event_buses(req.param("NamePrefix"), *paging(req))
        return ok({"EventBuses": [b.describe(*self._arn_args()) for b in buses], "NextToken": token, "Total": total})

    def delete_event_bus(self, req: PopRequest) -> dict[str, Any]:
        self.backend.delete_event_bus(required(req, "EventBusName"))
        return ok(True)

    # -- rules ---------------------------------------------------------------------------------
    def create_rule(self, req: PopRequest) -> dict[str, Any]:
        rule = self.backend.create_rule(
            required(req, "EventBusName"), required(req, "RuleName"), req.param("FilterPattern"),
            status=req.param("Status"), description=req.param("Description") or "",
            targets=json_list(req, "EventTargets"),
        )
        return ok({"RuleARN": rule.arn(*self._arn_args())})

    def get_rule(self, req: PopRequest) -> dict[str, Any]:
        rule = self.backend.get_rule(required(req, "EventBusName"), required(req, "RuleName"))
        return ok(rule.describe(*self._arn_args()))

    def update_rule(self, req: PopRequest) -> dict[str, Any]:
        self.backend.update_rule(
            required(req, "EventBusName"), required(req, "RuleName"), filter_pattern=req.param("FilterPattern"),
            status=req.param("Status"), description=req.param("Description"),
        )
        return ok(True)

    def list_rules(self, req: PopRequest) -> dict[str, Any]:
        rules, token, total = self.backend.list_rules(required(req, "EventBusName"), req.param("RuleNamePrefix"),
                                                      *paging(req))
        return ok({"Rules": [r.describe(*self._arn_args()) for r in rules], "NextToken": token, "Total": total})

    def enable_rule(self, req: PopRequest) -> dict[str, Any]:
        self.backend.set_rule_status(required(req, "EventBusName"), required(req, "RuleName"), "ENABLE")
        return ok()

    def disable_rule(self, req: PopRequest) -> dict[str, Any]:
        self.backend.set_rule_status(required(req, "EventBusName"), required(req, "RuleName"), "DISABLE")
        return ok()

    def delete_rule(self, req: PopRequest) -> dict[str, Any]:
        self.backend.delete_rule(required(req, "EventBusName"), required(req, "RuleName"))
        return ok()

    # -- targets -------------------------------------------------------------------------------
    def put_targets(self, req: PopRequest) -> dict[str, Any]:
        errors = self.backend.put_targets(required(req, "EventBusName"), required(req, "RuleName"),
                                          json_list(req, "Targets", needed=True))
        return ok({"ErrorEntriesCount": len(errors), "ErrorEntries": errors})

    def list_targets(self, req: PopRequest) -> dict[str, Any]:
        pairs, token, total = self.backend.list_targets(
            required(req, "EventBusName"), req.param("RuleName"), req.param("Arn"), *paging(req)
        )
        targets = [t.describe(EventBusName=r.bus, RuleName=r.name) for r, t in pairs]
        return ok({"Targets": targets, "NextToken": token, "Total": total})

    def delete_targets(self, req: PopRequest) -> dict[str, Any]:
        errors = self.backend.delete_targets(required(req, "EventBusName"), required(req, "RuleName"),
                                             json_list(req, "TargetIds", needed=True))
        return ok({"ErrorEntriesCount": len(errors), "ErrorEntries": errors})

    # -- events --------------------------------------------------------------------------------
    def put_events(self, req: PopRequest) -> dict[str, Any]:
        results = self.backend.put_events(required(req, "EventBusName"), json_list(req, "EventList", needed=True),
                                          publish_addr=req.request.remote_addr or "127.0.0.1")
        failed = sum(1 for r in results if r.get("ErrorCode"))
        return ok({"FailedEntryCount": failed, "EntryList": results}, code="200")


ACTIONS = (
    "CreateEventBus", "GetEventBus", "ListEventBuses", "DeleteEventBus",
    "CreateRule", "GetRule", "UpdateRule", "ListRules", "EnableRule", "DisableRule", "DeleteRule",
    "PutTargets", "ListTargets", "DeleteTargets", "PutEvents",
)


class EventBridgeService(PopService):
    """EventBridge 2020-04-01 (RPC, ``POST /`` routed by ``x-acs-action``) on the edge.

    Subscribes to the hub so OSS object changes reach the ``default`` bus. The cloud injects
    the FC invoker with :meth:`set_fc_invoker`.
    """

    name = "eventbridge"
    version = "2020-04-01"
    routes = tuple(Route(action, "POST", "/") for action in ACTIONS)

    def __init__(self, *, clock: Any, hub: Any, region: str, account_id: str) -> None:
        self.backend = EventBridgeBackend(clock=clock, region=region, account_id=account_id)
        self.responses = EventBridgeResponses(self.backend)
        if hub is not None:
            hub.subscribe(self.backend.on_hub_event)

    def handle(self, request: Request, action: str | None) -> Response:
        if not action:  # RPC routes all share POST /: the action header is what selects one
            raise ServiceError("MissingAction", "Action is mandatory for this request.", status=400)
        return super().handle(request, action)

    def set_fc_invoker(self, fn: Callable[[str, bytes, str], None] | None) -> None:
        """``fn(function_name, payload, source_label)`` receives every FC-target delivery; it must
        only enqueue (it runs on the publishing thread)."""
        self.backend.fc_invoker = fn

    def subscribe_function(self, bus: str, rule_name: str, pattern: dict[str, Any], function_name: str) -> None:
        self.backend.subscribe_function(bus, rule_name, pattern, function_name)

    def reset(self) -> None:
        self.backend.reset()

    def state(self) -> dict[str, Any]:
        return self.backend.state()

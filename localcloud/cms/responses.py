"""CloudMonitor's HTTP layer: parse each RPC call and serialize the backend's answer.

CloudMonitor 2019-01-01 is RPC style: every call is ``POST /`` with ``x-acs-action`` and every
parameter in the query (verified with ``alibabacloud_cms20190101`` 4.0.10): nested models are
flattened (``Escalations.Critical.Threshold=…``), lists are indexed (``Id.1=…&Id.2=…``), JSON
parameters (``Dimensions``, ``Resources``) are strings. Answers carry ``Code`` ``"200"`` and
``Success: true``; ``Datapoints`` is a JSON **string**.
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from ..core.errors import ServiceError
from ..core.pop import PopRequest, PopService, Route
from .models import CmsBackend, json_list


def ok(**fields: Any) -> dict[str, Any]:
    return {"Code": "200", "Success": True, "Message": "", **fields}


def params_of(req: PopRequest) -> dict[str, Any]:
    """Query and form parameters in one dict (the SDK sends everything in the query)."""
    return {**req.form, **req.query}


def indexed_list(req: PopRequest, name: str) -> list[str]:
    """``Name.1=a&Name.2=b`` → ``["a", "b"]``; also accepts ``Name`` as JSON or comma-separated text."""
    params = params_of(req)
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)$")
    found = sorted((int(m.group(1)), v) for k, v in params.items() if (m := pattern.match(k)))
    if found:
        return [v for _, v in found if v]
    return json_list(params.get(name))


class CmsResponses:
    """One method per CloudMonitor action, named after the action in snake_case."""

    def __init__(self, backend: CmsBackend) -> None:
        self.backend = backend

    def _metric(self, req: PopRequest, *, last: bool) -> dict[str, Any]:
        query, points, token = self.backend.describe_metric(params_of(req), last=last)
        body = ok(Period=str(query.period), Datapoints=json.dumps(points, ensure_ascii=False, separators=(",", ":")))
        if token is not None:
            body["NextToken"] = token
        return body

    def describe_metric_last(self, req: PopRequest) -> dict[str, Any]:
        return self._metric(req, last=True)

    def describe_metric_list(self, req: PopRequest) -> dict[str, Any]:
        return self._metric(req, last=False)

    def describe_metric_meta_list(self, req: PopRequest) -> dict[str, Any]:
        metas, total = self.backend.describe_metric_meta_list(params_of(req))
        return ok(TotalCount=str(total), Resources={"Resource": metas})

    def put_resource_metric_rule(self, req: PopRequest) -> dict[str, Any]:
        self.backend.put_resource_metric_rule(params_of(req))
        return ok()

    def describe_metric_rule_list(self, req: PopRequest) -> dict[str, Any]:
        rules, total = self.backend.describe_metric_rule_list(params_of(req))
        body = ok(Total=str(total), Alarms={"Alarm": [r.describe() for r in rules]})
        body["Code"] = 200  # an integer in this operation's SDK model
        return body

    def delete_metric_rules(self, req: PopRequest) -> dict[str, Any]:
        self.backend.delete_metric_rules(indexed_list(req, "Id"))
        return ok()

    def enable_metric_rules(self, req: PopRequest) -> dict[str, Any]:
        self.backend.set_enabled(indexed_list(req, "RuleId"), True)
        return ok()

    def disable_metric_rules(self, req: PopRequest) -> dict[str, Any]:
        self.backend.set_enabled(indexed_list(req, "RuleId"), False)
        return ok()


ACTIONS = (
    "DescribeMetricLast", "DescribeMetricList", "DescribeMetricMetaList",
    "PutResourceMetricRule", "DescribeMetricRuleList",
    "DeleteMetricRules", "EnableMetricRules", "DisableMetricRules",
)


class CmsService(PopService):
    """CloudMonitor 2019-01-01 (RPC, ``POST /`` routed by ``x-acs-action``) on the edge.

    ``requests`` (the EAS gateway's :class:`~localcloud.core.metrics.RequestLog`) and ``timeline``
    (:class:`~localcloud.core.metrics.Timeline`) are read for metrics; ``eventbridge`` (the
    EventBridge service or its backend, optional) receives the ``acs.cms`` alarm events.
    :meth:`tick` evaluates the alarm rules on the clock.
    """

    name = "cms"
    version = "2019-01-01"
    routes = tuple(Route(action, "POST", "/") for action in ACTIONS)

    def __init__(self, *, clock: Any, region: str, account_id: str, requests: Any = None, timeline: Any = None,
                 eventbridge: Any = None) -> None:
        self.backend = CmsBackend(clock=clock, region=region, account_id=account_id, requests=requests,
                                  timeline=timeline, eventbridge=eventbridge)
        self.responses = CmsResponses(self.backend)

    def handle(self, request: Request, action: str | None) -> Response:
        if not action:  # RPC routes all share POST /: the action header is what selects one
            raise ServiceError("MissingAction", "Action is mandatory for this request.", status=400)
        return super().handle(request, action)

    def tick(self, now: float) -> None:
        self.backend.tick(now)

    def reset(self) -> None:
        self.backend.reset()

    def state(self) -> dict[str, Any]:
        return self.backend.state()

    def control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """``GET /_localcloud/cms/rules`` and ``…/notifications``."""
        state = self.backend.state()
        if method == "GET" and path.rstrip("/") in ("/rules", "/notifications"):
            return 200, state[path.strip("/")]
        return 404, {"Code": "NotFound", "Message": f"no control route {method} /_localcloud/cms{path}"}

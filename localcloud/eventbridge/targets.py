"""Rule targets: their wire shape, validation, and where an FC target delivers.

A target is kept as the caller sent it (``Id, Type, Endpoint, ParamList, PushRetryStrategy,
ErrorsTolerance, DeadLetterQueue, ConcurrentConfig``). ``acs.fc.function`` targets name their
function in ``Endpoint``, in the FC 2.0 form
``acs:fc:<region>:<account>:services/<svc>.<qualifier>/functions/<fn>`` or the FC 3.0 form
``acs:fc:<region>:<account>:functions/<fn>``; a ``ParamList`` entry with ``ResourceKey``
``functionName`` and ``Form`` ``CONSTANT`` overrides it. Other target types are recorded only.

Example
-------
>>> fc_function("acs:fc:cn-hangzhou:1:services/svc.LATEST/functions/on-event")
'on-event'
>>> fc_function("acs:fc:cn-hangzhou:1:functions/on-event")
'on-event'
>>> fc_function("acs:mns:cn-hangzhou:1:queues/q") is None
True
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

FC_TYPE = "acs.fc.function"
TARGET_KEYS = (
    "Id", "Type", "Endpoint", "ParamList", "PushRetryStrategy", "ErrorsTolerance",
    "DeadLetterQueue", "ConcurrentConfig", "PushSelector", "DetailMap",
)
RETRY_STRATEGIES = ("BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY")
ERRORS_TOLERANCE = ("ALL", "NONE")
PARAM_FORMS = ("ORIGINAL", "CONSTANT", "TEMPLATE", "JSONPATH")
_FC_V2 = re.compile(r"^acs:fc:[^:]*:[^:]*:services/[^/]+/functions/(?P<fn>[^/]+)$")
_FC_V3 = re.compile(r"^acs:fc:[^:]*:[^:]*:functions/(?P<fn>[^/]+)$")


def fc_function(endpoint: str) -> str | None:
    """The function an FC endpoint ARN names (either form), else ``None``."""
    for regex in (_FC_V2, _FC_V3):
        found = regex.match(endpoint or "")
        if found:
            return found.group("fn")
    return None


@dataclasses.dataclass
class Target:
    """One target of a rule, as sent on the wire (PascalCase keys)."""

    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.spec["Id"])

    @property
    def type(self) -> str:
        return str(self.spec["Type"])

    @property
    def endpoint(self) -> str:
        return str(self.spec.get("Endpoint") or "")

    @property
    def function(self) -> str | None:
        """The FC function this target invokes (``None`` for other target types)."""
        if self.type != FC_TYPE:
            return None
        for param in self.spec.get("ParamList") or []:
            if str(param.get("ResourceKey", "")).lower() == "functionname" and param.get("Form") == "CONSTANT":
                return str(param.get("Value") or "") or fc_function(self.endpoint)
        return fc_function(self.endpoint)

    def describe(self, **extra: Any) -> dict[str, Any]:
        """The GetRule / ListTargets item."""
        body = {k: v for k, v in self.spec.items() if k in TARGET_KEYS}
        body.setdefault("ParamList", [])
        return {**body, **extra}


def target_problem(spec: Any) -> str | None:
    """Why ``spec`` is not a valid target, or ``None`` when it is."""
    if not isinstance(spec, dict):
        return "A target must be a JSON object."
    for key in ("Id", "Type", "Endpoint"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            return f"The target attribute [{key}] is required and must be a non-empty string."
    strategy = spec.get("PushRetryStrategy")
    if strategy not in (None, "", *RETRY_STRATEGIES):
        return f"PushRetryStrategy [{strategy}] is invalid; valid values: {', '.join(RETRY_STRATEGIES)}."
    tolerance = spec.get("ErrorsTolerance")
    if tolerance not in (None, "", *ERRORS_TOLERANCE):
        return f"ErrorsTolerance [{tolerance}] is invalid; valid values: {', '.join(ERRORS_TOLERANCE)}."
    params = spec.get("ParamList")
    if params is not None:
        if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
            return "ParamList must be an array of {ResourceKey, Form, Value, Template} objects."
        for param in params:
            if param.get("Form") not in PARAM_FORMS:
                return f"ParamList Form [{param.get('Form')}] is invalid; valid values: {', '.join(PARAM_FORMS)}."
    if spec["Type"] == FC_TYPE and Target(spec).function is None:
        return (
            f"The endpoint [{spec['Endpoint']}] of target [{spec['Id']}] is not a Function Compute ARN "
            "(acs:fc:<region>:<account>:services/<service>.<qualifier>/functions/<function> "
            "or acs:fc:<region>:<account>:functions/<function>)."
        )
    return None


def make_target(spec: dict[str, Any]) -> Target:
    """A :class:`Target` from a spec that passed :func:`target_problem`, unknown keys dropped."""
    return Target({k: v for k, v in spec.items() if k in TARGET_KEYS})

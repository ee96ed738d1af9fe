"""Threshold alarm rules and their evaluation on localcloud's clock.

Semantics (localcloud's; the real evaluator's details are not documented to this depth):

* A rule is evaluated at every multiple of its ``Interval`` (seconds; default its ``Period``)
  after it was created, each resource on its own. One evaluation reads the statistic of the
  latest **complete** period ``[t - Period, t)`` (``t`` = the evaluation time rounded down to a
  multiple of the period). A jump of the clock (``cloud.advance``) runs every evaluation it skipped.
* Each escalation level (``Critical`` > ``Warn`` > ``Info``) counts its consecutive breaches; the
  resource is ``ALARM`` at the highest level whose count reached its ``Times``, else ``OK``. One
  evaluation without a breach ends the alarm.
* No data: ``NoDataPolicy`` ``KEEP_LAST_STATE`` (default) changes nothing, ``INSUFFICIENT_DATA``
  and ``OK`` set that state (and clear the counts).
* Every change of a resource's (state, level) is a :class:`Transition`; a rule's ``AlertState`` is
  ``ALARM`` while any resource is, ``INSUFFICIENT_DATA`` when all are, else ``OK``. A new rule is
  ``OK``; a disabled rule is not evaluated and keeps its state.

Example
-------
>>> esc = Escalation("Critical", "Average", "GreaterThanOrEqualToThreshold", "0.1", 2)
>>> esc.expression, esc.breached(0.2), esc.breached(0.05)
('$Average>=0.1', True, False)
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
from collections.abc import Callable
from typing import Any

from . import names

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "!=": operator.ne, "==": operator.eq,
}
MAX_CATCH_UP = 1000  # evaluations run for one clock jump, at most (the latest ones)


@dataclasses.dataclass(frozen=True)
class Escalation:
    """One level's condition: ``<Statistics> <ComparisonOperator> <Threshold>`` for ``Times`` evaluations."""

    level: str
    statistics: str
    comparison: str
    threshold_text: str
    times: int

    @property
    def threshold(self) -> float:
        return float(self.threshold_text)

    @property
    def symbol(self) -> str:
        return names.OPERATORS[self.comparison]

    @property
    def expression(self) -> str:
        return f"${self.statistics}{self.symbol}{self.threshold_text}"

    def breached(self, value: float) -> bool:
        return _COMPARE[self.symbol](value, self.threshold)

    def describe(self) -> dict[str, Any]:
        return {"Statistics": self.statistics, "ComparisonOperator": self.comparison,
                "Threshold": self.threshold_text, "Times": self.times}


@dataclasses.dataclass
class ResourceState:
    """The alarm state of one resource (dimension set) of a rule."""

    dimensions: dict[str, str]
    state: str = "OK"
    level: str | None = None  # "Critical" | "Warn" | "Info" while ALARM
    streaks: dict[str, int] = dataclasses.field(default_factory=dict)
    value: float | None = None
    changed_at: float | None = None

    @property
    def trigger_level(self) -> str:
        """``CRITICAL``/``WARN``/``INFO`` while alarming, else the state (``OK``/``INSUFFICIENT_DATA``)."""
        return names.TRIGGER_LEVELS[self.level] if self.level else self.state


@dataclasses.dataclass(frozen=True)
class Transition:
    """One resource's change of (state, level) at evaluation time ``at``."""

    rule_id: str
    dimensions: dict[str, str]
    previous_state: str
    previous_level: str
    state: str
    level: str
    value: float | None
    expression: str
    at: float


@dataclasses.dataclass
class Rule:
    """One resource threshold rule (PutResourceMetricRule)."""

    rule_id: str
    rule_name: str
    namespace: str
    metric_name: str
    resources: list[dict[str, str]]
    resources_text: str
    escalations: list[Escalation]
    contact_groups: str
    webhook: str | None
    period: int
    interval: int
    no_data_policy: str
    silence_time: int
    send_ok: bool
    created: float
    updated: float
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    enabled: bool = True
    last_eval: float = 0.0
    states: dict[str, ResourceState] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.last_eval:
            self.last_eval = math.floor(self.created / self.interval) * self.interval

    @property
    def all_resources(self) -> bool:
        return any(r.get("resource") == names.ALL_RESOURCES for r in self.resources)

    @property
    def alert_state(self) -> str:
        states = [s.state for s in self.states.values()]
        if "ALARM" in states:
            return "ALARM"
        if states and all(s == "INSUFFICIENT_DATA" for s in states):
            return "INSUFFICIENT_DATA"
        return "OK"

    @property
    def expression(self) -> str:
        return self.escalations[0].expression if self.escalations else ""

    def due(self, now: float) -> list[float]:
        """The evaluation times since the last one, up to ``now`` (at most :data:`MAX_CATCH_UP`)."""
        if now < self.last_eval:  # the clock went back: start again from here
            self.last_eval = math.floor(now / self.interval) * self.interval
            return []
        latest = math.floor(now / self.interval) * self.interval
        count = int(round((latest - self.last_eval) / self.interval))
        if count <= 0:
            return []
        first = latest - (min(count, MAX_CATCH_UP) - 1) * self.interval
        return [first + i * self.interval for i in range(min(count, MAX_CATCH_UP))]

    def evaluate(self, at: float, series: list[dict[str, str]],
                 read: Callable[[dict[str, str], float, float], dict[str, Any] | None]) -> list[Transition]:
        """Evaluate every resource at ``at``; ``read(series, start, end)`` gives the period's point."""
        self.last_eval = at
        end = math.floor(at / self.period) * self.period
        changes = []
        for dims in series:
            key = json.dumps(dims, sort_keys=True)
            current = self.states.setdefault(key, ResourceState(dimensions=dict(dims)))
            change = self._step(current, read(dims, end - self.period, end), at)
            if change is not None:
                changes.append(change)
        return changes

    def _step(self, current: ResourceState, point: dict[str, Any] | None, at: float) -> Transition | None:
        before = (current.state, current.level, current.trigger_level)
        values = {e.level: point.get(e.statistics) for e in self.escalations} if point else {}
        if not any(v is not None for v in values.values()):
            if self.no_data_policy == "KEEP_LAST_STATE":
                return None
            current.streaks.clear()
            current.state, current.level, current.value = self.no_data_policy, None, None
        else:
            level = None
            for esc in self.escalations:  # highest level first
                value = values[esc.level]
                hit = value is not None and esc.breached(float(value))
                current.streaks[esc.level] = current.streaks.get(esc.level, 0) + 1 if hit else 0
                if level is None and current.streaks[esc.level] >= esc.times:
                    level = esc.level
            current.state, current.level = ("ALARM", level) if level else ("OK", None)
            shown = values.get(level) if level else next(v for v in values.values() if v is not None)
            current.value = float(shown) if shown is not None else None
        if (current.state, current.level) == before[:2]:
            return None
        current.changed_at = at
        expression = next((e.expression for e in self.escalations if e.level == current.level), self.expression)
        return Transition(
            rule_id=self.rule_id, dimensions=dict(current.dimensions), previous_state=before[0],
            previous_level=before[2], state=current.state, level=current.trigger_level, value=current.value,
            expression=expression, at=at,
        )

    def describe(self) -> dict[str, Any]:
        """The rule as DescribeMetricRuleList lists it."""
        return {
            "RuleId": self.rule_id, "RuleName": self.rule_name, "Namespace": self.namespace,
            "MetricName": self.metric_name, "Resources": self.resources_text, "Dimensions": self.resources_text,
            "Period": str(self.period), "EnableState": self.enabled, "AlertState": self.alert_state,
            "ContactGroups": self.contact_groups, "Webhook": self.webhook or "", "SilenceTime": self.silence_time,
            "SendOK": self.send_ok, "NoDataPolicy": self.no_data_policy, "SourceType": "METRIC",
            "EffectiveInterval": self.extra.get("EffectiveInterval", ""),
            "NoEffectiveInterval": self.extra.get("NoEffectiveInterval", ""),
            "MailSubject": self.extra.get("EmailSubject", ""), "GmtCreate": int(self.created * 1000),
            "GmtUpdate": str(int(self.updated * 1000)),
            "Escalations": {e.level: e.describe() for e in self.escalations},
            "Labels": {"Labels": self.extra.get("Labels", [])},
        }

    def state(self) -> dict[str, Any]:
        """The rule and its per-resource states (for ``/_localcloud/state``)."""
        return {
            **self.describe(), "Interval": self.interval, "lastEvaluation": self.last_eval,
            "resources": [dataclasses.asdict(s) for s in self.states.values()],
        }


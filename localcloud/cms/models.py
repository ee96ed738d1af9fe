"""CloudMonitor's state and behaviour: one method per API operation (all validation here), the
alarm evaluator (:meth:`CmsBackend.tick`), reset and state."""

from __future__ import annotations

import json
import threading
from typing import Any

from . import exceptions as err
from . import names
from .alarms import Escalation, Rule, Transition
from .metrics import MetricStore, matches
from .notify import Notifier
from .query import MetricQuery, metric_query, parse_dimensions


class CmsBackend:
    """Metrics read back from localcloud's observations, and threshold alarm rules."""

    def __init__(self, *, clock: Any, region: str, account_id: str, requests: Any = None, timeline: Any = None,
                 eventbridge: Any = None) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.store = MetricStore(requests=requests, timeline=timeline, account_id=account_id)
        self.notifier = Notifier(eventbridge=eventbridge, region=region, account_id=account_id, clock=clock)
        self._lock = threading.RLock()
        self.rules: dict[str, Rule] = {}

    # -- control -------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
        self.notifier.reset()

    def state(self) -> dict[str, Any]:
        with self._lock:
            rules = {rule_id: rule.state() for rule_id, rule in self.rules.items()}
        return {"rules": rules, "notifications": self.notifier.records()}

    # -- metrics -------------------------------------------------------------------------------
    def describe_metric(self, params: dict[str, Any], *, last: bool) -> tuple[MetricQuery, list[dict[str, Any]],
                                                                              str | None]:
        """DescribeMetricLast (``last``) / DescribeMetricList: the page of points and the next token."""
        query = metric_query(params, now=self.clock.now(), last=last)
        points: list[dict[str, Any]] = []
        for series in self.store.series(query.namespace, query.metric, query.dimensions):
            points.extend(self.store.points(query.namespace, query.metric, series, start=query.start,
                                            end=query.end, period=query.period, newest_only=last))
        if not last:
            points.sort(key=lambda p: p["timestamp"])  # stable: series order within one timestamp
        page = points[query.offset:query.offset + query.length]
        more = query.offset + query.length < len(points)
        return query, page, str(query.offset + query.length) if more else None

    def describe_metric_meta_list(self, params: dict[str, Any]) -> tuple[list[dict[str, str]], int]:
        """The metrics localcloud knows by name (EAS's derived ones, DSW's usual ones), filtered and paged."""
        page = _int(params, "PageNumber", 1, lo=1)
        size = _int(params, "PageSize", 30, lo=1)
        periods = ",".join(map(str, names.PERIODS))
        metas = [{"Namespace": names.EAS_NAMESPACE, "MetricName": metric, "Unit": m.unit, "Periods": periods,
                  "Dimensions": f"{names.USER_DIMENSION},{names.EAS_DIMENSION}",
                  "Statistics": "Average,Maximum,Minimum" + (",Sum" if m.kind == "rate" else "") + ",SampleCount",
                  "Description": f"EAS {metric} (localcloud: derived from the gateway's requests)", "Labels": "[]"}
                 for metric, m in names.EAS_METRICS.items()]
        metas += [{"Namespace": names.DSW_NAMESPACE, "MetricName": metric, "Unit": "%", "Periods": periods,
                   "Dimensions": f"{names.USER_DIMENSION},{names.DSW_DIMENSION}",
                   "Statistics": "Average,Maximum,Minimum,Sum,SampleCount",
                   "Description": f"DSW {metric} (localcloud: from the usage timeline)", "Labels": "[]"}
                  for metric in names.DSW_METRICS]
        metas = [m for m in metas if (not params.get("Namespace") or m["Namespace"] == params["Namespace"])
                 and (not params.get("MetricName") or m["MetricName"] == params["MetricName"])]
        return metas[(page - 1) * size:page * size], len(metas)

    # -- alarm rules ---------------------------------------------------------------------------
    def put_resource_metric_rule(self, params: dict[str, Any]) -> Rule:
        for unsupported in ("CompositeExpression", "Prometheus"):
            if params.get(unsupported) not in (None, "", "{}"):
                raise err.unsupported(unsupported)
        rule_id, rule_name, namespace, metric = (_required(params, p) for p in
                                                 ("RuleId", "RuleName", "Namespace", "MetricName"))
        contact_groups = _required(params, "ContactGroups")
        resources_text = _required(params, "Resources")
        resources = parse_dimensions(resources_text, name="Resources", limit=None) or []
        key = names.dimension_key(namespace)
        for resource in resources:
            if resource.get("resource") != names.ALL_RESOURCES and key not in resource:
                raise err.invalid(f"Resources of {namespace} must name {key!r} (or be "
                                  f'[{{"resource":"{names.ALL_RESOURCES}"}}]), got {resource}.')
        period = _seconds(params, "Period", names.DEFAULT_PERIOD)
        no_data = str(params.get("NoDataPolicy") or "KEEP_LAST_STATE")
        if no_data not in names.NO_DATA_POLICIES:
            raise err.invalid(f"NoDataPolicy {no_data!r} is invalid: use one of {', '.join(names.NO_DATA_POLICIES)}.")
        now = self.clock.now()
        extra = {k: params[k] for k in ("EffectiveInterval", "NoEffectiveInterval", "EmailSubject") if params.get(k)}
        labels = _indexed_objects(params, "Labels")
        if labels:
            extra["Labels"] = labels
        with self._lock:
            previous = self.rules.get(rule_id)
            rule = Rule(
                rule_id=rule_id, rule_name=rule_name, namespace=namespace, metric_name=metric,
                resources=resources, resources_text=resources_text, escalations=_escalations(params),
                contact_groups=contact_groups, webhook=params.get("Webhook") or None, period=period,
                interval=_seconds(params, "Interval", period), no_data_policy=no_data,
                silence_time=_int(params, "SilenceTime", names.DEFAULT_SILENCE_TIME),
                send_ok=_bool(params.get("SendOK"), True), created=previous.created if previous else now,
                updated=now, extra=extra, enabled=previous.enabled if previous else True,
            )
            if previous is not None:  # an update keeps the states, restarts the counts
                rule.states = previous.states
                for state in rule.states.values():
                    state.streaks.clear()
                rule.last_eval = previous.last_eval
            self.rules[rule_id] = rule
            return rule

    def describe_metric_rule_list(self, params: dict[str, Any]) -> tuple[list[Rule], int]:
        page = _int(params, "Page", 1, lo=1)
        size = _int(params, "PageSize", 10, lo=1)
        ids = [i.strip() for i in str(params.get("RuleIds") or "").split(",") if i.strip()]
        if len(ids) > 20:
            raise err.invalid(f"RuleIds names {len(ids)} rules: at most 20 can be queried at once.")
        wanted_dims = parse_dimensions(params.get("Dimensions"), limit=None)
        enable = _bool(params.get("EnableState"), None)
        with self._lock:
            rules = [
                r for r in self.rules.values()
                if (not ids or r.rule_id in ids)
                and (not params.get("RuleName") or str(params["RuleName"]) in r.rule_name)
                and (not params.get("Namespace") or r.namespace == params["Namespace"])
                and (not params.get("MetricName") or r.metric_name == params["MetricName"])
                and (not params.get("AlertState") or r.alert_state == params["AlertState"])
                and (enable is None or r.enabled == enable)
                and (wanted_dims is None or any(matches(res, wanted_dims) for res in r.resources))
            ]
        rules.sort(key=lambda r: r.created)
        return rules[(page - 1) * size:page * size], len(rules)

    def delete_metric_rules(self, rule_ids: list[str]) -> None:
        with self._lock:
            self._known(rule_ids, "Id")
            for rule_id in rule_ids:
                del self.rules[rule_id]

    def set_enabled(self, rule_ids: list[str], enabled: bool) -> None:
        with self._lock:
            self._known(rule_ids, "RuleId")
            now = self.clock.now()
            for rule_id in rule_ids:
                rule = self.rules[rule_id]
                if enabled and not rule.enabled:  # evaluations resume from now, not from the pause
                    rule.last_eval = now // rule.interval * rule.interval
                rule.enabled = enabled

    def _known(self, rule_ids: list[str], param: str) -> None:
        if not rule_ids:
            raise err.missing(param)
        for rule_id in rule_ids:
            if rule_id not in self.rules:
                raise err.rule_not_found(rule_id)

    # -- evaluation ----------------------------------------------------------------------------
    def tick(self, now: float) -> list[Transition]:
        """Run every due evaluation; publish each state change once. Returns the changes."""
        fired: list[tuple[Rule, Transition]] = []
        with self._lock:
            for rule in list(self.rules.values()):
                if not rule.enabled:
                    continue
                for at in rule.due(now):
                    fired.extend((rule, change) for change in self._evaluate(rule, at))
        for rule, change in fired:  # outside the lock: publishing may run other services' code
            self.notifier.notify(rule, change)
        return [change for _, change in fired]

    def _evaluate(self, rule: Rule, at: float) -> list[Transition]:
        if rule.all_resources:
            series = self.store.series(rule.namespace, rule.metric_name, None)
        else:
            series = [{names.USER_DIMENSION: self.account_id, **r} for r in rule.resources]

        def read(dims: dict[str, str], start: float, end: float) -> dict[str, Any] | None:
            # read like DescribeMetricLast (so a rate is 0, not missing, once traffic stopped) but
            # only the period [start, end) counts
            found = self.store.points(rule.namespace, rule.metric_name, dims, period=rule.period, newest_only=True,
                                      start=end - max(names.lookback_seconds(rule.period), rule.period), end=end)
            return found[-1] if found and found[-1]["timestamp"] == int(start * 1000) else None

        return rule.evaluate(at, series, read)


# -- parameter helpers -------------------------------------------------------------------------
def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None or str(value).strip() == "":
        raise err.missing(name)
    return str(value)


def _int(params: dict[str, Any], name: str, default: int, *, lo: int | None = None) -> int:
    value = params.get(name)
    if value is None or str(value).strip() == "":
        return default
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or (lo is not None and int(text) < lo):
        raise err.invalid(f"{name} {text!r} is invalid: expected an integer{f' >= {lo}' if lo is not None else ''}.")
    return int(text)


def _seconds(params: dict[str, Any], name: str, default: int) -> int:
    seconds = _int(params, name, default, lo=1)
    if seconds % 15:
        raise err.invalid(f"{name} {seconds} is invalid: use a multiple of 15 seconds.")
    return seconds


def _bool(value: Any, default: bool | None) -> Any:
    if value is None or str(value).strip() == "":
        return default
    lowered = str(value).strip().lower()
    if lowered not in ("true", "false"):
        raise err.invalid(f"Expected true or false, got {value!r}.")
    return lowered == "true"


def _indexed_objects(params: dict[str, Any], name: str) -> list[dict[str, str]]:
    """``Labels.1.Key=a&Labels.1.Value=b`` → ``[{"Key": "a", "Value": "b"}]``."""
    found: dict[int, dict[str, str]] = {}
    prefix = name + "."
    for key, value in params.items():
        if key.startswith(prefix):
            index, _, field = key[len(prefix):].partition(".")
            if index.isdigit() and field:
                found.setdefault(int(index), {})[field] = str(value)
    return [found[i] for i in sorted(found)]


def _escalations(params: dict[str, Any]) -> list[Escalation]:
    """``Escalations.<Level>.<Field>`` query keys → the levels, highest first."""
    levels = []
    for level in names.LEVELS:
        fields = {f: params.get(f"Escalations.{level}.{f}") for f in ("Statistics", "ComparisonOperator",
                                                                       "Threshold", "Times")}
        if all(v in (None, "") for v in fields.values()):
            continue
        for field in ("Statistics", "ComparisonOperator", "Threshold"):
            if fields[field] in (None, ""):
                raise err.missing(f"Escalations.{level}.{field}")
        statistic, comparison, threshold = (str(fields[f]) for f in ("Statistics", "ComparisonOperator", "Threshold"))
        if statistic not in names.STATISTICS:
            raise err.invalid(f"Escalations.{level}.Statistics {statistic!r} is invalid: use one of "
                              f"{', '.join(names.STATISTICS)}.")
        if comparison not in names.OPERATORS:
            raise err.invalid(f"Escalations.{level}.ComparisonOperator {comparison!r} is invalid or not supported "
                              f"by localcloud: use one of {', '.join(names.OPERATORS)}.")
        try:
            float(threshold)
        except ValueError:
            raise err.invalid(f"Escalations.{level}.Threshold {threshold!r} is not a number.") from None
        times = _int({"Times": fields["Times"]}, "Times", 1, lo=1)
        levels.append(Escalation(level, statistic, comparison, threshold, times))
    if not levels:
        raise err.missing("Escalations")
    return levels


def json_list(value: Any) -> list[Any]:
    """A list parameter given as ``Id.1, Id.2`` … (collected by the responses layer) or JSON text."""
    if isinstance(value, list):
        return value
    text = str(value or "").strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise err.invalid(f"Not a JSON array: {text[:200]!r}.") from None
        return [str(v) for v in parsed] if isinstance(parsed, list) else []
    return [t.strip() for t in text.split(",") if t.strip()]

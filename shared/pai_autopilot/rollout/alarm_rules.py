"""The CloudMonitor alarm rules ``wire`` keeps per pipeline, so alarms reach the ``alarm`` function.

Per pipeline with a ``rollout:`` block, on the EAS namespace (``acs_pai_eas``, ASSUMED, see
:mod:`.metrics`), for every service of the account (``[{"resource": "_ALL"}]``: a canary's
name is only known when its model lands; the alarm function acts only on services in rollout):

* ``pai-autopilot-<pipeline>-5xx``: ``5xxResponseRatio`` Average > ``max_error_ratio``;
* ``pai-autopilot-<pipeline>-p99``: ``TP99`` Average > ``max_p99_ms`` (only when set).

Both fire after 2 consecutive periods of ``interval_seconds`` (rounded to CloudMonitor's 60 s
grid), and reach the function through the default bus (CloudMonitor publishes every alarm there;
the fc3 eventbridge trigger of ``alarm`` picks them up) and, when a callback URL is given, the
form-encoded webhook (``<url>?kid=…&token=…``, the token derived from the webhook secret, see
:mod:`pai_autopilot.ops.callback`). The plan never prints the token.

Example
-------
>>> redact_url("https://a.fcapp.run/alarm?token=s3cr3t")
'https://a.fcapp.run/alarm?token=***'
"""

from __future__ import annotations

import re
from typing import Any

from ..config import AutopilotConfig

PREFIX = "pai-autopilot"
CONTACT_GROUP = "pai-autopilot"
NAMESPACE = "acs_pai_eas"
ALL_RESOURCES = '[{"resource":"_ALL"}]'
TIMES = 2


def redact_url(url: str) -> str:
    """The URL without its token (for plans and logs)."""
    return re.sub(r"(token=)[^&]*", r"\1***", url)


def wanted_rules(config: AutopilotConfig, *, webhook: str | None) -> list[dict[str, Any]]:
    """The rules every pipeline with a rollout should have, as PutResourceMetricRule fields.

    >>> import msgspec
    >>> from ..config import parse_config
    >>> cfg = parse_config("version: 1\\nstorage: {bucket: b-1}\\npipelines:\\n  demo:\\n    dataset: {prefix: d/}\\n"
    ...                    "    training: {image: i, command: c, ecs_spec: e}\\n    rollout: {max_p99_ms: 500}\\n")
    >>> [(r["rule_id"], r["metric_name"], r["threshold"]) for r in wanted_rules(cfg, webhook=None)]
    [('pai-autopilot-demo-5xx', '5xxResponseRatio', '0.05'), ('pai-autopilot-demo-p99', 'TP99', '500.0')]
    """
    rules = []
    for name, pipeline in sorted(config.pipelines.items()):
        r = pipeline.rollout
        if r is None:
            continue
        period = str(max(60, (r.interval_seconds // 60) * 60))
        for suffix, metric, threshold in (("5xx", "5xxResponseRatio", r.max_error_ratio), ("p99", "TP99", r.max_p99_ms)):
            if threshold is None:
                continue
            rules.append({
                "rule_id": f"{PREFIX}-{name}-{suffix}", "rule_name": f"{PREFIX} {name} canary {metric}",
                "metric_name": metric, "threshold": repr(float(threshold)) if suffix == "p99" else str(threshold),
                "period": period, "webhook": webhook,
            })
    return rules


def _request(rule: dict[str, Any]) -> Any:
    from alibabacloud_cms20190101 import models

    critical = models.PutResourceMetricRuleRequestEscalationsCritical(
        comparison_operator="GreaterThanThreshold", statistics="Average", threshold=rule["threshold"], times=TIMES)
    return models.PutResourceMetricRuleRequest(
        rule_id=rule["rule_id"], rule_name=rule["rule_name"], namespace=NAMESPACE, metric_name=rule["metric_name"],
        resources=ALL_RESOURCES, contact_groups=CONTACT_GROUP, period=rule["period"], silence_time=300,
        escalations=models.PutResourceMetricRuleRequestEscalations(critical=critical), webhook=rule["webhook"] or None,
    )


def plan_rules(config: AutopilotConfig, cms: Any, *, webhook: str | None) -> list[tuple[str, dict[str, Any], str]]:
    """``(action, rule, detail)`` per wanted rule: ``create``, ``update`` or ``unchanged``."""
    from alibabacloud_cms20190101 import models

    wanted = wanted_rules(config, webhook=webhook)
    if not wanted:
        return []
    ids = ",".join(r["rule_id"] for r in wanted)
    body = cms.describe_metric_rule_list(models.DescribeMetricRuleListRequest(rule_ids=ids, page_size=100)).body
    existing = {a.rule_id: a for a in ((body.alarms.alarm if body.alarms else None) or [])}
    out = []
    for rule in wanted:
        found = existing.get(rule["rule_id"])
        detail = f"{rule['metric_name']} > {rule['threshold']}" + (f" → {redact_url(webhook)}" if webhook else " → default bus")
        if found is None:
            out.append(("create", rule, detail))
            continue
        critical = found.escalations.critical if found.escalations else None
        same = (critical is not None and str(critical.threshold) == rule["threshold"] and str(found.period) == rule["period"]
                and (found.webhook or None) == (rule["webhook"] or None))
        out.append(("unchanged" if same else "update", rule, detail))
    return out


def apply_rule(cms: Any, rule: dict[str, Any]) -> None:
    """PutResourceMetricRule (creates or replaces the rule of that id)."""
    cms.put_resource_metric_rule(_request(rule))

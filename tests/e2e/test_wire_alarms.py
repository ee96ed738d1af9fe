"""`wire` keeps the rollouts' CloudMonitor alarm rules: planned, dry-run, idempotent, token never printed."""

from __future__ import annotations

from alibabacloud_cms20190101 import models as cms_models

from .test_wire import wire


def test_alarm_rules_are_planned_then_created_once_and_reach_the_alarm_function(project_cloud, sdk, monkeypatch):
    url = f"{project_cloud.url}/_fc/pai-autopilot-alarm/v1/cms/alarm"
    dry = wire(project_cloud, "--dry-run", "--alarm-callback-url", url)
    assert "create     cms alarm rule: pai-autopilot-demo-5xx (5xxResponseRatio > 0.05 → " in dry.output, dry.output
    rules = sdk.cms.describe_metric_rule_list(cms_models.DescribeMetricRuleListRequest(rule_ids="pai-autopilot-demo-5xx"))
    assert not (rules.body.alarms and rules.body.alarms.alarm)  # dry run: nothing created
    env_token = "tok-123"
    monkeypatch.setenv("AUTOPILOT_ALARM_TOKEN", env_token)
    first = wire(project_cloud, "--alarm-callback-url", url)
    assert first.exit_code == 0 and env_token not in first.output, first.output
    again = wire(project_cloud, "--alarm-callback-url", url)
    assert "unchanged  cms alarm rule: pai-autopilot-demo-5xx" in again.output and "nothing to change" in again.output
    (rule,) = sdk.cms.describe_metric_rule_list(
        cms_models.DescribeMetricRuleListRequest(rule_ids="pai-autopilot-demo-5xx")).body.alarms.alarm
    assert rule.metric_name == "5xxResponseRatio" and rule.escalations.critical.threshold == "0.05"
    assert rule.webhook == f"{url}?token={env_token}"

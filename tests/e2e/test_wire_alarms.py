"""`wire` keeps the rollouts' CloudMonitor alarm rules: planned, dry-run, idempotent, token never printed; the
callback URL it sets carries the token the webhook's /v1/alerts/cms takes too, and the alarm function accepts it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import requests
from alibabacloud_cms20190101 import models as cms_models
from typer.testing import CliRunner

from pai_autopilot.cli import app

from .conftest import WEBHOOK_KEY_ID, WEBHOOK_SECRET
from .test_wire import wire

ALARM = "pai-autopilot-alarm"
FORM = b"alertName=p99&alertState=ALERT&curValue=912&ruleId=r1&dimensions=%7BserviceName%3Ddemo_model_v2%7D"


def rule_of(sdk):
    (rule,) = sdk.cms.describe_metric_rule_list(
        cms_models.DescribeMetricRuleListRequest(rule_ids="pai-autopilot-demo-5xx")).body.alarms.alarm
    return rule


def post(url: str, query: dict[str, str] | None = None) -> requests.Response:
    return requests.post(url, params=query, data=FORM, timeout=60,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_alarm_rules_are_planned_then_created_once_and_reach_the_alarm_function(project_cloud, sdk, monkeypatch):
    url = f"{project_cloud.url}/_fc/{ALARM}/v1/cms/alarm"
    # no secret to derive the callback token from: refused before anything is planned
    monkeypatch.delenv("AUTOPILOT_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("AUTOPILOT_ALARM_TOKEN", raising=False)
    tokenless = wire(project_cloud, "--dry-run", "--alarm-callback-url", url)
    assert tokenless.exit_code == 2 and "the alarm callback URL needs its token" in tokenless.output, tokenless.output
    monkeypatch.setenv("AUTOPILOT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("AUTOPILOT_WEBHOOK_KEY_ID", WEBHOOK_KEY_ID)
    dry = wire(project_cloud, "--dry-run", "--alarm-callback-url", url)
    assert "create     cms alarm rule: pai-autopilot-demo-5xx (5xxResponseRatio > 0.05 → " in dry.output, dry.output
    rules = sdk.cms.describe_metric_rule_list(cms_models.DescribeMetricRuleListRequest(rule_ids="pai-autopilot-demo-5xx"))
    assert not (rules.body.alarms and rules.body.alarms.alarm)  # dry run: nothing created
    first = wire(project_cloud, "--alarm-callback-url", url)
    again = wire(project_cloud, "--alarm-callback-url", url)
    assert first.exit_code == 0, first.output
    assert "unchanged  cms alarm rule: pai-autopilot-demo-5xx" in again.output and "nothing to change" in again.output
    rule = rule_of(sdk)
    assert rule.metric_name == "5xxResponseRatio" and rule.escalations.critical.threshold == "0.05"
    # the rule's URL is what `webhook callback-url --alarm-url` prints; its token is never printed by wire
    printed = CliRunner().invoke(app, ["webhook", "callback-url", "--alarm-url", url])
    assert printed.exit_code == 0 and rule.webhook == printed.output.strip(), (printed.output, rule.webhook)
    query = dict(parse_qsl(urlsplit(rule.webhook).query))
    assert query["kid"] == WEBHOOK_KEY_ID and query["token"] not in first.output + dry.output + again.output
    # the alarm function accepts it; a wrong or absent token is 401 bad_signature
    accepted = post(rule.webhook)
    assert accepted.status_code == 200 and accepted.json()["outcome"] == "notified", accepted.text  # no rollout here
    for bad in ({**query, "token": "0" * 64}, {}):
        denied = post(url, bad)
        assert (denied.status_code, denied.json()["error"]["code"]) == (401, "bad_signature"), denied.text
    # and the webhook's /v1/alerts/cms takes the very same kid and token (the same alarm again: a duplicate)
    hook = post(f"{project_cloud.url}/_fc/pai-autopilot-webhook/v1/alerts/cms", query)
    assert hook.status_code == 200 and hook.json()["outcome"] == "noop", hook.text
    assert not any(query["token"] in line for line in project_cloud.fc.logs(ALARM) + project_cloud.fc.logs("pai-autopilot-webhook"))


def test_the_deprecated_alarm_token_overrides_for_one_release(project_cloud, sdk, monkeypatch):
    url = f"{project_cloud.url}/_fc/{ALARM}/v1/cms/alarm"
    monkeypatch.setenv("AUTOPILOT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("AUTOPILOT_ALARM_TOKEN", "tok-123")
    applied = wire(project_cloud, "--alarm-callback-url", url)
    assert applied.exit_code == 0 and "tok-123" not in applied.output, applied.output
    assert "warning: AUTOPILOT_ALARM_TOKEN is deprecated" in applied.output
    assert rule_of(sdk).webhook == f"{url}?token=tok-123"

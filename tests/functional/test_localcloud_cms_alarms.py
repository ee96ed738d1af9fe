"""CloudMonitor alarm rules on localcloud through the real alibabacloud_cms20190101 client: CRUD,
evaluation on the clock, and one notification per state change (EventBridge + form webhook), both
readable by the project's own parser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_cms20190101 import models
from alibabacloud_eventbridge20200401 import models as eb_models

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET
from pai_autopilot.events import cms_alarm, parse_event
from pai_autopilot.events.cloudevents import CloudEvent
from pai_autopilot.events.http import HttpRequest
from tests.functional.cms_support import (
    T0,
    Recorder,
    cms_service,
    fail,
    frozen_cms,
    last,
    running_recorder,
    seed,
    settle,
)

FC_ENDPOINT = "acs:fc:cn-hangzhou:1234567890123456:functions/on-alarm"


def critical(threshold: str = "0.1", times: int = 2, statistics: str = "Average",
             op: str = "GreaterThanOrEqualToThreshold") -> models.PutResourceMetricRuleRequestEscalations:
    return models.PutResourceMetricRuleRequestEscalations(critical=models.PutResourceMetricRuleRequestEscalationsCritical(
        statistics=statistics, comparison_operator=op, threshold=threshold, times=times))


def put_rule(cms, rule_id: str = "canary-5xx", *, service: str = "svc-canary", webhook_url: str | None = None,
             metric: str = "5xxResponseRatio", **kw: Any) -> None:
    fields = {"rule_name": f"{rule_id}-name", "namespace": "acs_pai_eas", "metric_name": metric,
              "resources": json.dumps([{"serviceName": service}]), "contact_groups": "oncall", "period": "60",
              "escalations": critical(), "webhook": webhook_url, **kw}
    body = cms.put_resource_metric_rule(models.PutResourceMetricRuleRequest(rule_id=rule_id, **fields)).body
    assert (body.code, body.success) == ("200", True)


def rules(cms, **kw: Any):
    body = cms.describe_metric_rule_list(models.DescribeMetricRuleListRequest(**kw)).body
    assert body.success is True
    return body.alarms.alarm, int(body.total)


@pytest.fixture
def cms(cloud):
    return frozen_cms(cloud)


@pytest.fixture
def webhook():
    yield from running_recorder()


@pytest.fixture
def captured(cloud):
    """CloudEvents delivered by an EventBridge rule on the default bus matching ``acs.cms`` events."""
    from alibabacloud_eventbridge20200401.client import Client
    from alibabacloud_tea_openapi.models import Config

    eb = Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                       endpoint=cloud.url.removeprefix("http://"), protocol="http"))
    eb.create_rule(eb_models.CreateRuleRequest(
        event_bus_name="default", rule_name="cms-alarms", filter_pattern=json.dumps({"source": ["acs.cms"]}),
        event_targets=[eb_models.CreateRuleRequestEventTargets(id="fc", type="acs.fc.function", endpoint=FC_ENDPOINT,
                                                               push_retry_strategy="BACKOFF_RETRY")]))
    calls: list[tuple[str, bytes]] = []
    cloud.eventbridge.set_fc_invoker(lambda fn, payload, label: calls.append((fn, payload)))
    yield calls
    cloud.eventbridge.set_fc_invoker(None)


# -- rules CRUD ----------------------------------------------------------------------------------
def test_rules_put_describe_enable_disable_delete(cms, cloud):
    # Given two rules, one with a warn level too
    put_rule(cms, "r-1", webhook_url="http://127.0.0.1:1/hook")
    esc = critical("500", 3, "Maximum", "GreaterThanThreshold")
    esc.warn = models.PutResourceMetricRuleRequestEscalationsWarn(
        statistics="Average", comparison_operator="GreaterThanThreshold", threshold="300", times=2)
    put_rule(cms, "r-2", metric="TP99", service="svc-other", escalations=esc, send_ok=False)
    # When they are listed
    alarms, total = rules(cms)
    # Then both are described, enabled and OK, with their escalations
    assert total == 2 and [a.rule_id for a in alarms] == ["r-1", "r-2"]
    first = alarms[0]
    assert (first.rule_name, first.namespace, first.metric_name, first.period, first.enable_state, first.alert_state,
            first.contact_groups, first.webhook) == ("r-1-name", "acs_pai_eas", "5xxResponseRatio", "60", True, "OK",
                                                     "oncall", "http://127.0.0.1:1/hook")
    assert json.loads(first.resources) == [{"serviceName": "svc-canary"}]
    crit = first.escalations.critical
    assert (crit.statistics, crit.comparison_operator, crit.threshold, crit.times) == (
        "Average", "GreaterThanOrEqualToThreshold", "0.1", 2)
    assert alarms[1].escalations.warn.threshold == "300" and alarms[1].send_ok is False
    # And the filters select by name, metric, ids, dimensions; pages have PageSize rules
    assert [a.rule_id for a in rules(cms, rule_name="r-2")[0]] == ["r-2"]
    assert [a.rule_id for a in rules(cms, metric_name="TP99")[0]] == ["r-2"]
    assert [a.rule_id for a in rules(cms, rule_ids="r-1")[0]] == ["r-1"]
    assert [a.rule_id for a in rules(cms, dimensions='{"serviceName":"svc-canary"}')[0]] == ["r-1"]
    assert [a.rule_id for a in rules(cms, page=2, page_size=1)[0]] == ["r-2"]
    # When r-1 is disabled, then it is listed as disabled; enabled again, as enabled
    cms.disable_metric_rules(models.DisableMetricRulesRequest(rule_id=["r-1"]))
    assert [a.rule_id for a in rules(cms, enable_state=False)[0]] == ["r-1"]
    cms.enable_metric_rules(models.EnableMetricRulesRequest(rule_id=["r-1"]))
    assert rules(cms, enable_state=False)[1] == 0
    # When a rule is put again under its id, then it is updated in place
    put_rule(cms, "r-1", escalations=critical("0.3"))
    assert rules(cms, rule_ids="r-1")[0][0].escalations.critical.threshold == "0.3"
    # When both are deleted, then none is left
    assert cms.delete_metric_rules(models.DeleteMetricRulesRequest(id=["r-1", "r-2"])).body.success is True
    assert rules(cms) == ([], 0)


def test_rule_errors(cms):
    # Missing required parameters are named
    assert fail(lambda: put_rule(cms, contact_groups=None)).code == "MissingContactGroups"
    assert fail(lambda: put_rule(cms, escalations=None)).code == "MissingEscalations"
    # Bad values are refused with ParameterInvalid
    for kw, word in [({"escalations": critical(op="GreaterThanYesterday")}, "ComparisonOperator"),
                     ({"escalations": critical(statistics="P99")}, "Statistics"),
                     ({"escalations": critical(threshold="high")}, "Threshold"),
                     ({"resources": '[{"instanceId": "i-1"}]'}, "serviceName"),
                     ({"no_data_policy": "PANIC"}, "NoDataPolicy"),
                     ({"period": "20"}, "Period")]:
        error = fail(lambda kw=kw: put_rule(cms, **kw))
        assert (error.code, error.status_code) == ("ParameterInvalid", 400) and word in error.message
    assert fail(lambda: rules(cms, rule_ids=",".join(f"r{i}" for i in range(21)))).code == "ParameterInvalid"
    # Unknown rules are not found
    for call in (lambda: cms.delete_metric_rules(models.DeleteMetricRulesRequest(id=["nope"])),
                 lambda: cms.enable_metric_rules(models.EnableMetricRulesRequest(rule_id=["nope"])),
                 lambda: cms.disable_metric_rules(models.DisableMetricRulesRequest(rule_id=["nope"]))):
        error = fail(call)
        assert (error.code, error.status_code) == ("ResourceNotFound", 404) and "nope" in error.message
    assert fail(lambda: cms.delete_metric_rules(models.DeleteMetricRulesRequest())).code == "MissingId"


# -- acceptance: a 20 % 5xx canary fires once, recovers once --------------------------------------
def test_canary_with_20_percent_5xx_fires_once_into_eventbridge_and_the_webhook(cms, cloud, captured, webhook):
    # Given a canary answering 503 to one request in five, and a rule: 5xx ratio >= 0.1 twice in a row
    put_rule(cms, "canary-5xx", webhook_url=webhook.url)
    seed(cloud, "svc-canary", start=T0, seconds=180, error_every=5)
    cloud.advance(60)
    # Then CloudMonitor shows a 5xx ratio near 0.2
    assert abs(last(cms, "5xxResponseRatio", [{"serviceName": "svc-canary"}])[0]["Average"] - 0.2) < 0.01
    # And after one breaching minute nothing has fired (Times = 2)
    assert captured == [] and rules(cms)[0][0].alert_state == "OK"
    # When the second breaching minute is evaluated, and a third one after it
    cloud.advance(60)
    cloud.advance(60)
    # Then the rule is ALARM and exactly one acs.cms event reached the EventBridge rule's target
    assert rules(cms)[0][0].alert_state == "ALARM"
    assert len(captured) == 1
    function, payload = captured[0]
    event = parse_event(payload)
    assert isinstance(event, CloudEvent) and (event.source, event.type) == ("acs.cms", "cms:CloudMonitor:AlertWebHook")
    alarm = cms_alarm(event)
    assert (alarm.rule_id, alarm.state, alarm.level, alarm.previous_level, alarm.metric_name, alarm.namespace) == (
        "canary-5xx", "ALERT", "CRITICAL", "OK", "5xxResponseRatio", "acs_pai_eas")
    assert alarm.current_value == pytest.approx(0.2) and alarm.dimensions["serviceName"] == "svc-canary"
    assert alarm.timestamp_ms == int((T0 + 120) * 1000) and alarm.expression == "$Average>=0.1"
    # And exactly one form-encoded POST reached the webhook, parsed the same way
    posts = webhook.wait_for(1)
    settle()
    assert len(webhook.requests) == 1 and posts[0]["content_type"].startswith("application/x-www-form-urlencoded")
    posted = cms_alarm(HttpRequest(method="POST", body=posts[0]["body"],
                                   headers={"Content-Type": posts[0]["content_type"]}))
    assert (posted.rule_id, posted.state, posted.current_value, posted.dimensions) == (
        alarm.rule_id, alarm.state, alarm.current_value, alarm.dimensions)
    # When the canary becomes healthy again
    seed(cloud, "svc-canary", start=T0 + 180, seconds=180)
    cloud.advance(60)
    cloud.advance(60)
    # Then the rule recovers to OK with one more event and one more POST, and nothing else follows
    assert rules(cms)[0][0].alert_state == "OK"
    assert len(captured) == 2 and len(webhook.wait_for(2)) == 2
    recovered = cms_alarm(parse_event(captured[1][1]))
    assert (recovered.state, recovered.previous_level, recovered.current_value) == ("OK", "CRITICAL", 0.0)
    cloud.advance(120)
    settle()
    assert len(captured) == 2 and len(webhook.requests) == 2
    notes = cms_service(cloud).state()["notifications"]
    assert [(n["state"], n["webhook"]["status"]) for n in notes] == [("ALERT", "delivered"), ("OK", "delivered")]


# -- other behaviours ------------------------------------------------------------------------------
def test_no_data_policy_disabled_rules_and_all_resources(cms, cloud):
    # Given a rule that reports missing data, and a disabled one on every service
    put_rule(cms, "no-data", service="svc-quiet", no_data_policy="INSUFFICIENT_DATA",
             escalations=critical("5", 1, op="LessThanThreshold"), metric="QueryPerSecondTotal")
    put_rule(cms, "all", resources='[{"resource": "_ALL"}]', escalations=critical("0.1", 1))
    cms.disable_metric_rules(models.DisableMetricRulesRequest(rule_id=["all"]))
    seed(cloud, "svc-bad", start=T0, seconds=240, error_every=2)
    # When a minute passes with no traffic on svc-quiet, then its rule says INSUFFICIENT_DATA
    cloud.advance(60)
    assert {a.rule_id: a.alert_state for a in rules(cms)[0]} == {"no-data": "INSUFFICIENT_DATA", "all": "OK"}
    # When svc-quiet gets 1 req/s (below 5), then it alarms at once (Times = 1)
    seed(cloud, "svc-quiet", start=T0 + 60, seconds=60, qps=1)
    cloud.advance(60)
    assert rules(cms, rule_ids="no-data")[0][0].alert_state == "ALARM"
    # And the disabled rule never fired; enabled, it alarms on svc-bad found among all services
    assert rules(cms, rule_ids="all")[0][0].alert_state == "OK"
    cms.enable_metric_rules(models.EnableMetricRulesRequest(rule_id=["all"]))
    cloud.advance(60)
    alarms = {a.rule_id: a for a in rules(cms)[0]}
    assert alarms["all"].alert_state == "ALARM"
    states = cms_service(cloud).state()["rules"]["all"]["resources"]
    assert {s["dimensions"]["serviceName"]: s["state"] for s in states} == {"svc-bad": "ALARM", "svc-quiet": "OK"}


def test_failing_webhook_is_tried_three_times_and_remote_urls_are_not_called(cms, cloud):
    # Given a webhook answering 500, and a rule posting to a URL outside this machine
    failing = Recorder(status=500)
    failing.server.start()
    notifier = cms_service(cloud).backend.notifier
    notifier.retry_delay_s = 0.05
    try:
        put_rule(cms, "local", webhook_url=failing.url, escalations=critical("0.1", 1))
        put_rule(cms, "remote", webhook_url="https://hooks.example.com/cms", escalations=critical("0.1", 1))
        seed(cloud, "svc-canary", start=T0, seconds=60, error_every=2)
        # When the rules fire
        cloud.advance(60)
        # Then the local webhook got 3 attempts and is recorded as failed; the remote one was skipped
        assert len(failing.wait_for(3)) == 3
        settle()
        hooks = {n["ruleId"]: n["webhook"] for n in cms_service(cloud).state()["notifications"]}
        assert (hooks["local"]["status"], hooks["local"]["attempts"], hooks["local"]["code"]) == ("failed", 3, 500)
        assert hooks["remote"]["status"] == "skipped" and hooks["remote"]["attempts"] == 0
    finally:
        notifier.retry_delay_s = 1.0
        failing.server.stop()


def test_a_qps_rule_alarms_when_traffic_stops_and_keeps_its_state_without_data(cms, cloud):
    # Given a rule "QPS < 1" on a service with one minute of traffic, then none
    put_rule(cms, "qps-floor", metric="QueryPerSecondTotal", escalations=critical("1", 1, op="LessThanThreshold"))
    put_rule(cms, "ratio", escalations=critical("0.5", 1))
    seed(cloud, "svc-canary", start=T0, seconds=60, qps=5)
    # When the quiet minute after it is evaluated
    cloud.advance(60)
    assert {a.rule_id: a.alert_state for a in rules(cms)[0]} == {"qps-floor": "OK", "ratio": "OK"}
    cloud.advance(60)
    # Then QPS 0 breaches the floor, while the ratio rule (no data, KEEP_LAST_STATE) stays OK
    assert {a.rule_id: a.alert_state for a in rules(cms)[0]} == {"qps-floor": "ALARM", "ratio": "OK"}
    change = cms_service(cloud).state()["notifications"][-1]["fields"]
    assert (change["ruleId"], change["curValue"], change["expression"]) == ("qps-floor", "0.0", "$Average<1")

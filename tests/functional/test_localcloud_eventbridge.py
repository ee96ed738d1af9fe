"""EventBridge on localcloud through the real alibabacloud_eventbridge20200401 client (ACS3 verified)."""

from __future__ import annotations

import json
from typing import Any

import oss2
import pytest
from alibabacloud_eventbridge20200401 import models
from alibabacloud_eventbridge20200401.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

PAI_BUS = "pai-system-demo"
FC_ENDPOINT = "acs:fc:cn-hangzhou:1234567890123456:services/autopilot.LATEST/functions/on-job-event"
FC3_ENDPOINT = "acs:fc:cn-hangzhou:1234567890123456:functions/on-checkpoint"


def eb_client(cloud) -> Client:
    host = cloud.url.removeprefix("http://")
    return Client(Config(access_key_id=LOCAL_ACCESS_KEY_ID, access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                         endpoint=host, protocol="http"))


@pytest.fixture
def eb(cloud) -> Client:
    return eb_client(cloud)


@pytest.fixture
def invoked(cloud):
    """The FC invoker's calls: (function, CloudEvent as parsed JSON, source label)."""
    calls: list[tuple[str, Any, str]] = []
    cloud.eventbridge.set_fc_invoker(lambda fn, payload, label: calls.append((fn, json.loads(payload), label)))
    yield calls
    cloud.eventbridge.set_fc_invoker(None)


def fail(call) -> ClientException:
    with pytest.raises(ClientException) as excinfo:
        call()
    return excinfo.value


def fc_target(target_id: str = "fc", endpoint: str = FC_ENDPOINT) -> models.CreateRuleRequestEventTargets:
    return models.CreateRuleRequestEventTargets(id=target_id, type="acs.fc.function", endpoint=endpoint,
                                                push_retry_strategy="BACKOFF_RETRY")


def create_rule(eb: Client, bus: str, name: str, pattern: dict, targets=(), status: str | None = None) -> str:
    request = models.CreateRuleRequest(event_bus_name=bus, rule_name=name, filter_pattern=json.dumps(pattern),
                                       event_targets=list(targets), status=status)
    return eb.create_rule(request).body.data.rule_arn


# -- buses --------------------------------------------------------------------------------------
def test_event_bus_create_get_list_delete(eb):
    # Given the default bus, which always exists
    assert eb.get_event_bus(models.GetEventBusRequest(event_bus_name="default")).body.data.event_bus_name == "default"
    # When a custom bus is created
    created = eb.create_event_bus(models.CreateEventBusRequest(event_bus_name=PAI_BUS, description="PAI events")).body
    # Then it answers Success with its ARN, and GetEventBus describes it
    assert created.code == "Success" and created.success is True
    assert created.data.event_bus_arn == f"acs:eventbridge:cn-hangzhou:{eb_account()}:eventbus/{PAI_BUS}"
    got = eb.get_event_bus(models.GetEventBusRequest(event_bus_name=PAI_BUS)).body.data
    assert (got.event_bus_name, got.description) == (PAI_BUS, "PAI events") and got.create_timestamp > 0
    # And ListEventBuses pages through both, and filters by prefix
    eb.create_event_bus(models.CreateEventBusRequest(event_bus_name="pai-system-other"))
    first = eb.list_event_buses(models.ListEventBusesRequest(limit=2)).body.data
    assert [b.event_bus_name for b in first.event_buses] == ["default", PAI_BUS] and first.total == 3
    rest = eb.list_event_buses(models.ListEventBusesRequest(limit=2, next_token=first.next_token)).body.data
    assert [b.event_bus_name for b in rest.event_buses] == ["pai-system-other"] and rest.next_token is None
    prefixed = eb.list_event_buses(models.ListEventBusesRequest(name_prefix="pai-")).body.data
    assert [b.event_bus_name for b in prefixed.event_buses] == [PAI_BUS, "pai-system-other"]
    # When it is deleted, then it is gone
    assert eb.delete_event_bus(models.DeleteEventBusRequest(event_bus_name=PAI_BUS)).body.success is True
    gone = fail(lambda: eb.get_event_bus(models.GetEventBusRequest(event_bus_name=PAI_BUS)))
    assert (gone.code, gone.status_code) == ("EventBusNotExist", 404)
    assert f"The event bus [{PAI_BUS}] not existed!" in gone.message


def eb_account() -> str:
    from localcloud.core.credentials import LOCAL_ACCOUNT_ID

    return LOCAL_ACCOUNT_ID


def test_event_bus_errors(eb):
    # Given a custom bus with a rule
    eb.create_event_bus(models.CreateEventBusRequest(event_bus_name=PAI_BUS))
    create_rule(eb, PAI_BUS, "jobs", {"source": [{"prefix": "acs."}]})
    # Then creating it again, deleting it, deleting default, a bad name and no name all fail
    again = fail(lambda: eb.create_event_bus(models.CreateEventBusRequest(event_bus_name=PAI_BUS)))
    assert (again.code, again.status_code) == ("EventBusAlreadyExist", 409)
    busy = fail(lambda: eb.delete_event_bus(models.DeleteEventBusRequest(event_bus_name=PAI_BUS)))
    assert (busy.code, busy.status_code) == ("EventBusRuleNotEmptyForDelete", 409)
    default = fail(lambda: eb.delete_event_bus(models.DeleteEventBusRequest(event_bus_name="default")))
    assert (default.code, default.status_code) == ("InvalidParameter", 400)
    assert "The default event bus cannot be deleted." in default.message
    bad = fail(lambda: eb.create_event_bus(models.CreateEventBusRequest(event_bus_name="bad name!")))
    assert (bad.code, bad.status_code) == ("EventBusNameInvalid", 400)
    unnamed = fail(lambda: eb.create_event_bus(models.CreateEventBusRequest()))
    assert (unnamed.code, unnamed.status_code) == ("MissingEventBusName", 400)
    missing = fail(lambda: eb.delete_event_bus(models.DeleteEventBusRequest(event_bus_name="nope")))
    assert missing.code == "EventBusNotExist"
    paged = fail(lambda: eb.list_event_buses(models.ListEventBusesRequest(limit=101)))
    assert (paged.code, paged.status_code) == ("LimitSizeInvalid", 400)


# -- rules --------------------------------------------------------------------------------------
def test_rule_create_get_update_list_enable_disable_delete(eb):
    # Given a custom bus and a rule with an FC target
    eb.create_event_bus(models.CreateEventBusRequest(event_bus_name=PAI_BUS))
    pattern = {"source": ["acs.pai"], "data": {"status": ["Succeeded", "Failed"]}}
    arn = create_rule(eb, PAI_BUS, "job-finished", pattern, [fc_target()])
    assert arn == f"acs:eventbridge:cn-hangzhou:{eb_account()}:eventbus/{PAI_BUS}/rule/job-finished"
    # When it is read, then it is as created, enabled
    rule = eb.get_rule(models.GetRuleRequest(event_bus_name=PAI_BUS, rule_name="job-finished")).body
    assert rule.code == "Success"
    assert (rule.data.rule_name, rule.data.status, rule.data.rule_arn) == ("job-finished", "ENABLE", arn)
    assert json.loads(rule.data.filter_pattern) == pattern
    assert [(t.id, t.type, t.endpoint, t.push_retry_strategy) for t in rule.data.targets] == [
        ("fc", "acs.fc.function", FC_ENDPOINT, "BACKOFF_RETRY")]
    # When it is updated, disabled and enabled, then GetRule follows
    eb.update_rule(models.UpdateRuleRequest(event_bus_name=PAI_BUS, rule_name="job-finished",
                                            filter_pattern='{"source": ["acs.dlc"]}', description="dlc only"))
    eb.disable_rule(models.DisableRuleRequest(event_bus_name=PAI_BUS, rule_name="job-finished"))
    got = eb.get_rule(models.GetRuleRequest(event_bus_name=PAI_BUS, rule_name="job-finished")).body.data
    assert (got.filter_pattern, got.description, got.status) == ('{"source": ["acs.dlc"]}', "dlc only", "DISABLE")
    assert eb.enable_rule(models.EnableRuleRequest(event_bus_name=PAI_BUS, rule_name="job-finished")).body.success
    assert eb.get_rule(models.GetRuleRequest(event_bus_name=PAI_BUS, rule_name="job-finished")).body.data.status == "ENABLE"
    # And ListRules filters by prefix and pages
    for name in ("job-started", "model-approved"):
        create_rule(eb, PAI_BUS, name, {"source": ["acs.pai"]})
    page1 = eb.list_rules(models.ListRulesRequest(event_bus_name=PAI_BUS, rule_name_prefix="job-", limit=1)).body.data
    assert [r.rule_name for r in page1.rules] == ["job-finished"] and page1.total == 2 and page1.next_token == "1"
    page2 = eb.list_rules(models.ListRulesRequest(event_bus_name=PAI_BUS, rule_name_prefix="job-", limit=1,
                                                  next_token=page1.next_token)).body.data
    assert [r.rule_name for r in page2.rules] == ["job-started"] and page2.next_token is None
    assert page1.rules[0].targets[0].endpoint == FC_ENDPOINT
    # When a rule is deleted, then it is gone
    assert eb.delete_rule(models.DeleteRuleRequest(event_bus_name=PAI_BUS, rule_name="job-started")).body.success
    listed = eb.list_rules(models.ListRulesRequest(event_bus_name=PAI_BUS)).body.data
    assert [r.rule_name for r in listed.rules] == ["job-finished", "model-approved"]


def test_rule_errors(eb):
    # Given the default bus with one rule
    create_rule(eb, "default", "r1", {"source": ["acs.oss"]})
    # Then a rule on a missing bus, a duplicate, a bad pattern and a bad target are refused
    no_bus = fail(lambda: create_rule(eb, "nope", "r1", {"source": ["x"]}))
    assert (no_bus.code, no_bus.status_code) == ("EventBusNotExist", 404)
    dup = fail(lambda: create_rule(eb, "default", "r1", {"source": ["x"]}))
    assert (dup.code, dup.status_code) == ("EventRuleAlreadyExist", 409)
    bad = fail(lambda: create_rule(eb, "default", "r2", {"source": [{"prefix": 1}]}))
    assert (bad.code, bad.status_code) == ("InvalidParameter", 400)
    assert "The FilterPattern is invalid: source: 'prefix' takes a string, got a number" in bad.message
    bad_fc = fail(lambda: create_rule(eb, "default", "r3", {}, [fc_target(endpoint="acs:fc:cn-hangzhou:1:nothing")]))
    assert bad_fc.code == "InvalidParameter" and "is not a Function Compute ARN" in bad_fc.message
    bad_status = fail(lambda: create_rule(eb, "default", "r4", {}, status="ON"))
    assert "Status [ON] is invalid" in bad_status.message
    # And every operation on a missing rule answers EventRuleNotExisted
    for call in (
        lambda: eb.get_rule(models.GetRuleRequest(event_bus_name="default", rule_name="ghost")),
        lambda: eb.update_rule(models.UpdateRuleRequest(event_bus_name="default", rule_name="ghost", filter_pattern="{}")),
        lambda: eb.enable_rule(models.EnableRuleRequest(event_bus_name="default", rule_name="ghost")),
        lambda: eb.disable_rule(models.DisableRuleRequest(event_bus_name="default", rule_name="ghost")),
        lambda: eb.delete_rule(models.DeleteRuleRequest(event_bus_name="default", rule_name="ghost")),
    ):
        missing = fail(call)
        assert (missing.code, missing.status_code) == ("EventRuleNotExisted", 404)
        assert "The event rule not existed!" in missing.message
    invalid_update = fail(lambda: eb.update_rule(models.UpdateRuleRequest(
        event_bus_name="default", rule_name="r1", filter_pattern='{"a": "b"}')))
    assert invalid_update.code == "InvalidParameter" and "FilterPattern is invalid" in invalid_update.message
    listing = fail(lambda: eb.list_rules(models.ListRulesRequest(event_bus_name="nope")))
    assert listing.code == "EventBusNotExist"
    token = fail(lambda: eb.list_rules(models.ListRulesRequest(event_bus_name="default", next_token="abc")))
    assert (token.code, token.status_code) == ("NextTokenInvalid", 400)


# -- targets ------------------------------------------------------------------------------------
def test_put_list_delete_targets(eb):
    # Given a rule without targets
    create_rule(eb, "default", "r1", {"source": ["acs.oss"]})
    # When targets are put (one FC, one HTTP, one invalid)
    put = eb.put_targets(models.PutTargetsRequest(event_bus_name="default", rule_name="r1", targets=[
        models.PutTargetsRequestTargets(id="fc", type="acs.fc.function", endpoint=FC3_ENDPOINT, param_list=[
            models.PutTargetsRequestTargetsParamList(resource_key="Body", form="ORIGINAL")]),
        models.PutTargetsRequestTargets(id="hook", type="http", endpoint="https://example.com/hook"),
        models.PutTargetsRequestTargets(id="broken", type="acs.fc.function"),
    ])).body
    # Then the valid ones are added and the invalid one is an error entry
    assert put.code == "Success" and put.data.error_entries_count == 1
    entry = put.data.error_entries[0]
    assert (entry.entry_id, entry.error_code) == ("broken", "InvalidParameter")
    assert "[Endpoint] is required" in entry.error_message
    listed = eb.list_targets(models.ListTargetsRequest(event_bus_name="default", rule_name="r1")).body.data
    assert [(t.id, t.type, t.rule_name, t.event_bus_name) for t in listed.targets] == [
        ("fc", "acs.fc.function", "r1", "default"), ("hook", "http", "r1", "default")]
    assert listed.targets[0].param_list[0].form == "ORIGINAL" and listed.total == 2
    by_arn = eb.list_targets(models.ListTargetsRequest(event_bus_name="default", arn=FC3_ENDPOINT)).body.data
    assert [t.id for t in by_arn.targets] == ["fc"]
    # When one is deleted along with an unknown id, then the unknown id is an error entry
    deleted = eb.delete_targets(models.DeleteTargetsRequest(event_bus_name="default", rule_name="r1",
                                                            target_ids=["hook", "ghost"])).body.data
    assert deleted.error_entries_count == 1 and deleted.error_entries[0].error_code == "EventTargetNotExist"
    left = eb.list_targets(models.ListTargetsRequest(event_bus_name="default", rule_name="r1")).body.data
    assert [t.id for t in left.targets] == ["fc"]


def test_target_errors(eb):
    # Given no rule named ghost, then every target operation on it answers EventRuleNotExisted
    targets = [models.PutTargetsRequestTargets(id="t", type="http", endpoint="https://example.com")]
    for call in (
        lambda: eb.put_targets(models.PutTargetsRequest(event_bus_name="default", rule_name="ghost", targets=targets)),
        lambda: eb.list_targets(models.ListTargetsRequest(event_bus_name="default", rule_name="ghost")),
        lambda: eb.delete_targets(models.DeleteTargetsRequest(event_bus_name="default", rule_name="ghost", target_ids=["t"])),
    ):
        assert fail(call).code == "EventRuleNotExisted"
    # And PutTargets without targets is a missing parameter
    create_rule(eb, "default", "r1", {})
    empty = fail(lambda: eb.put_targets(models.PutTargetsRequest(event_bus_name="default", rule_name="r1")))
    assert (empty.code, empty.status_code) == ("MissingTargets", 400)


# -- PutEvents and delivery ---------------------------------------------------------------------
def job_event(event_id: str, status: str, **extra) -> models.PutEventsRequestEventList:
    return models.PutEventsRequestEventList(
        id=event_id, source="acs.pai", type=f"pai:DLC:Job{status}", subject="acs:pai:cn-hangzhou:1:job/dlc-1",
        data={"jobId": "dlc-1", "status": status, "duration": 42}, **extra,
    )


def test_put_events_on_a_custom_bus_delivers_the_cloudevent_to_the_fc_target(cloud, eb, invoked):
    # Given the PAI workspace bus with a rule for finished jobs targeting an FC function
    cloud.clock.freeze(1_714_550_400.0)
    eb.create_event_bus(models.CreateEventBusRequest(event_bus_name=PAI_BUS))
    create_rule(eb, PAI_BUS, "job-finished",
                {"source": ["acs.pai"], "data": {"status": ["Succeeded", "Failed"], "duration": [{"numeric": [">", 0]}]}},
                [fc_target()])
    # When a finished and a running job event are put
    body = eb.put_events(models.PutEventsRequest(event_bus_name=PAI_BUS, event_list=[
        job_event("ev-1", "Succeeded", time="2024-05-01T08:00:00.000Z"), job_event("ev-2", "Running"),
    ])).body
    # Then both are accepted
    assert (body.code, body.success, body.data.failed_entry_count) == ("200", True, 0)
    assert [e.event_id for e in body.data.entry_list] == ["ev-1", "ev-2"]
    assert all(e.trace_id and e.error_code is None for e in body.data.entry_list)
    # And only the finished one reaches the function, as the CloudEvents envelope
    assert len(invoked) == 1
    function, event, label = invoked[0]
    assert (function, label) == ("on-job-event", f"eventbridge:{PAI_BUS}/job-finished")
    assert event == {
        "id": "ev-1", "source": "acs.pai", "specversion": "1.0", "type": "pai:DLC:JobSucceeded",
        "datacontenttype": "application/json;charset=utf-8", "subject": "acs:pai:cn-hangzhou:1:job/dlc-1",
        "time": "2024-05-01T08:00:00.000Z", "aliyunaccountid": eb_account(), "aliyunoriginalaccountid": eb_account(),
        "aliyunpublishtime": "2024-05-01T08:00:00.000Z", "aliyuneventbusname": PAI_BUS,
        "aliyunregionid": "cn-hangzhou", "aliyunpublishaddr": "127.0.0.1",
        "data": {"jobId": "dlc-1", "status": "Succeeded", "duration": 42},
    }
    # And both events are inspectable with the rules they matched
    published = cloud.eventbridge.state()["published"]
    assert [(p["event"]["id"], p["matched_rules"]) for p in published] == [("ev-1", ["job-finished"]), ("ev-2", [])]


def test_disabled_rules_do_not_deliver_and_other_targets_are_recorded(cloud, eb, invoked):
    # Given two rules on default: a disabled one to FC, an enabled one to an HTTP endpoint
    create_rule(eb, "default", "to-fc", {"source": ["demo"]}, [fc_target()], status="DISABLE")
    create_rule(eb, "default", "to-http", {"source": ["demo"]},
                [models.CreateRuleRequestEventTargets(id="hook", type="http", endpoint="https://example.com/hook")])
    # When a matching event is put
    eb.put_events(models.PutEventsRequest(event_bus_name="default", event_list=[
        models.PutEventsRequestEventList(id="e1", source="demo", type="demo:Ping", data='{"n": 1}')]))
    # Then the FC function is not invoked and the HTTP delivery is recorded with the event
    assert invoked == []
    deliveries = cloud.eventbridge.state()["deliveries"]
    assert [(d["rule"], d["target"], d["status"]) for d in deliveries] == [("to-http", "hook", "recorded")]
    assert deliveries[0]["event"]["data"] == {"n": 1}
    # When the FC rule is enabled, then the next event reaches the function
    eb.enable_rule(models.EnableRuleRequest(event_bus_name="default", rule_name="to-fc"))
    eb.put_events(models.PutEventsRequest(event_bus_name="default", event_list=[
        models.PutEventsRequestEventList(id="e2", source="demo", type="demo:Ping")]))
    assert [(fn, ev["id"]) for fn, ev, _ in invoked] == [("on-job-event", "e2")]


def test_put_events_errors(eb):
    # Given no bus named nope, then PutEvents to it fails as a whole
    missing = fail(lambda: eb.put_events(models.PutEventsRequest(event_bus_name="nope", event_list=[
        models.PutEventsRequestEventList(id="e1", source="s", type="t")])))
    assert (missing.code, missing.status_code) == ("EventBusNotExist", 404)
    # And an entry without Type fails alone, counted in FailedEntryCount
    body = eb.put_events(models.PutEventsRequest(event_bus_name="default", event_list=[
        models.PutEventsRequestEventList(id="ok", source="s", type="t"),
        models.PutEventsRequestEventList(id="bad", source="s"),
    ])).body
    assert body.data.failed_entry_count == 1
    failed = body.data.entry_list[1]
    assert (failed.event_id, failed.error_code) == ("bad", "InvalidArgument")
    assert "[Type] is required" in failed.error_message
    # And no EventList at all is a missing parameter
    empty = fail(lambda: eb.put_events(models.PutEventsRequest(event_bus_name="default")))
    assert (empty.code, empty.status_code) == ("MissingEventList", 400)


# -- OSS events on the default bus --------------------------------------------------------------
def test_an_oss_upload_becomes_a_cloudevent_on_the_default_bus(cloud, eb, invoked):
    # Given a bucket and a default-bus rule: prefix on subject AND suffix on data.oss.object.key
    bucket = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, "ckpts")
    bucket.create_bucket()
    account = eb_account()
    create_rule(eb, "default", "ckpt-landed", {
        "source": ["acs.oss"], "type": ["oss:ObjectCreated:PutObject"],
        "subject": [{"prefix": f"acs:oss:cn-hangzhou:{account}:ckpts/run-42/"}],
        "data": {"oss": {"object": {"key": [{"suffix": ".safetensors"}]}}},
    }, [fc_target(endpoint=FC3_ENDPOINT)])
    # When matching and non-matching objects are uploaded
    bucket.put_object("run-42/step-1000/model.safetensors", b"weights")
    bucket.put_object("run-42/step-1000/notes.txt", b"x")
    bucket.put_object("run-7/model.safetensors", b"x")
    # Then exactly the matching upload reaches the function as a CloudEvent with ONE native record
    assert len(invoked) == 1
    function, event, label = invoked[0]
    assert (function, label) == ("on-checkpoint", "eventbridge:default/ckpt-landed")
    assert (event["source"], event["type"], event["aliyuneventbusname"]) == ("acs.oss", "oss:ObjectCreated:PutObject", "default")
    assert event["subject"] == f"acs:oss:cn-hangzhou:{account}:ckpts/run-42/step-1000/model.safetensors"
    record = event["data"]
    assert (record["eventName"], record["eventSource"], record["region"]) == ("ObjectCreated:PutObject", "acs:oss", "cn-hangzhou")
    assert record["oss"]["object"]["key"] == "run-42/step-1000/model.safetensors"
    assert record["oss"]["object"]["size"] == 7 and record["oss"]["bucket"]["name"] == "ckpts"
    assert "events" not in record and "ruleId" not in record["oss"]
    # And every OSS event was published on default with a unique id
    ids = [p["event"]["id"] for p in cloud.eventbridge.state()["published"] if p["event"]["source"] == "acs.oss"]
    assert len(ids) == 3 and len(set(ids)) == 3


# -- internal subscriptions (s.yaml eventbridge triggers) ---------------------------------------
def test_subscribe_function_delivers_like_a_rule_is_idempotent_and_survives_reset(cloud, eb, invoked):
    # Given an internal subscription for an FC trigger, made twice
    pattern = {"source": ["acs.oss"], "data": {"oss": {"object": {"key": [{"suffix": "_SUCCESS"}]}}}}
    cloud.eventbridge.subscribe_function("default", "ingest-trigger", pattern, "ingest")
    cloud.eventbridge.subscribe_function("default", "ingest-trigger", pattern, "ingest")
    # Then it is one rule with one FC target, visible through the API
    rules = eb.list_rules(models.ListRulesRequest(event_bus_name="default")).body.data.rules
    assert [(r.rule_name, [t.endpoint for t in r.targets]) for r in rules] == [
        ("ingest-trigger", [f"acs:fc:cn-hangzhou:{eb_account()}:functions/ingest"])]
    # When the cloud is reset and a matching object is uploaded
    cloud.reset()
    bucket = oss2.Bucket(oss2.Auth(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, "data")
    bucket.create_bucket()
    bucket.put_object("datasets/demo/v1/_SUCCESS", b"")
    # Then the function receives it exactly once
    assert [(fn, ev["data"]["oss"]["object"]["key"], label) for fn, ev, label in invoked] == [
        ("ingest", "datasets/demo/v1/_SUCCESS", "eventbridge:default/ingest-trigger")]
    cloud.eventbridge.backend.unsubscribe_function("default", "ingest-trigger")
    assert eb.list_rules(models.ListRulesRequest(event_bus_name="default")).body.data.total == 0


def test_reset_keeps_only_an_empty_default_bus(cloud, eb):
    # Given a custom bus and a rule on default
    eb.create_event_bus(models.CreateEventBusRequest(event_bus_name=PAI_BUS))
    create_rule(eb, "default", "r1", {})
    # When the cloud is reset, then only the default bus remains, without rules
    cloud.reset()
    buses = eb.list_event_buses(models.ListEventBusesRequest()).body.data
    assert [b.event_bus_name for b in buses.event_buses] == ["default"]
    assert eb.list_rules(models.ListRulesRequest(event_bus_name="default")).body.data.total == 0
    assert json.loads(json.dumps(cloud.state()))["eventbridge"]["published"] == []

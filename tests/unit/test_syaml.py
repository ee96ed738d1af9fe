"""s.yaml: the repo's file loads and validates; the loader resolves like `s`; every broken variant is caught."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pai_autopilot.syaml import (
    EventBridgeTrigger,
    HttpTrigger,
    OssTrigger,
    SyamlError,
    TimerTrigger,
    functions,
    load_syaml,
    parse_syaml,
    resolve_syaml,
    validate_syaml,
)

ROOT = Path(__file__).resolve().parents[2]
SYAML = ROOT / "s.yaml"
ACCOUNT = "1234567890123456"
ENV = {"AUTOPILOT_BUCKET": "autopilot-test-bucket", "PAI_WORKSPACE_ID": "ws-42"}
FN = "resources.dataset_landed.props"


def raw_syaml() -> dict[str, Any]:
    return yaml.safe_load(SYAML.read_text(encoding="utf-8"))


def dataset_landed() -> Any:
    doc = load_syaml(SYAML, env=ENV, account_id=ACCOUNT)
    return next(f for f in functions(doc) if f.resource == "dataset_landed")


# ------------------------------------------------------------------ the repo's s.yaml


def test_repo_syaml_loads_and_has_no_problems():
    # given the committed s.yaml and the env CI provides
    # when it is loaded and validated against the repo (handlers included)
    doc = load_syaml(SYAML, env=ENV, account_id=ACCOUNT)
    problems = validate_syaml(doc, root=ROOT)
    # then there is nothing to report
    assert problems == []


def test_every_handler_resolves_to_a_callable():
    # given every function declared in s.yaml
    specs = functions(load_syaml(SYAML, env=ENV, account_id=ACCOUNT))
    assert specs, "s.yaml declares no function"
    for spec in specs:
        # when its handler module is imported from functions/
        module = importlib.import_module(f"functions.{spec.module}")
        # then the named handler is a callable taking (event, context)
        assert callable(getattr(module, spec.func)), spec.handler


def test_dataset_landed_function_is_configured_as_designed():
    # given the loaded dataset_landed function
    spec = dataset_landed()
    # then the function props are the designed ones
    assert (spec.name, spec.handler, spec.runtime, spec.region) == (
        "pai-autopilot-dataset-landed", "dataset_landed.handler", "python3.10", "cn-hangzhou")
    assert spec.code == "./.build/code"
    assert spec.memory_size % 64 == 0 and spec.timeout > 3  # both set explicitly
    assert spec.role == f"acs:ram::{ACCOUNT}:role/pai-autopilot-fc"
    assert spec.environment == {
        "AUTOPILOT_BUCKET": "autopilot-test-bucket", "PAI_WORKSPACE_ID": "ws-42",
        "AUTOPILOT_CONFIG": "/code/autopilot.yaml", "AUTOPILOT_LOG_LEVEL": "INFO",
        "AUTOPILOT_OSS_INTERNAL": "true"}
    assert spec.async_config.max_retries == 2
    assert spec.async_config.max_event_age_seconds == 3600
    assert spec.async_config.on_failure == f"acs:mns:cn-hangzhou:{ACCOUNT}:/queues/pai-autopilot-dlq/messages"
    # and its only trigger is the OSS marker trigger on the completing events
    (trigger,) = spec.triggers
    assert isinstance(trigger, OssTrigger)
    assert set(trigger.events) == {
        "oss:ObjectCreated:PutObject", "oss:ObjectCreated:PostObject",
        "oss:ObjectCreated:CompleteMultipartUpload", "oss:ObjectCreated:CopyObject"}
    assert (trigger.prefix, trigger.suffix) == ("datasets/", "_SUCCESS")
    assert (trigger.bucket, trigger.region, trigger.account_id) == ("autopilot-test-bucket", "cn-hangzhou", ACCOUNT)
    assert trigger.invocation_role == f"acs:ram::{ACCOUNT}:role/aliyunosseventnotificationrole"
    assert trigger.matches("datasets/demo/v3/_SUCCESS", "ObjectCreated:CompleteMultipartUpload")
    assert not trigger.matches("datasets/demo/v3/part-0.parquet", "ObjectCreated:PutObject")
    assert not trigger.matches("datasets/demo/v3/_SUCCESS", "ObjectRemoved:DeleteObject")


def test_environment_overrides_region_prefix_and_roles():
    # given CI sets the region, the name prefix, the role names and the DLQ queue
    env = {**ENV, "ALIBABA_CLOUD_REGION_ID": "cn-shanghai", "AUTOPILOT_NAME_PREFIX": "ap-staging",
           "AUTOPILOT_ROLE": "ci-fc-role", "AUTOPILOT_DLQ_QUEUE": "staging-dlq", "AUTOPILOT_LOG_LEVEL": "DEBUG"}
    # when s.yaml is loaded
    doc = load_syaml(SYAML, env=env, account_id=ACCOUNT)
    spec = functions(doc)[0]
    # then every derived value follows, and the result is still valid
    assert spec.region == "cn-shanghai" and spec.triggers[0].region == "cn-shanghai"
    assert spec.name == "ap-staging-dataset-landed"
    assert spec.role == f"acs:ram::{ACCOUNT}:role/ci-fc-role"
    assert spec.async_config.on_failure == f"acs:mns:cn-shanghai:{ACCOUNT}:/queues/staging-dlq/messages"
    assert spec.environment["AUTOPILOT_LOG_LEVEL"] == "DEBUG"
    assert validate_syaml(doc) == []


def test_unset_env_without_default_names_the_variable_everywhere_it_is_used():
    # given no AUTOPILOT_BUCKET in the environment
    # when s.yaml is loaded strictly
    with pytest.raises(SyamlError) as caught:
        load_syaml(SYAML, env={}, account_id=ACCOUNT)
    # then the error names the variable at each place that needs it
    paths = {path for path, _ in caught.value.errors}
    assert paths == {"vars.bucket", "template.autopilot-function.environmentVariables.AUTOPILOT_BUCKET"}
    assert all("AUTOPILOT_BUCKET is not set" in reason for _, reason in caught.value.errors)
    assert "AUTOPILOT_BUCKET" in str(caught.value)


def test_non_strict_load_leaves_unset_env_empty():
    # given no AUTOPILOT_BUCKET, when loaded with strict=False
    doc = load_syaml(SYAML, env={}, account_id=ACCOUNT, strict=False)
    # then the value is the empty string, and validation reports the broken ARN it produces
    assert doc["vars"]["bucket"] == ""
    assert doc["resources"]["dataset_landed"]["props"]["environmentVariables"]["AUTOPILOT_BUCKET"] == ""
    problems = [p for p, _ in validate_syaml(doc)]  # every OSS-triggered function names the bucket
    assert f"{FN}.triggers[0].sourceArn" in problems and all(p.endswith(".triggers[0].sourceArn") for p in problems)


# ------------------------------------------------------------------ resolver semantics


def test_template_merge_maps_merge_lists_replace_props_win_ignore_drops():
    # given a template and a resource that extends it (semantics checked against `s preview` 3.1.10)
    text = """
edition: 3.0.0
template:
  base:
    timeout: 60
    layers: [a, b]
    environmentVariables: {A: '1', B: '2'}
    vpcConfig: auto
resources:
  r:
    component: fc3
    extend: {name: base, ignore: [vpcConfig]}
    props:
      timeout: 100
      layers: [c]
      environmentVariables: {B: '3'}
"""
    # when resolved
    props = parse_syaml(text, env={}, account_id=ACCOUNT)["resources"]["r"]["props"]
    # then maps merge, lists and scalars are replaced by props, ignored keys are dropped
    assert props == {"timeout": 100, "layers": ["c"], "environmentVariables": {"A": "1", "B": "3"}}


def test_vars_chain_keep_types_and_interpolate():
    # given vars that reference env, config and other vars
    raw = {"vars": {"region": "${env('R', 'cn-beijing')}", "mem": 1024,
                    "arn": "acs:fc:${vars.region}:${config('AccountID')}:functions/x"},
           "a": "${vars.mem}", "b": "m=${vars.mem}", "c": "${vars.arn}", "d": "${resources.x.output.url}"}
    # when resolved
    doc = resolve_syaml(raw, env={}, account_id=ACCOUNT)
    # then a lone reference keeps its type, an embedded one becomes text, deferred ones stay verbatim
    assert doc["a"] == 1024 and doc["b"] == "m=1024"
    assert doc["c"] == f"acs:fc:cn-beijing:{ACCOUNT}:functions/x"
    assert doc["d"] == "${resources.x.output.url}"


@pytest.mark.parametrize(("raw", "path", "reason"), [
    ({"x": "${vars.nope}"}, "x", "vars.nope is not defined"),
    ({"vars": {"a": "${vars.b}", "b": "${vars.a}"}}, "vars.a", "cycle: a -> b -> a"),
    ({"x": "${config('AccessKeyID')}"}, "x", "only config('AccountID') is supported"),
])
def test_unresolvable_references_are_errors(raw, path, reason):
    # given a reference that cannot be resolved, when resolved
    with pytest.raises(SyamlError) as caught:
        resolve_syaml(raw, env={}, account_id=ACCOUNT)
    # then the error carries its path and why
    assert any(p == path and reason in r for p, r in caught.value.errors), caught.value.errors


def test_typed_triggers_for_every_kind():
    # given one function with a timer, an http and an eventbridge trigger
    props = {"functionName": "f", "handler": "f.handler", "runtime": "python3.12", "region": "cn-hangzhou",
             "code": "./c", "triggers": [
                 {"triggerName": "tick", "triggerType": "timer",
                  "triggerConfig": {"cronExpression": "CRON_TZ=Asia/Shanghai 0 */15 * * * *", "enable": True,
                                    "payload": '{"idle": 60}'}},
                 {"triggerName": "hook", "triggerType": "http",
                  "triggerConfig": {"authType": "anonymous", "methods": ["POST"]}},
                 {"triggerName": "jobs", "triggerType": "eventbridge",
                  "triggerConfig": {"triggerEnable": True, "asyncInvocationType": True,
                                    "eventSourceConfig": {"eventSourceType": "Default"},
                                    "eventRuleFilterPattern": '{"source": ["acs.pai"]}'}}]}
    doc = {"edition": "3.0.0", "resources": {"f": {"component": "fc3", "props": props}}}
    # when turned into specs
    timer, http, eb = functions(doc)[0].triggers
    # then each trigger is typed with its parsed config
    assert isinstance(timer, TimerTrigger) and timer.timezone == "Asia/Shanghai"
    assert timer.expression == "0 */15 * * * *" and timer.payload == '{"idle": 60}' and timer.enable
    assert isinstance(http, HttpTrigger) and (http.auth_type, http.methods) == ("anonymous", ("POST",))
    assert isinstance(eb, EventBridgeTrigger) and eb.pattern == {"source": ["acs.pai"]}
    assert (eb.event_source_type, eb.async_invocation) == ("Default", True)
    assert TimerTrigger("t", "@every 90s").interval_seconds == 90
    # and the default async config is FC's
    assert functions(doc)[0].async_config.max_retries == 3
    assert validate_syaml(doc) == []


# ------------------------------------------------------------------ broken variants

Mutation = Callable[[dict[str, Any]], None]


def props_of(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["resources"]["dataset_landed"]["props"]


def add_trigger(trigger: dict[str, Any], at: int | None = None) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        triggers = props_of(raw)["triggers"]
        triggers.insert(len(triggers) if at is None else at, trigger)
    return mutate


def set_prop(path: str, value: Any) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        node = props_of(raw)
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return mutate


def oss_config(raw: dict[str, Any]) -> dict[str, Any]:
    return props_of(raw)["triggers"][0]["triggerConfig"]


TIMER = {"triggerName": "tick", "triggerType": "timer",
         "triggerConfig": {"cronExpression": "0 */5 * * * *", "enable": True}}
EB = {"triggerName": "jobs", "triggerType": "eventbridge",
      "triggerConfig": {"triggerEnable": True, "asyncInvocationType": True,
                        "eventSourceConfig": {"eventSourceType": "Default"},
                        "eventRuleFilterPattern": '{"source": ["acs.pai"]}'}}
T1 = f"{FN}.triggers[1]"

BROKEN: list[tuple[str, Mutation, str, str]] = [
    ("memory not a multiple of 64", set_prop("memorySize", 500), f"{FN}.memorySize", "multiple of 64"),
    ("memory above the limit", set_prop("memorySize", 32832), f"{FN}.memorySize", "multiple of 64"),
    ("cron with 5 fields", add_trigger({**TIMER, "triggerConfig": {"cronExpression": "0 */5 * * *", "enable": True}}),
     f"{T1}.triggerConfig.cronExpression", "has 5 fields; FC cron needs 6"),
    ("bad CRON_TZ zone", add_trigger({**TIMER, "triggerConfig": {"cronExpression": "CRON_TZ=Mars/Base 0 0 * * * *",
                                                                  "enable": True}}),
     f"{T1}.triggerConfig.cronExpression", "unknown time zone 'Mars/Base'"),
    ("timer without enable", add_trigger({**TIMER, "triggerConfig": {"cronExpression": "@every 5m"}}),
     f"{T1}.triggerConfig.enable", "required boolean"),
    ("unknown trigger type", add_trigger({**TIMER, "triggerType": "kafka"}), f"{T1}.triggerType",
     "'kafka' is not one of"),
    ("oss wildcard event", lambda raw: oss_config(raw).update(events=["oss:ObjectCreated:*"]),
     f"{FN}.triggers[0].triggerConfig.events[0]", "also fires on InitiateMultipartUpload"),
    ("unknown oss event", lambda raw: oss_config(raw)["events"].append("oss:ObjectCreated:Put"),
     f"{FN}.triggers[0].triggerConfig.events[4]", "is not an OSS trigger event"),
    ("oss filter without suffix", lambda raw: oss_config(raw)["filter"]["key"].pop("suffix"),
     f"{FN}.triggers[0].triggerConfig.filter.key.suffix", "required string"),
    ("oss sourceArn not an arn", set_prop("triggers", [{**raw_syaml()["resources"]["dataset_landed"]["props"]
                                                        ["triggers"][0], "sourceArn": "my-bucket"}]),
     f"{FN}.triggers[0].sourceArn", "must be acs:oss:<region>:<account>:<bucket>"),
    ("oss trigger without invocationRole", lambda raw: props_of(raw)["triggers"][0].pop("invocationRole"),
     f"{FN}.triggers[0].invocationRole", "get-or-creates a RAM role"),
    ("eventbridge before oss", add_trigger(EB, at=0), f"{FN}.triggers[0]",
     "eventbridge trigger 'jobs' is listed before the oss trigger 'dataset-success-marker'"),
    ("eventbridge pattern not JSON", add_trigger({**EB, "triggerConfig": {**EB["triggerConfig"],
                                                                          "eventRuleFilterPattern": "{source:"}}),
     f"{T1}.triggerConfig.eventRuleFilterPattern", "not valid JSON"),
    ("eventbridge source type", add_trigger({**EB, "triggerConfig": {**EB["triggerConfig"],
                                                                     "eventSourceConfig": {"eventSourceType": "Bus"}}}),
     f"{T1}.triggerConfig.eventSourceConfig.eventSourceType", "must be one of Default"),
    ("http auth type", add_trigger({"triggerName": "hook", "triggerType": "http",
                                    "triggerConfig": {"authType": "hmac", "methods": ["POST"]}}),
     f"{T1}.triggerConfig.authType", "must be one of anonymous, function, jwt"),
    ("http method", add_trigger({"triggerName": "hook", "triggerType": "http",
                                 "triggerConfig": {"authType": "anonymous", "methods": ["POST", "FETCH"]}}),
     f"{T1}.triggerConfig.methods", "unknown method(s) ['FETCH']"),
    ("duplicate trigger name", add_trigger({**TIMER, "triggerName": "dataset-success-marker"}),
     f"{T1}.triggerName", "used twice"),
    ("missing handler", lambda raw: props_of(raw).pop("handler"), f"{FN}.handler", "required"),
    ("handler module missing", set_prop("handler", "nope.handler"), f"{FN}.handler", "functions/nope.py does not exist"),
    ("handler function missing", set_prop("handler", "dataset_landed.nothing"), f"{FN}.handler",
     "has no top-level `def nothing`"),
    ("dotted handler", set_prop("handler", "functions.dataset_landed.handler"), f"{FN}.handler",
     "is not <module>.<function>"),
    ("runtime not supported", set_prop("runtime", "python3.9"), f"{FN}.runtime", "'python3.9' is not one of"),
    ("timeout zero", set_prop("timeout", 0), f"{FN}.timeout", "between 1 and 86400"),
    ("instanceConcurrency too high", set_prop("instanceConcurrency", 201), f"{FN}.instanceConcurrency",
     "between 1 and 200"),
    ("FC_ env var", set_prop("environmentVariables.FC_DEBUG", "1"), f"{FN}.environmentVariables.FC_DEBUG",
     "reserved by Function Compute"),
    ("env var name", set_prop("environmentVariables.1ST", "x"), f"{FN}.environmentVariables.1ST",
     "must start with a letter"),
    ("env var not a string", set_prop("environmentVariables.DRY_RUN", True), f"{FN}.environmentVariables.DRY_RUN",
     "value must be a string"),
    ("maxAsyncRetryAttempts 9", set_prop("asyncInvokeConfig.maxAsyncRetryAttempts", 9),
     f"{FN}.asyncInvokeConfig.maxAsyncRetryAttempts", "between 0 and 8"),
    ("event age beyond a week", set_prop("asyncInvokeConfig.maxAsyncEventAgeInSeconds", 604801),
     f"{FN}.asyncInvokeConfig.maxAsyncEventAgeInSeconds", "between 1 and 604800"),
    ("wrong component", lambda raw: raw["resources"]["dataset_landed"].update(component="fc"),
     "resources.dataset_landed.component", "must be fc3"),
    ("edition 1.0.0", lambda raw: raw.update(edition="1.0.0"), "edition", "must be '3.0.0'"),
    ("typo in a magic variable", set_prop("description", "${var.region}"), f"{FN}.description",
     "unresolved magic variable ${var.region}"),
]


@pytest.mark.parametrize(("mutate", "path", "reason"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_variant_reports_exactly_its_problem(mutate: Mutation, path: str, reason: str):
    # given the repo's s.yaml with one thing broken
    raw = raw_syaml()
    mutate(raw)
    # when resolved and validated
    problems = validate_syaml(resolve_syaml(raw, env=ENV, account_id=ACCOUNT), root=ROOT)
    # then exactly that problem is reported, at that path
    assert len(problems) == 1, problems
    assert problems[0][0] == path and reason in problems[0][1], problems


def test_every_problem_is_reported_in_one_pass():
    # given several independent breakages at once
    raw = raw_syaml()
    for name, mutate, _, _ in BROKEN:
        if name in {"memory not a multiple of 64", "FC_ env var", "eventbridge before oss", "edition 1.0.0"}:
            mutate(raw)
    # when validated
    paths = [p for p, _ in validate_syaml(resolve_syaml(raw, env=ENV, account_id=ACCOUNT), root=ROOT)]
    # then each one is there
    assert sorted(paths) == sorted(["edition", f"{FN}.memorySize", f"{FN}.environmentVariables.FC_DEBUG",
                                    f"{FN}.triggers[0]"])


VALID: list[tuple[str, Mutation]] = [
    ("cron with CRON_TZ", add_trigger({**TIMER, "triggerConfig": {
        "cronExpression": "CRON_TZ=Asia/Shanghai 0 0 2 * * *", "enable": False}})),
    ("@every", add_trigger({**TIMER, "triggerConfig": {"cronExpression": "@every 1h30m", "enable": True,
                                                        "payload": "{}"}})),
    ("eventbridge last", add_trigger(EB)),
    ("second oss trigger, disjoint prefix", add_trigger({
        **copy.deepcopy(raw_syaml()["resources"]["dataset_landed"]["props"]["triggers"][0]),
        "triggerName": "model-marker",
        "triggerConfig": {"events": ["oss:ObjectCreated:PutObject"],
                          "filter": {"key": {"prefix": "exports/", "suffix": "_SUCCESS"}}}})),
    ("memory at the maximum", set_prop("memorySize", 32768)),
]


@pytest.mark.parametrize("mutate", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_variant_reports_nothing(mutate: Mutation):
    # given the repo's s.yaml with an allowed change
    raw = raw_syaml()
    mutate(raw)
    # when validated, then nothing is reported
    assert validate_syaml(resolve_syaml(raw, env=ENV, account_id=ACCOUNT), root=ROOT) == []


def test_overlapping_oss_triggers_on_one_bucket_are_reported():
    # given a second OSS trigger on the same bucket whose prefix contains the first one's
    raw = raw_syaml()
    second = copy.deepcopy(props_of(raw)["triggers"][0])
    second["triggerName"] = "all-success-markers"
    second["triggerConfig"]["filter"]["key"]["prefix"] = "data"
    add_trigger(second)(raw)
    # when validated
    problems = validate_syaml(resolve_syaml(raw, env=ENV, account_id=ACCOUNT))
    # then the overlap is reported on the later trigger
    assert [(p, "overlaps" in r) for p, r in problems] == [(T1, True)]


def test_unknown_template_is_reported_first_with_what_it_leaves_missing():
    # given a resource that extends a template that does not exist (s silently merges nothing)
    raw = raw_syaml()
    raw["resources"]["dataset_landed"]["extend"] = {"name": "nope"}
    # when validated
    problems = validate_syaml(resolve_syaml(raw, env=ENV, account_id=ACCOUNT))
    # then the template is named, then the required props it would have provided
    assert problems[0] == ("resources.dataset_landed.extend.name", "no template named 'nope'")
    assert problems[1:] == [(f"{FN}.{key}", "required") for key in ("region", "runtime", "code")]

"""Serving's pure decisions: matching and naming, metrics.json, the gates, the EAS bodies, config checks."""

from __future__ import annotations

import pytest

from pai_autopilot.config import parse_config
from pai_autopilot.config.models import Autoscaler, Evaluation, GuardMetric, Serving
from pai_autopilot.ledger import Record
from pai_autopilot.serving.deploy import decide_on_claim
from pai_autopilot.serving.gates import check_capacity, decide_on_open_rollout, evaluate
from pai_autopilot.serving.metrics import parse_metrics
from pai_autopilot.serving.runs import next_run_state
from pai_autopilot.serving.service_config import autoscaler_body, service_config
from pai_autopilot.serving.versions import BadModel, ModelVersion, NoModel, match_model, service_name

CONFIG = """
version: 1
storage: {bucket: demo-bucket}
pipelines:
  demo:
    dataset: {prefix: datasets/demo/}
    training: {image: img, command: "train {dataset_uri}", ecs_spec: ecs.c6.large}
    serving: {service_name: demo_model, group: demo, image: img, command: "serve {model_path}", instance_type: ecs.c6.large}
  plain:
    dataset: {prefix: datasets/plain/}
    training: {image: img, command: "train {dataset_uri}", ecs_spec: ecs.c6.large}
"""


@pytest.mark.parametrize(("key", "kind", "reason"), [
    ("models/demo/v1/model.pt", NoModel, "not a model marker (_SUCCESS)"),
    ("models/nobody/v1/_SUCCESS", NoModel, "no pipeline's models prefix holds 'models/nobody/v1/_SUCCESS'"),
    ("models/plain/v1/_SUCCESS", NoModel, "pipeline 'plain' has no serving: block; model 'v1' is not deployed"),
    ("models/demo/_SUCCESS", BadModel, "marker 'models/demo/_SUCCESS' is not models/demo/<version>/_SUCCESS with a one-segment version"),
    ("models/demo/a/b/_SUCCESS", BadModel, None),
])
def test_keys_that_are_not_a_served_model_version_say_why(key, kind, reason):
    result = match_model(parse_config(CONFIG), "demo-bucket", key)
    assert isinstance(result, kind)
    if reason:
        assert result.reason == reason


def test_a_model_marker_names_its_version_service_group_and_run():
    m = match_model(parse_config(CONFIG), "demo-bucket", "models/demo/v7/_SUCCESS")
    assert isinstance(m, ModelVersion)
    assert (m.service, m.group, m.entity) == ("demo_model_v7", "demo", f"models/demo/{m.run_id}")
    assert isinstance(match_model(parse_config(CONFIG), "other-bucket", "models/demo/v7/_SUCCESS"), NoModel)


@pytest.mark.parametrize("version", ["v1", "V1", "2026-01-01", "a" * 200, "模型"])
def test_service_names_are_valid_eas_names_and_distinct(version):
    name = service_name("demo_model", version)
    assert len(name) <= 64 and name[0].isalpha() and set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")
    assert name != service_name("demo_model", version + "x")


def test_metrics_json_forms():
    assert parse_metrics(b'{"metrics": {"accuracy": 0.9, "bad": NaN}}') == {"accuracy": 0.9}
    for raw, message in ((b"{", "not valid JSON"), (b'{"metrics": [1]}', "'metrics' must be an object")):
        with pytest.raises(ValueError, match=message):
            parse_metrics(raw)


POLICY = Evaluation(metric="accuracy", min_improvement=0.01, guards=[GuardMetric(metric="p99", mode="min", max_regression=5)])


@pytest.mark.parametrize(("candidate", "passed"), [
    ({"accuracy": 0.92, "p99": 80}, True),
    ({"accuracy": 0.905, "p99": 80}, False),   # improvement below min_improvement
    ({"accuracy": 0.95, "p99": 86}, False),    # guard regressed beyond 5
    ({"accuracy": 0.95, "p99": 85}, True),     # exactly at the guard's limit
    ({"p99": 80}, False),                      # metric missing (missing: require)
    (None, False),                             # no metrics.json
])
def test_evaluation_gate(candidate, passed):
    verdict = evaluate(candidate, {"accuracy": 0.90, "p99": 80}, POLICY)
    assert verdict.passed is passed, verdict.reason
    assert verdict.values["stable"] == {"accuracy": 0.90, "p99": 80}


def test_evaluation_min_mode_and_skip_missing():
    lower = Evaluation(metric="loss", mode="min", missing="skip")
    assert evaluate({"loss": 0.3}, {"loss": 0.4}, lower).passed
    assert not evaluate({"loss": 0.5}, {"loss": 0.4}, lower).passed
    assert evaluate({}, {"loss": 0.4}, lower).passed  # skipped, with the reason
    assert "not compared" in evaluate({}, {"loss": 0.4}, lower).reason


def test_capacity_and_one_rollout_per_pipeline():
    assert check_capacity(canary=1, stable=2, limit=3).passed
    assert not check_capacity(canary=2, stable=2, limit=3).passed
    assert decide_on_open_rollout("ro-a", "ro-a", "queue")[0] == "proceed"  # our own (a resumed invocation)
    assert decide_on_open_rollout("ro-a", "ro-b", "supersede")[0] == "supersede"


def test_claim_decisions():
    claim = Record(entity="m", seq=0, state="claimed", at=100.0, by="r1")
    assert decide_on_claim(claim, now=200.0, lease_seconds=900, request_id="r1")[0] == "resume"
    assert decide_on_claim(claim, now=200.0, lease_seconds=900, request_id="r2")[0] == "duplicate"
    assert decide_on_claim(claim, now=1000.0, lease_seconds=900, request_id="r2")[0] == "resume"
    for state in ("serving", "canary", "rejected", "queued"):
        done = Record(entity="m", seq=1, state=state, at=0.0, by="r1")
        assert decide_on_claim(done, now=1.0, lease_seconds=900, request_id="r1")[0] == "duplicate"
    # deploying is recorded before its index entry and CreateService: its own retry finishes them, nobody else
    deploying = Record(entity="m", seq=1, state="deploying", at=0.0, by="r1")
    assert decide_on_claim(deploying, now=1.0, lease_seconds=900, request_id="r1")[0] == "resume"
    assert decide_on_claim(deploying, now=1.0, lease_seconds=900, request_id="r2")[0] == "duplicate"
    assert decide_on_claim(deploying, now=5000.0, lease_seconds=900, request_id="r2")[0] == "duplicate"


def test_only_a_finished_run_is_marked():
    assert next_run_state("waiting_for_model", "served") == "served"
    assert all(next_run_state(s, "model_ready") is None for s in ("submitted", "running", "failed", "served"))


def test_processor_mode_and_dedicated_resources_in_the_service_config():
    s = Serving(service_name="m", processor="pmml", model_path="{model_uri}model.pmml", cpu=2, memory=4000,
                resource_group="eas-r-1", instances=2, env={"V": "{version}"})
    cfg = service_config(s, service="m_v1", pipeline="p", version="v1", model_uri="oss://b/models/p/v1/", workspace_id="ws")
    assert cfg["processor"] == "pmml" and cfg["model_path"] == "oss://b/models/p/v1/model.pmml"
    assert cfg["metadata"] == {"name": "m_v1", "instance": 2, "group": "m", "workspace_id": "ws", "cpu": 2,
                               "memory": 4000, "resource": "eas-r-1"}
    assert "containers" not in cfg and cfg["storage"][0]["oss"] == {"path": "oss://b/models/p/v1/", "readOnly": True}


def test_autoscaler_body_carries_the_windows_and_the_zero_grace():
    body = autoscaler_body(Autoscaler(min=0, max=4, scale_up_window=30, scale_down_window=600, scale_to_zero_grace=120))
    assert (body["min"], body["max"], body["scaleStrategies"]) == (0, 4, [{"metricName": "qps", "threshold": 10.0}])
    assert body["behavior"]["scaleUp"] == {"stabilizationWindowSeconds": 30}
    assert body["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 600}
    assert body["behavior"]["onZero"]["scaleDownGracePeriodSeconds"] == 120


@pytest.mark.parametrize(("serving", "fragment"), [
    ({"service_name": "m", "instance_type": "t"}, "set either image"),
    ({"service_name": "m", "image": "i", "instance_type": "t"}, "needs command or script"),
    ({"service_name": "m", "image": "i", "command": "run {nope}", "instance_type": "t"}, "unknown placeholder {nope}"),
    ({"service_name": "m", "image": "i", "command": "c"}, "set instance_type"),
    ({"service_name": "m", "image": "i", "command": "c", "cpu": 2, "memory": 4}, "set resource_group"),
    ({"service_name": "m", "image": "i", "command": "c", "instance_type": "t", "max_instances": 2}, "exceeds max_instances 2"),
])
def test_serving_config_problems_name_the_field_and_the_fix(serving, fragment):
    import yaml

    from pai_autopilot.errors import ConfigError

    raw = yaml.safe_load(CONFIG)
    raw["pipelines"]["demo"]["serving"] = serving
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(raw))
    problems = caught.value.errors
    assert any(path.startswith("pipelines.demo.serving") and fragment in reason for path, reason in problems), problems


def test_a_bad_eas_service_name_is_a_schema_error():
    import yaml

    from pai_autopilot.errors import ConfigError

    raw = yaml.safe_load(CONFIG)
    raw["pipelines"]["demo"]["serving"]["service_name"] = "demo-model"
    with pytest.raises(ConfigError):
        parse_config(yaml.safe_dump(raw))


def test_recording_the_stable_it_already_is_writes_nothing():
    # two reconcile ticks both saw no stable and both found the first version Running: one record
    from pai_autopilot.ledger import Ledger, MemoryStore
    from pai_autopilot.serving.stable import read_stable, record_stable

    ledger = Ledger(MemoryStore(), prefix=".autopilot/", now=lambda: 0.0)
    for tick in ("a", "b"):
        record_stable(ledger, "demo", version="v1", service="demo_model_v1", reason="first version Running", by=tick)
    assert [r.seq for r in ledger.history("serving/demo")] == [0]
    record_stable(ledger, "demo", version="v2", service="demo_model_v2", reason="promoted")
    record_stable(ledger, "demo", version="v2", service="demo_model_v2", reason="promoted (a concurrent copy)")
    assert [r.data["version"] for r in ledger.history("serving/demo")] == ["v1", "v2"]
    assert read_stable(ledger, "demo").previous_version == "v1"

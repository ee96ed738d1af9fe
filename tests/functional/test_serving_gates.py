"""The serving flow in-process against localcloud (real SDK clients over the wire): capacity,
one rollout per pipeline (queue, supersede), a service that fails to start, a quiet tick."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from pai_autopilot.clients import Credentials
from pai_autopilot.config import load_config
from pai_autopilot.rollout.state import advance, open_rollout_of, read_head
from pai_autopilot.runtime import Runtime
from pai_autopilot.serving import eas
from pai_autopilot.serving.deploy import land_model
from pai_autopilot.serving.queue import next_queued, start_queued
from pai_autopilot.serving.versions import version_of
from pai_autopilot.serving.watch import serving_pass
from pai_autopilot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "autopilot-demo"
GOOD = {"accuracy": 0.8, "loss": 0.5}


@pytest.fixture
def make_runtime(cloud):
    cloud.oss.create_bucket(BUCKET)
    cloud.clock.freeze()

    def make(request_id: str = "req-1", **serving) -> Runtime:
        env = cloud.env(BUCKET)
        config = load_config(ROOT / "autopilot.yaml")
        demo = config.pipelines["demo"]
        spec = msgspec.structs.replace(demo.serving, **serving)
        config = msgspec.structs.replace(config, pipelines={"demo": msgspec.structs.replace(demo, serving=spec)},
                                         notifications=[])
        return Runtime(Settings.resolve(environ=env), config, Credentials.from_env(env), request_id=request_id,
                       now=cloud.clock.now)

    return make


def upload(rt: Runtime, version: str, metrics: dict[str, float] = GOOD) -> None:
    bucket = rt.clients.bucket(BUCKET)
    bucket.put_object(f"models/demo/{version}/model.pt", b"w")
    bucket.put_object(f"models/demo/{version}/metrics.json", json.dumps({"metrics": metrics}).encode())
    bucket.put_object(f"models/demo/{version}/_SUCCESS", b"")


def land(rt: Runtime, version: str, metrics: dict[str, float] = GOOD) -> dict:
    upload(rt, version, metrics)
    return land_model(rt, version_of(rt.config, "demo", version, BUCKET))


def serve_first(cloud, rt: Runtime, version: str = "v1") -> None:
    assert land(rt, version)["outcome"] == "deploying"
    cloud.advance(12)  # Creating 2 s + instance startup 8 s
    assert serving_pass(rt)["records"][0]["outcome"] == "serving"


def state(rt: Runtime, version: str) -> str:
    return rt.ledger.latest(version_of(rt.config, "demo", version, BUCKET).entity).state


def test_over_the_capacity_budget_a_version_is_refused_with_the_numbers(cloud, make_runtime):
    rt = make_runtime(instances=3, max_instances=3)
    serve_first(cloud, rt)
    stable = eas.describe_service(rt, "demo_model_v1")["TotalInstance"]  # what the autoscaler left
    outcome = land(rt, "v2", {"accuracy": 0.9, "loss": 0.4})
    assert outcome["outcome"] == "refused"
    assert outcome["reason"] == f"canary 3 + stable {stable} = {3 + stable} instances > serving.max_instances 3"
    assert outcome["capacity"]["stable_instances"] == stable and eas.describe_service(rt, "demo_model_v2") is None
    assert open_rollout_of(rt.ledger, "demo") is None


def test_a_newer_version_queues_behind_the_open_rollout_and_starts_when_it_closes(cloud, make_runtime):
    rt = make_runtime()
    serve_first(cloud, rt)
    assert land(rt, "v2")["outcome"] == "canary"
    # When v3 lands while v2's rollout is open (on_newer_version: queue)
    outcome = land(rt, "v3")
    assert outcome["outcome"] == "queued" and "rollout ro-demo-v2" in outcome["reason"]
    assert eas.describe_service(rt, "demo_model_v3") is None and next_queued(rt, "demo") is not None
    assert start_queued(rt, "demo") is None  # still held by v2's rollout
    # When the controller closes v2's rollout
    rid = open_rollout_of(rt.ledger, "demo")
    advance(rt.ledger, read_head(rt.ledger, "demo", rid), "rolled_back", {"canary_weight": 0, "reason": "test"})
    started = start_queued(rt, "demo")
    # Then v3 becomes the next canary
    assert started is not None and started["outcome"] == "canary" and state(rt, "v3") == "canary"
    assert eas.describe_service(rt, "demo_model_v3")["Weight"] == 0
    assert open_rollout_of(rt.ledger, "demo").startswith("ro-demo-v3") and next_queued(rt, "demo") is None


def test_supersede_rolls_the_open_canary_back_first_and_records_it(cloud, make_runtime):
    rt = make_runtime(on_newer_version="supersede")
    serve_first(cloud, rt)
    assert land(rt, "v2")["outcome"] == "canary"
    eas.release(rt, "demo_model_v2", 10)  # the controller gave it some traffic
    old = open_rollout_of(rt.ledger, "demo")
    assert land(rt, "v3")["outcome"] == "canary"
    aborted = read_head(rt.ledger, "demo", old)
    assert (aborted.state, aborted.data["reason"], aborted.data["canary_weight"]) == ("aborted", "superseded by v3", 0)
    assert eas.describe_service(rt, "demo_model_v2")["Weight"] == 0
    assert state(rt, "v2") == "superseded" and open_rollout_of(rt.ledger, "demo").startswith("ro-demo-v3")


def test_a_service_that_fails_to_start_is_recorded_with_its_reason_once(cloud, make_runtime):
    rt = make_runtime()
    assert land(rt, "v1")["outcome"] == "deploying"
    cloud.eas.control("PUT", "/services/demo_model_v1/profile", {"fail_startup": True})
    cloud.advance(12)
    (first,) = serving_pass(rt)["records"]
    assert first["outcome"] == "failed" and first["reason"].startswith("Failed: Instances failed to start")
    assert serving_pass(rt)["records"] == []  # no longer indexed: no retry storm
    history = rt.ledger.history(version_of(rt.config, "demo", "v1", BUCKET).entity)
    assert [r.state for r in history] == ["claimed", "deploying", "failed"]


def test_a_quiet_tick_lists_once_and_calls_no_eas_api(cloud, make_runtime, monkeypatch):
    rt = make_runtime()
    listings, eas_calls = [], []
    real_list, real_handle = rt.ledger.store.list_keys, cloud.eas.handle
    monkeypatch.setattr(rt.ledger.store, "list_keys", lambda prefix: listings.append(prefix) or real_list(prefix))
    monkeypatch.setattr(cloud.eas, "handle", lambda request, action: eas_calls.append(action) or real_handle(request, action))
    assert serving_pass(rt) == {"deploying": 0, "records": [], "started_queued": []}
    assert listings == [".autopilot/index/serving/"] and eas_calls == []


def test_a_model_whose_manifest_does_not_match_is_rejected_with_every_reason(make_runtime):
    rt = make_runtime()
    bucket = rt.clients.bucket(BUCKET)
    bucket.put_object("models/demo/m1/manifest.json", json.dumps({"files": [{"path": "model.pt", "size": 99},
                                                                           {"path": "tokenizer.json", "size": 1}]}).encode())
    outcome = land(rt, "m1")
    assert outcome["outcome"] == "rejected"
    assert "size mismatch for model.pt: manifest 99, OSS 1 bytes" in outcome["reason"]
    assert "missing file tokenizer.json" in outcome["reason"] and eas.describe_service(rt, "demo_model_m1") is None
    assert land(rt, "m1")["outcome"] == "duplicate"  # rejected once


def test_on_a_dedicated_resource_group_the_canary_must_fit_its_free_capacity(cloud, make_runtime):
    cloud.eas.control("PUT", "/resources/eas-r-demo", {"cpu": 6, "memory": 16000, "gpu": 0})
    rt = make_runtime(instance_type=None, cpu=4, memory=4000, resource_group="eas-r-demo")
    serve_first(cloud, rt)  # uses 4 of the 6 cpus
    r = rt.clients.eas.describe_resource("cn-hangzhou", "eas-r-demo").body
    assert (r.cpu_count, r.cpu_used, r.memory_used) == (6, 4, 4000)
    outcome = land(rt, "v2", {"accuracy": 0.9, "loss": 0.4})
    assert outcome["outcome"] == "refused"
    assert outcome["reason"] == "resource group eas-r-demo: cpu needs 4, free 2 of 6"
    assert eas.describe_service(rt, "demo_model_v2") is None

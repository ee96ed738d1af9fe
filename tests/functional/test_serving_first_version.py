"""A pipeline's first version is deployed by one model at a time (``serving/first.py``): models
landing at the same instant create one service and queue the rest; a first version that fails to
start hands the first deploy to the next; a queued version whose index write failed is indexed by
its retry. In process, real SDK clients against localcloud."""

from __future__ import annotations

import threading

import pytest

from localcloud.core.faults import Fault
from pai_autopilot.errors import TransientError
from pai_autopilot.serving import index
from pai_autopilot.serving.deploy import land_model
from pai_autopilot.serving.versions import version_of
from pai_autopilot.serving.watch import serving_pass

from . import test_serving_gates as gates
from .test_serving_gates import BUCKET, land, state, upload

make_runtime = gates.make_runtime  # the fixture


def test_models_landing_at_once_on_a_new_pipeline_create_one_first_service(cloud, make_runtime):
    versions = [f"v{i}" for i in range(1, 5)]
    runtimes = {v: make_runtime(f"req-{v}") for v in versions}
    for v in versions:
        upload(runtimes[v], v)
    barrier = threading.Barrier(len(versions))
    outcomes: dict[str, str] = {}
    mark = cloud.calls.mark()

    def land_now(v: str) -> None:
        mv = version_of(runtimes[v].config, "demo", v, BUCKET)
        barrier.wait()
        outcomes[v] = land_model(runtimes[v], mv)["outcome"]

    threads = [threading.Thread(target=land_now, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Exactly one model deploys the first version; the others wait for it, in the queue
    assert sorted(outcomes.values()) == ["deploying", "queued", "queued", "queued"], outcomes
    assert cloud.calls.count(mark, product="eas", action="CreateService") == 1
    assert len(index.queued(runtimes["v1"].ledger, "demo")) == 3
    # And once it is Running, the next queued version becomes its canary (not a second first version)
    (first,) = [v for v, o in outcomes.items() if o == "deploying"]
    cloud.advance(12)
    records = serving_pass(runtimes["v1"])["records"]
    assert records[0]["outcome"] == "serving"
    assert sorted(state(runtimes["v1"], v) for v in versions) == ["canary", "queued", "queued", "serving"]


def test_a_first_version_that_fails_to_start_hands_the_first_deploy_to_the_next(cloud, make_runtime):
    rt = make_runtime()
    assert land(rt, "v1")["outcome"] == "deploying"
    assert land(make_runtime("req-2"), "v2")["outcome"] == "queued"
    cloud.eas.control("PUT", "/services/demo_model_v1/profile", {"fail_startup": True})
    cloud.advance(12)
    serving_pass(rt)  # v1 failed; the pass starts the queue: v2 takes the first deploy over
    assert state(rt, "v1") == "failed" and state(rt, "v2") == "deploying"
    cloud.advance(12)
    serving_pass(rt)
    assert state(rt, "v2") == "serving"


def test_a_queued_version_whose_index_write_failed_is_indexed_by_its_retry(cloud, make_runtime):
    rt = make_runtime()
    assert land(rt, "v1")["outcome"] == "deploying"
    retrying = make_runtime("req-v2")
    fault = cloud.faults.add(Fault(service="oss", operation="PutObject", path_contains="index/serving/queued/", count=10))
    with pytest.raises(TransientError):
        land(retrying, "v2")
    cloud.faults.remove(fault)
    assert state(rt, "v2") == "queued" and index.queued(rt.ledger, "demo") == []
    # FC retries the event: the version is already queued, and its queue entry is written
    assert land_model(retrying, version_of(rt.config, "demo", "v2", BUCKET))["outcome"] == "duplicate"
    assert index.queued(rt.ledger, "demo") == [version_of(rt.config, "demo", "v2", BUCKET).run_id]

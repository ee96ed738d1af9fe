"""Malformed input is invalid input: rejected once, never retried, never reaching a request.

Through the local FC runtime (s.yaml's functions, FC's async retries) and the real SDKs.
"""

from __future__ import annotations

import json

import pytest
from alibabacloud_pai_dlc20201203 import models

from localcloud.core.events import ObjectEvent
from localcloud.core.faults import Fault
from localcloud.fc.triggers import native_oss_event

from .conftest import BUCKET, JOB_EVENTS

LANDED = "pai-autopilot-dataset-landed"


def records(cloud, function: str = LANDED) -> list[dict]:
    return cloud.fc.invocation_records(function)


def oss_payload(key: str, event_name: str = "ObjectCreated:PutObject", etag: str = "E1") -> bytes:
    event = ObjectEvent(event_name, BUCKET, key, 0, etag, "R1", "127.0.0.1", 0.0)
    return json.dumps(native_oss_event(event, region="cn-hangzhou", account_id="1", rule_id="t")).encode()


def quietly_put(cloud, bucket, key: str, body: bytes = b"x") -> None:
    """Upload without its notification (the test delivers its own spelling of the event)."""
    cloud.hub.unsubscribe(cloud.fc._on_hub_event)
    try:
        bucket.put_object(key, body)
    finally:
        cloud.hub.subscribe(cloud.fc._on_hub_event)


def n_jobs(sdk) -> list:
    return sdk.dlc.list_jobs(models.ListJobsRequest(page_size=100)).body.jobs or []


def test_a_stray_empty_segment_marker_is_rejected_alone_and_the_real_marker_trains(project_cloud, sdk):
    bucket = sdk.bucket(BUCKET)
    bucket.put_object("datasets/demo/v77/part-0.csv", b"a,b\n")
    # When a stray marker with an empty segment lands first
    bucket.put_object("datasets/demo/v77//_SUCCESS", b"")
    assert project_cloud.fc.wait_idle(60)
    (stray,) = records(project_cloud)
    assert stray["status"] == "succeeded" and stray["attempts"] == 1
    assert stray["result"]["outcome"] == "rejected"
    assert "empty path segment" in stray["result"]["records"][0]["reason"]
    assert n_jobs(sdk) == []
    # Then the real marker of v77 still trains (the version was not claimed by the stray key)
    bucket.put_object("datasets/demo/v77/_SUCCESS", b"")
    assert project_cloud.fc.wait_idle(60)
    real = records(project_cloud)[-1]
    assert real["result"]["outcome"] == "submitted", real
    assert real["result"]["records"][0]["version"] == "v77"
    assert len(n_jobs(sdk)) == 1


def test_an_event_name_spelt_with_the_oss_prefix_is_object_created(project_cloud, sdk):
    bucket = sdk.bucket(BUCKET)
    quietly_put(project_cloud, bucket, "datasets/demo/v8/part-0.csv")
    quietly_put(project_cloud, bucket, "datasets/demo/v8/_SUCCESS", b"")
    project_cloud.fc.invoke_async(LANDED, oss_payload("datasets/demo/v8/_SUCCESS", "oss:ObjectCreated:PutObject"))
    assert project_cloud.fc.wait_idle(60)
    (record,) = records(project_cloud)
    assert record["result"]["outcome"] == "submitted", record


@pytest.mark.parametrize(
    ("stored", "delivered"),
    [
        ("v 9", "v 9"),  # plain, as every Alibaba sample shows
        ("v 9", "v+9"),  # URL-encoded as S3 does (space as +)
        ("v 9", "v%209"),  # URL-encoded (space as %20)
        ("v+9", "v+9"),  # a literal '+' in the key: the as-delivered spelling wins
        ("数据", "%E6%95%B0%E6%8D%AE"),  # non-ASCII, percent-encoded
    ],
)
def test_keys_are_found_under_either_spelling(project_cloud, sdk, stored, delivered):
    bucket = sdk.bucket(BUCKET)
    quietly_put(project_cloud, bucket, f"datasets/demo/{stored}/part-0.csv")
    quietly_put(project_cloud, bucket, f"datasets/demo/{stored}/_SUCCESS", b"")
    project_cloud.fc.invoke_async(LANDED, oss_payload(f"datasets/demo/{delivered}/_SUCCESS"))
    assert project_cloud.fc.wait_idle(60)
    (record,) = records(project_cloud)
    assert record["result"]["outcome"] == "submitted", record
    assert record["result"]["records"][0]["version"] == stored
    (job,) = n_jobs(sdk)
    assert job.display_name == record["result"]["records"][0]["run_id"]


def count_requests(cloud, service: str) -> Fault:
    """A fault that fails (and so counts) every request to ``service``: its hits are the requests."""
    fault = Fault(service=service, operation="*", error_code="InternalError", status=500, count=10_000)
    cloud.faults.add(fault)
    return fault


HOSTILE_JOB_IDS = ["../jobs/x", "id/", " id ", "dlc1\nx", "dlc\x00x", "dlc?x=1", "x" * 65, "x" * 3_000_000]


@pytest.mark.parametrize("job_id", HOSTILE_JOB_IDS, ids=lambda j: repr(j)[:20])
def test_hostile_job_ids_are_rejected_before_any_request(project_cloud, job_id):
    dlc = count_requests(project_cloud, "dlc")
    event = {"id": "e1", "source": "acs.pai", "type": "pai:DLC:JobStatusChanged", "specversion": "1.0",
             "data": {"JobId": job_id, "Status": "Succeeded"}}
    project_cloud.fc.invoke_async(JOB_EVENTS, json.dumps(event).encode())
    assert project_cloud.fc.wait_idle(60)
    (record,) = records(project_cloud, JOB_EVENTS)
    assert record["status"] == "succeeded" and record["attempts"] == 1, json.dumps(record)[:3000]  # not retried
    assert record["result"]["outcome"] == "rejected"
    assert dlc.hits == 0


HOSTILE_KEYS = ["datasets/demo/../demo/v1/_SUCCESS", "datasets/demo/./v1/_SUCCESS", "datasets/demo/v1\n/_SUCCESS",
                "datasets/demo/v\x001/_SUCCESS", "datasets/demo/" + "v" * 2000 + "/_SUCCESS"]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=lambda k: repr(k)[:30])
def test_hostile_keys_are_rejected_for_that_key_before_any_request(project_cloud, key):
    oss = count_requests(project_cloud, "oss")
    project_cloud.fc.invoke_async(LANDED, oss_payload(key))
    assert project_cloud.fc.wait_idle(60)
    (record,) = records(project_cloud)
    assert record["status"] == "succeeded" and record["attempts"] == 1, record
    assert record["result"]["outcome"] == "rejected"
    assert oss.hits == 0


@pytest.mark.parametrize(
    "payload",
    [b"[" * 100_000, b'{"events": [{"eventName": "ObjectCreated:PutObject", "oss": "\xff\xfe"}]}',
     b'{"id": "1", "source": "acs.pai", "type": "pai:DLC:JobStatusChanged", "data": "' + b"{" * 50_000 + b'"}',
     b'{"triggerTime": "t", "triggerName": "n", "payload": "x"}' + b" " * (2 << 20)],
    ids=["deep-nesting", "invalid-utf8", "deep-data-string", "oversized"],
)
@pytest.mark.parametrize("function", [LANDED, JOB_EVENTS, "pai-autopilot-reconcile"])
def test_undecodable_events_are_rejected_not_retried(project_cloud, function, payload):
    project_cloud.fc.invoke_async(function, payload)
    assert project_cloud.fc.wait_idle(60)
    (record,) = records(project_cloud, function)
    assert record["status"] == "succeeded" and record["attempts"] == 1, record
    assert record["result"]["outcome"] == "rejected"

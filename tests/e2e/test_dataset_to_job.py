"""The first slice end to end: a dataset marker lands in OSS → exactly one DLC job.

Everything goes through the real SDK clients and the local FC runtime, which reads s.yaml,
filters OSS notifications by the trigger and runs functions/dataset_landed.py in workers.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from alibabacloud_pai_dlc20201203 import models

from localcloud.core.events import ObjectEvent
from localcloud.fc.triggers import native_oss_event

from .conftest import BUCKET

FUNCTION = "pai-autopilot-dataset-landed"


def jobs(sdk) -> list:
    """Every DLC job: listed with ListJobs, read with GetJob (ListJobs' items carry no data-source Uri)."""
    listed = sdk.dlc.list_jobs(models.ListJobsRequest(page_size=100)).body.jobs or []
    return [sdk.dlc.get_job(j.job_id, models.GetJobRequest()).body for j in listed]


def invocations(cloud) -> list[dict]:
    return cloud.fc.invocation_records(FUNCTION)


def land(sdk, version: str, files: dict[str, bytes] | None = None) -> str:
    bucket = sdk.bucket(BUCKET)
    prefix = f"datasets/demo/{version}/"
    for name, body in (files or {"part-0.csv": b"x,y\n1,3\n"}).items():
        bucket.put_object(prefix + name, body)
    bucket.put_object(prefix + "_SUCCESS", b"")
    return prefix


def test_marker_creates_exactly_one_job_with_the_dataset(project_cloud, sdk):
    # When a dataset version lands: data files, then the marker
    land(sdk, "v1", {"part-0.csv": b"a", "part-1.csv": b"b"})
    assert project_cloud.fc.wait_idle(60)
    # Then the trigger delivered only the marker (the suffix filter), once, and it submitted
    (record,) = invocations(project_cloud)
    assert record["status"] == "succeeded" and record["attempts"] == 1
    assert record["result"]["outcome"] == "submitted"
    # And DLC has exactly one job, mounting the dataset version
    (job,) = jobs(sdk)
    assert job.data_sources[0].uri == f"oss://{BUCKET}/datasets/demo/v1/"
    assert job.data_sources[0].mount_path == "/mnt/data/"
    assert job.display_name == record["result"]["records"][0]["run_id"]
    assert job.job_id == record["result"]["records"][0]["job_id"]
    assert f"--output oss://{BUCKET}/models/demo/v1/" in job.user_command
    (listed,) = sdk.dlc.list_jobs(models.ListJobsRequest()).body.jobs
    assert f"--dataset-uri oss://{BUCKET}/datasets/demo/v1/" in listed.user_command
    # And the ledger holds the run's history: claimed, then submitted with the job id (then the
    # job's status changes, recorded by job_events)
    keys = [o.key for o in sdk.bucket(BUCKET).list_objects_v2(prefix=".autopilot/runs/demo/").object_list]
    assert [k.rsplit("/", 1)[-1] for k in keys][:2] == ["00000000.json", "00000001.json"]
    first, second = (json.loads(sdk.bucket(BUCKET).get_object(k).read()) for k in keys[:2])
    assert first["state"] == "claimed"
    assert second["state"] == "submitted" and second["data"]["job_id"] == job.job_id


def test_the_marker_uploaded_again_creates_no_second_job(project_cloud, sdk):
    land(sdk, "v1")
    assert project_cloud.fc.wait_idle(60)
    sdk.bucket(BUCKET).put_object("datasets/demo/v1/_SUCCESS", b"")
    assert project_cloud.fc.wait_idle(60)
    outcomes = [r["result"]["outcome"] for r in invocations(project_cloud)]
    assert outcomes == ["submitted", "duplicate"]
    assert len(jobs(sdk)) == 1


def test_the_event_redelivered_three_times_creates_no_second_job(project_cloud, sdk):
    # Given a marker that landed and was handled
    bucket = sdk.bucket(BUCKET)
    bucket.put_object("datasets/demo/v3/part-0.csv", b"x")
    marker = "datasets/demo/v3/_SUCCESS"
    put = bucket.put_object(marker, b"")
    assert project_cloud.fc.wait_idle(60)
    project_cloud.fc.reset()
    # When its event is delivered three more times at once
    event = ObjectEvent("ObjectCreated:PutObject", BUCKET, marker, 0, put.etag, put.request_id, "127.0.0.1", 0.0)
    payload = json.dumps(native_oss_event(event, region="cn-hangzhou", account_id="1", rule_id="dup")).encode()
    for _ in range(3):
        project_cloud.fc.invoke_async(FUNCTION, payload, source="test-duplicate")
    assert project_cloud.fc.wait_idle(60)
    # Then every delivery succeeded, none created a second job
    records = invocations(project_cloud)
    assert [r["status"] for r in records] == ["succeeded"] * 3
    assert Counter(r["result"]["outcome"] for r in records) == Counter({"duplicate": 3})
    assert len(jobs(sdk)) == 1


def test_three_concurrent_first_deliveries_make_one_job(project_cloud, sdk):
    # Given a marker object whose upload event is not delivered (the payload is delivered by hand)
    bucket = sdk.bucket(BUCKET)
    project_cloud.hub.unsubscribe(project_cloud.fc._on_hub_event)
    try:
        bucket.put_object("datasets/demo/v4/part-0.csv", b"x")
        put = bucket.put_object("datasets/demo/v4/_SUCCESS", b"")
    finally:
        project_cloud.hub.subscribe(project_cloud.fc._on_hub_event)
    event = ObjectEvent("ObjectCreated:PutObject", BUCKET, "datasets/demo/v4/_SUCCESS", 0, put.etag, put.request_id, "127.0.0.1", 0.0)
    payload = json.dumps(native_oss_event(event, region="cn-hangzhou", account_id="1", rule_id="dup")).encode()
    # When it is delivered three times at once (two instances run in parallel)
    for _ in range(3):
        project_cloud.fc.invoke_async(FUNCTION, payload, source="test-duplicate")
    assert project_cloud.fc.wait_idle(60)
    # Then one delivery submitted and two found the run taken
    records = invocations(project_cloud)
    assert [r["status"] for r in records] == ["succeeded"] * 3, records
    assert Counter(r["result"]["outcome"] for r in records) == Counter({"submitted": 1, "duplicate": 2})
    assert len(jobs(sdk)) == 1


@pytest.mark.parametrize("version", ["v 5", "v+5", "数据-v5", "2024-05-01 12:00+08"])
def test_versions_with_spaces_plus_and_non_ascii(project_cloud, sdk, version):
    land(sdk, version, {"数据 part+0.csv": b"x"})
    assert project_cloud.fc.wait_idle(60)
    (record,) = invocations(project_cloud)
    assert record["result"]["outcome"] == "submitted", record
    (job,) = jobs(sdk)
    assert job.data_sources[0].uri == f"oss://{BUCKET}/datasets/demo/{version}/"
    assert record["result"]["records"][0]["version"] == version


def test_markers_outside_any_pipeline_and_bad_versions_create_no_job(project_cloud, sdk):
    bucket = sdk.bucket(BUCKET)
    bucket.put_object("datasets/other/v1/_SUCCESS", b"")  # passes the trigger filter, no pipeline
    bucket.put_object("datasets/demo/_SUCCESS", b"")  # demo pipeline, no version
    bucket.put_object("datasets/demo/v1/nested/_SUCCESS", b"")  # nested
    bucket.put_object("models/demo/v1/_SUCCESS", b"")  # outside the trigger's prefix: never delivered
    assert project_cloud.fc.wait_idle(60)
    results = {r["result"]["records"][0]["key"]: r for r in invocations(project_cloud)}
    assert set(results) == {"datasets/other/v1/_SUCCESS", "datasets/demo/_SUCCESS", "datasets/demo/v1/nested/_SUCCESS"}
    assert results["datasets/other/v1/_SUCCESS"]["result"]["outcome"] == "ignored"
    assert results["datasets/demo/_SUCCESS"]["result"]["outcome"] == "rejected"
    assert "has no version" in results["datasets/demo/_SUCCESS"]["result"]["records"][0]["reason"]
    assert results["datasets/demo/v1/nested/_SUCCESS"]["result"]["outcome"] == "rejected"
    assert all(r["attempts"] == 1 for r in results.values())  # invalid input is not retried
    assert jobs(sdk) == []


def test_function_logs_are_json_with_the_invocation_context(project_cloud, sdk):
    land(sdk, "v9")
    assert project_cloud.fc.wait_idle(60)
    lines = [json.loads(line) for line in project_cloud.fc.logs(FUNCTION) if line.startswith("{")]
    summary = [line for line in lines if line.get("event") == "invocation"][-1]
    (record,) = invocations(project_cloud)
    assert summary["request_id"] == record["request_id"]
    assert summary["function"] == "dataset_landed" and summary["outcome"] == "submitted"
    assert summary["correlation_id"] == record["result"]["records"][0]["run_id"]
    assert summary["event_id"].startswith(f"{BUCKET}/datasets/demo/v9/_SUCCESS@")
    assert all("localcloud-secret" not in json.dumps(line) for line in lines)


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        (b"not json", "decode:"),
        (b'{"hello": "world"}', "envelope:"),
        (b'{"triggerTime": "2026-01-01T00:00:00Z", "triggerName": "t"}', "carries no OSS record"),
    ],
)
def test_malformed_events_are_rejected_once_and_not_retried(project_cloud, sdk, event, fragment):
    project_cloud.fc.invoke_async(FUNCTION, event, source="test-garbage")
    assert project_cloud.fc.wait_idle(30)
    (record,) = invocations(project_cloud)
    assert record["status"] == "succeeded" and record["attempts"] == 1
    assert record["result"]["outcome"] == "rejected" and fragment in record["result"]["error"]
    assert record["result"]["code"] == "EventParseError"
    assert jobs(sdk) == []


def test_the_sample_event_runs_through_local_invoke(project_cloud, sdk):
    # events/ossObjectCreated.json names the demo marker: with the marker in OSS, it submits a run
    from tests.conftest import load_event

    land(sdk, "v1")
    assert project_cloud.fc.wait_idle(60)
    result = project_cloud.fc.invoke_sync(FUNCTION, load_event("ossObjectCreated.json"))
    assert result.ok and result.result["outcome"] == "duplicate"
    assert len(jobs(sdk)) == 1


def test_duplicate_delivery_at_100_percent_still_makes_one_job(project_cloud, sdk):
    from localcloud.core.faults import DeliveryFaults

    # Given every OSS notification is delivered twice
    project_cloud.delivery = DeliveryFaults(duplicate=1.0)
    # When a dataset version lands
    land(sdk, "v6")
    assert project_cloud.fc.wait_idle(60)
    # Then the marker's event arrived twice, and the handler acted once
    records = invocations(project_cloud)
    assert len(records) == 2 and all(r["status"] == "succeeded" for r in records)
    assert Counter(r["result"]["outcome"] for r in records) == Counter({"submitted": 1, "duplicate": 1})
    assert len(jobs(sdk)) == 1


def test_dlc_errors_beyond_the_sdk_retries_are_retried_by_fc_without_a_second_job(project_cloud, sdk):
    from localcloud.core.faults import Fault

    # Given CreateJob fails 4 times in a row (the SDK makes 3 attempts per call)
    project_cloud.faults.add(Fault(service="dlc", operation="CreateJob", error_code="InternalError", status=500, count=4))
    # When the marker lands
    land(sdk, "v7")
    assert project_cloud.fc.wait_idle(60)
    # Then the first invocation raised (transient), FC retried it, and the retry submitted the job
    (record,) = invocations(project_cloud)
    assert record["status"] == "succeeded" and record["attempts"] == 2
    assert record["result"]["outcome"] == "submitted"
    assert len(jobs(sdk)) == 1


def test_a_refused_template_is_rejected_not_retried(project_cloud, sdk):
    from localcloud.core.faults import Fault

    project_cloud.faults.add(Fault(service="dlc", operation="CreateJob", error_code="InvalidParameter", status=400, count=1))
    land(sdk, "v8")
    assert project_cloud.fc.wait_idle(60)
    (record,) = invocations(project_cloud)
    assert record["attempts"] == 1 and record["result"]["outcome"] == "rejected"
    assert "CreateJob failed: InvalidParameter" in record["result"]["records"][0]["reason"]
    assert jobs(sdk) == []


def test_an_empty_version_is_rejected_once_with_its_reason(project_cloud, sdk):
    sdk.bucket(BUCKET).put_object("datasets/demo/empty/_SUCCESS", b"")
    sdk.bucket(BUCKET).put_object("datasets/demo/empty/_SUCCESS", b"")
    assert project_cloud.fc.wait_idle(60)
    # the two deliveries may run concurrently: whichever claims first rejects, the other is a duplicate
    outcomes = [r["result"]["records"][0] for r in invocations(project_cloud)]
    assert sorted(o["outcome"] for o in outcomes) == ["duplicate", "rejected"]
    (rejected,) = [o for o in outcomes if o["outcome"] == "rejected"]
    assert "empty" in rejected["reason"] and jobs(sdk) == []
    (claim,) = [json.loads(sdk.bucket(BUCKET).get_object(o.key).read())
                for o in sdk.bucket(BUCKET).list_objects_v2(prefix=".autopilot/runs/demo/").object_list]
    assert claim["state"] == "rejected" and claim["data"]["reasons"]


def test_a_manifest_with_a_wrong_size_is_rejected(project_cloud, sdk):
    bucket = sdk.bucket(BUCKET)
    bucket.put_object("datasets/demo/m1/part-0.csv", b"12345")
    bucket.put_object("datasets/demo/m1/manifest.json", json.dumps({"files": [{"path": "part-0.csv", "size": 999}]}).encode())
    bucket.put_object("datasets/demo/m1/_SUCCESS", b"")
    assert project_cloud.fc.wait_idle(60)
    (record,) = invocations(project_cloud)
    reason = record["result"]["records"][0]["reason"]
    assert record["result"]["outcome"] == "rejected" and "part-0.csv" in reason and "999" in reason
    assert jobs(sdk) == []


def test_the_same_content_under_a_new_version_starts_no_job(project_cloud, sdk):
    land(sdk, "c1", {"part-0.csv": b"same bytes"})
    assert project_cloud.fc.wait_idle(60)
    land(sdk, "c2", {"part-0.csv": b"same bytes"})
    assert project_cloud.fc.wait_idle(60)
    outcomes = [r["result"]["records"][0] for r in invocations(project_cloud)]
    assert [o["outcome"] for o in outcomes] == ["submitted", "rejected"]
    assert "same content as run " + outcomes[0]["run_id"] in outcomes[1]["reason"]
    assert len(jobs(sdk)) == 1

"""Pure decisions of the training slice: matching markers, run ids, the CreateJob body, claims."""

from __future__ import annotations

import pytest

from pai_autopilot.config import parse_config
from pai_autopilot.ledger import Record
from pai_autopilot.training.datasets import BadVersion, DatasetVersion, NoMatch, match_marker
from pai_autopilot.training.jobs import create_job_body
from pai_autopilot.training.runs import run_id
from pai_autopilot.training.submit import decide_on_existing

CONFIG = parse_config(
    """
version: 1
storage: {bucket: demo-bucket}
workspace: {id: "ws-1"}
pipelines:
  demo:
    dataset: {prefix: datasets/demo/}
    training:
      image: registry/img:1
      command: "python train.py --data {dataset_uri} --mnt {dataset_path} --ckpt {checkpoint_uri} --out {output_uri} --resume '{resume_from}' --run {run_id}"
      ecs_spec: ecs.gn6i-c4g1.xlarge
      pod_count: 2
      max_running_minutes: 60
      envs: {EPOCHS: "3"}
      spot: {enabled: true, discount_limit: 0.4}
  other:
    dataset: {prefix: raw/other/, marker: DONE}
    training: {image: img, command: run, ecs_spec: ecs.c6.large}
"""
)


@pytest.mark.parametrize(
    ("bucket", "key", "expected"),
    [
        ("demo-bucket", "datasets/demo/v1/_SUCCESS", ("demo", "v1")),
        ("demo-bucket", "raw/other/2024-05-01/DONE", ("other", "2024-05-01")),
        ("demo-bucket", "datasets/demo/v 1+x/_SUCCESS", ("demo", "v 1+x")),
        ("demo-bucket", "datasets/demo/数据-v2/_SUCCESS", ("demo", "数据-v2")),
    ],
)
def test_markers_match_their_pipeline(bucket, key, expected):
    match = match_marker(CONFIG, bucket, key)
    assert isinstance(match, DatasetVersion)
    assert (match.pipeline, match.version) == expected
    assert match.dataset_uri == f"oss://{bucket}/{key.rsplit('/', 1)[0]}/"


@pytest.mark.parametrize(
    ("bucket", "key", "reason"),
    [
        ("demo-bucket", "datasets/demo/v1/part-0.csv", "not a dataset marker"),
        ("demo-bucket", "datasets/unknown/v1/_SUCCESS", "no pipeline watches"),
        ("demo-bucket", "raw/other/v1/_SUCCESS", "no pipeline watches"),  # other's marker is DONE
        ("elsewhere", "datasets/demo/v1/_SUCCESS", "is not the configured bucket"),
    ],
)
def test_other_objects_are_ignored_with_a_reason(bucket, key, reason):
    match = match_marker(CONFIG, bucket, key)
    assert isinstance(match, NoMatch) and reason in match.reason


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("datasets/demo/_SUCCESS", "has no version"),
        ("datasets/demo//_SUCCESS", "has no version"),
        ("datasets/demo/v1/sub/_SUCCESS", "is nested"),
        ("datasets/demo/../_SUCCESS", "not usable"),
    ],
)
def test_unusable_versions_are_rejected_with_a_reason(key, reason):
    match = match_marker(CONFIG, "demo-bucket", key)
    assert isinstance(match, BadVersion) and match.pipeline == "demo" and reason in match.reason


def test_expected_bucket_overrides_the_configured_one():
    assert isinstance(match_marker(CONFIG, "prod-bucket", "datasets/demo/v1/_SUCCESS", expected_bucket="prod-bucket"), DatasetVersion)


def test_run_ids_are_deterministic_valid_display_names_and_distinct():
    import re

    versions = ["v1", "v 1", "v+1", "v%201", "数据", "数据2", "a" * 300]
    ids = [run_id("demo", v) for v in versions]
    assert ids == [run_id("demo", v) for v in versions]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]{1,256}", i) for i in ids)
    assert run_id("demo", "v1") != run_id("other", "v1")


def test_create_job_body_fills_the_template():
    dataset = match_marker(CONFIG, "demo-bucket", "datasets/demo/v1/_SUCCESS")
    run = run_id("demo", "v1")
    body = create_job_body(CONFIG, dataset, run=run, resume_from="oss://demo-bucket/checkpoints/demo/x/step-10/")
    assert body["DisplayName"] == run
    assert body["UserCommand"] == (
        "python train.py --data oss://demo-bucket/datasets/demo/v1/ --mnt /mnt/data/ "
        f"--ckpt oss://demo-bucket/checkpoints/demo/{run}/ --out oss://demo-bucket/models/demo/v1/ "
        f"--resume 'oss://demo-bucket/checkpoints/demo/x/step-10/' --run {run}"
    )
    assert body["JobSpecs"] == [{
        "Type": "Worker", "Image": "registry/img:1", "PodCount": 2, "EcsSpec": "ecs.gn6i-c4g1.xlarge",
        "UseSpotInstance": True, "SpotSpec": {"SpotStrategy": "SpotWithPriceLimit", "SpotDiscountLimit": 0.4},
    }]
    assert body["DataSources"] == [{"Uri": "oss://demo-bucket/datasets/demo/v1/", "MountPath": "/mnt/data/"}]
    assert body["WorkspaceId"] == "ws-1" and body["JobMaxRunningTimeMinutes"] == 60
    assert body["Settings"]["Tags"] == {"autopilot-run-id": run, "autopilot-pipeline": "demo"}
    assert body["Envs"]["EPOCHS"] == "3" and body["Envs"]["AUTOPILOT_RUN_ID"] == run
    # and the SDK accepts it as a CreateJobRequest
    from alibabacloud_pai_dlc20201203.models import CreateJobRequest

    assert CreateJobRequest().from_map(body).to_map()["DisplayName"] == run


def _record(state: str, at: float = 0.0, by: str | None = "req-1", **data) -> Record:
    return Record(entity="runs/demo/r", seq=0, state=state, at=at, by=by, data=data)


@pytest.mark.parametrize(
    ("latest", "now", "request_id", "action", "fragment"),
    [
        (None, 1.0, "req-2", "wait", "not listed yet"),
        (_record("submitted", job_id="dlc9"), 1.0, "req-2", "noop", "run already submitted (job dlc9)"),
        (_record("rejected"), 1.0, "req-2", "noop", "run already rejected"),
        (_record("claimed", at=0.0), 5.0, "req-2", "wait", "owner is submitting"),
        (_record("claimed", at=0.0), 5.0, "req-1", "takeover", "retry of the invocation that claimed"),
        (_record("claimed", at=0.0), 900.0, "req-2", "takeover", "its owner stopped"),
    ],
)
def test_decide_on_existing(latest, now, request_id, action, fragment):
    verdict = decide_on_existing(latest, now=now, lease_seconds=900, request_id=request_id)
    assert verdict.action == action and fragment in verdict.reason

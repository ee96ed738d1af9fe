"""The DLC CreateJob request for a run, built from the pipeline's training template (pure).

Example
-------
>>> from ..config import parse_config
>>> from .datasets import DatasetVersion
>>> cfg = parse_config('''
... version: 1
... storage: {bucket: demo-bucket}
... workspace: {id: "12345"}
... pipelines:
...   demo:
...     dataset: {prefix: datasets/demo/}
...     training: {image: img, command: "python train.py --data {dataset_path} --out {output_uri}", ecs_spec: ecs.gn6i-c4g1.xlarge}
... ''')
>>> dv = DatasetVersion("demo", "v1", "demo-bucket", "datasets/demo/v1/", "datasets/demo/v1/_SUCCESS")
>>> body = create_job_body(cfg, dv, run="ap-demo-v1-d1c72ca7")
>>> body["UserCommand"]
'python train.py --data /mnt/data/ --out oss://demo-bucket/models/demo/v1/'
>>> body["DataSources"], body["Settings"]["Tags"]["autopilot-run-id"]
([{'Uri': 'oss://demo-bucket/datasets/demo/v1/', 'MountPath': '/mnt/data/'}], 'ap-demo-v1-d1c72ca7')
"""

from __future__ import annotations

from typing import Any

from ..config import AutopilotConfig
from .datasets import DatasetVersion

TAG_RUN_ID = "autopilot-run-id"
TAG_PIPELINE = "autopilot-pipeline"


def run_uris(config: AutopilotConfig, dataset: DatasetVersion, run: str) -> dict[str, str]:
    """The URIs a run reads and writes: dataset, checkpoints, model output."""
    pipeline = config.pipelines[dataset.pipeline]
    bucket = dataset.bucket
    checkpoints = pipeline.checkpoints_prefix or f"checkpoints/{dataset.pipeline}/"
    models = pipeline.models_prefix or f"models/{dataset.pipeline}/"
    return {
        "dataset_uri": dataset.dataset_uri,
        "checkpoint_uri": f"oss://{bucket}/{checkpoints}{run}/",
        "output_uri": f"oss://{bucket}/{models}{dataset.version}/",
    }


def create_job_body(
    config: AutopilotConfig,
    dataset: DatasetVersion,
    *,
    run: str,
    resume_from: str = "",
    workspace_id: str | None = None,
    display_name: str | None = None,
    spot: bool | None = None,
) -> dict[str, Any]:
    """The CreateJob body (wire keys, as ``CreateJobRequest.from_map`` takes them).

    ``display_name`` defaults to the run id (a resubmission names its attempt); ``spot``
    overrides the template's spot setting (the on-demand fallback).
    """
    pipeline = config.pipelines[dataset.pipeline]
    t = pipeline.training
    uris = run_uris(config, dataset, run)
    values = {
        **uris,
        "dataset_path": t.dataset_mount,
        "resume_from": resume_from,
        "run_id": run,
        "pipeline": dataset.pipeline,
        "version": dataset.version,
    }
    spec: dict[str, Any] = {"Type": t.role, "Image": t.image, "PodCount": t.pod_count}
    if t.ecs_spec:
        spec["EcsSpec"] = t.ecs_spec
    else:
        resources = {"CPU": t.cpu, "GPU": t.gpu, "Memory": t.memory, "GPUType": t.gpu_type}
        spec["ResourceConfig"] = {k: v for k, v in resources.items() if v is not None}
    if t.spot.enabled if spot is None else spot:
        spec["UseSpotInstance"] = True
        spec["SpotSpec"] = {"SpotStrategy": "SpotWithPriceLimit", "SpotDiscountLimit": t.spot.discount_limit}
    envs = {
        **t.envs,
        "AUTOPILOT_RUN_ID": run,
        "AUTOPILOT_DATASET_URI": uris["dataset_uri"],
        "AUTOPILOT_CHECKPOINT_URI": uris["checkpoint_uri"],
        "AUTOPILOT_OUTPUT_URI": uris["output_uri"],
        "AUTOPILOT_RESUME_FROM": resume_from,
    }
    body: dict[str, Any] = {
        "DisplayName": display_name or run,
        "JobType": t.job_type,
        "UserCommand": t.command.format(**values),
        "JobSpecs": [spec],
        "DataSources": [{"Uri": uris["dataset_uri"], "MountPath": t.dataset_mount}],
        "Envs": envs,
        "Priority": t.priority,
        "Settings": {"Tags": {TAG_RUN_ID: run, TAG_PIPELINE: dataset.pipeline}},
    }
    workspace = workspace_id if workspace_id is not None else config.workspace.id
    if workspace:
        body["WorkspaceId"] = workspace
    if config.workspace.resource_id:
        body["ResourceId"] = config.workspace.resource_id
    if t.max_running_minutes:
        body["JobMaxRunningTimeMinutes"] = t.max_running_minutes
    return body

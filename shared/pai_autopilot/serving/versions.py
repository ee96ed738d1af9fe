"""Matching a landed object to a pipeline's model version, and a version's names (pure; no I/O).

A model version is complete when ``<models prefix><version>/_SUCCESS`` lands (the prefix is the
pipeline's ``models_prefix``, default ``models/<pipeline>/``, where training writes
``{output_uri}``). Its identity is (pipeline, version):

* ledger entity ``models/<pipeline>/<model id>``, the model id being the run id
  :func:`~pai_autopilot.training.runs.run_id` gives (so a model uploaded by hand, with no run,
  still joins the version's timeline under the same correlation id);
* EAS service ``<serving.service_name>_<version slug>``: deterministic, so a crash between
  CreateService and the ledger append is found again with DescribeService.

Example
-------
>>> from ..config import parse_config
>>> cfg = parse_config('''
... version: 1
... storage: {bucket: demo-bucket}
... pipelines:
...   demo:
...     dataset: {prefix: datasets/demo/}
...     training: {image: img, command: "train {dataset_uri}", ecs_spec: ecs.c6.large}
...     serving: {service_name: demo_model, image: img, command: serve, instance_type: ecs.c6.large}
... ''')
>>> m = match_model(cfg, "demo-bucket", "models/demo/v1/_SUCCESS")
>>> m.pipeline, m.version, m.model_uri, m.service
('demo', 'v1', 'oss://demo-bucket/models/demo/v1/', 'demo_model_v1')
>>> match_model(cfg, "demo-bucket", "models/other/v1/_SUCCESS").reason
"no pipeline's models prefix holds 'models/other/v1/_SUCCESS'"
>>> service_name("demo_model", "2026-01-01")
'demo_model_2026_01_01_aa939a'
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

from ..config import AutopilotConfig
from ..training.runs import run_id

MARKER = "_SUCCESS"
METRICS_FILE = "metrics.json"
MAX_VERSION_LENGTH = 200
_NOT_EAS = re.compile(r"[^a-z0-9]+")


def models_prefix(config: AutopilotConfig, pipeline: str) -> str:
    """Where a pipeline's model versions land (``models_prefix`` or ``models/<pipeline>/``)."""
    return config.pipelines[pipeline].models_prefix or f"models/{pipeline}/"


def service_name(base: str, version: str) -> str:
    """``<base>_<version>`` in EAS's alphabet; a hash suffix when the version had to change or be cut."""
    slug = _NOT_EAS.sub("_", version.lower()).strip("_")
    name = f"{base}_{slug}"
    if slug == version and len(name) <= 64:
        return name
    digest = hashlib.sha256(version.encode()).hexdigest()[:6]
    return f"{base}_{slug[: max(0, 64 - len(base) - 8)]}_{digest}".replace("__", "_")


def model_entity(pipeline: str, version: str) -> str:
    """The ledger entity of a model version: ``models/<pipeline>/<run id of the version>``."""
    return f"models/{pipeline}/{run_id(pipeline, version)}"


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """A complete model version of a pipeline."""

    pipeline: str
    version: str
    bucket: str
    prefix: str  #: ``<models prefix><version>/``
    service: str  #: its EAS service name
    group: str  #: its EAS group

    @property
    def model_uri(self) -> str:
        return f"oss://{self.bucket}/{self.prefix}"

    @property
    def marker_key(self) -> str:
        return self.prefix + MARKER

    @property
    def run_id(self) -> str:
        """The id of the run that trained it — and its correlation id even with no run."""
        return run_id(self.pipeline, self.version)

    @property
    def entity(self) -> str:
        return model_entity(self.pipeline, self.version)


@dataclasses.dataclass(frozen=True)
class NoModel:
    """Not a model marker of any serving pipeline: ignored (before any SDK is imported)."""

    reason: str


@dataclasses.dataclass(frozen=True)
class BadModel:
    """A model marker whose version part is unusable: rejected with the reason."""

    pipeline: str
    reason: str


def version_of(config: AutopilotConfig, pipeline: str, version: str, bucket: str) -> ModelVersion:
    """The :class:`ModelVersion` of (pipeline, version) — for ``deploy`` by hand."""
    spec = config.pipelines[pipeline].serving
    if spec is None:
        raise KeyError(f"pipeline {pipeline!r} has no serving: block")
    return ModelVersion(pipeline, version, bucket, f"{models_prefix(config, pipeline)}{version}/",
                        service_name(spec.service_name, version), spec.group_name)


def match_model(config: AutopilotConfig, bucket: str, key: str, *, expected_bucket: str | None = None) -> ModelVersion | NoModel | BadModel:
    """Classify ``bucket/key`` against the pipelines' model prefixes."""
    if key.rsplit("/", 1)[-1] != MARKER:
        return NoModel(f"not a model marker ({MARKER})")
    expected = expected_bucket or config.storage.bucket
    if bucket != expected:
        return NoModel(f"bucket {bucket!r} is not the configured bucket {expected!r}")
    for pipeline in config.pipelines:
        prefix = models_prefix(config, pipeline)
        if not key.startswith(prefix):
            continue
        version = key[len(prefix): -len(MARKER)].rstrip("/")
        if not version or "/" in version:
            return BadModel(pipeline, f"marker {key!r} is not {prefix}<version>/{MARKER} with a one-segment version")
        if len(version) > MAX_VERSION_LENGTH or version in (".", ".."):
            return BadModel(pipeline, f"version {version[:40]!r} is not usable (1-{MAX_VERSION_LENGTH} chars, not . or ..)")
        if config.pipelines[pipeline].serving is None:
            return NoModel(f"pipeline {pipeline!r} has no serving: block; model {version!r} is not deployed")
        return version_of(config, pipeline, version, bucket)
    return NoModel(f"no pipeline's models prefix holds {key!r}")

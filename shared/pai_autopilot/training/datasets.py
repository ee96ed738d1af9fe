"""Matching a landed object to a pipeline's dataset version (pure; no I/O).

A dataset version is complete when its marker lands: ``<prefix><version>/<marker>``
(Spark/Hadoop's ``_SUCCESS`` by default). Anything else is ignored with a reason; a marker
whose version is malformed is rejected with a reason.

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
... ''')
>>> m = match_marker(cfg, "demo-bucket", "datasets/demo/v1/_SUCCESS")
>>> m.pipeline, m.version, m.dataset_uri
('demo', 'v1', 'oss://demo-bucket/datasets/demo/v1/')
>>> match_marker(cfg, "demo-bucket", "datasets/demo/v1/part-0.csv").reason
'not a dataset marker (_SUCCESS)'
>>> match_marker(cfg, "demo-bucket", "datasets/demo/v77//_SUCCESS").reason  # the version is the exact segment
"marker 'datasets/demo/v77//_SUCCESS' has an empty path segment: expected datasets/demo/<version>/_SUCCESS"
"""

from __future__ import annotations

import dataclasses

from ..config import AutopilotConfig


@dataclasses.dataclass(frozen=True)
class DatasetVersion:
    """A complete dataset version of a pipeline."""

    pipeline: str
    version: str
    bucket: str
    prefix: str  #: ``<pipeline prefix><version>/``
    marker_key: str

    @property
    def dataset_uri(self) -> str:
        return f"oss://{self.bucket}/{self.prefix}"

    @classmethod
    def from_run_data(cls, data: dict[str, str], bucket: str) -> DatasetVersion:
        """The version a run's ledger record names (its claim data carries pipeline, version, marker).

        >>> DatasetVersion.from_run_data({"pipeline": "demo", "version": "v1",
        ...     "marker_key": "datasets/demo/v1/_SUCCESS"}, "b").prefix
        'datasets/demo/v1/'
        """
        marker_key = data["marker_key"]
        return cls(data["pipeline"], data["version"], bucket, marker_key.rsplit("/", 1)[0] + "/", marker_key)


@dataclasses.dataclass(frozen=True)
class NoMatch:
    """The object is not a dataset marker of any pipeline: ignore it (cheaply)."""

    reason: str


@dataclasses.dataclass(frozen=True)
class BadVersion:
    """A marker for a pipeline whose version part is unusable: reject it with the reason."""

    pipeline: str
    reason: str


MatchResult = DatasetVersion | NoMatch | BadVersion

MAX_VERSION_LENGTH = 200


def match_marker(config: AutopilotConfig, bucket: str, key: str, *, expected_bucket: str | None = None) -> MatchResult:
    """Classify ``bucket/key`` against the configuration's pipelines.

    ``expected_bucket`` (default: the configuration's ``storage.bucket``) is the only bucket
    whose markers count.
    """
    markers = {p.dataset.marker for p in config.pipelines.values()}
    name = key.rsplit("/", 1)[-1]
    if name not in markers:
        return NoMatch(f"not a dataset marker ({', '.join(sorted(markers))})")
    expected = expected_bucket or config.storage.bucket
    if bucket != expected:
        return NoMatch(f"bucket {bucket!r} is not the configured bucket {expected!r}")
    for pipeline, spec in config.pipelines.items():
        prefix, marker = spec.dataset.prefix, spec.dataset.marker
        if not key.startswith(prefix) or name != marker:
            continue
        middle = key[len(prefix) : -len(marker)]  # "<version>/" exactly; never strip more than that one "/"
        version = middle[:-1] if middle.endswith("/") else middle
        if not version:
            return BadVersion(pipeline, f"marker {key!r} has no version: expected {prefix}<version>/{marker}")
        if "" in version.split("/"):
            return BadVersion(
                pipeline, f"marker {key!r} has an empty path segment: expected {prefix}<version>/{marker}"
            )
        if "/" in version:
            return BadVersion(
                pipeline, f"marker {key!r} is nested: expected {prefix}<version>/{marker} with a one-segment version"
            )
        if len(version) > MAX_VERSION_LENGTH or version in (".", ".."):
            return BadVersion(pipeline, f"version {version[:40]!r} is not usable (1-{MAX_VERSION_LENGTH} chars, not . or ..)")
        return DatasetVersion(pipeline, version, bucket, f"{prefix}{version}/", key)
    return NoMatch(f"no pipeline watches {key!r}")

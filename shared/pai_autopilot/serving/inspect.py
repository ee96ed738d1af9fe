"""Reading a landed model version before deciding anything: its files, manifest and ``metrics.json``.

The version is checked like a dataset version (:func:`~pai_autopilot.training.manifest.check_version`:
an empty version, a manifest that does not match, are rejected with every reason), plus: a version
holding nothing but ``metrics.json`` is empty too, and an unreadable ``metrics.json`` rejects it.
"""

from __future__ import annotations

import dataclasses

from ..errors import InvalidInputError
from ..runtime import Runtime
from ..training.manifest import Manifest, check_version, list_version, parse_manifest
from .metrics import parse_metrics
from .versions import MARKER, METRICS_FILE, ModelVersion

MANIFEST = "manifest.json"


@dataclasses.dataclass(frozen=True)
class ModelCheck:
    reasons: tuple[str, ...]
    metrics: dict[str, float] | None  #: None when the version has no metrics.json
    files: int
    bytes: int

    @property
    def rejected(self) -> bool:
        return bool(self.reasons)


def inspect_model(rt: Runtime, mv: ModelVersion) -> ModelCheck:
    """List the version, read its manifest and metrics (if present), and check it."""
    from ..clients import retry_oss

    bucket = rt.clients.bucket(mv.bucket)
    listing = list_version(bucket, mv.prefix)
    keys = {o.key for o in listing}
    manifest: Manifest | None = None
    reasons: list[str] = []
    if mv.prefix + MANIFEST in keys:
        try:
            manifest = parse_manifest(retry_oss(lambda: bucket.get_object(mv.prefix + MANIFEST).read()))
        except InvalidInputError as exc:
            reasons.append(f"{MANIFEST}: {exc}")
    check = check_version(listing, manifest, prefix=mv.prefix, marker=MARKER, manifest_name=MANIFEST)
    reasons.extend(r.replace("empty version", "empty model") for r in check.reasons)
    model_files = [o for o in listing if o.key not in (mv.prefix + MARKER, mv.prefix + MANIFEST, mv.prefix + METRICS_FILE)]
    if not model_files and not any("empty model" in r for r in reasons):
        reasons.append(f"empty model: {mv.prefix} holds no model file besides {METRICS_FILE}")
    metrics: dict[str, float] | None = None
    if mv.prefix + METRICS_FILE in keys:
        try:
            metrics = parse_metrics(retry_oss(lambda: bucket.get_object(mv.prefix + METRICS_FILE).read()))
        except ValueError as exc:
            reasons.append(str(exc))
    return ModelCheck(tuple(reasons), metrics, check.files, check.total_bytes)

"""Admitting a landed dataset version before any job: validation and content dedupe.

* :func:`inspect_version` lists the version (and reads its ``manifest.json`` if the pipeline
  names one and it is there) and runs :func:`~.manifest.check_version`: an empty version, missing
  or mismatched files and over-limit sizes reject it, with every reason.
* A rejected version is recorded once in the ledger (the run's claim, state ``rejected``, with
  the reasons) and notified; a repeated marker finds the claim and does nothing.
* A version whose content (:func:`~.manifest.content_fingerprint`) was already trained by another
  run is recorded as ``skipped`` with that run's id, and starts no job (``retrain --force``
  overrides). The fingerprint index is ``fingerprints/<pipeline>/<hash>`` in the ledger, written
  after a run is submitted; two versions racing with the same content may both train (noted).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from ..ledger import LedgerConflict, Record
from ..log import get_logger
from ..notify import Notification, notify
from ..runtime import Runtime
from .datasets import DatasetVersion
from .jobs import run_uris
from .manifest import Manifest, VersionCheck, check_version, content_fingerprint, list_version, parse_manifest
from .runs import run_entity, run_id
from .submit import RunOutcome


@dataclasses.dataclass(frozen=True)
class Inspection:
    check: VersionCheck
    fingerprint: str


def fingerprint_entity(pipeline: str, fingerprint: str) -> str:
    """``fingerprints/<pipeline>/<hex>`` for a ``sha256:<hex>`` fingerprint."""
    return f"fingerprints/{pipeline}/{fingerprint.split(':', 1)[-1]}"


def inspect_version(rt: Runtime, dataset: DatasetVersion) -> Inspection:
    """List the version, read its manifest (if any), check it, and fingerprint its content."""
    spec = rt.config.pipelines[dataset.pipeline].dataset
    bucket = rt.clients.bucket(dataset.bucket)
    listing = list_version(bucket, dataset.prefix)
    manifest: Manifest | None = None
    if spec.manifest and any(o.key == dataset.prefix + spec.manifest for o in listing):
        from ..clients import retry_oss

        manifest = parse_manifest(retry_oss(lambda: bucket.get_object(dataset.prefix + spec.manifest).read()))
    check = check_version(listing, manifest, prefix=dataset.prefix, marker=spec.marker, max_bytes=spec.max_bytes,
                          max_files=spec.max_files, manifest_name=spec.manifest)
    fingerprint = content_fingerprint(listing, manifest, prefix=dataset.prefix, marker=spec.marker, manifest_name=spec.manifest)
    return Inspection(check, fingerprint)


def _settle(
    rt: Runtime, dataset: DatasetVersion, state: str, data: dict[str, Any], reason: str, *, run: str | None = None
) -> RunOutcome:
    """Claim the run (``run``, default the version's own id) in a final or waiting state; a repeated
    marker finds the claim (duplicate)."""
    return _settle_head(rt, dataset, state, data, reason, run=run)[0]


def _settle_head(
    rt: Runtime, dataset: DatasetVersion, state: str, data: dict[str, Any], reason: str, *, run: str | None = None
) -> tuple[RunOutcome, Record | None]:
    """:func:`_settle`, with the run's head: the claim it wrote, or the one a duplicate found."""
    run = run or run_id(dataset.pipeline, dataset.version)
    entity = run_entity(dataset.pipeline, run)
    base = {"pipeline": dataset.pipeline, "version": dataset.version, "marker_key": dataset.marker_key,
            **run_uris(rt.config, dataset, run)}
    try:
        head = rt.ledger.claim(entity, state, {**base, **data, "reason": reason}, correlation_id=run, by=rt.request_id)
    except LedgerConflict:
        latest = rt.ledger.latest(entity)
        return RunOutcome("duplicate", run, dataset.pipeline, dataset.version,
                          reason=f"run already {latest.state if latest else 'claimed'}"), latest
    event = {"rejected": "run_rejected", "queued": "run_queued"}.get(state, "run_skipped")
    notify(rt.config.notifications, Notification(event, f"{event.replace('_', ' ')}: {run}", {"version": dataset.version, "reason": reason}),
           ledger=rt.ledger, correlation_id=run)
    get_logger(run_id=run).warning(f"run {state}", reason=reason)
    return RunOutcome("rejected", run, dataset.pipeline, dataset.version, reason=reason), head


def reject(rt: Runtime, dataset: DatasetVersion, check: VersionCheck) -> RunOutcome:
    return _settle(rt, dataset, "rejected", {"reasons": list(check.reasons), "notes": list(check.notes)}, check.summary())


def trained_by(rt: Runtime, dataset: DatasetVersion, fingerprint: str) -> str | None:
    """The run that already trained this content, if another one did."""
    record = rt.ledger.latest(fingerprint_entity(dataset.pipeline, fingerprint))
    own = run_id(dataset.pipeline, dataset.version)
    if record is None or record.data.get("run_id") == own:
        return None
    return str(record.data.get("run_id"))


def skip_duplicate_content(rt: Runtime, dataset: DatasetVersion, fingerprint: str, other_run: str) -> RunOutcome:
    return _settle(rt, dataset, "skipped", {"fingerprint": fingerprint, "same_content_as": other_run},
                   f"same content as run {other_run} (fingerprint {fingerprint[:19]}…); retrain --force to train anyway")


def enqueue(
    rt: Runtime, dataset: DatasetVersion, fingerprint: str, *, run: str | None = None, claim: dict[str, Any] | None = None
) -> RunOutcome:
    """Claim the run as ``queued``: its pipeline is at ``max_active_runs``; :mod:`.queue` starts it.

    ``run`` and ``claim``: a forced retrain's own run id and claim data (kept when it starts)."""
    from .slots import ensure_queued

    limit = rt.config.pipelines[dataset.pipeline].max_active_runs
    outcome, head = _settle_head(rt, dataset, "queued", {**(claim or {}), "fingerprint": fingerprint},
                                 f"pipeline at max_active_runs={limit}: queued", run=run)
    if head is not None:  # ours, or the one a retry finds: its first try may have died before indexing it
        ensure_queued(rt.ledger, head)
    if outcome.outcome == "rejected":  # _settle's "recorded" outcome
        return dataclasses.replace(outcome, outcome="queued")
    return outcome


def remember_content(rt: Runtime, dataset: DatasetVersion, fingerprint: str, run: str) -> None:
    """Index the content as trained by ``run`` (first writer wins; a retry is a no-op)."""
    with contextlib.suppress(LedgerConflict):
        rt.ledger.claim(fingerprint_entity(dataset.pipeline, fingerprint), "trained",
                        {"run_id": run, "version": dataset.version}, correlation_id=run, by=rt.request_id)

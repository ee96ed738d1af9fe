"""The ``dataset_landed`` use case: OSS object events → dataset versions → submitted runs.

Stages: parse the event (native OSS ``events[]`` or an OSS CloudEvent from EventBridge) →
for each record, match the key to a pipeline's marker (pure, no SDK) → submit the run
(ledger claim + DLC job). Keys that are not markers are ignored before any SDK is imported.

The result has one entry per record and an overall ``outcome``: ``submitted`` if any run was
submitted, else ``rejected``, ``duplicate`` or ``ignored``.
"""

from __future__ import annotations

from typing import Any

from ..config import load_config
from ..errors import EventParseError
from ..events import OssRecord, is_object_created, key_problem, oss_records, parse_event
from ..log import bind, get_logger
from ..settings import Settings, current_settings
from .datasets import BadVersion, DatasetVersion, NoMatch, match_marker
from .runs import run_entity, run_id

_PRECEDENCE = ("submitted", "queued", "rejected", "duplicate", "ignored")


def on_dataset_event(
    event: bytes | str, context: Any, *, settings: Settings | None = None, credentials: Any = None
) -> dict[str, Any]:
    """Handle one FC invocation of ``dataset_landed``.

    Raises :class:`~pai_autopilot.errors.EventParseError` (not retried) for input that is
    not an OSS event, and :class:`~pai_autopilot.errors.TransientError` (retried) when the
    cloud is temporarily unavailable.
    """
    records = oss_records(parse_event(event))
    if not records:
        raise EventParseError("the event carries no OSS record")
    settings = settings or current_settings()
    log = get_logger()
    results: list[dict[str, Any]] = []
    runtime = None
    config = None
    for record in records:
        bind(event_id=record.dedupe_key)
        if not is_object_created(record.event_name):
            results.append(_skip(record, "ignored", f"{record.event_name[:80]} is not an ObjectCreated event"))
            continue
        problem = key_problem(record.key)
        if problem is not None:
            log.warning("object key rejected", reason=problem)
            results.append(_skip(record, "rejected", problem))
            continue
        config = config or load_config(settings.config_path)
        match = match_marker(config, record.bucket, record.key, expected_bucket=settings.bucket)
        if isinstance(match, NoMatch):
            log.info("object ignored", key=record.key, reason=match.reason)
            results.append(_skip(record, "ignored", match.reason))
            continue
        if isinstance(match, BadVersion):
            log.warning("marker rejected", key=record.key, pipeline=match.pipeline, reason=match.reason)
            results.append(_skip(record, "rejected", match.reason))
            continue
        if runtime is None:
            from ..clients import Credentials
            from ..runtime import Runtime

            creds = credentials or Credentials.from_env(context=context)
            runtime = Runtime(settings, config, creds, request_id=getattr(context, "request_id", None))
        match = resolve_spelling(runtime, config, record, match)
        if not isinstance(match, DatasetVersion):
            results.append(_skip(record, "rejected", match.reason))
            continue
        bind(correlation_id=run_id(match.pipeline, match.version))
        results.append({"key": record.key, **admit_and_submit(runtime, match).as_dict()})
    outcome = next(o for o in _PRECEDENCE if o == "ignored" or any(r["outcome"] == o for r in results))
    return {"outcome": outcome, "records": results}


def admit_and_submit(rt: Any, dataset: Any, *, claim: dict[str, Any] | None = None) -> Any:
    """Validate the version, skip already-trained content, queue beyond ``max_active_runs``, then
    submit (see :mod:`.admission`). The path of a marker event and of ``retrain`` without --force."""
    from . import admission
    from .submit import submit_run

    inspection = admission.inspect_version(rt, dataset)
    if inspection.check.verdict == "rejected":
        return admission.reject(rt, dataset, inspection.check)
    other = admission.trained_by(rt, dataset, inspection.fingerprint)
    if other is not None:
        return admission.skip_duplicate_content(rt, dataset, inspection.fingerprint, other)
    from .queue import at_capacity

    if at_capacity(rt, dataset.pipeline, own_entity=run_entity(dataset.pipeline, run_id(dataset.pipeline, dataset.version))):
        return admission.enqueue(rt, dataset, inspection.fingerprint)
    outcome = submit_run(rt, dataset, claim=claim, within_limit=True)
    if outcome.outcome == "submitted":
        admission.remember_content(rt, dataset, inspection.fingerprint, outcome.run_id)
        if not outcome.found_existing_job:
            from ..notify import Notification, notify

            details = {"version": dataset.version, "job": outcome.job_id, "dataset": dataset.dataset_uri}
            notify(rt.config.notifications, Notification("run_started", f"run started: {outcome.run_id}", details),
                   ledger=rt.ledger, correlation_id=outcome.run_id)
    return outcome


def resolve_spelling(rt: Any, config: Any, record: OssRecord, match: DatasetVersion) -> DatasetVersion | BadVersion:
    """The dataset version under the key's real spelling (:func:`~pai_autopilot.events.key_spellings`).

    A key without ``%``/``+`` is taken as delivered, with no request. Otherwise the marker is
    looked up under each spelling (HEAD), and the first that exists names the version; if none
    does, the key as delivered is kept (the version check then reports what is missing).
    """
    from ..events import key_spellings

    spellings = key_spellings(record.key)
    if len(spellings) == 1:
        return match
    from ..clients import retry_oss

    bucket = rt.clients.bucket(record.bucket)
    for key in spellings:
        if retry_oss(lambda key=key: bucket.object_exists(key)):
            if key == record.key:
                return match
            get_logger().warning("event key was URL-encoded", key=record.key, decoded=key)
            decoded = match_marker(config, record.bucket, key, expected_bucket=rt.settings.bucket)
            if isinstance(decoded, NoMatch):
                return BadVersion(match.pipeline, decoded.reason)
            return decoded
    return match


def _skip(record: OssRecord, outcome: str, reason: str) -> dict[str, Any]:
    return {"outcome": outcome, "key": record.key, "reason": reason}

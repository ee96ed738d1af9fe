"""The ``model_landed`` use case: OSS object events → model versions → services.

Stages: parse the event (native OSS ``events[]`` or an OSS CloudEvent) → for each record, match the
key to a pipeline's models prefix (pure, no SDK; a key not ending in ``_SUCCESS`` is ignored before
the configuration is even read) → :func:`~.deploy.land_model`. The result has one entry per record
and an overall ``outcome`` (the most significant of them).
"""

from __future__ import annotations

from typing import Any

from ..config import load_config
from ..errors import EventParseError
from ..events import oss_records, parse_event
from ..log import bind, get_logger
from ..settings import Settings, current_settings
from .versions import MARKER, BadModel, NoModel, match_model

_PRECEDENCE = ("deploying", "canary", "queued", "rejected", "evaluation_failed", "refused", "duplicate", "ignored")


def on_model_event(event: bytes | str, context: Any, *, settings: Settings | None = None, credentials: Any = None) -> dict[str, Any]:
    """Handle one FC invocation of ``model_landed``.

    Raises :class:`~pai_autopilot.errors.EventParseError` (not retried) for input that is not an
    OSS event, and :class:`~pai_autopilot.errors.TransientError` (retried) when the cloud is
    temporarily unavailable.
    """
    records = oss_records(parse_event(event))
    if not records:
        raise EventParseError("the event carries no OSS record")
    settings = settings or current_settings()
    log = get_logger()
    results: list[dict[str, Any]] = []
    config = runtime = None
    for record in records:
        bind(event_id=record.dedupe_key)
        if not record.event_name.startswith("ObjectCreated:"):
            results.append({"outcome": "ignored", "key": record.key, "reason": f"{record.event_name} is not an ObjectCreated event"})
            continue
        if not record.key.endswith("/" + MARKER):
            results.append({"outcome": "ignored", "key": record.key, "reason": f"not a model marker ({MARKER})"})
            continue
        config = config or load_config(settings.config_path)
        match = match_model(config, record.bucket, record.key, expected_bucket=settings.bucket)
        if isinstance(match, (NoModel, BadModel)):
            outcome = "ignored" if isinstance(match, NoModel) else "rejected"
            log.info(f"model {outcome}", key=record.key, reason=match.reason)
            results.append({"outcome": outcome, "key": record.key, "reason": match.reason})
            continue
        bind(correlation_id=match.run_id)
        if runtime is None:
            from ..clients import Credentials
            from ..runtime import Runtime

            creds = credentials or Credentials.from_env(context=context)
            runtime = Runtime(settings, config, creds, request_id=getattr(context, "request_id", None))
        from .deploy import land_model

        results.append({"key": record.key, **land_model(runtime, match)})
    outcomes = {r["outcome"] for r in results}
    outcome = next((o for o in _PRECEDENCE if o in outcomes), results[0]["outcome"] if results else "ignored")
    return {"outcome": outcome, "records": results}

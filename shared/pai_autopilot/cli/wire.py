"""``pai-autopilot wire [--dry-run]``: the EventBridge rule and OSS lifecycle ``s deploy`` cannot make."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..settings import Settings


def wire(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    config: Annotated[Path, typer.Option(help="autopilot.yaml")] = Path("autopilot.yaml"),
    account_id: Annotated[
        str | None, typer.Option(help="Account id of the FC target (default: $ALIBABA_CLOUD_ACCOUNT_ID or $FC_ACCOUNT_ID).")
    ] = None,
    function_prefix: Annotated[str, typer.Option(help="Prefix of the FC function names (s.yaml vars.prefix).")] = os.environ.get(
        "AUTOPILOT_NAME_PREFIX", "pai-autopilot"
    ),
    alarm_callback_url: Annotated[
        str | None,
        typer.Option(help="HTTP trigger URL of the alarm function: the alarm rules' webhook, with the callback token derived "
                     "from $AUTOPILOT_WEBHOOK_SECRET (?kid=…&token=…; the deprecated $AUTOPILOT_ALARM_TOKEN overrides it). "
                     "Default $AUTOPILOT_ALARM_CALLBACK_URL; unset: alarms reach the function through the default bus only."),
    ] = None,
) -> None:
    """Route PAI job events to job_events, expire old checkpoints, keep the rollouts' alarm rules, check the ledger bucket.

    Idempotent: running it twice changes nothing the second time. Runs as s.yaml's post-deploy
    action. Exit 1 when a step is refused (e.g. a versioned ledger bucket, a missing PAI bus);
    nothing is applied then. Exit 2 for an unusable configuration, settings or credentials, or a
    bucket that does not exist; 3 when the endpoint is unreachable.
    """
    from .. import wiring
    from ..clients import Credentials, clients, eventbridge_client, oss_endpoint
    from ..config import load_config
    from ..errors import AutopilotError
    from ..settings import Settings
    from .failures import cli_errors

    try:
        cfg = load_config(config)
        settings = Settings.resolve()
        creds = Credentials.from_env()
    except AutopilotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    account = account_id or os.environ.get("ALIBABA_CLOUD_ACCOUNT_ID") or os.environ.get("FC_ACCOUNT_ID")
    if not account and settings.is_local:
        from localcloud.core.credentials import LOCAL_ACCOUNT_ID

        account = LOCAL_ACCOUNT_ID
    if not account:
        typer.echo("error: no account id for the FC target: pass --account-id or set ALIBABA_CLOUD_ACCOUNT_ID", err=True)
        raise typer.Exit(2)
    bucket_name = settings.bucket or cfg.storage.bucket
    bucket = clients(settings, creds).bucket(bucket_name)
    eb = eventbridge_client(settings, creds)
    cms = clients(settings, creds).cms
    webhook = alarm_callback_url or os.environ.get("AUTOPILOT_ALARM_CALLBACK_URL") or None
    if webhook:
        webhook = _with_token(webhook, settings)
    with cli_errors(oss_endpoint(settings), bucket_name):
        steps = wiring.plan(cfg, eventbridge=eb, bucket=bucket, region=settings.region, account_id=account,
                            function_prefix=function_prefix, cms=cms, alarm_webhook=webhook)
    for step in steps:
        typer.echo(step.line())
    if any(step.action == "refuse" for step in steps):
        typer.echo("error: refused; nothing applied", err=True)
        raise typer.Exit(1)
    if dry_run:
        typer.echo("dry run: nothing applied")
        return
    with cli_errors(oss_endpoint(settings), bucket_name):
        wiring.apply(steps, eventbridge=eb, bucket=bucket, cms=cms)
    changed = sum(step.action in ("create", "update") for step in steps)
    typer.echo(f"applied {changed} change(s)" if changed else "nothing to change")


def _with_token(url: str, settings: Settings) -> str:
    """The alarm function's callback URL with its token (:mod:`..ops.callback`); exit 2 when there is none."""
    from ..errors import SettingsError
    from ..ops.callback import DEPRECATION, callback_url, legacy_url
    from ..ops.keys import KEY_ID_ENV, SECRET_ENV, webhook_keys
    from .failures import fail

    if settings.alarm_token:
        typer.echo(f"warning: {DEPRECATION}", err=True)
        return legacy_url(url, settings.alarm_token)
    try:
        (key_id, secret), = webhook_keys({SECRET_ENV: settings.webhook_secret or "", KEY_ID_ENV: settings.webhook_key_id}).items()
    except SettingsError as exc:
        raise fail(f"the alarm callback URL needs its token: {exc}", 2) from None
    return callback_url(url, key_id, secret, path="")

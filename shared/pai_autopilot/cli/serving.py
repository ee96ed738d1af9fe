"""``pai-autopilot deploy PIPELINE VERSION [--dry-run]`` and ``services [--json]``: model versions → EAS.

``deploy`` takes the path a model's ``_SUCCESS`` event takes (:func:`pai_autopilot.serving.deploy.land_model`:
the same checks, gates and idempotency key), for a version whose event was lost or that you want
served now. ``services`` lists each pipeline's stable and canary services as EAS reports them.
Settings, credentials and ``--config`` as for ``runs`` (``eval "$(pai-autopilot local env)"`` for localcloud).
"""

from __future__ import annotations

from typing import Annotated

import typer

from .runs import ConfigOption, JsonOption, _cloud_errors, _fail, _print_json, _quiet_logs, _runtime, _user


def register(app: typer.Typer) -> None:
    """Add ``deploy`` and ``services`` to ``app``."""
    app.command()(deploy)
    app.command()(services)


def deploy(
    pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="A pipeline with a serving: block.")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="The model version, as in <models prefix><VERSION>/_SUCCESS.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would happen (decision, reason, gate values); write nothing.")] = False,
    config: ConfigOption = None,
) -> None:
    """Serve a model version by hand: the first version becomes the pipeline's service, a later one a zero-traffic canary.

    The version's _SUCCESS marker must be in OSS (exit 1 if not). A version already landed is left alone (its state is printed). Re-running after a failure resumes it; it never creates a second service.

    Exit 2 for an unknown pipeline, a pipeline without serving:, or an unusable version; 1 when the deploy fails or is refused.
    """
    from ..serving.versions import BadModel, ModelVersion, match_model, models_prefix

    user = f"cli:{_user()}"
    rt = _runtime(config, request_id=user)
    spec = rt.config.pipelines.get(pipeline)
    if spec is None:
        raise _fail(f"no pipeline {pipeline!r}; known: {', '.join(sorted(rt.config.pipelines)) or '(none)'}", 2)
    if spec.serving is None:
        raise _fail(f"pipeline {pipeline!r} has no serving: block in the configuration; add one (see README#serving)", 2)
    key = f"{models_prefix(rt.config, pipeline)}{version}/_SUCCESS"
    match = match_model(rt.config, rt.bucket_name, key, expected_bucket=rt.bucket_name)
    if not isinstance(match, ModelVersion) or match.pipeline != pipeline:
        raise _fail(match.reason if isinstance(match, BadModel) else f"{key!r} is not a model of pipeline {pipeline!r}", 2)
    with _cloud_errors(rt):
        from ..clients import retry_oss

        if not retry_oss(lambda: rt.clients.bucket(rt.bucket_name).object_exists(key)):
            raise _fail(f"marker oss://{rt.bucket_name}/{key} is not in OSS: the model is not complete", 1)
        if dry_run:
            from ..serving.status import plan_deploy

            plan = plan_deploy(rt, match)
            for field in ("action", "reason", "service", "group", "model_uri", "evaluation", "capacity"):
                if plan.get(field):
                    typer.echo(f"{field + ':':<12}{plan[field]}")
            typer.echo("dry run: nothing written")
            return
        from ..serving.deploy import land_model

        with _quiet_logs():
            outcome = land_model(rt, match, by_hand=True)
    typer.echo(f"{pipeline} {version}: {outcome['outcome']} ({outcome['service']}): {outcome['reason']}")
    if outcome["outcome"] in ("rejected", "evaluation_failed", "refused"):
        raise typer.Exit(1)


def services(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List each pipeline's stable and canary services: version, EAS status, weight, instances, rollout phase, queue.

    Exit 2 when the settings or configuration are unusable; 1 when the ledger or EAS cannot be read.
    """
    from ..serving.status import pipeline_services

    rt = _runtime(config)
    with _cloud_errors(rt):
        rows = pipeline_services(rt)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no pipeline has a serving: block")
        return
    for row in rows:
        typer.echo(f"{row['pipeline']} (group {row['group']})")
        for role in ("stable", "canary"):
            s = row[role]
            if not s:
                typer.echo(f"  {role:<7} -")
                continue
            phase = f"  rollout {s['rollout']} {s['phase']}" if role == "canary" else ""
            typer.echo(f"  {role:<7} {s['version']:<12} {s.get('service')}  {s.get('status')}  weight {s.get('weight')}  "
                       f"instances {s.get('running')}/{s.get('instances')}{phase}")
        for label in ("deploying", "queued"):
            if row[label]:
                typer.echo(f"  {label:<7} {', '.join(row[label])}")

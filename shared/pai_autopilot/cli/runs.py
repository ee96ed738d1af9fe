"""``pai-autopilot runs``, ``run show RUN_ID`` and ``retrain PIPELINE VERSION``: training runs.

The ledger is read (and, by ``retrain``, written) with the project's own clients: settings and
credentials from the environment (``eval "$(pai-autopilot local env)"`` for localcloud), the
configuration from ``--config`` (default: ``$AUTOPILOT_CONFIG``, else ``./autopilot.yaml``).
The reading and formatting live in :mod:`pai_autopilot.training.history`, the retrain in
:func:`pai_autopilot.ops.retrain.retrain_version` (the webhook's ``POST /v1/retrain`` calls it too).

Register on the app with :func:`register`.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ..runtime import Runtime

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="autopilot.yaml (default: $AUTOPILOT_CONFIG, else ./autopilot.yaml).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

run_app = typer.Typer(help="One training run: `run show RUN_ID` prints its timeline.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``runs``, ``retrain`` and the ``run`` group to ``app``."""
    app.command()(runs)
    app.command()(retrain)
    app.add_typer(run_app, name="run")


def _fail(message: str, code: int) -> typer.Exit:
    from .failures import fail

    return fail(message, code)


def _runtime(config: Path | None, request_id: str | None = None) -> Runtime:
    """Settings and credentials from the environment, the configuration from ``config``; exit 2 if unusable."""
    from ..clients import Credentials
    from ..config import load_config
    from ..errors import AutopilotError
    from ..runtime import Runtime
    from ..settings import Settings

    try:
        settings = Settings.resolve()
        cfg = load_config(config or Path(settings.config_path))
        return Runtime(settings, cfg, Credentials.from_env(), request_id=request_id)
    except AutopilotError as exc:
        raise _fail(str(exc), 2) from None


def _cloud_errors(rt: Runtime) -> contextlib.AbstractContextManager[None]:
    """An unreachable endpoint, refused credentials, a missing bucket or one of the project's errors
    becomes ``error: …`` with its exit code (see :mod:`.failures`)."""
    from ..clients import oss_endpoint
    from .failures import cli_errors

    return cli_errors(oss_endpoint(rt.settings), rt.bucket_name)


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """The library's structured logs: warnings only, on stderr, for the duration (config restored after)."""
    from ..log import quiet

    with quiet("WARNING", sys.stderr):
        yield


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def runs(
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline's runs.")] = None,
    state: Annotated[
        str | None, typer.Option(help="Only runs in this state (claimed, submitted, running, stopping, waiting_for_model, failed, rejected …).")
    ] = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=0, help="At most N runs (0: all).")] = 50,
    config: ConfigOption = None,
) -> None:
    """List training runs from the ledger, newest first: run id, pipeline, version, state, job, attempts, last change.

    Exit 2 for an unknown pipeline or state, or unusable settings, credentials or configuration;
    1 when the ledger cannot be read; 3 when the endpoint is unreachable.
    """
    from ..training.history import RUN_STATES, list_runs, run_lines

    rt = _runtime(config)
    if pipeline is not None and pipeline not in rt.config.pipelines:
        raise _fail(f"no pipeline {pipeline!r}; known: {', '.join(sorted(rt.config.pipelines)) or '(none)'}", 2)
    if state is not None and state not in RUN_STATES:
        raise _fail(f"no run state {state!r}; known: {', '.join(RUN_STATES)}", 2)
    with _cloud_errors(rt):
        summaries = list_runs(rt.ledger, pipeline=pipeline, state=state, limit=limit or None)
    if as_json:
        _print_json([s.as_dict() for s in summaries])
        return
    if not summaries:
        typer.echo("no runs" + (f" of pipeline {pipeline!r}" if pipeline else "") + (f" in state {state!r}" if state else ""))
        return
    for line in run_lines(summaries):
        typer.echo(line)


@run_app.command("show")
def show(
    run: Annotated[str, typer.Argument(metavar="RUN_ID", help="A run id as `runs` lists it (e.g. ap-demo-v1-d1c72ca7).")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show a run's summary and its whole timeline: every record with its time (UTC), state, DLC status, job and reason.

    Exit 1 when no run has this id (the known ids are listed).
    """
    from ..training.history import find_run, run_entities, summarize, summary_lines, timeline, timeline_lines

    rt = _runtime(config)
    with _cloud_errors(rt):
        entities = run_entities(rt.ledger)
        entity = find_run(rt.ledger, run, entities)
        records = rt.ledger.history(entity) if entity else []
    if not records:
        known = [e.rsplit("/", 1)[-1] for e in entities]
        shown = ", ".join(known[:10]) + (f" … and {len(known) - 10} more" if len(known) > 10 else "")
        raise _fail(f"no run {run!r}; known: {shown or '(none)'}", 1)
    summary, rows = summarize(records), timeline(records)
    if as_json:
        _print_json({"run": summary.as_dict(), "timeline": [r.as_dict() for r in rows]})
        return
    for line in [*summary_lines(summary), "", *timeline_lines(rows)]:
        typer.echo(line)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
        return "unknown"


def retrain(
    pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="A pipeline of the configuration.")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="The dataset version, as in <dataset prefix><VERSION>/<marker>.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Start a NEW run even if the version already has one (run id from '<VERSION>#retrain-<n>'), "
            "and skip the marker check (the marker may have expired or been removed): you vouch for the data.",
        ),
    ] = False,
    now: Annotated[
        bool,
        typer.Option("--now", help="With --force: start the job at once even if the pipeline is at max_active_runs "
                     "(without it a forced run queues behind the active ones, like any other)."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (run id, job name, image, command); write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON (the body `POST /v1/retrain` answers).")] = False,
    config: ConfigOption = None,
) -> None:
    """Submit a training run for a dataset version on demand (e.g. after its marker event was lost).

    Without --force: a version that already has a run is left alone (its newest run is printed, exit 0). Otherwise the version's marker must be in OSS, since the marker is what says the data is complete (exit 1 if absent); the run gets the id the marker event would give it, so it can never race dataset_landed into a second job.

    With --force: a NEW run for the same version (own run id and checkpoints; same model output), recorded in the ledger as forced by cli:<user>. It still respects the pipeline's max_active_runs: at capacity it is queued and starts when a slot frees; --now starts it at once regardless. Re-running the command after a failure resumes an unfinished forced run instead of starting another.

    Exit 2 for an unknown pipeline, an unusable version or --now without --force; 1 when the submission fails; 3 when the endpoint is unreachable.
    """
    if now and not force:
        raise _fail("--now only applies to --force (a run without --force takes the marker's path: checks, dedupe, queue)", 2)
    if not version.strip():
        raise _fail("empty version", 2)
    user = f"cli:{_user()}"
    rt = _runtime(config, request_id=user)
    with _cloud_errors(rt):
        result = _retrain(rt, pipeline, version, user=user, force=force, now=now, dry_run=dry_run)
    if as_json:
        _print_json(result)
        if result["outcome"] == "rejected":
            raise typer.Exit(1)
        return
    _report_retrain(result, force=force)


def _retrain(rt: Runtime, pipeline: str, version: str, *, user: str, force: bool, now: bool, dry_run: bool) -> dict[str, Any]:
    """:func:`~..ops.retrain.retrain_version` with its expected refusals as ``error: …`` and an exit code."""
    from ..errors import InvalidInputError
    from ..ops.retrain import MarkerMissing, retrain_version

    try:
        with _quiet_logs():
            return retrain_version(rt, pipeline, version, actor=user, force=force, queue_at_capacity=not now, dry_run=dry_run)
    except MarkerMissing as exc:
        raise _fail(f"{exc} (--force skips this check)", 1) from None
    except InvalidInputError as exc:  # an unknown pipeline, an unusable version
        raise _fail(str(exc), 2) from None


def _report_retrain(result: dict[str, Any], *, force: bool) -> None:
    """Print the outcome of a retrain as the command's lines; exit 1 when the run was rejected."""
    outcome, run, pipeline, version = result["outcome"], result["run_id"], result["pipeline"], result["version"]
    if outcome == "noop" and force:  # only a queued forced run stops another forced one
        typer.echo(f"run {run} is already queued: nothing to do")
    elif outcome == "noop":
        job = f", job {result['job_id']}" if result.get("job_id") else ""
        typer.echo(f"{pipeline} {version} already has run {run} ({result['state']}{job}): nothing to do; --force starts another run")
    elif outcome == "planned":
        job = result["job"]
        for key, value in [
            ("plan", f"submit run {run} for {pipeline} {version}" + (f" (forced retrain #{result['retrain']})" if force else "")),
            ("display name", job["display_name"]), ("job type", job["job_type"]), ("image", job["image"]),
            ("command", job["command"]), ("dataset", job["dataset"]), ("requested by", result["requested_by"]),
        ]:
            typer.echo(f"{key + ':':<14}{value}")
        typer.echo("dry run: nothing written")
    elif outcome == "rejected":
        raise _fail(f"run {run} rejected: {result.get('reason', '')}", 1)
    elif outcome == "duplicate":
        typer.echo(f"run {run} was already submitted by another invocation" + (f": job {result['job_id']}" if result.get("job_id") else ""))
    elif outcome != "submitted":  # e.g. queued behind the pipeline's active run
        typer.echo(f"run {run} {outcome}" + (f": {result['reason']}" if result.get("reason") else ""))
    else:
        found = " (found the job a previous attempt created)" if result.get("found_existing_job") else ""
        typer.echo(f"submitted run {run} for {pipeline} {version}: job {result['job_id']}{found}")

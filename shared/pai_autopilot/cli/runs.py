"""``pai-autopilot runs``, ``run show RUN_ID`` and ``retrain PIPELINE VERSION``: training runs.

The ledger is read (and, by ``retrain``, written) with the project's own clients: settings and
credentials from the environment (``eval "$(pai-autopilot local env)"`` for localcloud), the
configuration from ``--config`` (default: ``$AUTOPILOT_CONFIG``, else ``./autopilot.yaml``).
The reading and formatting live in :mod:`pai_autopilot.training.history`, the submission in
:func:`pai_autopilot.training.submit.submit_run`.

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
    from ..training.datasets import DatasetVersion

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
    config: ConfigOption = None,
) -> None:
    """Submit a training run for a dataset version on demand (e.g. after its marker event was lost).

    Without --force: a version that already has a run is left alone (its newest run is printed, exit 0). Otherwise the version's marker must be in OSS, since the marker is what says the data is complete (exit 1 if absent); the run gets the id the marker event would give it, so it can never race dataset_landed into a second job.

    With --force: a NEW run for the same version (own run id and checkpoints; same model output), recorded in the ledger as forced by cli:<user>. It still respects the pipeline's max_active_runs: at capacity it is queued and starts when a slot frees; --now starts it at once regardless. Re-running the command after a failure resumes an unfinished forced run instead of starting another.

    Exit 2 for an unknown pipeline, an unusable version or --now without --force; 1 when the submission fails; 3 when the endpoint is unreachable.
    """
    from ..training.datasets import DatasetVersion, match_marker

    if now and not force:
        raise _fail("--now only applies to --force (a run without --force takes the marker's path: checks, dedupe, queue)", 2)
    user = f"cli:{_user()}"
    rt = _runtime(config, request_id=user)
    spec = rt.config.pipelines.get(pipeline)
    if spec is None:
        raise _fail(f"no pipeline {pipeline!r}; known: {', '.join(sorted(rt.config.pipelines)) or '(none)'}", 2)
    if not version.strip():
        raise _fail("empty version", 2)
    marker_key = f"{spec.dataset.prefix}{version}/{spec.dataset.marker}"
    match = match_marker(rt.config, rt.bucket_name, marker_key, expected_bucket=rt.bucket_name)
    if not isinstance(match, DatasetVersion) or match.pipeline != pipeline:
        raise _fail(getattr(match, "reason", f"{marker_key!r} is not a marker of pipeline {pipeline!r}"), 2)
    with _cloud_errors(rt):
        _retrain(rt, match, user=user, force=force, now=now, dry_run=dry_run)


def _retrain(rt: Runtime, dataset: DatasetVersion, *, user: str, force: bool, now: bool, dry_run: bool) -> None:
    from ..clients import retry_oss
    from ..ledger import Record
    from ..training.history import summarize
    from ..training.jobs import create_job_body
    from ..training.runs import retrain_run_id, run_entity, run_id
    ledger, pipeline, version = rt.ledger, dataset.pipeline, dataset.version
    original = run_id(pipeline, version)
    existing = ledger.history(run_entity(pipeline, original))
    # forced runs are numbered 1, 2, …: probe until the first free number
    forced: list[tuple[int, list[Record]]] = []
    while records := ledger.history(run_entity(pipeline, retrain_run_id(pipeline, version, len(forced) + 1))):
        forced.append((len(forced) + 1, records))
    newest = forced[-1][1] if forced else existing
    if not force:
        if newest:
            s = summarize(newest)
            typer.echo(f"{pipeline} {version} already has run {s.run_id} ({s.state}" + (f", job {s.job_id}" if s.job_id else "")
                       + "): nothing to do; --force starts another run")
            return
        run, claim = original, {"requested_by": user}
        if not retry_oss(lambda: rt.clients.bucket(rt.bucket_name).object_exists(dataset.marker_key)):
            typer.echo(f"error: marker oss://{rt.bucket_name}/{dataset.marker_key} is not in OSS: the version is not "
                       "complete (--force skips this check)", err=True)
            raise typer.Exit(1)
    else:
        if forced and forced[-1][1][-1].state == "queued":
            typer.echo(f"run {forced[-1][1][-1].entity.rsplit('/', 1)[-1]} is already queued: nothing to do")
            return
        # an unfinished forced run (claimed, no job recorded) is this command retried: resume it
        unfinished = bool(forced) and forced[-1][1][-1].state == "claimed"
        n = forced[-1][0] if unfinished else len(forced) + 1
        run = retrain_run_id(pipeline, version, n)
        claim = {"forced": True, "retrain": n, "requested_by": user, "retrain_of": original}
    if dry_run:
        body = create_job_body(rt.config, dataset, run=run, workspace_id=rt.workspace_id)
        spec = body["JobSpecs"][0]
        for key, value in [
            ("plan", f"submit run {run} for {pipeline} {version}" + (f" (forced retrain #{claim['retrain']})" if force else "")),
            ("display name", body["DisplayName"]), ("job type", body["JobType"]), ("image", spec["Image"]),
            ("command", body["UserCommand"]), ("dataset", dataset.dataset_uri), ("requested by", user),
        ]:
            typer.echo(f"{key + ':':<14}{value}")
        typer.echo("dry run: nothing written")
        return
    with _quiet_logs():
        if force:
            outcome = _submit_forced(rt, dataset, run, claim, now=now)
        else:  # exactly what the marker event would do: checks, dedupe, queue
            from ..training.landed import admit_and_submit

            outcome = admit_and_submit(rt, dataset, claim=claim)
    if outcome.outcome == "rejected":
        raise _fail(f"run {outcome.run_id} rejected: {outcome.reason}", 1)
    if outcome.outcome == "duplicate":
        typer.echo(f"run {outcome.run_id} was already submitted by another invocation" + (f": job {outcome.job_id}" if outcome.job_id else ""))
        return
    if outcome.outcome != "submitted":  # e.g. queued behind the pipeline's active run
        typer.echo(f"run {outcome.run_id} {outcome.outcome}" + (f": {outcome.reason}" if outcome.reason else ""))
        return
    found = " (found the job a previous attempt created)" if outcome.found_existing_job else ""
    typer.echo(f"submitted run {outcome.run_id} for {pipeline} {version}: job {outcome.job_id}{found}")


def _submit_forced(rt: Runtime, dataset: DatasetVersion, run: str, claim: dict[str, Any], *, now: bool) -> Any:
    """A forced run: queued when the pipeline is at ``max_active_runs`` (unless ``now``), else submitted."""
    from ..training.admission import enqueue
    from ..training.queue import at_capacity
    from ..training.runs import run_entity
    from ..training.submit import submit_run

    if not now and rt.ledger.latest(run_entity(dataset.pipeline, run)) is None and at_capacity(rt, dataset.pipeline):
        return enqueue(rt, dataset, "", run=run, claim=claim)
    return submit_run(rt, dataset, run=run, claim=claim)

"""``pai-autopilot rollouts``, ``rollout show PIPELINE`` and the manual controls
``rollout promote|abort|pause|resume|rollback PIPELINE --reason …``.

Settings and credentials come from the environment (``eval "$(pai-autopilot local env)"`` for
localcloud), the configuration from ``--config``. The commands call the same control API the
webhook routes call (:func:`pai_autopilot.rollout.control.apply_command`), recorded as
``cli:<user>``. Register on the app with :func:`register`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .runs import ConfigOption, JsonOption, _cloud_errors, _fail, _print_json, _quiet_logs, _runtime, _user

rollout_app = typer.Typer(
    help="One pipeline's rollout: `rollout show PIPELINE`, and promote | abort | pause | resume | rollback.",
    no_args_is_help=True,
)
PipelineArg = Annotated[str, typer.Argument(metavar="PIPELINE", help="A pipeline of the configuration.")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (recorded; required by abort and rollback).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print what the command would do; change nothing.")]


def register(app: typer.Typer) -> None:
    """Add ``rollouts`` and the ``rollout`` group to ``app``."""
    app.command()(rollouts)
    app.add_typer(rollout_app, name="rollout")


def rollouts(
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline's rollouts.")] = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=0, help="At most N rollouts (0: all).")] = 50,
    config: ConfigOption = None,
) -> None:
    """List rollouts, most recently changed first: pipeline, version, phase, canary weight, failed checks, reason.

    Exit 2 when the settings, credentials or configuration are unusable; 1 when the ledger cannot be read.
    """
    from ..rollout.views import list_rollouts

    rt = _runtime(config)
    with _cloud_errors(rt):
        rows = list_rollouts(rt.ledger, pipeline=pipeline, limit=limit or None)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no rollouts" + (f" of pipeline {pipeline!r}" if pipeline else ""))
        return
    typer.echo(f"{'pipeline':<12}{'version':<12}{'phase':<14}{'canary':>7}{'fails':>6}  {'updated (UTC)':<21}reason")
    for r in rows:
        typer.echo(f"{r['pipeline']:<12}{r['version']:<12}{r['phase']:<14}{r['canary_weight']!s:>7}"
                   f"{r['failed_checks']!s:>6}  {r['updated']:<21}{r['reason']}")


@rollout_app.command("show")
def show(pipeline: PipelineArg, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Show the pipeline's rollout (the open one, else the latest): every step with its weights and metric values.

    Each row: time, phase, canary and stable weights, both sides' requests/errors, 5xx ratio and p99, the
    p-value of the two-proportion test, the reason and who decided. Exit 1 when the pipeline has no rollout.
    """
    from ..rollout.control import RolloutNotFound, target_rollout
    from ..rollout.views import step_lines, step_row, summary

    rt = _runtime(config)
    with _cloud_errors(rt):
        try:
            head = target_rollout(rt, pipeline)
        except RolloutNotFound as exc:
            raise _fail(str(exc), 1) from None
        records = rt.ledger.history(head.entity)
    rows = [step_row(r) for r in records]
    if as_json:
        _print_json({"rollout": summary(head), "steps": rows})
        return
    s = summary(head)
    typer.echo(f"rollout {s['rollout_id']}: {s['pipeline']} {s['version']} replacing {s['stable_version']} "
               f"- {s['phase']}, canary weight {s['canary_weight']}")
    typer.echo("")
    for line in step_lines(rows):
        typer.echo(line)


def _command(action: str, pipeline: str, reason: str | None, dry_run: bool, as_json: bool, config: object) -> None:
    from ..errors import InvalidInputError
    from ..rollout.control import RolloutCommandConflict, RolloutNotFound, apply_command, plan_command

    actor = f"cli:{_user()}"
    rt = _runtime(config, request_id=actor)  # type: ignore[arg-type]
    with _cloud_errors(rt), _quiet_logs():
        try:
            result = (plan_command if dry_run else apply_command)(rt, pipeline, action, actor=actor, reason=reason)
        except InvalidInputError as exc:
            raise _fail(str(exc), 2) from None
        except (RolloutNotFound, RolloutCommandConflict) as exc:
            raise _fail(str(exc), 1) from None
    if as_json:
        _print_json(result)
        return
    prefix = "dry run: would " if dry_run else ""
    typer.echo(f"{prefix}{action} {pipeline}: {result['outcome']} - phase {result['phase']}, "
               f"canary weight {result['canary_weight']} ({result['reason']})")


@rollout_app.command("promote")
def promote(pipeline: PipelineArg, reason: ReasonOption = None, dry_run: DryRunOption = False,
            as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Give the canary 100 % now and enter the watch window (the old stable stays warm for instant revert)."""
    _command("promote", pipeline, reason, dry_run, as_json, config)


@rollout_app.command("abort")
def abort(pipeline: PipelineArg, reason: ReasonOption = None, dry_run: DryRunOption = False,
          as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Roll back at once: canary weight 0, the stable takes everything (needs --reason). Ends `aborted`."""
    _command("abort", pipeline, reason, dry_run, as_json, config)


@rollout_app.command("pause")
def pause(pipeline: PipelineArg, reason: ReasonOption = None, dry_run: DryRunOption = False,
          as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Hold the rollout where it is, across ticks, until `rollout resume`."""
    _command("pause", pipeline, reason, dry_run, as_json, config)


@rollout_app.command("resume")
def resume(pipeline: PipelineArg, reason: ReasonOption = None, dry_run: DryRunOption = False,
           as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Continue a paused rollout (its progress deadline restarts)."""
    _command("resume", pipeline, reason, dry_run, as_json, config)


@rollout_app.command("rollback")
def rollback(pipeline: PipelineArg, reason: ReasonOption = None, dry_run: DryRunOption = False,
             as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Before promotion: like abort. Inside the watch window: the previous version serves everything again (needs --reason)."""
    _command("rollback", pipeline, reason, dry_run, as_json, config)

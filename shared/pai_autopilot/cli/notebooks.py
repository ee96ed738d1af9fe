"""``pai-autopilot notebooks``: the DSW governor from the command line.

    pai-autopilot notebooks [--json]                         running instances, idle time, state
    pai-autopilot notebooks plan [--json]                    what the next tick would do (touches nothing)
    pai-autopilot notebooks snooze INSTANCE --hours N        no warning, no stop for N hours
    pai-autopilot notebooks report [--since 7d] [--json | --html FILE]   estimated savings

Settings and credentials come from the environment (``eval "$(pai-autopilot local env)"`` for
localcloud), the policy from ``notebooks:`` in ``--config``. The work is done by
:mod:`pai_autopilot.notebooks`; this module only parses and prints.

Example
-------
>>> parse_since("7d"), parse_since("36h"), parse_since("90m")
(604800.0, 129600.0, 5400.0)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from .runs import ConfigOption, JsonOption, _cloud_errors, _fail, _print_json, _quiet_logs, _runtime, _user

notebooks_app = typer.Typer(
    help="DSW notebook governance: idle cullers everywhere, one warning before a stop, snoozes, savings. "
    "Without a command: list the running in-scope instances with their idle minutes and governor state.",
    invoke_without_command=True,
)

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$")


def parse_since(text: str) -> float:
    """``7d`` / ``36h`` / ``90m`` → seconds; ``typer.BadParameter`` otherwise."""
    found = _SINCE.match(text or "")
    if found is None or float(found.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r} is not a duration such as 7d, 36h or 90m")
    return float(found.group(1)) * {"d": 86_400, "h": 3_600, "m": 60}[found.group(2)]


def register(app: typer.Typer) -> None:
    """Add the ``notebooks`` group to ``app``."""
    app.add_typer(notebooks_app, name="notebooks")


@notebooks_app.callback()
def notebooks(ctx: typer.Context, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List the running in-scope DSW instances: idle minutes (by the policy's culler; ? when unknown), the governor's state and what applies (exempt, snoozed, warned, culler missing).

    Exit 2 when the settings, credentials or configuration (no notebooks: section) are unusable; 1 when DSW or the ledger cannot be read.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..notebooks.overview import overview, overview_lines

    rt = _runtime(config)
    with _cloud_errors(rt), _quiet_logs():
        rows = _policy_guard(lambda: overview(rt))
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no running instances in scope")
        return
    for line in overview_lines(rows):
        typer.echo(line)


@notebooks_app.command()
def plan(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Show what the next governor tick would do and why — warn, stop, culler create/replace/delete, clear — changing nothing (a dry run whatever the policy's mode)."""
    from ..notebooks.tick import governor_tick

    rt = _runtime(config, request_id=f"cli:{_user()}")
    with _cloud_errors(rt), _quiet_logs():
        result = _policy_guard(lambda: governor_tick(rt, plan=True))
    result.pop("summary", None)
    if as_json:
        _print_json(result)
        return
    typer.echo(f"{result['running']} running in scope, {result['open']} with open state; policy mode: "
               f"{rt.config.notebooks.mode if rt.config.notebooks else '?'}")
    if not result["actions"]:
        typer.echo("nothing to do")
    for entry in result["actions"]:
        typer.echo(f"{entry['instance_id']:<24} {entry['action']:<22} {entry['reason']}")
    typer.echo("plan only: nothing changed")


@notebooks_app.command()
def snooze(
    instance: Annotated[str, typer.Argument(metavar="INSTANCE", help="A DSW instance id (dsw-…), as `notebooks` lists it.")],
    hours: Annotated[float, typer.Option("--hours", help="How long: no warning and no stop until then (at most notebooks.max_snooze_hours).")],
    reason: Annotated[str | None, typer.Option(help="Why, for the ledger and the status page.")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Snooze an instance: the governor neither warns nor stops it for N hours (in enforce mode the policy's native culler is removed meanwhile and restored after). Repeating it is a no-op; a shorter snooze never shortens a longer one.

    Exit 2 for a bad id or hours and for an unknown instance; 1 when DSW or the ledger cannot be reached.
    """
    from ..notebooks.snooze import snooze_instance

    user = f"cli:{_user()}"
    rt = _runtime(config, request_id=user)
    with _cloud_errors(rt), _quiet_logs():
        result = _policy_guard(lambda: snooze_instance(rt, instance, hours, actor=user, reason=reason))
    if as_json:
        _print_json(result)
        return
    if result["outcome"] == "noop":
        typer.echo(f"{instance}: {result['reason']} (nothing changed)")
    else:
        typer.echo(f"{instance} snoozed until {result['snoozed_until_iso']} (culler: {result['culler']})")


@notebooks_app.command()
def report(
    since: Annotated[str, typer.Option(help="The window: 7d, 36h, 90m …")] = "7d",
    as_json: JsonOption = False,
    html: Annotated[Path | None, typer.Option("--html", metavar="FILE", help="Write the report as one self-contained HTML page.")] = None,
    config: ConfigOption = None,
) -> None:
    """Estimated savings: GPU-hours and cost avoided by the governor's stops, per instance and per owner, and the instances that ran through a weekend.

    Avoided time runs from each stop until the instance ran again (else now), capped by notebooks.max_avoided_hours; prices come from notebooks.prices over the documented defaults (estimates, not your bill).
    """
    from ..notebooks.report import savings_report

    if as_json and html is not None:
        raise _fail("choose --json or --html, not both", 2)
    seconds = parse_since(since)
    rt = _runtime(config)
    with _cloud_errors(rt), _quiet_logs():
        result = _policy_guard(lambda: savings_report(rt, seconds))
    if as_json:
        _print_json(result)
        return
    if html is not None:
        from ..notebooks.report_html import render_html

        html.write_text(render_html(result), encoding="utf-8")
        typer.echo(f"wrote {html}")
        return
    t, cur = result["totals"], result["currency"]
    typer.echo(f"{result['since']} – {result['until']}: {t['stops']} stops, {t['hours']:.2f} instance-hours, "
               f"{t['gpu_hours']:.2f} GPU-hours, {t['cost']:.2f} {cur} avoided (estimates)")
    for owner in result["owners"]:
        typer.echo(f"  {owner['owner']:<20} {owner['stops']:>3} stops {owner['gpu_hours']:>9.2f} GPU-h {owner['cost']:>10.2f} {cur}")
    for w in result["through_weekend"]:
        typer.echo(f"  ran through the weekend of {', '.join(w['weekends'])}: {w['instance_id']} ({w['owner']})"
                   + (" — still running" if w["still_running"] else ""))


def _policy_guard(fn: Any) -> Any:
    """Invalid input (no ``notebooks:`` section, a bad id, an unknown instance): exit 2 with the message."""
    from ..errors import InvalidInputError

    try:
        return fn()
    except InvalidInputError as exc:
        raise _fail(str(exc), 2) from None

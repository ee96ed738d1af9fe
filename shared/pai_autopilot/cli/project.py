"""``validate`` and ``package``: commands about the project's own files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def validate(
    file: Annotated[Path, typer.Argument(help="The configuration to check.")] = Path("autopilot.yaml"),
    syaml_file: Annotated[
        Path | None, typer.Option("--syaml", help="Also check this Serverless Devs file (e.g. s.yaml).")
    ] = None,
) -> None:
    """Check autopilot.yaml (and optionally s.yaml); print every problem with its path and line.

    Exits 0 when valid, 1 when any problem is found, 2 when a file cannot be read.
    """
    from ..config import validate_text
    from ..config.text import read_config_file
    from ..errors import ConfigError

    try:
        text = read_config_file(file)  # binary, non-UTF-8 or unreadable: exit 2, no traceback
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    problems = [f"{file}: {problem}" for problem in validate_text(text, source=str(file))]
    if syaml_file is not None:
        problems.extend(_syaml_problems(syaml_file))
    for line in problems:
        typer.echo(line, err=True)
    if os.environ.get("AUTOPILOT_ALARM_TOKEN"):  # a warning, not a problem: it still works for this release
        from ..ops.callback import DEPRECATION

        typer.echo(f"warning: {DEPRECATION}", err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    typer.echo(f"{file}: valid" + (f"; {syaml_file}: valid" if syaml_file else ""))


def _syaml_problems(path: Path) -> list[str]:
    from .. import syaml
    from ..errors import ConfigError

    try:
        doc = syaml.load_syaml(path, env=os.environ, account_id=os.environ.get("ALIBABA_CLOUD_ACCOUNT_ID", "0"), strict=False)
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror}"]
    except ConfigError as exc:
        return [f"{path}: {exc}"]
    root = path.resolve().parent
    return [f"{path}: {where}: {reason}" for where, reason in syaml.validate_syaml(doc, root=root)]


def package(
    output: Annotated[Path, typer.Option(help="Directory to write (emptied first).")] = Path(".build/code"),
    config: Annotated[Path, typer.Option(help="Configuration shipped as autopilot.yaml.")] = Path("autopilot.yaml"),
    deps: Annotated[bool, typer.Option(help="Install requirements.txt as manylinux wheels for the FC runtime.")] = True,
    python_version: Annotated[str, typer.Option(help="FC runtime's Python version.")] = "3.10",
) -> None:
    """Build the flat FC code package: functions, the pai_autopilot library, config, wheels.

    Runs as s.yaml's pre-deploy action, so `s deploy` needs no Docker. Installing the wheels needs a
    python<version> interpreter (3.10 for FC's runtime) on PATH; --no-deps skips them. Prints
    progress while pip runs, then one line: functions, files, wheels, size.
    Exit 2 for a missing input or interpreter, 1 when pip fails.
    """
    from ..packaging import PackagingError, build_code_package
    from .failures import EXIT_FAILED, EXIT_USAGE, fail

    try:
        report = build_code_package(Path.cwd(), output, config=config, install_deps=deps, python_version=python_version,
                                    progress=lambda line: typer.echo(line, err=True))
    except PackagingError as exc:
        message = str(exc)
        if "interpreter" in message:
            raise fail(f"{message}: install Python {python_version} (e.g. `uv python install {python_version}`), "
                       "or pass --no-deps to package without dependencies", EXIT_USAGE) from None
        raise fail(message, EXIT_FAILED if message.startswith("pip failed") else EXIT_USAGE) from None
    typer.echo(report.short())

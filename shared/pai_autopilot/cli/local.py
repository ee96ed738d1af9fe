"""``pai-autopilot local …``: run localcloud and point shells at it."""

from __future__ import annotations

import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

local_app = typer.Typer(help="Run localcloud, the offline emulator, and use it.", no_args_is_help=True)

DEFAULT_PORT = 9800
PortOption = Annotated[int, typer.Option("--port", "-p", help="Edge port of localcloud.")]
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="autopilot.yaml naming the buckets to create.")]


def _bucket_of(config: Path) -> str | None:
    from ..config import load_config
    from ..errors import ConfigError

    try:
        return load_config(config).storage.bucket
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@local_app.command()
def up(
    port: PortOption = DEFAULT_PORT,
    config: ConfigOption = Path("autopilot.yaml"),
    data_dir: Annotated[Path | None, typer.Option(help="Keep OSS objects on disk here (default: in memory).")] = None,
    project_dir: Annotated[Path, typer.Option(help="Directory with s.yaml whose functions to run.")] = Path("."),
    functions: Annotated[bool, typer.Option(help="Run the s.yaml functions on their triggers.")] = True,
    quiet: Annotated[bool, typer.Option(help="Do not echo function logs.")] = False,
) -> None:
    """Start localcloud in the foreground (Ctrl-C stops it) and create the configured bucket."""
    from localcloud import LocalCloud

    bucket = _bucket_of(config)
    has_syaml = (project_dir / "s.yaml").exists()
    cloud = LocalCloud(
        data_dir=data_dir,
        project_dir=project_dir if functions and has_syaml else None,
        function_env={"AUTOPILOT_CONFIG": str(config.resolve())},
    )
    if cloud.fc is not None:
        cloud.fc.echo_logs = not quiet
    if bucket:
        cloud.create_bucket(bucket)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    typer.echo(f"localcloud on http://127.0.0.1:{port}  (services: {', '.join(cloud.service_names())})")
    if bucket:
        typer.echo(f"bucket: {bucket}")
    if cloud.fc is not None:
        typer.echo(f"functions from {project_dir / 's.yaml'}")
    typer.echo(f'in another shell: eval "$(pai-autopilot local env --port {port})"')
    try:
        cloud.serve_forever(port=port)
    except KeyboardInterrupt:
        typer.echo("stopped")


@local_app.command()
def env(port: PortOption = DEFAULT_PORT, config: ConfigOption = Path("autopilot.yaml")) -> None:
    """Print `export` lines for a shell: credentials, region, endpoint and bucket.

    Use: eval "$(pai-autopilot local env)"
    """
    from localcloud.cloud import DEFAULT_REGION
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

    values = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": LOCAL_ACCESS_KEY_SECRET,
        "ALIBABA_CLOUD_REGION_ID": DEFAULT_REGION,
        "AUTOPILOT_ENDPOINT": f"http://127.0.0.1:{port}",
    }
    bucket = _bucket_of(config) if config.exists() else None
    if bucket:
        values["AUTOPILOT_BUCKET"] = bucket
    for key, value in values.items():
        typer.echo(f"export {key}={shlex.quote(value)}")

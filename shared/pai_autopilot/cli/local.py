"""``pai-autopilot local …``: run localcloud and point shells at it."""

from __future__ import annotations

import os
import shlex
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .failures import EXIT_USAGE, fail

if TYPE_CHECKING:
    from ..config.models import AutopilotConfig

local_app = typer.Typer(help="Run localcloud, the offline emulator, and use it.", no_args_is_help=True)

DEFAULT_PORT = 9800
PortOption = Annotated[int, typer.Option("--port", "-p", help="Edge port of localcloud.")]
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="autopilot.yaml naming the buckets to create.")]


def _load(config: Path) -> AutopilotConfig:
    """The configuration, or ``error: …`` and exit 2."""
    from ..config import load_config
    from ..errors import ConfigError

    try:
        return load_config(config)
    except ConfigError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def _bucket_of(config: Path) -> str | None:
    return _load(config).storage.bucket


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port`` (so ``local up`` can bind it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: cleanly, saying so


@local_app.command()
def up(
    port: PortOption = DEFAULT_PORT,
    config: ConfigOption = Path("autopilot.yaml"),
    data_dir: Annotated[Path | None, typer.Option(help="Keep OSS objects on disk here (default: in memory).")] = None,
    project_dir: Annotated[Path, typer.Option(help="Directory with s.yaml whose functions to run.")] = Path("."),
    functions: Annotated[bool, typer.Option(help="Run the s.yaml functions on their triggers.")] = True,
    quiet: Annotated[bool, typer.Option(help="Do not echo function logs.")] = False,
) -> None:
    """Start localcloud in the foreground (Ctrl-C stops it, printing "stopped").

    Creates what the cloud would already have for the configuration: its bucket, and for its PAI
    workspace (workspace.id / workspace.name, PAI_WORKSPACE_ID overrides the id) the id → name
    mapping and the `pai-system-<name>` event bus, so `pai-autopilot wire` can route job events.
    Exit 2 for a missing project directory, an unusable configuration or a busy port.
    """
    if not project_dir.is_dir():
        raise fail(f"--project-dir {project_dir} is not a directory: pass the directory holding s.yaml", EXIT_USAGE)
    cfg = _load(config)
    if not port_is_free(port):
        raise fail(f"port {port} is busy (another localcloud? `pai-autopilot local state --port {port}` tells): "
                   "stop it or pass --port N", EXIT_USAGE)
    from localcloud import LocalCloud

    bucket = cfg.storage.bucket
    workspace_id = os.environ.get("PAI_WORKSPACE_ID") or cfg.workspace.id
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
    if workspace_id and cfg.workspace.name:
        cloud.add_workspace(workspace_id, cfg.workspace.name)
    signal.signal(signal.SIGTERM, _interrupt)
    typer.echo(f"localcloud on http://127.0.0.1:{port}  (services: {', '.join(cloud.service_names())})")
    if bucket:
        typer.echo(f"bucket: {bucket}")
    if workspace_id and cfg.workspace.name:
        typer.echo(f"workspace: {workspace_id} ({cfg.workspace.name}), events on bus pai-system-{cfg.workspace.name}")
    if cloud.fc is not None:
        typer.echo(f"functions from {project_dir / 's.yaml'}")
    elif functions and not has_syaml:
        typer.echo(f"no s.yaml in {project_dir}: no functions run")
    typer.echo(f'in another shell: eval "$(pai-autopilot local env --port {port})"')
    try:
        cloud.serve_forever(port=port)
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # lost the port between the check and the bind
        raise fail(f"cannot serve on port {port}: {exc.strerror}", EXIT_USAGE) from None
    typer.echo("stopped")


@local_app.command()
def env(
    port: PortOption = DEFAULT_PORT,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="autopilot.yaml naming the bucket (default: ./autopilot.yaml if present).")
    ] = None,
) -> None:
    """Print `export` lines for a shell: credentials, region, endpoint and bucket.

    Use: eval "$(pai-autopilot local env)". Exit 2 when --config names a missing or unusable file.
    """
    from localcloud.cloud import DEFAULT_REGION
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

    if config is not None and not config.is_file():
        raise fail(f"--config {config}: no such file", EXIT_USAGE)
    values = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": LOCAL_ACCESS_KEY_SECRET,
        "ALIBABA_CLOUD_REGION_ID": DEFAULT_REGION,
        "AUTOPILOT_ENDPOINT": f"http://127.0.0.1:{port}",
    }
    path = config or Path("autopilot.yaml")
    bucket = _bucket_of(path) if path.exists() else None
    if bucket:
        values["AUTOPILOT_BUCKET"] = bucket
    for key, value in values.items():
        typer.echo(f"export {key}={shlex.quote(value)}")

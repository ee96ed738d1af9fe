"""``pai-autopilot local reset|state|clock|fault|delivery|invocations|logs|invoke``.

All but ``invoke`` talk to a running localcloud's control API (``/_localcloud/…``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .failures import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, fail
from .local import DEFAULT_PORT, PortOption, local_app


def _call(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    import requests

    url = f"http://127.0.0.1:{port}/_localcloud{path}"
    try:
        response = requests.request(method, url, json=body, timeout=30)
    except requests.ConnectionError:
        raise fail(f"no localcloud on port {port} (connection refused); start one with: pai-autopilot local up --port {port}",
                   EXIT_UNREACHABLE) from None
    data = response.json()
    if response.status_code >= 400:
        message = data.get("Message", data) if isinstance(data, dict) else data
        raise fail(str(message), EXIT_USAGE if response.status_code in (400, 404) else EXIT_FAILED)
    return data


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@local_app.command()
def reset(
    port: PortOption = DEFAULT_PORT,
    all_: Annotated[bool, typer.Option("--all", help="Remove the configured buckets too.")] = False,
) -> None:
    """Forget every object, job, fault and invocation (configured buckets stay, empty); prints
    the buckets removed (leftovers of crashed programs among them)."""
    _print(_call(port, "POST", "/reset", {"all": True} if all_ else None))


@local_app.command()
def state(port: PortOption = DEFAULT_PORT) -> None:
    """Dump every service's state as JSON."""
    _print(_call(port, "GET", "/state"))


@local_app.command()
def clock(
    port: PortOption = DEFAULT_PORT,
    freeze: Annotated[bool, typer.Option(help="Stop the clock where it stands.")] = False,
    advance: Annotated[float, typer.Option(help="Move the clock forward by N seconds (timers and lifecycle follow).")] = 0.0,
    unfreeze: Annotated[bool, typer.Option(help="Let the clock run again.")] = False,
) -> None:
    """Show or control localcloud's clock: its time (UTC, and epoch seconds) and whether it is frozen.

    Exit 2 for --freeze with --unfreeze, or a negative --advance.
    """
    if freeze and unfreeze:
        raise fail("--freeze and --unfreeze contradict each other: pass one", EXIT_USAGE)
    if advance < 0:
        raise fail(f"--advance {advance}: the clock only moves forward", EXIT_USAGE)
    body: dict[str, Any] = {}
    if freeze:
        body["freeze"] = None
    if advance:
        body["advance"] = advance
    if unfreeze:
        body["unfreeze"] = True
    shown = _call(port, "POST" if body else "GET", "/clock", body or None)
    if isinstance(shown, dict) and isinstance(shown.get("now"), (int, float)):
        from ..training.history import iso

        shown = {"time": iso(shown["now"]), **shown}
    _print(shown)


@local_app.command()
def fault(
    port: PortOption = DEFAULT_PORT,
    service: Annotated[str, typer.Option(help="oss, dlc, eventbridge … or *")] = "*",
    operation: Annotated[str, typer.Option(help="API action (PutObject, CreateJob …) or *")] = "*",
    error_rate: Annotated[float, typer.Option(help="Chance (0-1) to fail with --code/--status.")] = 0.0,
    code: Annotated[str, typer.Option(help="Error code to answer with.")] = "InternalError",
    status: Annotated[int, typer.Option(help="HTTP status to answer with.")] = 500,
    throttle_rate: Annotated[float, typer.Option(help="Chance (0-1) to throttle (503 + x-acs-retry-after).")] = 0.0,
    latency_ms: Annotated[float, typer.Option(help="Latency added to every matching call.")] = 0.0,
    count: Annotated[int | None, typer.Option(help="Fail exactly the next N matching calls.")] = None,
    clear: Annotated[bool, typer.Option(help="Remove every fault instead.")] = False,
    show: Annotated[bool, typer.Option("--list", help="List the active faults instead.")] = False,
) -> None:
    """Inject a request fault (or --list / --clear them).

    Exit 2 when there is nothing to inject (no rate, latency or count) or the service is unknown.
    """
    if show and clear:
        raise fail("--list and --clear contradict each other: pass one", EXIT_USAGE)
    if not (show or clear) and not (error_rate or throttle_rate or latency_ms or count):
        raise fail("nothing to inject: pass --error-rate, --throttle-rate, --latency-ms or --count "
                   "(or --list / --clear)", EXIT_USAGE)
    if show:
        _print(_call(port, "GET", "/faults"))
    elif clear:
        _print(_call(port, "DELETE", "/faults"))
    else:
        body = {"service": service, "operation": operation, "error_rate": error_rate, "error_code": code,
                "status": status, "throttle_rate": throttle_rate, "latency_ms": latency_ms, "count": count}
        _print(_call(port, "POST", "/faults", body))


@local_app.command()
def delivery(
    port: PortOption = DEFAULT_PORT,
    duplicate: Annotated[float, typer.Option(help="Chance (0-1) an event is delivered more than once.")] = 0.0,
    extra_copies: Annotated[int, typer.Option(help="How many extra copies a duplicated event gets.")] = 1,
    reorder_window: Annotated[float, typer.Option(help="Hold each delivery back a random 0..N seconds.")] = 0.0,
    delay: Annotated[float, typer.Option(help="Hold every delivery back N seconds.")] = 0.0,
    drop: Annotated[float, typer.Option(help="Chance (0-1) an event is lost.")] = 0.0,
) -> None:
    """Set how event deliveries misbehave (all zero: deliver normally)."""
    body = {"duplicate": duplicate, "extra_copies": extra_copies, "reorder_window": reorder_window, "delay": delay, "drop": drop}
    _print(_call(port, "POST", "/delivery", body))


@local_app.command()
def invocations(
    port: PortOption = DEFAULT_PORT,
    dead: Annotated[bool, typer.Option(help="Only the dead letters (retries exhausted).")] = False,
) -> None:
    """The local FC runtime's invocations (or dead letters), as JSON."""
    _print(_call(port, "GET", "/fc/dead-letters" if dead else "/fc/invocations"))


@local_app.command()
def logs(
    function: Annotated[str, typer.Argument(help="s.yaml resource name (dataset_landed) or FC function name.")],
    port: PortOption = DEFAULT_PORT,
) -> None:
    """Print a function's captured log lines. Exit 2 for an unknown function (the known ones are listed)."""
    for line in _call(port, "GET", f"/fc/logs/{function}"):
        typer.echo(line)


@local_app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="s.yaml resource name or FC function name.")],
    event: Annotated[Path, typer.Option("--event", "-e", help="Event file (e.g. events/ossObjectCreated.json); - for stdin.")],
    project_dir: Annotated[Path, typer.Option(help="Directory with s.yaml.")] = Path("."),
    endpoint: Annotated[str | None, typer.Option(help="localcloud edge URL (default: $AUTOPILOT_ENDPOINT).")] = None,
) -> None:
    """Run one function once on an event, like `s local invoke`, without Docker.

    The function gets FC's environment and points at a running localcloud (--endpoint or
    $AUTOPILOT_ENDPOINT) with its static credentials. Prints the logs, then the result.
    Exit 0 when the function returned (its result may still report a rejected event), 1 when it
    raised, 2 for an unknown function or an unreadable event file.
    """
    from localcloud.cloud import DEFAULT_REGION
    from localcloud.core.clock import Clock
    from localcloud.core.credentials import (
        LOCAL_ACCESS_KEY_ID,
        LOCAL_ACCESS_KEY_SECRET,
        Credential,
        CredentialStore,
    )
    from localcloud.core.events import EventHub
    from localcloud.fc.runtime import FcRuntime

    payload = sys.stdin.buffer.read() if str(event) == "-" else _read(event)
    runtime = FcRuntime(
        project_dir=project_dir, hub=EventHub(), clock=Clock(), credentials=CredentialStore(),
        region=os.environ.get("ALIBABA_CLOUD_REGION_ID", DEFAULT_REGION), account_id="1234567890123456", extra_env={},
        static_credential=Credential(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET),
    )
    runtime.endpoint = endpoint or os.environ.get("AUTOPILOT_ENDPOINT") or f"http://127.0.0.1:{DEFAULT_PORT}"
    runtime.echo_logs = True
    try:
        result = runtime.invoke_sync(function, payload)
    except KeyError as exc:
        raise fail(exc.args[0], EXIT_USAGE) from None
    if result.ok:
        _print(result.result)
        return
    raise fail(f"the function raised {result.error_type}: {result.error}", EXIT_FAILED)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None

"""``pai-autopilot status``, ``timeline PIPELINE VERSION`` and ``webhook sign METHOD PATH [BODY]``.

``status`` and ``timeline`` read the ledger with the project's own clients, exactly as the webhook's
``GET /v1/status`` and ``GET /v1/timeline/…`` do (same library, same answer). ``webhook sign`` prints
a ready ``curl`` line signed with ``AUTOPILOT_WEBHOOK_SECRET`` for CI scripts.

Register on the app with :func:`register`.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, quote

import typer

from .runs import ConfigOption, JsonOption, _cloud_errors, _fail, _print_json, _quiet_logs, _runtime

webhook_app = typer.Typer(
    help="The signed operations webhook (FC HTTP trigger). Routes: POST /v1/retrain; POST "
    "/v1/rollouts/PIPELINE/{promote|abort|pause|resume|rollback}; GET /v1/status; GET /v1/runs/RUN_ID; "
    "GET /v1/timeline/PIPELINE/VERSION (JSON, or HTML with Accept: text/html); POST /v1/alerts/cms; "
    "POST /v1/notebooks/INSTANCE/snooze. Every request is signed (HMAC-SHA256, ±300 s, single-use nonce).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``status``, ``timeline`` and the ``webhook`` group to ``app``."""
    app.command()(status)
    app.command()(timeline)
    app.add_typer(webhook_app, name="webhook")


def status(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """One screen: per pipeline the newest run and its state, the stable version, the rollout in progress (phase and
    weights); the notebooks acted on in the last day. The same answer as the webhook's GET /v1/status.

    Exit 2 when the settings, credentials or configuration are unusable; 1 when the ledger cannot be read.
    """
    from ..ops.status import status_lines, status_view

    rt = _runtime(config)
    with _cloud_errors(rt), _quiet_logs():
        view = status_view(rt)
    if as_json:
        _print_json(view)
        return
    for line in status_lines(view):
        typer.echo(line)


def timeline(
    pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="A pipeline of the configuration.")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="The model (dataset) version, e.g. v2.")],
    as_json: JsonOption = False,
    html: Annotated[Path | None, typer.Option("--html", metavar="FILE", help="Write a self-contained HTML page "
                                              "(events table + SVG chart of canary weight and error ratio).")] = None,
    config: ConfigOption = None,
) -> None:
    """Everything that happened to one model version, in order, under its correlation id: the dataset marker, the run,
    each DLC job (attempts, preemptions, resume points), the rollout's traffic steps with their metric values,
    promotion or rollback, and each notification.

    Exit 1 when nothing is recorded for the version, 2 for an unknown pipeline or --json with --html.
    """
    from ..ops.timeline import gather, timeline_lines

    if as_json and html:
        raise _fail("--json and --html exclude each other", 2)
    rt = _runtime(config)
    if pipeline not in rt.config.pipelines:
        raise _fail(f"no pipeline {pipeline!r}; known: {', '.join(sorted(rt.config.pipelines)) or '(none)'}", 2)
    with _cloud_errors(rt), _quiet_logs():
        found = gather(rt, pipeline, version)
    if not found.events:
        raise _fail(f"nothing recorded for {pipeline} version {version!r} (correlation id {found.correlation_id}); "
                    "`pai-autopilot runs` lists the versions", 1)
    if html:
        from ..ops.timeline_html import render_html

        html.write_text(render_html(found), encoding="utf-8")
        typer.echo(f"wrote {html} ({len(found.events)} events)")
    elif as_json:
        _print_json(found.as_dict())
    else:
        for line in timeline_lines(found):
            typer.echo(line)


def _body(body: str | None) -> tuple[bytes, str | None]:
    """The body bytes and, for ``@file``, the file curl should send."""
    if body is None:
        return b"", None
    if body == "-":
        return sys.stdin.buffer.read(), "-"
    if body.startswith("@"):
        path = Path(body[1:])
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise _fail(f"cannot read the body file {path}: {exc.strerror}", 2) from None
    return body.encode(), None


@webhook_app.command("sign")
def sign(
    method: Annotated[str, typer.Argument(metavar="METHOD", help="GET or POST.")],
    path: Annotated[str, typer.Argument(metavar="PATH", help="The route with its query, as the function sees it, "
                                        "e.g. /v1/rollouts/demo/abort or '/v1/timeline/demo/v2'.")],
    body: Annotated[str | None, typer.Argument(metavar="[BODY]", help="The JSON body; @FILE reads a file, - reads stdin.")] = None,
    url: Annotated[str | None, typer.Option(envvar="AUTOPILOT_WEBHOOK_URL", help="The HTTP trigger's URL (fc3 deploy output "
                                            "url.system_url). Default: $AUTOPILOT_WEBHOOK_URL, else left as that variable.")] = None,
    accept: Annotated[str | None, typer.Option(help="An Accept header to add (text/html for the timeline page).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the method, URL, headers and body as JSON instead.")] = False,
    at: Annotated[int | None, typer.Option("--at", metavar="EPOCH", min=0, help="Sign as of this epoch second (default: "
                                           "now). For localcloud with its clock moved: the functions follow it.")] = None,
) -> None:
    """Print a ready `curl` line for one signed webhook request (valid for 300 s, once: sign every request anew).

    The secret comes from AUTOPILOT_WEBHOOK_SECRET and the key id from AUTOPILOT_WEBHOOK_KEY_ID (default `default`),
    the same variables the function is deployed with; the key id is recorded as who acted. In CI:

        eval "$(pai-autopilot webhook sign POST /v1/rollouts/demo/abort '{"reason": "p99 regression"}')"

    Exit 2 when the secret is unset or too short, or the method is not GET or POST.
    """
    from ..errors import SettingsError
    from ..ops.keys import webhook_keys
    from ..ops.signature import signed_headers

    verb = method.upper()
    if verb not in ("GET", "POST"):
        raise _fail(f"method {method!r}: the webhook takes GET or POST", 2)
    if not path.startswith("/"):
        raise _fail(f"path {path!r} must start with '/', e.g. /v1/status", 2)
    try:
        (key_id, secret), = webhook_keys().items()
    except SettingsError as exc:
        raise _fail(str(exc), 2) from None
    route, _, raw_query = path.partition("?")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):  # FC joins repeated keys with commas
        query[key] = f"{query[key]},{value}" if key in query else value
    data, data_file = _body(body)
    headers = signed_headers(secret, key_id, verb, route, data, query=query, now=time.time() if at is None else at)
    if data:
        headers = {"Content-Type": "application/json", **headers}
    if accept:
        headers["Accept"] = accept
    target = quote(route) + (f"?{raw_query}" if raw_query else "")
    if as_json:
        _print_json({"method": verb, "url": (url or "$AUTOPILOT_WEBHOOK_URL").rstrip("/") + target, "headers": headers,
                     "body": data.decode("utf-8", "replace")})
        return
    where = shlex.quote(url.rstrip("/") + target) if url else f'"${{AUTOPILOT_WEBHOOK_URL}}"{shlex.quote(target)}'
    words = ["curl", "-sS", "-X", verb, where] + [f"-H {shlex.quote(f'{k}: {v}')}" for k, v in headers.items()]
    if data:
        words.append(f"--data-binary {shlex.quote('@' + data_file) if data_file else shlex.quote(data.decode('utf-8', 'replace'))}")
    typer.echo(" ".join(words))


@webhook_app.command("callback-url")
def callback_url(
    url: Annotated[str | None, typer.Option(envvar="AUTOPILOT_WEBHOOK_URL", help="The HTTP trigger's URL (default: "
                                            "$AUTOPILOT_WEBHOOK_URL).")] = None,
    alarm_url: Annotated[str | None, typer.Option("--alarm-url", help="Print the alarm function's callback URL instead: "
                                                  "its HTTP trigger URL with the same token (what `wire` puts in the alarm rules).")] = None,
) -> None:
    """Print the URL to give CloudMonitor as the alarm callback (POST /v1/alerts/cms?kid=…&token=…).

    CloudMonitor cannot sign requests, so this route (and the alarm function's HTTP trigger, given with --alarm-url)
    takes a static token derived from AUTOPILOT_WEBHOOK_SECRET: the URL is a credential — keep it in CloudMonitor's
    contact settings only; rotating the secret revokes it.

    Exit 2 when the secret is unset or too short, or no URL is given.
    """
    from ..errors import SettingsError
    from ..ops.callback import callback_url as build
    from ..ops.keys import webhook_keys

    if not (url or alarm_url):
        raise _fail("give --url or set AUTOPILOT_WEBHOOK_URL (fc3 deploy output url.system_url of the webhook), "
                    "or --alarm-url (the alarm function's)", 2)
    try:
        (key_id, secret), = webhook_keys().items()
    except SettingsError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(build(alarm_url, key_id, secret, path="") if alarm_url else build(url or "", key_id, secret))

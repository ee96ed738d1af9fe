"""The ``pai-autopilot`` command line.

    pai-autopilot validate [FILE] [--syaml s.yaml]   check the configuration (and s.yaml)
    pai-autopilot package --output .build/code      build the FC code package (no Docker)
    pai-autopilot local up | env                     run localcloud, point a shell at it
    pai-autopilot local reset | state | clock | fault | delivery | invocations | logs | invoke
    pai-autopilot local traffic --target GROUP_OR_SERVICE --qps N [--duration S]
    pai-autopilot wire [--dry-run]                   EventBridge rule + OSS lifecycle s deploy can't make
    pai-autopilot runs | run show RUN_ID | retrain PIPELINE VERSION [--force]   the ledger's runs
    pai-autopilot rollouts | rollout show PIPELINE | rollout promote|abort|pause|resume|rollback PIPELINE
    pai-autopilot demo                               the whole story on localcloud, narrated
    pai-autopilot deploy PIPELINE VERSION [--dry-run] | services [--json]   model versions -> EAS
    pai-autopilot notebooks [--json] | plan | snooze INSTANCE --hours N | report [--since 7d] [--json|--html F]

Imports of localcloud, rich and the SDKs happen inside the commands that need them.
"""

from __future__ import annotations

import typer

from . import control, traffic  # noqa: F401  (register `local` control and traffic commands)
from .demo import demo
from .failures import EXIT_CODES_HELP
from .local import local_app
from .notebooks import register as register_notebooks
from .project import package, validate
from .rollouts import register as register_rollouts
from .runs import register as register_runs
from .serving import register as register_serving
from .wire import wire

app = typer.Typer(
    name="pai-autopilot",
    help="Event-driven automation for Alibaba Cloud PAI on Function Compute, with an offline emulator.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(validate)
app.command()(package)
app.command()(demo)
app.command()(wire)
app.add_typer(local_app, name="local")
register_runs(app)
register_rollouts(app)  # rollouts | rollout show | rollout promote|abort|pause|resume|rollback (issue 12)
register_serving(app)  # serving (issue 11)
register_notebooks(app)


def report_unexpected(exc: BaseException) -> str:
    """The one line printed for a failure no command handled: scrubbed, capped, no traceback.

    A traceback would carry SDK error details (``SignatureProvided``, request headers); set
    ``PAI_AUTOPILOT_DEBUG=1`` to see it anyway.

    Example
    -------
    >>> report_unexpected(RuntimeError("denied: {'SignatureProvided': '85b9be91241e7ce2'}"))
    "error: unexpected RuntimeError: denied: {'SignatureProvided': '***'} (PAI_AUTOPILOT_DEBUG=1 shows the traceback)"
    """
    from ..redact import scrub

    message = scrub(f"{type(exc).__name__}: {exc}")
    message = message if len(message) <= 1000 else message[:997] + "..."
    return f"error: unexpected {message} (PAI_AUTOPILOT_DEBUG=1 shows the traceback)"


def main() -> None:
    """Entry point of the ``pai-autopilot`` console script."""
    import os

    try:
        app()
    except Exception as exc:  # no command handled it: one scrubbed line, never a traceback with secrets
        if os.environ.get("PAI_AUTOPILOT_DEBUG") == "1":
            raise
        from ..redact import register_env_secrets

        register_env_secrets()
        typer.echo(report_unexpected(exc), err=True)
        raise SystemExit(1) from None

"""``pai-autopilot demo``: the main job on localcloud, narrated as it happens.

The story so far: a dataset version lands in OSS, the OSS trigger delivers the marker's event
to ``dataset_landed``, which checks the version, claims the run and creates one DLC job; the
marker is uploaded again and nothing new happens; ``wire`` routes PAI job events to
``job_events``; the job trains on localcloud's clock (checkpoints, then the model) and the run
ends waiting for its model. Later slices (serving, canary) extend this same command.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

DEMO_FILES = {
    "part-0.csv": "x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(200)),
    "part-1.csv": "x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(200, 400)),
}


class _Narrator:
    """Prints what localcloud's event hub reports, with the time since the demo began."""

    def __init__(self, console: Any, ledger_prefix: str) -> None:
        self.console = console
        self.ledger_prefix = ledger_prefix
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.counts = {"uploads": 0, "deliveries": 0, "succeeded": 0, "failed": 0}

    def say(self, icon: str, text: str) -> None:
        with self.lock:
            self.console.print(f"[dim]{time.monotonic() - self.started:6.2f}s[/dim] {icon} {text}", highlight=False)

    def __call__(self, event: Any) -> None:
        from localcloud.core.events import ObjectEvent
        from localcloud.fc.runtime import FcInvocationEvent

        if isinstance(event, ObjectEvent) and event.key.startswith(self.ledger_prefix):
            entity, _, record = event.key[len(self.ledger_prefix) :].rpartition("/")
            if entity.startswith("fingerprints/"):
                entity = "content fingerprint of " + entity.split("/")[1]
            self.say("✎", f"[dim]ledger: {entity} record {record.removesuffix('.json').lstrip('0') or '0'}[/dim]")
        elif isinstance(event, ObjectEvent) and event.key.endswith(("/_COMPLETE", "/_SUCCESS")) and not event.key.startswith("datasets/"):
            what = "checkpoint complete" if event.key.endswith("_COMPLETE") else "model landed"
            self.say("★", f"{what}: oss://{event.bucket}/{event.key.rsplit('/', 1)[0]}/")
        elif isinstance(event, ObjectEvent) and event.key.startswith(("checkpoints/", "models/")):
            pass
        elif isinstance(event, ObjectEvent) and event.event_name.startswith("ObjectCreated"):
            self.counts["uploads"] += 1
            self.say("⬆", f"uploaded [bold]oss://{event.bucket}/{event.key}[/bold] ({event.size} B)")
        elif isinstance(event, FcInvocationEvent):
            rec = event.record
            if event.kind == "started":
                self.counts["deliveries"] += 1
                attempt = "" if rec["attempts"] == 1 else f" (attempt {rec['attempts']})"
                kind = {"oss": "OSS event", "eventbridge": "PAI job event", "timer": "timer"}.get(rec["source"].split(":")[0], "event")
                self.say("→", f"{kind} delivered to [cyan]{rec['function']}[/cyan]{attempt}, request {rec['request_id'][:8]}")
            elif event.kind == "succeeded":
                self.counts["succeeded"] += 1
                self._describe_result(rec)
            else:
                self.counts["failed"] += 1
                self.say("✗", f"{rec['function']} failed ({rec['error_type']}: {rec['error']}); status {rec['status']}")

    def _describe_result(self, rec: dict[str, Any]) -> None:
        result = rec.get("result") or {}
        for item in result.get("records", []):
            outcome = item.get("outcome")
            if rec["function"].endswith("job-events") or rec["function"].endswith("reconcile"):
                if outcome not in ("noop", "ignored"):
                    self.say("⚑", f"{rec['function']}: job {item.get('job_id')} is {item.get('status')} → {outcome}")
                continue
            if outcome == "submitted":
                self.say("✓", f"run [bold]{item['run_id']}[/bold] claimed → DLC job [bold green]{item['job_id']}[/bold green] created")
            elif outcome == "duplicate":
                self.say("=", f"duplicate marker: {item.get('reason')} — no new job")
            else:
                self.say("·", f"{outcome}: {item.get('key', '')} {item.get('reason', '')}")
        cold = ", cold start" if rec.get("cold_start") else ""
        self.say(" ", f"[dim]{rec['function']} finished in {rec.get('duration_ms')} ms{cold}[/dim]")


def _train(cloud: Any, config: Any, settings: Any, sdk: Any, narrator: _Narrator, timeout: float) -> list[str]:
    """Wire PAI job events to job_events (as `pai-autopilot wire` does), then let the job run on
    the clock: checkpoints land, the model lands, job_events records each status change."""
    from .. import wiring

    cloud.dlc.backend.set_workspaces({config.workspace.id: config.workspace.name})  # PAI creates the bus
    from ..clients import Credentials, eventbridge_client

    eb = eventbridge_client(settings, Credentials.from_env(cloud.env()))
    bucket = sdk.bucket(config.storage.bucket)
    steps = wiring.plan(config, eventbridge=eb, bucket=bucket, region=cloud.region, account_id=cloud.account_id,
                        function_prefix="pai-autopilot")
    wiring.apply(steps, eventbridge=eb, bucket=bucket)
    for step in steps:
        narrator.say("⚙", f"wire: {step.line()}")
    narrator.say("⏱", "the job trains on localcloud's clock (simulated runner: 100 steps, a checkpoint every 10)")
    cloud.clock.freeze()
    for _ in range(40):
        cloud.advance(4)
        cloud.fc.wait_idle(timeout)
    from ..ledger import Ledger, OssStore
    from ..training.history import list_runs

    ledger = Ledger(OssStore(bucket), prefix=config.storage.ledger_prefix)
    runs = [f"{s.entity.removeprefix('runs/')}: {s.state}" for s in list_runs(ledger)]
    for line in runs:
        narrator.say("✓", f"run state: [bold]{line}[/bold]")
    return runs


def demo(
    project_dir: Annotated[Path, typer.Option(help="Directory with s.yaml and autopilot.yaml.")] = Path("."),
    version: Annotated[str, typer.Option(help="Dataset version to upload.")] = "v1",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the functions.")] = 120.0,
) -> None:
    """Run the pipeline on localcloud with real SDK clients and narrate each step."""
    import oss2
    from alibabacloud_pai_dlc20201203 import models as dlc_models
    from rich.console import Console
    from rich.table import Table

    from localcloud import LocalCloud

    from ..clients import Credentials, clients
    from ..config import load_config
    from ..settings import Settings

    console = Console()
    project_dir = project_dir.resolve()
    config_path = project_dir / "autopilot.yaml"
    config = load_config(config_path)
    pipeline_name, pipeline = next(iter(config.pipelines.items()))
    bucket_name = config.storage.bucket
    console.rule("[bold]pai-autopilot demo[/bold] — dataset lands → training job, on localcloud")
    narrator = _Narrator(console, config.storage.ledger_prefix)
    cloud = LocalCloud(project_dir=project_dir, function_env={"AUTOPILOT_CONFIG": str(config_path)})
    cloud.hub.subscribe(narrator)
    cloud.start()
    try:
        cloud.create_bucket(bucket_name)
        narrator.say("☁", f"localcloud up at {cloud.url}; functions: {', '.join(sorted(cloud.fc.functions))}")
        env = cloud.env(bucket_name)
        settings = Settings.resolve(environ=env)
        sdk = clients(settings, Credentials.from_env(env))
        bucket: oss2.Bucket = sdk.bucket(bucket_name)
        prefix = f"{pipeline.dataset.prefix}{version}/"
        for name, body in DEMO_FILES.items():
            bucket.put_object(prefix + name, body.encode())
        bucket.put_object(prefix + pipeline.dataset.marker, b"")
        if not cloud.fc.wait_idle(timeout):
            narrator.say("✗", f"functions still busy after {timeout:g}s")
            raise typer.Exit(1)
        narrator.say("↻", "the same marker lands again (a re-run of the upload job)")
        bucket.put_object(prefix + pipeline.dataset.marker, b"")
        cloud.fc.wait_idle(timeout)
        runs = _train(cloud, config, settings, sdk, narrator, timeout)
        jobs = sdk.dlc.list_jobs(dlc_models.ListJobsRequest(page_size=100)).body.jobs or []
        for item in jobs:
            job = sdk.dlc.get_job(item.job_id, dlc_models.GetJobRequest()).body  # ListJobs items carry no Uri
            table = Table(title=f"DLC job {job.job_id} (ListJobs + GetJob, real SDK)", show_header=False)
            table.add_column(style="bold")
            table.add_column(overflow="fold")
            sources = ", ".join(f"{s.uri} → {s.mount_path}" for s in job.data_sources or [])
            for key, value in (("DisplayName", job.display_name), ("Status", job.status), ("DataSources", sources),
                               ("UserCommand", job.user_command), ("Tags", str(job.settings.tags if job.settings else {}))):
                table.add_row(key, value)
            console.print(table)
        dead = cloud.fc.dead_letters()
        summary = Table(title="summary", show_header=False)
        for key, value in (
            ("objects uploaded", narrator.counts["uploads"]),
            ("events delivered", narrator.counts["deliveries"]),
            ("invocations succeeded", narrator.counts["succeeded"]),
            ("dead letters", len(dead)),
            ("DLC jobs", len(jobs)),
            ("elapsed", f"{time.monotonic() - narrator.started:.1f}s"),
        ):
            summary.add_row(key, str(value))
        console.print(summary)
        if len(jobs) != 1 or dead or not all(line.endswith(("waiting_for_model", "model_ready", "served")) for line in runs):
            console.print("[bold red]expected one job, trained to the end, and no dead letters[/bold red]")
            raise typer.Exit(1)
        model = f"oss://{bucket_name}/{pipeline.models_prefix or f'models/{pipeline_name}/'}{version}/"
        console.print(f"[bold green]✓ one dataset version → one training job ({jobs[0].job_id}) → model at {model}; "
                      "duplicates ignored[/bold green]")
    finally:
        cloud.stop()

"""``pai-autopilot demo``: the whole story on localcloud, narrated as it happens, in about a minute.

dataset v1 → training on spot, preempted once and resumed from its newest checkpoint → model →
EAS service with its autoscaler → dataset v2 → canary 10 → 25 → 50 → 100, promoted, the old
version warm through the watch window → v3, a bad model, rolled back by its metrics → v4 rolled
back by a CloudMonitor alarm → an idle notebook warned, then stopped → the summary, the savings
estimate and one version's HTML timeline.

The demo only does what the world does (:mod:`.world`); the functions of ``s.yaml`` do the rest
on their triggers, through the real SDKs. The chapters (:mod:`.story`) check what they did, the
narrator (:mod:`.narrator`) says it, :mod:`.summary` ends it. Exit 1 when any part did not happen.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer


def demo(
    project_dir: Annotated[Path, typer.Option(help="Directory with s.yaml and autopilot.yaml.")] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Narrate on stderr; print the summary as JSON on stdout.")] = False,
    timeline: Annotated[Path | None, typer.Option(metavar="FILE", help="Where to write v2's HTML timeline (default: a temporary directory).")] = None,
    timeout: Annotated[float, typer.Option(help="Real seconds to wait for the functions after each clock step.")] = 60.0,
) -> None:
    """Run the whole story on localcloud with the project's functions and real SDK clients, narrated."""
    from rich.console import Console

    from ...log import quiet
    from .narrator import Narrator
    from .story import Story
    from .summary import as_json as summary_json
    from .summary import counts_table, table
    from .world import DEMO_TUNING, START, World

    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    project_dir = project_dir.resolve()
    work = Path(tempfile.mkdtemp(prefix="pai-autopilot-demo-"))
    timeline_path = timeline or work / "timeline-v2.html"
    console.rule("[bold]pai-autopilot demo[/bold] — the whole story on localcloud")
    world = World(project_dir, work, timeout=timeout)
    narrator = Narrator(console, world.config.storage.ledger_prefix, clock=world.cloud.clock)
    world.on_step = lambda: narrator.look(world)
    world.cloud.hub.subscribe(narrator)
    chapters = []
    with quiet("WARNING", sys.stderr), world:
        narrator.say("☁", f"localcloud up at {world.cloud.url}; functions from s.yaml: "
                     f"{', '.join(sorted(f.removeprefix('pai-autopilot-') for f in world.cloud.fc.functions))}")
        narrator.say("⚙", f"demo tuning over autopilot.yaml: {json.dumps(DEMO_TUNING)}")
        narrator.say("ℹ", "the demo only uploads data, moves the clock, sends traffic and injects faults; "
                     "every decision below is a function's, on its s.yaml trigger, through the real SDKs")
        story = Story(world, narrator)
        for title, step in (("wire", story.wire), ("v1", story.first_version), ("v2", story.healthy_canary),
                            ("v3", story.bad_canary), ("v4", story.alarmed_canary), ("notebook", story.idle_notebook),
                            ("savings", story.savings), ("timeline", lambda: story.timeline(timeline_path)),
                            ("functions", story.functions)):
            narrator.chapter(title)
            try:
                chapter = step()
            except Exception as exc:  # a chapter that blew up is a failed chapter, the story goes on
                from .story import Chapter

                chapter = Chapter(title)
                chapter.check("chapter ran", False, f"{type(exc).__name__}: {exc}")
            chapters.append(chapter)
            for check in chapter.failed:
                narrator.say("✗", f"[bold red]{chapter.title}: {check.name} did not happen[/bold red] ({check.detail})")
        counts: dict[str, Any] = {**narrator.counts, "dead_letters": len(world.cloud.fc.dead_letters()),
                                  "clock_minutes": round((world.now() - START) / 60, 1)}
        try:
            state: dict[str, Any] = world.snapshot()
        except Exception as exc:  # the summary still prints; the test then fails on the missing state
            state = {"error": f"{type(exc).__name__}: {exc}"}
    elapsed = round(narrator.elapsed(), 1)
    console.print(table(chapters))
    console.print(counts_table({**counts, "elapsed_seconds": elapsed}))
    result = summary_json(chapters, counts=counts, extra={"elapsed_seconds": elapsed, "state": state,
                                                         "timeline": str(timeline_path) if timeline_path.exists() else None})
    if timeline_path.exists():
        console.print(f"HTML timeline of v2: [bold]{timeline_path}[/bold]")
    if result["ok"]:
        console.print(f"[bold green]✓ the whole story happened, in {elapsed:.0f} s[/bold green]")
    else:
        console.print("[bold red]✗ parts of the story did not happen (see ✗ above)[/bold red]")
    if as_json:
        typer.echo(json.dumps(result, default=str))
    if not result["ok"]:
        raise typer.Exit(1)

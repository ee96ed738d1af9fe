"""The demo's ending: the summary table, and the same facts as JSON for scripts and the test.

Example
-------
>>> from .story import Chapter
>>> c = Chapter("v1"); c.check("trained", True, "served")
>>> as_json([c], counts={"deliveries": 3}, extra={"elapsed_seconds": 1.0})["ok"]
True
"""

from __future__ import annotations

from typing import Any

from .story import Chapter


def table(chapters: list[Chapter]) -> Any:
    """A rich table: one row per chapter (what happened), then one per check that failed."""
    from rich.table import Table

    out = Table(title="summary", show_lines=True)
    out.add_column("chapter", style="bold", max_width=28)
    out.add_column("checks", justify="center")
    out.add_column("what happened", overflow="fold")
    for chapter in chapters:
        passed = sum(c.ok for c in chapter.checks)
        mark = "[green]✓[/green]" if chapter.ok else "[bold red]✗[/bold red]"
        lines = [chapter.headline or "; ".join(c.detail for c in chapter.checks if c.ok)]
        lines += [f"[red]✗ {c.name}: {c.detail}[/red]" for c in chapter.failed]
        out.add_row(chapter.title, f"{mark} {passed}/{len(chapter.checks)}" if chapter.checks else "—", "\n".join(x for x in lines if x))
    return out


def counts_table(counts: dict[str, Any]) -> Any:
    from rich.table import Table

    out = Table(title="localcloud", show_header=False)
    for key, value in counts.items():
        out.add_row(key.replace("_", " "), str(value))
    return out


def as_json(chapters: list[Chapter], *, counts: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Every chapter with its checks and facts; ``ok`` only when every check passed."""
    return {
        "ok": bool(chapters) and all(c.ok for c in chapters),
        "chapters": [{"title": c.title, "ok": c.ok, "headline": c.headline, "facts": c.facts,
                      "checks": [{"name": x.name, "ok": x.ok, "detail": x.detail} for x in c.checks]} for c in chapters],
        "counts": counts,
        **extra,
    }

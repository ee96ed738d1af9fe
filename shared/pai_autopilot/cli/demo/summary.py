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
    """A rich table: one row per check, grouped by chapter."""
    from rich.table import Table

    out = Table(title="what happened", show_lines=False)
    out.add_column("chapter", style="bold")
    out.add_column("check")
    out.add_column("", justify="center")
    out.add_column("evidence", overflow="fold", max_width=70)
    for chapter in chapters:
        for i, check in enumerate(chapter.checks):
            out.add_row(chapter.title if i == 0 else "", check.name,
                        "[green]✓[/green]" if check.ok else "[bold red]✗[/bold red]", check.detail)
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
        "chapters": [{"title": c.title, "ok": c.ok, "facts": c.facts,
                      "checks": [{"name": x.name, "ok": x.ok, "detail": x.detail} for x in c.checks]} for c in chapters],
        "counts": counts,
        **extra,
    }

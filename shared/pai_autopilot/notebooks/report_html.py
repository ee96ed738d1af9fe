"""The savings report as one self-contained HTML page (inline CSS, no script, no external asset).

Example
-------
>>> page = render_html({"since": "a", "until": "b", "currency": "CNY", "note": "estimates",
...     "totals": {"stops": 1, "hours": 2.0, "gpu_hours": 2.0, "cost": 64.0},
...     "instances": [], "owners": [], "through_weekend": [], "unpriced_specs": []})
>>> page.startswith("<!DOCTYPE html>"), "64.00 CNY" in page, "<script" in page, "http" in page
(True, True, False, False)
"""

from __future__ import annotations

from html import escape
from typing import Any

_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right}.note{color:#666;font-size:.9em}.big{font-size:1.2em}"""


def _money(value: Any, currency: str) -> str:
    return "n/a" if value is None else f"{value:,.2f} {currency}"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: dict[str, Any]) -> str:
    """The page for a :func:`~.report.savings_report` result."""
    cur = report["currency"]
    t = report["totals"]
    instances = [[i["instance_id"], i.get("name", ""), i["owner"], i.get("ecs_spec", ""), str(i["stops"]),
                  f"{i['hours']:.2f}", f"{i['gpu_hours']:.2f}", _money(i["cost"], cur)] for i in report["instances"]]
    owners = [[o["owner"], str(o["stops"]), f"{o['hours']:.2f}", f"{o['gpu_hours']:.2f}", _money(o["cost"], cur)]
              for o in report["owners"]]
    weekend = [[w["instance_id"], w.get("name", ""), w["owner"], w.get("ecs_spec", ""), ", ".join(w["weekends"]),
                "yes" if w["still_running"] else "no (stopped)"] for w in report["through_weekend"]]
    unpriced = ", ".join(report["unpriced_specs"]) or "none"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Notebook savings {escape(report['since'])} – {escape(report['until'])}</title>
<style>{_CSS}</style></head><body>
<h1>DSW notebook savings</h1>
<p>{escape(report['since'])} – {escape(report['until'])}</p>
<p class=big><b>{_money(t['cost'], cur)}</b> avoided · {t['gpu_hours']:.2f} GPU-hours · {t['hours']:.2f} instance-hours · {t['stops']} stops</p>
<h2>Per instance</h2>
{_table(["instance", "name", "owner", "spec", "stops", "hours", "GPU-hours", "cost avoided"], instances, {4, 5, 6, 7})}
<h2>Per owner</h2>
{_table(["owner", "stops", "hours", "GPU-hours", "cost avoided"], owners, {1, 2, 3, 4})}
<h2>Ran through a weekend</h2>
{_table(["instance", "name", "owner", "spec", "weekends", "still running"], weekend, set())}
<p class=note>Specs without a price: {escape(unpriced)}. {escape(report['note'])}</p>
</body></html>
"""

"""The timeline as one self-contained HTML page: a chart (SVG) of canary weight and error ratio over
time, and the events table. No external asset, script or font: it opens from a file or a chat link.

Pure: :func:`render_html` takes a :class:`~.timeline.Timeline` and returns the page. Each series is a
``<polyline id="series-…">`` whose points are also ``<circle class="point" data-series data-at
data-value>`` elements, so a reader (or a test) can check what the chart plots.

Example
-------
>>> from .timeline import Timeline, TimelineEvent
>>> e = [TimelineEvent(at=float(t), time="", source="rollout", entity="rollouts/demo/r", seq=i, state="progressing",
...                    summary="<step>", by="", correlation_id="c", canary_weight=w, error_ratio=r)
...      for i, (t, w, r) in enumerate([(0, 10, 0.001), (60, 30, 0.004), (120, 100, None)])]
>>> page = render_html(Timeline("demo", "v2", "c", tuple(e)))
>>> page.startswith("<!doctype html>"), "&lt;step&gt;" in page, "http://" in page.replace("http://www.w3.org/2000/svg", "")
(True, True, False)
>>> page.count('data-series="canary_weight"'), page.count('data-series="error_ratio"')
(3, 2)
"""

from __future__ import annotations

from html import escape
from typing import Any

from .timeline import Timeline

WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 72, 24, 48
WEIGHT_COLOUR = "#1f6feb"
ERROR_COLOUR = "#d1242f"
_SOURCE_COLOURS = {"training": "#eaf2ff", "rollout": "#fff4e5", "serving": "#eafbea", "notification": "#f3eefe"}

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px} .meta{color:#59636e;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin-top:16px} th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d1d9e0;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0} td.num{text-align:right;font-variant-numeric:tabular-nums} td.time{white-space:nowrap}
.legend span{display:inline-block;margin-right:16px} .swatch{display:inline-block;width:14px;height:4px;vertical-align:middle;margin-right:6px}
svg text{font:12px system-ui,sans-serif;fill:#59636e}
"""


def _scale(value: float, lo: float, hi: float, out_lo: float, out_hi: float) -> float:
    return out_lo + (value - lo) / (hi - lo) * (out_hi - out_lo) if hi != lo else (out_lo + out_hi) / 2


def _ratio_top(values: list[float]) -> float:
    """The right axis' top: the largest error ratio seen, rounded up to a readable step (at least 1 %)."""
    top = max(values, default=0.0)
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
        if top <= step:
            return step
    return top


def chart_svg(timeline: Timeline) -> str:
    """The SVG chart of the timeline's series (empty-state text when none was recorded)."""
    series = timeline.series()
    weight, ratio = series["canary_weight"], series["error_ratio"]
    times = [e.at for e in timeline.events]
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    t1 = t1 if t1 > t0 else t0 + 1
    x_lo, x_hi, y_lo, y_hi = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP
    ratio_top = _ratio_top([v for _, v in ratio])

    def x(t: float) -> float:
        return round(_scale(t, t0, t1, x_lo, x_hi), 1)

    def y_weight(v: float) -> float:
        return round(_scale(v, 0, 100, y_lo, y_hi), 1)

    def y_ratio(v: float) -> float:
        return round(_scale(min(v, ratio_top), 0, ratio_top, y_lo, y_hi), 1)

    parts = [f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="canary weight and error ratio over time">',
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>']
    for pct in (0, 25, 50, 75, 100):
        y = y_weight(pct)
        parts.append(f'<line x1="{x_lo}" y1="{y}" x2="{x_hi}" y2="{y}" stroke="#d1d9e0" stroke-width="1"/>')
        parts.append(f'<text x="{x_lo - 8}" y="{y + 4}" text-anchor="end">{pct}%</text>')
        parts.append(f'<text x="{x_hi + 8}" y="{y + 4}">{ratio_top * pct / 100:.2%}</text>')
    parts.append(f'<text x="{x_lo}" y="{HEIGHT - 16}">{escape(timeline.events[0].time if timeline.events else "")}</text>')
    parts.append(f'<text x="{x_hi}" y="{HEIGHT - 16}" text-anchor="end">{escape(timeline.events[-1].time if timeline.events else "")}</text>')
    parts.append(f'<text x="{x_lo - 48}" y="{TOP - 8}">weight</text><text x="{x_hi - 8}" y="{TOP - 8}">error ratio</text>')
    if weight:  # a step line: the weight holds until the next step
        steps: list[str] = []
        for i, (t, v) in enumerate(weight):
            if i:
                steps.append(f"{x(t)},{y_weight(weight[i - 1][1])}")
            steps.append(f"{x(t)},{y_weight(v)}")
        parts.append(f'<polyline id="series-canary-weight" fill="none" stroke="{WEIGHT_COLOUR}" stroke-width="3" '
                     f'points="{" ".join(steps)}"/>')
    if ratio:
        points = " ".join(f"{x(t)},{y_ratio(v)}" for t, v in ratio)
        parts.append(f'<polyline id="series-error-ratio" fill="none" stroke="{ERROR_COLOUR}" stroke-width="2" '
                     f'stroke-dasharray="6 3" points="{points}"/>')
    for name, values, colour, y in (("canary_weight", weight, WEIGHT_COLOUR, y_weight), ("error_ratio", ratio, ERROR_COLOUR, y_ratio)):
        for t, v in values:
            parts.append(f'<circle class="point" data-series="{name}" data-at="{t:.3f}" data-value="{v:.6g}" cx="{x(t)}" '
                         f'cy="{y(v)}" r="4" fill="{colour}"><title>{name} {v:g}</title></circle>')
    if not weight and not ratio:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no traffic step recorded yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell(value: Any, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}>{escape('' if value is None else str(value))}</td>"


def render_html(timeline: Timeline) -> str:
    """The whole page (see the module docstring)."""
    rows = []
    for e in timeline.events:
        ratio = "" if e.error_ratio is None else f"{e.error_ratio:.2%}"
        weight = "" if e.canary_weight is None else f"{e.canary_weight:g}%"
        values = ", ".join(f"{k}={v:g}" for k, v in e.values.items())
        rows.append(f'<tr style="background:{_SOURCE_COLOURS.get(e.source, "#ffffff")}">' + _cell(e.time, "time")
                    + _cell(e.source) + _cell(e.state) + _cell(weight, "num") + _cell(ratio, "num")
                    + _cell(e.summary + (f" [{values}]" if values else "")) + _cell(e.by) + _cell(e.job_id) + "</tr>")
    title = f"{timeline.pipeline} {timeline.version}: timeline"
    count = f"{len(timeline.events)} event" + ("" if len(timeline.events) == 1 else "s")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=\"meta\">correlation id <code>{escape(timeline.correlation_id)}</code> · {count}</p>"
        f'<p class="legend"><span><i class="swatch" style="background:{WEIGHT_COLOUR}"></i>canary weight (left axis)</span>'
        f'<span><i class="swatch" style="background:{ERROR_COLOUR}"></i>canary error ratio (right axis)</span></p>'
        f"{chart_svg(timeline)}"
        "<table id=\"events\"><thead><tr><th>Time (UTC)</th><th>Source</th><th>State</th><th>Weight</th><th>Errors</th>"
        "<th>What happened</th><th>By</th><th>Job</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></body></html>"
    )

"""Stacked bar charts as inline SVG, drawn on the server (no JavaScript library, no CDN)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 900, 180
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 24


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    for step in (10, 20, 40, 50):
        if value <= step:
            return step
    magnitude = 10 ** (len(str(value)) - 1)
    return ((value + magnitude - 1) // magnitude) * magnitude


def stacked_bars(data: dict[str, Any], *, title: str, label_every: int = 1,
                 label_format: str = "%H:%M") -> SafeString:
    hours = [datetime.fromisoformat(h) for h in data["hours"]]
    series = data["series"]
    n = len(hours)
    totals = [sum(s["counts"][i] for s in series) for i in range(n)]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(n, 1)
    bar = max(1.0, slot * 0.8)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bb-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>"
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
                     f'fill="#57606a">{top * fraction:g}</text>')
    for i, hour in enumerate(hours):
        x = LEFT + i * slot + (slot - bar) / 2
        y = TOP + plot_h
        details = [f"{hour:%Y-%m-%d %H:00} UTC"]
        for s in series:
            count = s["counts"][i]
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{escape(s["colour"])}" data-status="{escape(s["status"])}"/>'
            )
            details.append(f'{s["label"]}: {count}')
        if totals[i]:
            parts.append(f'<rect x="{LEFT + i * slot:.1f}" y="{TOP}" width="{slot:.1f}" '
                         f'height="{plot_h}" fill="transparent"><title>{escape(" · ".join(details))}'
                         f"</title></rect>")
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                         f'font-size="10" fill="#57606a">{hour.strftime(label_format)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def legend(data: dict[str, Any]) -> SafeString:
    items = []
    for s in data["series"]:
        total = sum(s["counts"])
        items.append(
            # An SVG swatch: its fill is a presentation attribute, which the Content-Security-Policy
            # allows (a style="background:…" attribute it refuses).
            f'<span class="bb-legend-item"><svg class="bb-swatch" viewBox="0 0 10 10" aria-hidden="true">'
            f'<rect width="10" height="10" rx="2" fill="{escape(s["colour"])}"/></svg>'
            f'{escape(s["label"])} ({total})</span>'
        )
    return mark_safe(" ".join(items))  # noqa: S308 - escaped above

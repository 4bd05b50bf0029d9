"""Small inline SVG charts for the morning report: no JavaScript, no fonts or scripts from a CDN.

Each chart scales to the width of its container (`viewBox` + `width:100%`), so the same SVG reads
on a phone and on a desktop. Colours come from CSS classes defined in the page, so the palette
lives in one place. Every mark carries a <title>, which browsers show on hover and screen readers
read out.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 640


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ceiling(value: float) -> float:
    """The smallest of 4, 8, 20, 40, 80, 200, … (four grid steps of 1, 2, 2.5 or 5 × 10^k) at or above value."""
    step = 1.0
    while True:
        for multiple in (1, 2, 2.5, 5):
            if 4 * step * multiple >= value:
                return 4 * step * multiple
        step *= 10


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    reference: tuple[str, float] | None = None,
    y_max: float = 100.0,
    y_suffix: str = "%",
    title: str,
) -> str:
    """Lines over categorical x labels. `series` holds (name, values, css class); None breaks a line.
    `reference` draws a dashed horizontal line (e.g. the national figure)."""
    height, left, right, top, bottom = 260, 52, 12, 12, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(max(v, 0.0), y_max) / y_max)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" class="chart">']
    for tick in range(0, int(y_max) + 1, max(round(y_max / 4), 1)):
        parts.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f"{tick}{y_suffix}</text>")
    step = max(1, n // 6)
    for i, label in enumerate(labels):
        # Every step-th label, and the last one unless it would crowd the one before it.
        if i % step == 0 or (i == n - 1 and i % step > step // 2):
            parts.append(f'<text class="axis" x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                         f"{escape(label)}</text>")
    if reference:
        name, value = reference
        parts.append(f'<line class="reference" x1="{left}" x2="{WIDTH - right}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}"><title>{escape(name)}: {_num(value)}{y_suffix}</title></line>')
        parts.append(f'<text class="reference-label" x="{WIDTH - right}" y="{y(value) - 5:.1f}" text-anchor="end">'
                     f"{escape(name)} {_num(value)}{y_suffix}</text>")
    for name, values, css in series:
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
            parts.append(f'<circle class="{css}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3">'
                         f"<title>{escape(name)} {escape(labels[i])}: {_num(v)}{y_suffix}</title></circle>")
        if segment:
            segments.append(segment)
        for seg in segments:
            parts.append(f'<polyline class="{css}" points="{" ".join(seg)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    rows: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[tuple[str, str]],
    *,
    title: str,
) -> str:
    """Horizontal stacked bars, one row per category (e.g. a team). `rows` holds (label, one value
    per series); `series` holds (name, css class). Each bar ends with its total."""
    bar, gap, label_w, right = 22, 10, 190, 48
    height = max(len(rows), 1) * (bar + gap) + gap
    plot_w = WIDTH - label_w - right
    biggest = max((sum(values) for _, values in rows), default=0) or 1
    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" class="chart">']
    for r, (label, values) in enumerate(rows):
        top = gap + r * (bar + gap)
        shown = label if len(label) <= 20 else label[:19] + "…"  # the full name is in the bar's title
        parts.append(f'<text class="label" x="{label_w - 6}" y="{top + bar * 0.7:.1f}" text-anchor="end">'
                     f"{escape(shown)}</text>")
        offset = 0.0
        for (name, css), value in zip(series, values, strict=True):
            if not value:
                continue
            w = plot_w * value / biggest
            parts.append(f'<rect class="{css}" x="{label_w + offset:.1f}" y="{top}" width="{w:.1f}" height="{bar}">'
                         f"<title>{escape(label)} — {escape(name)}: {value}</title></rect>")
            offset += w
        parts.append(f'<text class="total" x="{label_w + offset + 4:.1f}" y="{top + bar * 0.7:.1f}">'
                     f"{sum(values)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def legend(series: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<span><i class="swatch {css}"></i>{escape(name)}</span>' for name, css in series)
    return f'<p class="legend">{items}</p>'

"""Small hand-built SVG charts (no plotting library, no scripts): bars, a histogram whose
bins start at the cut-offs, and stacked bars over time. Labelled axes with ticks; colours
passed in (the page takes them from the ontology's gm:priority). Every text is escaped."""

from __future__ import annotations

import math
from bisect import bisect_right
from html import escape
from itertools import pairwise

WIDTH = 720
FONT = 'font-family="sans-serif" font-size="12"'
PALETTE = ("#4477aa", "#66ccee", "#228833", "#ccbb44", "#aa3377", "#bbbbbb")
PRIORITY_COLOURS = {"urgent": ("#7a271a", "#b42318"), "alert": ("#d92d20", "#912018"), "caution": ("#f5a524", "#b54708"),
                    "reassuring": ("#12b76a", "#05603a"), "neutral": ("#98a2b3", "#475467")}
"""The explanation page's priority colours (urgent, alert: red; caution: amber; reassuring:
green; neutral: grey), each in two shades for two categories of the same priority."""
EQUAL_GOES_RIGHT = {"<": True, ">=": True, "<=": False, ">": False}
"""Where a value equal to a cut-off belongs: x < 180 is the band below, so 180 itself is not."""


def colour(priority: str | None, index: int = 0, nth: int = 0) -> str:
    """The colour of a priority (its `nth` shade), else the palette's `index`th colour."""
    shades = PRIORITY_COLOURS.get(priority or "")
    return shades[nth % len(shades)] if shades else PALETTE[index % len(PALETTE)]


def priority_colours(priorities: dict[str, str]) -> dict[str, str]:
    """A colour for each category from its priority; a second category of the same priority gets the other shade."""
    seen: dict[str, int] = {}
    out = {}
    for index, (category, priority) in enumerate(priorities.items()):
        out[category] = colour(priority, index, seen.get(priority, 0))
        seen[priority] = seen.get(priority, 0) + 1
    return out


def ticks(top: float, wanted: int = 5) -> list[float]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / wanted
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1 and float(top).is_integer():
        step = 1.0
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _svg(height: int, title: str, body: list[str], kind: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-label="{escape(title)}" data-chart="{escape(kind)}" {FONT}>'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _legend(items: list[tuple[str, str]], left: int, y: int) -> list[str]:
    out, x = [], left
    for name, fill in items:
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{fill}"/>'
                   f'<text x="{x + 18}" y="{y + 11}">{escape(name)}</text>')
        x += 30 + 7 * len(name)
    return out


def _y_axis(left: int, right: int, top_pad: int, plot_h: float, top: float, label: str) -> list[str]:
    """Gridlines with their values, and the axis's label written upwards."""
    marks = ticks(top)
    scale = marks[-1]
    out = [f'<text x="14" y="{top_pad + plot_h / 2:.1f}" text-anchor="middle" '
           f'transform="rotate(-90 14 {top_pad + plot_h / 2:.1f})">{escape(label)}</text>']
    for value in marks:
        y = top_pad + plot_h - plot_h * value / scale
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#e4e7ec"/>'
                   f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    return out


def horizontal_bars(title: str, items: list[tuple[str, int, str]], axis_label: str) -> str:
    """One bar per (label, count, fill), length proportional to the count, with the count written after it."""
    row, left, right = 26, 230, 60
    height = max(1, len(items)) * row + 44
    top = ticks(max([n for _, n, _ in items] or [1]))[-1]
    plot_w = WIDTH - left - right
    body = [f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">{escape(axis_label)}</text>']
    for value in ticks(top):
        x = left + plot_w * value / top
        body.append(f'<line class="grid" x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{height - 34}" stroke="#e4e7ec"/>'
                    f'<text class="tick" x="{x:.1f}" y="{height - 20}" text-anchor="middle">{value:g}</text>')
    for i, (label, count, fill) in enumerate(items):
        y = 6 + i * row
        width = plot_w * count / top
        body.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
                    f'<rect class="bar" data-label="{escape(label)}" data-value="{count}" x="{left}" y="{y + 3}" '
                    f'width="{width:.1f}" height="{row - 8}" fill="{fill}"><title>{escape(label)}: {count}</title></rect>'
                    f'<text x="{left + width + 6:.1f}" y="{y + 16}">{count}</text>')
    if not items:
        body.append(f'<text x="{WIDTH / 2}" y="20" text-anchor="middle">none</text>')
    return _svg(height, title, body, "bars")


def bin_edges(cut_offs: list[float], upper: float, width: float) -> list[float]:
    """Edges from 0 to `upper`, every cut-off one of them, bins about `width` wide in between."""
    stops = sorted({0.0, *(c for c in cut_offs if 0 < c < upper), float(upper)})
    edges = [stops[0]]
    for low, high in pairwise(stops):
        parts = max(1, round((high - low) / width))
        edges += [low + (high - low) * k / parts for k in range(1, parts + 1)]
    return edges


def bin_of(value: float, edges: list[float], cut_offs: dict[float, str]) -> int:
    """The bin of a value: [edge, next edge), except that a value equal to a cut-off goes to
    the side its comparator puts it on; the last bin is open ('and above')."""
    index = bisect_right(edges, value) - 1
    if value in cut_offs and not EQUAL_GOES_RIGHT.get(cut_offs[value], True):
        index -= 1
    return min(len(edges) - 2, max(0, index))


def histogram(title: str, values: list[tuple[float, str]], cut_offs: list[tuple[float, str, str]], axis_label: str,
              colours: dict[str, str], width: float = 25.0, upper: float | None = None) -> str:
    """Counts of (value, category) in bins that start at the cut-offs (value, comparator,
    label: a dashed line each), each bar stacked by category in the order of `colours`; the
    last bin holds everything from its lower edge up."""
    limit = upper or max([*(c for c, _, _ in cut_offs), *(v for v, _ in values), width]) + width
    edges = bin_edges([c for c, _, _ in cut_offs], limit, width)
    comparators = {c: comparator for c, comparator, _ in cut_offs}
    order = list(colours) + sorted({c for _, c in values} - set(colours))
    counts = [dict.fromkeys(order, 0) for _ in edges[:-1]]
    for value, category in values:
        counts[bin_of(value, edges, comparators)][category] += 1
    left, right, bottom, top_pad, height = 60, 20, 54, 44, 330
    plot_w, plot_h = WIDTH - left - right, height - bottom - top_pad
    top = ticks(max([sum(c.values()) for c in counts] or [1]) or 1)[-1]
    x_of = lambda v: left + plot_w * (v - edges[0]) / (edges[-1] - edges[0])  # noqa: E731
    body = [*_y_axis(left, right, top_pad, plot_h, top, "patients"),
            f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - right}" y2="{height - bottom}" stroke="#333"/>',
            f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">{escape(axis_label)}</text>',
            *_legend([(c, colours.get(c, PALETTE[i % len(PALETTE)])) for i, c in enumerate(order)
                      if any(b[c] for b in counts)], left, 4)]
    for i, by_category in enumerate(counts):
        low, high = edges[i], edges[i + 1]
        label = f"{low:.0f}-{high:.0f}" if i < len(counts) - 1 else f"{low:.0f} and above"
        total = sum(by_category.values())
        x, w = x_of(low), x_of(high) - x_of(low)
        parts, base = [], height - bottom
        for j, category in enumerate(order):
            n = by_category[category]
            if not n:
                continue
            h = plot_h * n / top
            base -= h
            parts.append(f'<rect class="part" data-category="{escape(category)}" data-value="{n}" x="{x + 1:.1f}" '
                         f'y="{base:.1f}" width="{max(w - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{colours.get(category, PALETTE[j % len(PALETTE)])}">'
                         f"<title>{escape(label)}: {n} {escape(category)}</title></rect>")
        body.append(f'<g class="bin" data-range="{escape(label)}" data-value="{total}">{"".join(parts)}</g>')
    cuts = [c for c, _, _ in cut_offs]
    labelled: list[float] = []  # the cut-offs, then round values where there is room
    for value in [*cuts, *ticks(edges[-1], 8)]:
        if value not in labelled and value <= edges[-1] and (value in cuts or all(abs(x_of(value) - x_of(done)) >= 30 for done in labelled)):
            labelled.append(value)
            body.append(f'<text class="tick" x="{x_of(value):.1f}" y="{height - bottom + 14}" text-anchor="middle">{value:g}</text>')
    for value, _, label in cut_offs:
        x = x_of(value)
        body.append(f'<line class="cut-off" data-value="{value:g}" x1="{x:.1f}" y1="{top_pad - 6}" x2="{x:.1f}" '
                    f'y2="{height - bottom}" stroke="#000" stroke-dasharray="5,3"/>'
                    f'<text x="{x + 4:.1f}" y="{top_pad + 6}">{escape(label)}</text>')
    return _svg(height, title, body, "histogram")


def stacked_bars(title: str, labels: list[str], series: list[tuple[str, list[int], str]], axis_label: str) -> str:
    """One bar per label (e.g. a month) made of the series stacked from the bottom (name, values, fill)."""
    left, right, bottom, top_pad, height = 60, 20, 50, 36, 300
    plot_w, plot_h = WIDTH - left - right, height - bottom - top_pad
    totals = [sum(values[i] for _, values, _ in series) for i in range(len(labels))]
    top = ticks(max(totals or [1]) or 1)[-1]
    group = plot_w / max(1, len(labels))
    body = [*_y_axis(left, right, top_pad, plot_h, top, axis_label),
            f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - right}" y2="{height - bottom}" stroke="#333"/>',
            *_legend([(name, fill) for name, _, fill in series], left, 6)]
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        x, base = left + i * group, height - bottom
        for name, values, fill in series:
            h = plot_h * values[i] / top
            base -= h
            body.append(f'<rect class="bar" data-series="{escape(name)}" data-label="{escape(label)}" data-value="{values[i]}" '
                        f'x="{x + group * 0.15:.1f}" y="{base:.1f}" width="{group * 0.7:.1f}" height="{h:.1f}" fill="{fill}">'
                        f"<title>{escape(label)}: {values[i]} {escape(name)}</title></rect>")
        if i % every == 0:
            body.append(f'<text class="tick" x="{x + group / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                        f"{escape(label)}</text>")
    if not labels:
        body.append(f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">none</text>')
    return _svg(height, title, body, "stacked-bars")

"""Small hand-built SVG charts (no plotting library, no scripts): bars, a histogram with
marked cut-offs, and grouped bars over time. Every text is escaped."""

from __future__ import annotations

from html import escape

WIDTH = 720
FONT = 'font-family="sans-serif" font-size="12"'
COLOURS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def _svg(height: int, title: str, body: list[str], kind: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-label="{escape(title)}" data-chart="{escape(kind)}" {FONT}>'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def horizontal_bars(title: str, items: list[tuple[str, int]]) -> str:
    """One bar per label, length proportional to the count."""
    row, left, right = 24, 190, 60
    height = max(1, len(items)) * row + 20
    top = max([n for _, n in items] or [1]) or 1
    body = []
    for i, (label, count) in enumerate(items):
        y = 10 + i * row
        width = (WIDTH - left - right) * count / top
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
                    f'<rect class="bar" data-label="{escape(label)}" data-value="{count}" x="{left}" y="{y + 3}" '
                    f'width="{width:.1f}" height="{row - 6}" fill="{COLOURS[i % len(COLOURS)]}"/>'
                    f'<text x="{left + width + 6:.1f}" y="{y + 15}">{count}</text>')
    if not items:
        body.append(f'<text x="{WIDTH / 2}" y="20" text-anchor="middle">none</text>')
    return _svg(height, title, body, "bars")


def histogram(title: str, values: list[float], cut_offs: list[tuple[float, str]], unit: str, bin_width: float = 25.0,
              upper: float | None = None) -> str:
    """Counts of `values` in bins of `bin_width`, the last bin open ('and above'), with a
    dashed vertical line and label at each cut-off; bins coloured by the band they fall in."""
    limit = upper if upper is not None else max([*(c for c, _ in cut_offs), *values, bin_width]) + bin_width
    bins = max(1, int(limit // bin_width) + 1)
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int(value // bin_width)))] += 1
    left, bottom, top_pad, height = 50, 40, 30, 300
    plot_w, plot_h = WIDTH - left - 20, height - bottom - top_pad
    top = max(counts) or 1
    step = plot_w / bins
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 20}" y2="{height - bottom}" stroke="#333"/>',
            f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
            f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top}</text>',
            f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>',
            f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">{escape(unit)}</text>']
    edges = sorted(c for c, _ in cut_offs)
    for i, count in enumerate(counts):
        band = sum(1 for edge in edges if i * bin_width >= edge)
        h = plot_h * count / top
        x = left + i * step
        label = f"{i * bin_width:g}-{(i + 1) * bin_width:g}" if i < bins - 1 else f"{i * bin_width:g} and above"
        body.append(f'<rect class="bin" data-range="{label}" data-value="{count}" x="{x + 1:.1f}" y="{height - bottom - h:.1f}" '
                    f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{COLOURS[band % len(COLOURS)]}">'
                    f"<title>{escape(label)} {escape(unit)}: {count}</title></rect>")
    for i in range(0, bins, max(1, bins // 8)):
        body.append(f'<text x="{left + i * step:.1f}" y="{height - bottom + 14}" text-anchor="middle">{i * bin_width:g}</text>')
    for value, label in cut_offs:
        x = left + plot_w * value / (bins * bin_width)
        body.append(f'<line class="cut-off" data-value="{value:g}" x1="{x:.1f}" y1="{top_pad - 10}" x2="{x:.1f}" '
                    f'y2="{height - bottom}" stroke="#000" stroke-dasharray="5,3"/>'
                    f'<text x="{x + 4:.1f}" y="{top_pad - 12}">{escape(label)}</text>')
    return _svg(height, title, body, "histogram")


def grouped_bars(title: str, labels: list[str], series: list[tuple[str, list[int]]]) -> str:
    """Bars per label (e.g. month), one per series side by side, with a legend."""
    left, bottom, top_pad, height = 50, 50, 40, 300
    plot_w, plot_h = WIDTH - left - 20, height - bottom - top_pad
    top = max([v for _, values in series for v in values] or [1]) or 1
    group = plot_w / max(1, len(labels))
    bar = group / (len(series) + 1)
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 20}" y2="{height - bottom}" stroke="#333"/>',
            f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top}</text>',
            f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>']
    for s, (name, _) in enumerate(series):
        body.append(f'<rect x="{left + s * 150}" y="8" width="12" height="12" fill="{COLOURS[s]}"/>'
                    f'<text x="{left + s * 150 + 18}" y="18">{escape(name)}</text>')
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        x = left + i * group
        for s, (name, values) in enumerate(series):
            h = plot_h * values[i] / top
            body.append(f'<rect class="bar" data-series="{escape(name)}" data-label="{escape(label)}" data-value="{values[i]}" '
                        f'x="{x + s * bar + bar / 2:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                        f'fill="{COLOURS[s]}"><title>{escape(label)} {escape(name)}: {values[i]}</title></rect>')
        if i % every == 0:
            body.append(f'<text x="{x + group / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">{escape(label)}</text>')
    if not labels:
        body.append(f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">none</text>')
    return _svg(height, title, body, "grouped-bars")

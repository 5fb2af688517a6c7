"""A small SVG line chart (no plotting dependency): memory and cost against patients done.

Written by `python -m benchmarks.run --plots DIR` for each cohort, so that flat memory
and flat cost over a long run can be seen rather than read.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 260, 70, 230, 30, 45


def _panel(title: str, unit: str, series: list[tuple[str, list[tuple[float, float]]]], y_offset: int) -> list[str]:
    points = [p for _, line in series for p in line]
    if not points:
        return []
    x_max = max(x for x, _ in points) or 1
    y_max = max(y for _, y in points) * 1.15 or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(x: float, y: float) -> str:
        return f"{LEFT + plot_w * x / x_max:.1f},{y_offset + TOP + plot_h * (1 - y / y_max):.1f}"

    out = [f'<text x="{LEFT}" y="{y_offset + 18}" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{LEFT}" y1="{y_offset + TOP + plot_h}" x2="{LEFT + plot_w}" y2="{y_offset + TOP + plot_h}" stroke="#333"/>',
           f'<line x1="{LEFT}" y1="{y_offset + TOP}" x2="{LEFT}" y2="{y_offset + TOP + plot_h}" stroke="#333"/>']
    for i in range(5):
        y = y_max * i / 4
        out.append(f'<text x="{LEFT - 6}" y="{y_offset + TOP + plot_h * (1 - i / 4) + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{y:,.0f}</text>')
        x = x_max * i / 4
        out.append(f'<text x="{LEFT + plot_w * i / 4:.1f}" y="{y_offset + TOP + plot_h + 16}" font-size="11" '
                   f'text-anchor="middle">{x:,.0f}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{y_offset + HEIGHT - 8}" font-size="12" text-anchor="middle">patients assessed</text>')
    out.append(f'<text x="14" y="{y_offset + TOP + plot_h / 2}" font-size="12" transform="rotate(-90 14 '
               f'{y_offset + TOP + plot_h / 2})" text-anchor="middle">{escape(unit)}</text>')
    for index, (name, line) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{" ".join(at(x, y) for x, y in line)}"/>')
        out.append(f'<text x="{WIDTH - RIGHT + 10}" y="{y_offset + TOP + 14 + 16 * index}" font-size="11" fill="{colour}">'
                   f'{escape(name)}</text>')
    return out


def write_svg(path: Path, title: str, memory: list[tuple[str, list[tuple[float, float]]]],
              cost: list[tuple[str, list[tuple[float, float]]]]) -> None:
    """Two panels: RSS (MiB) against patients done, and CPU ms per patient for each part of the run."""
    body = [f'<text x="{LEFT}" y="18" font-size="15">{escape(title)}</text>']
    body += _panel("Resident memory of the run (all processes)", "MiB", memory, 20)
    body += _panel("CPU per patient, by tenth of the cohort", "CPU ms per patient", cost, 20 + HEIGHT)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{2 * HEIGHT + 30}" '
           f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>{"".join(body)}</svg>\n')
    path.write_text(svg, encoding="utf-8")

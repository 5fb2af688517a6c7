"""The explanation as plain text: headings underlined, fields indented, quotes in quotation marks."""

from __future__ import annotations

from .lines import Style, walk
from .model import Explanation


def _heading(level: int, text: str) -> list[str]:
    return [text, {1: "=", 2: "-", 3: "~"}[level] * len(text)]


TEXT = Style(
    esc=str, code=str, heading=_heading,
    field=lambda label, value: f"  {label}: {value}",
    item=lambda text: f"    - {text}",
    quote=lambda text, source: [f'    "{text}"', f"      ({source})"],
    subheading=lambda text: [f"  {text}:"])


def to_text(x: Explanation) -> str:
    return walk(x, TEXT)

"""The explanation as Markdown: every string from the data escaped so it cannot become markup."""

from __future__ import annotations

import re

from .lines import Style, walk
from .model import Explanation


def escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>|#!])", r"\\\1", text)


MARKDOWN = Style(
    esc=escape, code=lambda s: f"`{s}`", heading=lambda level, text: ["#" * level + " " + text, ""],
    field=lambda label, value: f"- **{label}:** {value}",
    item=lambda text: f"- {text}",
    quote=lambda text, source: [f"> {text}", ">", f"> — {source}", ""],
    subheading=lambda text: ["", f"**{text}**", ""])


def to_markdown(x: Explanation) -> str:
    return walk(x, MARKDOWN)

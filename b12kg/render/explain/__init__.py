"""The reviewer-facing explanation of one assessment: plain text, Markdown or one HTML page.

Conclusion by conclusion it shows what was concluded; the rule that derived it; the guideline
statements it rests on, quoted verbatim with citation and evidence level; the patient facts
used (values and units as recorded and canonical, dates, ids, the record's own names); the
thresholds compared; what is missing; the follow-up's on-treatment results; the population and
the record it rests on; the other guidelines and their interactions; the data quality notes;
and the facts set aside or not read. The model (model.py) is gathered from the assessment's view
of its chunk's store (gather.py, guidelines.py); text.py, markdown.py and html.py render it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...errors import printable
from .gather import explain
from .html import to_html
from .markdown import to_markdown
from .model import Explanation
from .text import to_text

if TYPE_CHECKING:
    from ...dataset import PatientView
    from ...knowledge import Knowledge

__all__ = ["FORMATS", "Explanation", "explain", "render"]

FORMATS = ("text", "markdown", "html")
_RENDERERS: dict[str, Callable[[Explanation], str]] = {"text": to_text, "markdown": to_markdown, "html": to_html}


def render(view: PatientView, knowledge: Knowledge, fmt: str) -> str:
    """The explanation of one assessment as text, markdown or html."""
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown explanation format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return _only_safe_characters(_RENDERERS[fmt](explain(view, knowledge)))


def _only_safe_characters(text: str) -> str:
    """A backstop over the whole rendering: every character that is neither printable nor a
    line break is shown as its escape, whatever part of the page it came from."""
    return "\n".join(printable(line, None) for line in text.split("\n"))

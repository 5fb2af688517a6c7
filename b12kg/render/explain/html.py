"""The explanation as one self-contained HTML page: Jinja2 templates (templates/*.j2, autoescaped)
and one style sheet (explain.css) inlined; no script, no external asset, links only within the page."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2
from markupsafe import Markup

from . import words
from .model import Explanation
from .rows import slug

_PACKAGE = __package__ or "b12kg.render.explain"


@cache
def _environment() -> jinja2.Environment:
    """The templates and the style sheet, read once from the package (importlib.resources)."""
    folder = files(_PACKAGE).joinpath("templates")
    sources = {item.name: item.read_text(encoding="utf-8") for item in folder.iterdir() if item.name.endswith(".j2")}
    env = jinja2.Environment(loader=jinja2.DictLoader(sources), autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["slug"] = slug
    env.globals["words"] = words
    env.globals["css"] = Markup(folder.joinpath("explain.css").read_text(encoding="utf-8"))  # package data, not patient data
    return env


def to_html(x: Explanation) -> str:
    return _environment().get_template("page.html.j2").render(x=x, h=x.header)

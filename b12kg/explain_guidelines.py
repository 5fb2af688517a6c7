"""The explanation's section on other guidelines (contract section 8): what each companion
guideline concluded, with its own evidence, and every interaction between guidelines with
both statements side by side, the thresholds compared and the resolution.

Built from the assessment's JSON (`guidelines`, `interactions`), so the explanation and
the contract output cannot disagree; appended to the text, Markdown and HTML pages made by
b12kg.explain.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from .errors import printable
from .knowledge import Knowledge
from .render.guidelines import split

TYPE_TITLES = {"contradiction": "Contradiction", "repetition": "Repetition", "alternative-actions": "Alternative actions",
               "repairable-transition": "Repairable transition (side effect)"}
HEADING = "Other guidelines and their interactions"


def is_primary(rule: str, knowledge: Knowledge) -> bool:
    """Whether a conclusion derived by `rule` belongs to the primary guideline's part of the page."""
    primary, _ = split([{"rule": rule}], knowledge)
    return bool(primary)


def _one_line(text: object) -> str:
    return printable(str(text), None)


def _short(guidelines: dict[str, dict], iri: str | None) -> str:
    if iri is None:
        return "(no guideline)"
    g = guidelines.get(iri)
    return f"{g['title']} ({g['version']})" if g else iri


def _level(entry: dict) -> str:
    return f"; level {entry['level']}" if entry.get("level") else "; no grade given"


def _threshold_line(t: dict, guidelines: dict[str, dict]) -> str:
    value = f"{t['fact_value']} {t['unit']}" if t.get("fact_value") else t["fact"]
    verdict = "meets" if t["meets"] else "does not meet"
    return (f"{t['fact']} ({value}) {verdict} {t['comparator']} {t['value']} {t['unit']}: {t['threshold']} "
            f"[{_short(guidelines, t.get('guideline'))}]")


def _text_lines(document: dict, markdown: bool) -> list[str]:
    guidelines = {g["id"]: g for g in document.get("guidelines", [])}
    h2, h3 = ("## ", "### ") if markdown else ("", "")
    item = "- " if markdown else "  - "
    quote = "> " if markdown else "      "
    lines = ["", h2 + HEADING, "" if markdown else "=" * len(HEADING)]
    lines.append("Guidelines applied: " + "; ".join(
        _short(guidelines, g["id"]) + (" (primary)" if g.get("primary") else "") for g in document.get("guidelines", [])))
    for g in document.get("guidelines", []):
        if g.get("primary"):
            continue
        lines += ["", f"{h3}{_short(guidelines, g['id'])}"]
        if not g.get("conclusions"):
            lines.append("Nothing concluded for this patient.")
        for c in g.get("conclusions", []):
            lines.append(f"{item}{c.get('text') or 'Finding'} [{c['code']}]; based on {', '.join(c['based_on']) or 'no fact'}")
            lines += [f"{quote}\"{e['statement']}\" ({e['citation']}{_level(e)})" for e in c["evidence"]]
    lines += ["", f"{h3}Interactions between guidelines"]
    if not document.get("interactions"):
        lines.append("None found: no recommendations of different guidelines meet for this patient.")
    for number, ix in enumerate(document.get("interactions", []), 1):
        lines += ["", f"{number}. {TYPE_TITLES.get(ix['type'], ix['type'])}: {ix['resolution']}"]
        for role, title in (("recommendation", "Recommendations that meet"), ("resolution", "The resolution rests on")):
            entries = [r for r in ix["recommendations"] if r.get("role", "recommendation") == role]
            if entries:
                lines.append(f"{item}{title}:")
                for r in entries:
                    lines.append(f"{quote}{_short(guidelines, r['guideline'])}: \"{r['statement']}\" ({r['citation']}{_level(r)})")
        if ix.get("thresholds"):
            lines.append(f"{item}Thresholds compared:")
            lines += [f"{quote}{_threshold_line(t, guidelines)}" for t in ix["thresholds"]]
        lines.append(f"{item}Based on: {', '.join(ix['based_on']) or 'no fact'}")
    return [_one_line(line) for line in lines]


def text_section(document: dict) -> str:
    return "\n".join(_text_lines(document, markdown=False)) + "\n"


def markdown_section(document: dict) -> str:
    return "\n".join(_text_lines(document, markdown=True)) + "\n"


CSS = """
section.guidelines .side-by-side { display:grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap:.8rem; }
section.guidelines .side-by-side > div { border:1px solid var(--line); border-radius:8px; padding:.5rem .8rem; background:#fafcff; }
section.guidelines .resolution { border-left:4px solid var(--green); background:var(--green-bg); padding:.6rem 1rem;
                                 border-radius:0 8px 8px 0; margin:.6rem 0; }
section.guidelines article.interaction-contradiction { border-left:6px solid var(--red); }
section.guidelines article.interaction-repairable-transition { border-left:6px solid #f5a524; }
"""


def _e(text: object) -> str:
    return html.escape(_one_line(text))


def _html_statement(r: dict, guidelines: dict[str, dict]) -> str:
    return (f"<div><p class=\"type\">{_e(_short(guidelines, r['guideline']))}</p><blockquote>{_e(r['statement'])}"
            f"<footer>{_e(r['citation'])}{_e(_level(r))}</footer></blockquote></div>")


def html_section(document: dict) -> str:
    guidelines = {g["id"]: g for g in document.get("guidelines", [])}
    parts = [f'<section class="guidelines" id="other-guidelines"><h2>{_e(HEADING)}</h2>',
             "<p>Guidelines applied: " + "; ".join(_e(_short(guidelines, g["id"])) + (" (primary)" if g.get("primary") else "")
                                                   for g in document.get("guidelines", [])) + "</p>"]
    for g in document.get("guidelines", []):
        if g.get("primary"):
            continue
        parts.append(f"<article><header><h3>{_e(_short(guidelines, g['id']))}</h3></header>")
        if not g.get("conclusions"):
            parts.append('<p class="none">Nothing concluded for this patient.</p>')
        for c in g.get("conclusions", []):
            parts.append(f"<p class=\"lead\">{_e(c.get('text') or 'Finding')} <code>{_e(c['code'])}</code></p>"
                         f"<p class=\"note\">Based on: {_e(', '.join(c['based_on']) or 'no fact')}</p>")
            parts += [f"<blockquote>{_e(ev['statement'])}<footer>{_e(ev['citation'])}{_e(_level(ev))}</footer></blockquote>"
                      for ev in c["evidence"]]
        parts.append("</article>")
    parts.append("<h3>Interactions between guidelines</h3>")
    if not document.get("interactions"):
        parts.append('<p class="none">None found: no recommendations of different guidelines meet for this patient.</p>')
    for number, ix in enumerate(document.get("interactions", []), 1):
        slug = "".join(ch if ch.isalnum() else "-" for ch in ix["type"])
        parts.append(f'<article class="interaction-{slug}" id="interaction-{number}"><header><h3>{number}. '
                     f"{_e(TYPE_TITLES.get(ix['type'], ix['type']))}</h3><span class=\"badge\">{_e(ix['type'])}</span></header>")
        parts.append(f'<p class="resolution"><strong>Resolution:</strong> {_e(ix["resolution"])}</p>')
        for role, title in (("recommendation", "Recommendations that meet"), ("resolution", "The resolution rests on")):
            entries = [r for r in ix["recommendations"] if r.get("role", "recommendation") == role]
            if entries:
                parts.append(f"<h4>{_e(title)}</h4><div class=\"side-by-side\">"
                             + "".join(_html_statement(r, guidelines) for r in entries) + "</div>")
        if ix.get("thresholds"):
            parts.append("<h4>Thresholds compared</h4><ul>" + "".join(f"<li>{_e(_threshold_line(t, guidelines))}</li>"
                                                                       for t in ix["thresholds"]) + "</ul>")
        parts.append(f"<p class=\"note\">Based on: {_e(', '.join(ix['based_on']) or 'no fact')}</p></article>")
    parts.append("</section>")
    return "".join(parts)


def _add_html(page: str, document: dict) -> str:
    page = page.replace("</style>", CSS + "</style>", 1)
    return page.replace("</main>", html_section(document) + "</main>", 1)


_SECTIONS: dict[str, Callable[[str, dict], str]] = {
    "text": lambda page, doc: page + text_section(doc),
    "markdown": lambda page, doc: page + markdown_section(doc),
    "html": _add_html,
}


def add_section(page: str, document: dict, fmt: str) -> str:
    """The page with the other-guidelines section added (nothing when only one guideline is loaded)."""
    if len(document.get("guidelines", [])) < 2 and not document.get("interactions"):
        return page
    return _SECTIONS[fmt](page, document)

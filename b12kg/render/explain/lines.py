"""The line-oriented renderings (text and Markdown): one walk over the explanation model, with a
Style saying how headings, fields, list items and quotes are written."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import words
from .model import Check, Conclusion, Explanation, Fact, Guideline, Header, Statement


@dataclass(frozen=True)
class Style:
    """How a line-oriented rendering marks headings, fields, lists and quotes."""

    esc: Callable[[str], str]
    code: Callable[[str], str]
    heading: Callable[[int, str], list[str]]
    field: Callable[[str, str], str]
    item: Callable[[str], str]
    quote: Callable[[str, str], list[str]]
    subheading: Callable[[str], list[str]]


def _header(h: Header, s: Style) -> list[str]:
    return [
        *s.heading(1, f"{s.esc(h.short_title)} assessment: explanation for patient {s.esc(h.patient)}"),
        s.field("Patient", s.esc(h.patient)),
        s.field("As of", h.as_of),
        s.field("Guideline", f"{h.guideline_title} ({s.code(h.guideline)}), version {h.guideline_version}"),
        s.field("Ontology versions", ", ".join(s.code(v) for v in h.ontology_versions)),
        s.field("Software", h.software),
        s.field("Reasoner", h.reasoner),
        s.field("Input file", s.esc(h.input_file)),
        s.field("Input SHA-256", s.code(h.input_sha256)),
        s.field("Assessed at", h.started),
        "",
    ]


def _fact_line(fact: Fact, s: Style, with_name: bool = True) -> str:
    described = "; ".join(s.esc(value) if label in words.SELF_LABELLED else f"{label} {s.esc(value)}"
                          for label, value in words.columns(fact))
    if not with_name:
        return described
    kind = f" ({s.esc(fact.resource_type)})" if fact.resource_type else ""
    return f"{s.esc(fact.name)}{kind}: {described}"


def _check(c: Check, s: Style) -> str:
    return f"{s.esc(c.fact.name)} {s.esc(words.canonical(c.fact))}: {'met' if c.meets else 'not met'}"


def _due(c: Conclusion) -> str:
    return f"{c.due}{', ' + words.OVERDUE if c.overdue else ''}"


def _summary(x: Explanation, s: Style) -> list[str]:
    lines = s.heading(2, "Summary")
    for section in x.kinds:
        found = x.of_kind(section.anchor.removeprefix("section-"))
        described = [c.code + (f" ({c.reported_label} {c.reported})" if c.reported else "")
                     + (f", due {c.due}{' (overdue)' if c.overdue else ''}" if c.due else "")
                     + (f" [{words.SAFETY.lower()}]" if c.safety else "") for c in found]
        lines.append(s.field(section.title, ", ".join(described) or "none"))
    missing = x.missing()
    lines.append(s.field("What is missing", "nothing recorded" if not missing else "; ".join(
        f"{text} (would change {', '.join(c.title for c in found)})" for text, found in missing.items())))
    return [*lines, ""]


def _quote(st: Statement, s: Style) -> list[str]:
    source = f"citation {st.citation}, {st.level_text}" + (f", section {st.section}" if st.section else "")
    return s.quote(st.text, source) + ([s.item(f"Note: {st.note}")] if st.note else [])


def _conclusion(c: Conclusion, s: Style) -> list[str]:
    rule = c.rule
    lines = [*s.heading(3, f"{c.kind_label}: {c.code}"), s.field("Concluded", c.headline)]
    if c.safety:
        lines.append(s.field(words.SAFETY, "yes: it reaches every living patient whose condition it concerns"))
    if c.label and c.text:
        lines.append(s.field("Concerns", c.label))
    if c.reported:
        lines.append(s.field(c.reported_title, c.reported))
    if c.due:
        lines.append(s.field("Due", f"{_due(c)} (measure: {', '.join(c.measures)})"))
    lines.append(s.field("Rule", f"{rule.label} ({s.code(rule.iri)}), query {s.code(rule.query or 'none')}"))
    if rule.note:
        lines.append(s.field("Rule note", rule.note))
    lines += s.subheading("Guideline evidence")
    for st in c.statements:
        lines += _quote(st, s)
    lines += s.subheading("Patient facts used")
    lines += [s.item(_fact_line(f, s)) for f in c.facts] or [s.item("none: the conclusion rests on an absence")]
    if c.results:
        lines += s.subheading("On-treatment results (read as the follow-up)")
        lines += [s.item(f"{r.label}: {s.esc(r.value)}, {r.date}" + (f" ({s.esc(r.fact.name)})" if r.fact else ""))
                  for r in c.results]
    if c.thresholds:
        lines += s.subheading("Thresholds compared")
        for t in c.thresholds:
            checks = "; ".join(_check(k, s) for k in c.checks_of(t))
            lines.append(s.item(f"{t.label} — criterion {t.criterion}, {t.origin}" + (f" — {checks}" if checks else "")))
    lines += s.subheading("What is missing")
    lines += [s.item(f"Rests on the absence of {t}") for t in c.rests_on]
    lines += [s.item(f"Would change or be resolved with {t}") for t in c.would_change]
    if c.nothing_missing:
        lines.append(s.item("No missing fact is recorded for this conclusion."))
    return [*lines, ""]


def _record(x: Explanation, s: Style) -> list[str]:
    lines = s.heading(2, "Record")
    if x.record is None:
        return [*lines, "Not assessed.", ""]
    lines.append(s.field("Newest fact", x.record.newest or "none dated"))
    lines.append(s.field("Therapy", words.therapy(x.record)))
    lines += [s.item(_fact_line(f, s) + (f" [{x.record.parenteral_label}]" if parenteral else "")) for f, parenteral in x.record.records]
    return [*lines, ""]


def _guideline_name(g: Guideline | None) -> str:
    return g.name if g else "(no guideline)"


def _others(x: Explanation, s: Style) -> list[str]:
    title = "Other guidelines and their interactions"
    lines = ["", *s.heading(2, title)]
    lines.append(s.field("Guidelines applied", "; ".join(g.name + (" (primary)" if g.primary else "") for g in x.guidelines)))
    if x.silent:
        lines.append(s.field("Nothing concluded for this patient by", "; ".join(g.name for g in x.silent)))
    for g in x.companions:
        lines += ["", *s.heading(3, g.name)]
        for c in g.conclusions:
            based_on = ", ".join(s.esc(f.name) for f in c.facts) or "no fact"
            lines.append(s.item(f"{c.text or c.label or 'Finding'} [{c.code}]; based on {based_on}"))
            lines += [line for st in c.statements for line in _quote(st, s)]
    lines += ["", *s.heading(3, "Interactions between guidelines")]
    if not x.interactions:
        lines.append(words.NO_INTERACTION)
    for ix in x.interactions:
        lines += ["", f"{ix.title}: {ix.resolution}"]
        for entries, heading in ((ix.recommendations, "Recommendations that meet"), (ix.rests_on, "The resolution rests on")):
            if entries:
                lines.append(s.item(f"{heading}:"))
                for st, g in entries:
                    lines += s.quote(st.text, f"{_guideline_name(g)}; citation {st.citation}; {st.level_text}")
        if ix.checks:
            lines.append(s.item("Thresholds compared:"))
            lines += [s.item(f"{s.esc(k.fact.name)} ({s.esc(words.canonical(k.fact) or k.fact.name)}) "
                             f"{'meets' if k.meets else 'does not meet'} {k.threshold.criterion}: {k.threshold.label}")
                      for k in ix.checks]
        lines.append(s.item(f"Based on: {', '.join(s.esc(f.name) for f in ix.facts) or 'no fact'}"))
    return lines


def _facts(x: Explanation, s: Style) -> list[str]:
    lines = []
    if x.unused_facts:
        lines += s.heading(2, "Other facts on record (used by no conclusion)")
        lines += [s.item(_fact_line(f, s)) for f in x.unused_facts] + [""]
    lines += s.heading(2, "Data quality")
    lines += [s.item(s.esc(q.code) + (f" ({s.esc(q.fact.name if q.fact else q.name or '')})" if q.fact or q.name else "")
                     + f": {s.esc(q.detail)}") for q in x.quality] or [words.NO_QUALITY]
    lines += ["", *s.heading(2, "Ignored facts")]
    lines += [s.item(f"{s.esc(i.id)}" + (f" ({s.esc(i.resource_type)})" if i.resource_type else "") + f": {s.esc(i.reason)}"
                     + (f". Recorded: {_fact_line(i.fact, s, with_name=False)}" if i.fact else "")) for i in x.set_aside]
    if not x.set_aside:
        lines.append(words.NO_SET_ASIDE)
    if x.not_read:
        lines += ["", *s.heading(2, f"Facts not read by the guideline ({x.not_read_count})")]
        lines += [s.item(f"{len(n.ids)} of type {s.esc(n.resource_type or 'resource')}: {s.esc(n.reason)}") for n in x.not_read]
    return lines


def walk(x: Explanation, s: Style) -> str:
    """The whole explanation as lines."""
    lines = [*_header(x.header, s), s.field("Population", s.esc(words.population(x.population)))]
    if x.population and x.population.facts:
        lines.append(s.field("Population based on", ", ".join(s.esc(f.name) for f in x.population.facts)))
    lines += ["", *_summary(x, s)]
    for section in x.kinds:
        lines += s.heading(2, section.title)
        found = x.of_kind(section.anchor.removeprefix("section-"))
        for conclusion in found:
            lines += _conclusion(conclusion, s)
        if not found:
            lines += [words.NONE_OF_KIND.get(section.anchor.removeprefix("section-"), "None."), ""]
    lines += _record(x, s)
    if x.several_guidelines:
        lines += [*_others(x, s), ""]
    lines += _facts(x, s)
    if x.source:
        lines += ["", *s.heading(2, "Source attributes of the guideline")]
        lines += [s.field(label, s.esc(value)) for label, value in x.source]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"

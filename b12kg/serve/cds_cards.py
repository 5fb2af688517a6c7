"""CDS Hooks cards from an assessment: one card per recommendation (summary, indicator,
suggestions and override reasons from the ontology, queries/fhir/), one per order-sign
issue, and one for a record b12kg refuses. The detail shows the deciding values; every
value taken from the record is a code span, so that no viewer turns it into a link,
emphasis or HTML (a unit 'https://evil.example/phish' stays text)."""

from __future__ import annotations

import re
import uuid

from ..errors import InputRejected
from ..fhir_output import Order, Vocabulary, request_resource

MAX_SUMMARY = 139
"""A card summary is under 140 characters (CDS Hooks)."""

_MARKDOWN = re.compile(r"([\\`*_\[\]<>|!~])")


def md(text: str) -> str:
    """b12kg's own text, safe inside Markdown (no links, emphasis or HTML)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def code(text) -> str:
    """A value from the record as a Markdown code span, on one line (CommonMark: a fence
    longer than any backtick run inside, padded when the text starts or ends with one)."""
    text = " ".join(str(text).split())
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _summary(text: str) -> str:
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1].rstrip() + "…"


def source(vocab: Vocabulary) -> dict:
    g = vocab.guideline
    found = {"label": g["title"], "url": g["guideline"]}
    if g.get("topic"):
        found["topic"] = {"system": g["codeSystem"], "code": g["topic"], "display": g.get("topicLabel") or g["topic"]}
    return found


def _fact_line(fact_id: str, facts: dict[str, dict]) -> str:
    """One fact as a Markdown list item: type, id, value as recorded and canonical, daily dose, date."""
    f = facts.get(fact_id) or facts.get(fact_id.partition("/")[2]) or {}
    parts = [f"{md(f.get('resourceType', 'fact'))} {code(fact_id)}"]
    if f.get("value") is not None:
        recorded = f"{f['value']} {f.get('unit', '')}".strip()
        canonical = f"{f['canonicalValue']} {f.get('canonicalUnit', '')}".strip() if f.get("canonicalValue") else ""
        parts.append(f"**{code(recorded)}**" + (f" ({code(canonical)})" if canonical and canonical != recorded else ""))
    if f.get("dailyDose"):
        parts.append(f"**{code(f['dailyDose'])} mg per day**")
    when = f.get("effectiveDate") or f.get("startDate")
    if when:
        parts.append(("started " if f.get("startDate") and not f.get("effectiveDate") else "") + code(when))
    if f.get("status") or f.get("clinicalStatus"):
        parts.append(code(f.get("status") or f.get("clinicalStatus")))
    return "- " + ", ".join(parts)


def _detail(text: str, document: dict, based_on: list[str], evidence: list[dict], facts: dict[str, dict], vocab: Vocabulary,
            note: str | None = None) -> str:
    """The card detail: b12kg's `text`, a Markdown `note` already made safe, the status, the facts used."""
    status = document["b12_status"]
    values = [f"{md(label)} **{status[key]:g} {md(unit)}**" for key, label, unit in vocab.reported if status.get(key) is not None]
    lines = [md(text), *(["", note] if note else []), "",
             f"**{md(vocab.status_label)}:** {md(status['value'])}" + (f" ({', '.join(values)})" if values else "")]
    if based_on:
        lines += ["", "**Facts used:**", *(_fact_line(f, facts) for f in based_on)]
    quality = [q for q in document.get("data_quality", []) if q.get("fact") in based_on or q.get("fact") is None]
    if quality:
        lines += ["", "**Data quality:**", *(f"- {code(q.get('fact') or 'record')}: {code(q.get('detail') or q.get('code'))}"
                                              for q in quality)]
    for e in evidence:
        level = f" (evidence level {md(e['level'])})" if e.get("level") else ""
        lines += ["", f"> {md(e['statement'])}", f"> — guideline statement \\[{md(e['citation'])}\\]{level}"]
    return "\n".join(lines)


def suggestion(order: Order, patient_id: str, as_of: str, reason: str, remove: str | None = None) -> dict:
    """A suggestion creating the proposed order (and deleting a draft it replaces)."""
    resource_id = str(uuid.uuid4())
    actions = []
    if remove:
        actions.append({"type": "delete", "description": f"Remove the draft order {remove}", "resourceId": remove})
    actions.append({"type": "create", "description": f"Create a proposed {order.resource_type}: {order.label}",
                    "resource": request_resource(order, {"reference": f"Patient/{patient_id}"}, as_of, resource_id, reason)})
    return {"label": _summary(order.label), "uuid": str(uuid.uuid4()), "isRecommended": True, "actions": actions}


def _card(vocab: Vocabulary, code: str, summary: str, indicator: str, detail: str, suggestions: list[dict], link: str | None) -> dict:
    card = {"uuid": str(uuid.uuid4()), "summary": _summary(summary), "indicator": indicator, "detail": detail,
            "source": source(vocab), "_code": code}
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one" if len(suggestions) == 1 else "any"
    if vocab.override_reasons:
        card["overrideReasons"] = [dict(r) for r in vocab.override_reasons]
    if link:
        card["links"] = [{"label": "Why? The b12kg explanation of this assessment", "url": link, "type": "absolute"}]
    return card


def in_population(document: dict) -> bool:
    """Whether the guideline applies (contract section 5; a v1 document has no population and is in)."""
    return bool((document.get("population") or {"in": True}).get("in", True))


def recommendation_cards(document: dict, facts: dict[str, dict], vocab: Vocabulary, link: str | None) -> list[dict]:
    """patient-view: one card per recommendation; none outside the guideline's population."""
    if not in_population(document):
        return []
    cards = []
    for rec in document["recommendations"]:
        item = vocab.items.get(rec["action"])
        orders = vocab.proposed(rec["action"])
        suggestions = [suggestion(o, document["patient"], document["as_of"], rec["text"]) for o in orders]
        cards.append(_card(vocab, rec["action"], (item.summary if item and item.summary else rec["text"]),
                           item.indicator if item else "info", _detail(rec["text"], document, rec["based_on"], rec["evidence"], facts, vocab),
                           suggestions, link))
    return cards


def issue_cards(issues: dict[tuple[str, str], list[str]], drafts: dict[str, str], document: dict, facts: dict[str, dict],
                vocab: Vocabulary, link: str | None) -> list[dict]:
    """order-sign: one card per (issue, draft order). `issues` maps (issue code, draft fact id) to the
    facts used; `drafts` maps draft fact ids to the draft's reference (MedicationRequest/id)."""
    if not in_population(document):
        return []
    cards = []
    for (issue, draft), used in sorted(issues.items()):
        item = vocab.item(issue)
        reference = drafts.get(draft, draft)
        evidence = [{"statement": s["text"], "citation": s["citation"], "level": s.get("level")}
                    for iri, s in vocab.statements.items() if iri in item.statements]
        note = f"Draft order: {code(reference)}"
        if item.orders:  # a replacement: delete the draft, create the guideline's order
            suggestions = [suggestion(vocab.orders[o], document["patient"], document["as_of"], item.text, remove=reference)
                           for o in item.orders]
        else:  # what the assessment without the draft proposes (e.g. B12 therapy beside folic acid)
            suggestions = [suggestion(o, document["patient"], document["as_of"], rec["text"])
                           for rec in document["recommendations"] for o in vocab.proposed(rec["action"])]
        cards.append(_card(vocab, issue, item.summary or item.text, item.indicator,
                           _detail(item.text, document, [draft, *[u for u in used if u != draft]], evidence, facts, vocab, note),
                           suggestions, link))
    return cards


def rejection_card(exc: InputRejected, vocab: Vocabulary) -> dict:
    """A card saying why b12kg could not assess the record (never silence)."""
    problems = exc.problems
    lines = ["b12kg could not assess this patient's record against the guideline, so it gives no advice. "
             "Correct the record (or assess the patient by hand):", ""]
    lines += [f"- {code(' '.join(x for x in (p.resource, f'field {p.field}' if p.field else None) if x) or 'record')}: {code(p.reason)}"
              for p in problems[:20]]
    if len(problems) > 20:
        lines.append(f"- … and {len(problems) - 20} more problems")
    summary = f"B12 guideline not applied: the record was refused ({len(problems)} problem{'s' if len(problems) != 1 else ''})."
    return _card(vocab, "record-refused", summary, "warning", "\n".join(lines), [], None)


def public(cards: list[dict]) -> list[dict]:
    """The cards as sent (internal keys dropped)."""
    return [{k: v for k, v in c.items() if not k.startswith("_")} for c in cards]

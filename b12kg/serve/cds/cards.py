"""CDS Hooks cards from an assessment, worded from the knowledge (render/vocabulary.py):

- patient-view: one card per decision for the patient (the status and the plan: the
  guideline's recommendations and the other guidelines' conclusions, its suggestions the
  proposed orders), one per safety warning (indicator critical), one per interaction between
  guidelines (both statements, the resolution);
- order-sign and order-select: one card per issue a draft order raises, and a system action
  recording the issue on the draft;
- one card for a record b12kg refuses (never silence).

Facts are named by their display text. Every value taken from the record is a code span, so
that no viewer turns it into a link, emphasis or HTML (a unit 'https://evil.example/phish'
stays text)."""

from __future__ import annotations

import re
import uuid

from ...errors import InputRejected
from ...render.fhir import companion_conclusions
from ...render.vocabulary import Order, Vocabulary, clean, request_resource

MAX_SUMMARY = 139
"""A card summary is under 140 characters (CDS Hooks)."""

RANK = {"info": 0, "warning": 1, "critical": 2}

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
    """One fact as a Markdown list item: its name, type and id, value as recorded and canonical, daily dose, date, status."""
    f = facts.get(fact_id) or facts.get(fact_id.partition("/")[2]) or {}
    name = code(f["recordName"]) if f.get("recordName") else md(f["conceptName"]) if f.get("conceptName") else None
    kind = f"{md(f.get('resourceType', 'fact'))} {code(fact_id)}"
    parts = [f"**{name}** ({kind})" if name else kind]
    if f.get("value") is not None:
        recorded = f"{f['value']} {f.get('unit', '')}".strip()
        canonical = f"{f['canonicalValue']} {f.get('canonicalUnit', '')}".strip() if f.get("canonicalValue") else ""
        parts.append(f"**{code(recorded)}**" + (f" ({code(canonical)})" if canonical and canonical != recorded else ""))
    if f.get("dailyDose"):
        parts.append(f"{code(f['dailyDose'])} mg per day")
    when = f.get("effectiveDate") or f.get("startDate")
    if when:
        parts.append(("started " if f.get("startDate") and not f.get("effectiveDate") else "") + code(when))
    if f.get("status") or f.get("clinicalStatus"):
        parts.append(code(f.get("status") or f.get("clinicalStatus")))
    return "- " + ", ".join(parts)


def _status_line(document: dict, vocab: Vocabulary) -> str:
    status = document["b12_status"]
    values = [f"{md(label)} **{status[key]:g} {md(unit)}**" for key, label, unit in vocab.reported if status.get(key) is not None]
    label = (vocab.statuses.get(status["value"]) or {}).get("label") or status["value"]
    return f"**{md(vocab.status_label)}:** {md(label)}" + (f" ({', '.join(values)})" if values else "")


def _evidence(evidence: list[dict], guideline: str | None = None) -> list[str]:
    lines = []
    for e in evidence:
        level = f" (evidence level {md(e['level'])})" if e.get("level") else ""
        by = f"{md(guideline)}, statement" if guideline else "guideline statement"
        lines += ["", f"> {md(e['statement'])}", f"> — {by} \\[{md(e['citation'])}\\]{level}"]
    return lines


def _facts(based_on: list[str], facts: dict[str, dict]) -> list[str]:
    return ["", "**Facts used:**", *(_fact_line(f, facts) for f in based_on)] if based_on else []


def _quality(document: dict, based_on: list[str]) -> list[str]:
    quality = [q for q in document.get("data_quality", []) if q.get("fact") in based_on or q.get("fact") is None]
    if not quality:
        return []
    return ["", "**Data quality:**", *(f"- {code(q.get('fact') or 'record')}: {code(q.get('detail') or q.get('code'))}" for q in quality)]


def suggestion(order: Order, patient_id: str, as_of: str, reason: str, remove: str | None = None) -> dict:
    """A suggestion creating the proposed order (and deleting a draft it replaces)."""
    actions = []
    if remove:
        actions.append({"type": "delete", "description": f"Remove the draft order {remove}", "resourceId": remove})
    actions.append({"type": "create", "description": f"Create a proposed {order.resource_type}: {order.label}",
                    "resource": request_resource(order, {"reference": f"Patient/{patient_id}"}, as_of, str(uuid.uuid4()), reason)})
    return {"label": _summary(order.label), "uuid": str(uuid.uuid4()), "isRecommended": True, "actions": actions}


def card(vocab: Vocabulary, card_code: str, summary: str, indicator: str, detail: str, suggestions: list[dict],
         links: list[dict]) -> dict:
    found = {"uuid": str(uuid.uuid4()), "summary": _summary(summary), "indicator": indicator, "detail": detail,
             "source": source(vocab), "_code": card_code}
    if suggestions:
        found["suggestions"] = suggestions
        found["selectionBehavior"] = "at-most-one" if len(suggestions) == 1 else "any"
    if vocab.override_reasons:
        found["overrideReasons"] = [dict(r) for r in vocab.override_reasons]
    if links:
        found["links"] = [dict(link) for link in links]
    return found


def in_population(document: dict) -> bool:
    """Whether the guideline applies (contract section 5; a v1 document has no population and is in)."""
    return bool((document.get("population") or {"in": True}).get("in", True))


def decision_card(document: dict, facts: dict[str, dict], vocab: Vocabulary, links: list[dict]) -> dict | None:
    """The patient's status and plan in one card: the recommendations that are not safety warnings
    (in the population) and the other guidelines' conclusions, each with its facts and statements."""
    plan = [r for r in document["recommendations"] if not r.get("safety") and in_population(document)]
    others = companion_conclusions(document)
    if not plan and not others:
        return None
    status = document["b12_status"]["value"]
    label = (vocab.statuses.get(status) or {}).get("cardLabel") or f"{vocab.status_label}: {status}"
    items = [vocab.items.get(r["action"]) for r in plan]
    names = [(i.plan_label or i.summary) if i else r["text"] for i, r in zip(items, plan, strict=True)]
    labelled = [vocab.items[c["code"]].plan_label for _, c in others if c["code"] in vocab.items and vocab.items[c["code"]].plan_label]
    names += labelled
    unnamed = len({g for g, _ in others}) if len(labelled) < len(others) else 0
    lines = [_status_line(document, vocab)]
    for rec, item in zip(plan, items, strict=True):
        lines += ["", f"**{md(item.summary if item and item.summary else rec['action'])}**", "", md(rec["text"]),
                  *_facts(rec["based_on"], facts), *_evidence(rec["evidence"])]
    for guideline, conclusion in others:
        name = vocab.guideline_name(guideline)
        lines += ["", f"**{md(name)}:** {md(conclusion.get('text') or conclusion['code'])}", *_facts(conclusion.get("based_on", []), facts),
                  *_evidence(conclusion.get("evidence", []), name)]
    lines += _quality(document, [f for r in plan for f in r["based_on"]])
    suggestions = [suggestion(o, document["patient"], document["as_of"], r["text"]) for r in plan for o in vocab.proposed(r["action"])]
    indicator = max((i.indicator if i else "info" for i in items), key=RANK.get, default="info")
    codes = [r["action"] for r in plan] + [c["code"] for _, c in others]
    summary = f"{label}: {'; '.join(dict.fromkeys(names))}" if names else label
    if unnamed:
        summary += f" (+ {unnamed} other guideline{'s' if unnamed > 1 else ''})"
    return card(vocab, "+".join(codes), summary, indicator, "\n".join(lines), suggestions, links)


def safety_cards(document: dict, facts: dict[str, dict], vocab: Vocabulary, links: list[dict]) -> list[dict]:
    """One critical card per safety warning (contract v3: they reach every living patient)."""
    cards = []
    for rec in document["recommendations"]:
        if not rec.get("safety"):
            continue
        item = vocab.items.get(rec["action"])
        lines = [md(rec["text"]), "", _status_line(document, vocab), *_facts(rec["based_on"], facts), *_quality(document, rec["based_on"]),
                 *_evidence(rec["evidence"])]
        cards.append(card(vocab, rec["action"], item.summary if item and item.summary else rec["text"], "critical", "\n".join(lines), [], links))
    return cards


def interaction_cards(document: dict, facts: dict[str, dict], vocab: Vocabulary, links: list[dict]) -> list[dict]:
    """One card per interaction between guidelines: both statements, what a clinician can do, the facts."""
    cards = []
    for found in document.get("interactions", []):
        kind = vocab.interaction_types.get(found["type"], {})
        names = list(dict.fromkeys(vocab.guideline_name(r["guideline"]) for r in found["recommendations"]))
        lines = [f"**{md(kind.get('label') or found['type'])}** between {md(' and '.join(names))}"
                 + (f": {md(kind['definition'])}" if kind.get("definition") else ""), "", f"**What to do:** {md(found['resolution'])}"]
        for r in found["recommendations"]:
            level = f" (evidence level {md(r['level'])})" if r.get("level") else ""
            lines += ["", f"> {md(r['statement'])}",
                      f"> — {md(vocab.guideline_name(r['guideline']))} \\[{md(r['citation'])}\\]{level}"]
        lines += _facts(found.get("based_on", []), facts)
        summary = f"{kind.get('label') or found['type']}: {found['resolution']}"
        cards.append(card(vocab, f"interaction-{found['type']}", summary, kind.get("indicator", "info"), "\n".join(lines), [], links))
    return cards


def patient_cards(document: dict, facts: dict[str, dict], vocab: Vocabulary, links: list[dict]) -> list[dict]:
    """patient-view: the decision card, the safety warnings, the interactions."""
    decision = decision_card(document, facts, vocab, links)
    return [*([decision] if decision else []), *safety_cards(document, facts, vocab, links), *interaction_cards(document, facts, vocab, links)]


def issue_cards(issues: dict[tuple[str, str], list[str]], drafts: dict[str, str], document: dict, facts: dict[str, dict],
                vocab: Vocabulary, links: list[dict]) -> list[dict]:
    """order-sign / order-select: one card per (issue, draft order). `issues` maps (issue code, draft fact id)
    to the facts used; `drafts` maps draft fact ids to the draft's reference (MedicationRequest/id)."""
    if not in_population(document):
        return []
    cards = []
    for (issue, draft), used in sorted(issues.items()):
        item = vocab.item(issue)
        reference = drafts.get(draft, draft)
        evidence = [{"statement": s["text"], "citation": s["citation"], "level": s.get("level")}
                    for iri, s in vocab.statements.items() if iri in item.statements]
        lines = [md(item.text), "", f"Draft order: {code(reference)}", "", _status_line(document, vocab),
                 *_facts([draft, *[u for u in used if u != draft]], facts), *_evidence(evidence)]
        if item.orders:  # a replacement: delete the draft, create the guideline's order
            suggestions = [suggestion(vocab.orders[o], document["patient"], document["as_of"], item.text, remove=reference)
                           for o in item.orders]
        else:  # what the assessment without the draft proposes (e.g. B12 therapy beside folic acid)
            suggestions = [suggestion(o, document["patient"], document["as_of"], rec["text"])
                           for rec in document["recommendations"] for o in vocab.proposed(rec["action"])]
        found = card(vocab, issue, item.summary or item.text, item.indicator, "\n".join(lines), suggestions, links)
        found["_draft"] = reference
        cards.append(found)
    return cards


def system_actions(cards: list[dict], drafts: dict[str, dict], document: dict, vocab: Vocabulary) -> list[dict]:
    """The update the service proposes for each draft an issue was found on: the draft as sent, with the
    issue recorded (a contained DetectedIssue it names in detectedIssue)."""
    actions = []
    for found in cards:
        draft = drafts.get(found.get("_draft", ""))
        if draft is None:
            continue
        item = vocab.item(found["_code"])
        issue_id = f"b12kg-{uuid.uuid4()}"
        issue = clean({"resourceType": "DetectedIssue", "id": issue_id, "status": "preliminary",
                       "code": {"coding": [{"system": vocab.guideline["codeSystem"], "code": item.code}], "text": item.summary},
                       "severity": item.severity, "patient": {"reference": f"Patient/{document['patient']}"},
                       "identifiedDateTime": document["as_of"], "implicated": [{"reference": found["_draft"]}],
                       "detail": item.text, "reference": vocab.guideline["guideline"]})
        updated = {**draft, "contained": [*(draft.get("contained") or []), issue],
                   "detectedIssue": [*(draft.get("detectedIssue") or []), {"reference": f"#{issue_id}"}]}
        actions.append({"type": "update", "description": f"Record on the draft order {found['_draft']}: {item.summary or item.text}",
                        "resource": updated})
    return actions


def rejection_card(exc: InputRejected, vocab: Vocabulary) -> dict:
    """A card saying why b12kg could not assess the record (never silence)."""
    problems = exc.problems
    lines = ["b12kg could not assess this patient's record against the guideline, so it gives no advice. "
             "Correct the record (or assess the patient by hand):", ""]
    lines += [f"- {code(' '.join(x for x in (p.resource, f'field {p.field}' if p.field else None) if x) or 'record')}: {code(p.reason)}"
              for p in problems[:20]]
    if len(problems) > 20:
        lines.append(f"- … and {len(problems) - 20} more problems")
    summary = f"{vocab.guideline_name(vocab.guideline['guideline'])} not applied: the record was refused " \
              f"({len(problems)} problem{'s' if len(problems) != 1 else ''})."
    return card(vocab, "record-refused", summary, "warning", "\n".join(lines), [], [])


def public(cards: list[dict]) -> list[dict]:
    """The cards as sent (internal keys dropped)."""
    return [{k: v for k, v in c.items() if not k.startswith("_")} for c in cards]

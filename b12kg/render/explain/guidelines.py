"""The other guidelines and the interactions of the explanation model (contract section 8), gathered
from the graph like the rest: the guidelines applied, each companion's conclusions (gather.py puts
them in their guideline), and every interaction with both statements, the facts and the thresholds."""

from __future__ import annotations

from ...namespaces import GM
from .model import Check, Conclusion, Fact, Guideline, Interaction, Statement, Threshold
from .rows import Anchors, Reader, fact_order, local


def guidelines(read: Reader, anchors: Anchors) -> list[Guideline]:
    """The guidelines applied, the primary one first."""
    found = sorted(read("guidelines"), key=lambda r: (r.get("primary") != "true", r.get("title", ""), r["guideline"]))
    return [Guideline(iri=r["guideline"], anchor=anchors("guideline", r.get("shortTitle") or local(r["guideline"])),
                      title=r.get("title") or local(r["guideline"]), version=r.get("version", ""),
                      short_title=r.get("shortTitle", ""), primary=r.get("primary") == "true") for r in found]


def interactions(read: Reader, facts: dict[str, Fact], statements: dict[str, Statement], thresholds: dict[str, Threshold],
                 applied: list[Guideline], conclusions: dict[str, Conclusion]) -> list[Interaction]:
    """Every interaction found for the patient, numbered in a stable order; the facts each rests on are
    marked as used by it."""
    by_guideline = {g.iri: g for g in applied}
    found = {r["interaction"]: r for r in read("interactions")}
    items: dict[str, Interaction] = {}
    for iri, row in found.items():
        items[iri] = Interaction(iri=iri, anchor="", number=0, type=row["type"], type_label=row.get("typeLabel") or row["type"],
                                 resolution=row["resolution"], rule=row["rule"])
    recommended: dict[str, set[str]] = {}
    for row in sorted(read("interaction-statements"), key=lambda r: (r["guideline"], r["statement"])):
        item, statement = items.get(row["interaction"]), statements.get(row["statement"])
        if item is None or statement is None:
            continue
        entry = (statement, by_guideline.get(row["guideline"]))
        if row["role"] == "recommendation" and entry not in item.recommendations:
            item.recommendations.append(entry)
            recommended.setdefault(item.iri, set()).add(statement.iri)
        elif row["role"] == "resolution" and entry not in item.rests_on:
            item.rests_on.append(entry)
    for row in sorted(read("interaction-links"), key=lambda r: r["target"]):
        item = items.get(row["interaction"])
        if item is not None and row["link"] == str(GM.basedOn) and row["target"] in facts:
            item.facts.append(facts[row["target"]])
    for row in read("threshold-checks"):
        item = items.get(row["conclusion"])
        if item is not None and row["fact"] in facts and row["threshold"] in thresholds:
            item.checks.append(Check(facts[row["fact"]], thresholds[row["threshold"]], row["meets"] == "true"))
    ordered = sorted(items.values(), key=lambda i: (i.type, [(g.iri if g else "", s.iri) for s, g in i.recommendations],
                                                     sorted(f.name for f in i.facts)))
    for number, item in enumerate(ordered, 1):
        item.number, item.anchor = number, f"interaction-{number}"
        item.rests_on = [(s, g) for s, g in item.rests_on if s.iri not in recommended.get(item.iri, set())]
        item.facts.sort(key=fact_order)
        item.checks.sort(key=lambda c: (c.fact.name, c.threshold.label))
        for fact in item.facts:
            fact.use(f"Interaction {item.title}", item.anchor)
    return ordered

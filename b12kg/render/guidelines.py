"""An assessment's other guidelines (contract section 8): which conclusions belong to which
guideline, the companion guidelines' conclusions, and the interactions found between them.

The primary guideline (gm:primary true) fills the contract's top-level fields; every other
guideline is reported beside it with its own conclusions and evidence, never changing the
primary guideline's. Interactions are found by the interaction rules (queries/interactions/)
and read here with the report queries, once per chunk.
"""

from __future__ import annotations

import pyoxigraph as ox

from ..integration import applied_guidelines, rule_guidelines
from ..knowledge import Knowledge
from ..sparql import select

ROLE_ORDER = {"recommendation": 0, "resolution": 1}


def split(found: list[dict], knowledge: Knowledge) -> tuple[list[dict], dict[str, list[dict]]]:
    """The primary guideline's conclusions, and the others' by guideline IRI."""
    rules = rule_guidelines(knowledge)
    primary, others = [], {}
    for item in found:
        guidelines = rules.get(item["rule"], frozenset())
        if not guidelines or knowledge.guideline_iri in guidelines:
            primary.append(item)
        else:
            for guideline in sorted(guidelines):
                others.setdefault(guideline, []).append(item)
    return primary, others


def _evidence(item: dict) -> list[dict]:
    return sorted(item["evidence"].values(), key=lambda e: (e["citation"], e["statement"]))


def _conclusion(item: dict) -> dict:
    entry = {"code": item["code"], "kind": item["kind"], "based_on": sorted(item["based_on"]), "evidence": _evidence(item),
             "rule": item["rule"]}
    if item["kind"] == "action":
        entry = {"action": item["code"], "text": item["text"], **entry}
    return entry


def guidelines_json(others: dict[str, list[dict]], knowledge: Knowledge) -> list[dict]:
    """`guidelines`: every guideline applied, with the conclusions of each companion."""
    out = []
    for g in applied_guidelines(knowledge):
        entry = {"id": g.iri, "version": g.version, "title": g.title, "primary": g.primary}
        if not g.primary:
            entry["conclusions"] = [_conclusion(c) for c in sorted(others.get(g.iri, []), key=lambda c: (c["kind"], c["code"]))]
        out.append(entry)
    return out


def interactions(store: ox.Store, knowledge: Knowledge) -> dict[str, list[dict]]:
    """Every interaction in the store, grouped by patient IRI, in the contract's shape."""
    found: dict[str, dict] = {}
    for row in select(store, knowledge.queries["report/interactions"]):
        found[row["interaction"].value] = {"patient": row["patient"].value, "iri": row["interaction"].value,
                                           "type": row["type"].value, "resolution": row["resolution"].value,
                                           "rule": row["rule"].value, "statements": {}, "based_on": set()}
    for row in select(store, knowledge.queries["report/interaction-statements"]):
        item = found.get(row["interaction"].value)
        if item is None:
            continue
        key = (row["statement"].value, row["role"].value)
        item["statements"][key] = {"guideline": row["guideline"].value, "statement": row["text"].value,
                                   "citation": row["citation"].value, "level": row["level"].value if "level" in row else None,
                                   "role": row["role"].value, "action": row["code"].value if "code" in row else None}
    for row in select(store, knowledge.queries["report/interaction-facts"]):
        item = found.get(row["interaction"].value)
        if item is not None:
            item["based_on"].add(row["factId"].value if "factId" in row else row["fact"].value)
    for row in select(store, knowledge.queries["report/interaction-thresholds"]):
        item = found.get(row["interaction"].value)
        if item is not None:
            item.setdefault("thresholds", []).append({
                "threshold": row["label"].value, "guideline": row["guideline"].value if "guideline" in row else None,
                "comparator": row["comparator"].value, "value": row["value"].value, "unit": row["unit"].value,
                "fact": row["factId"].value if "factId" in row else row["fact"].value,
                "fact_value": row["dose"].value if "dose" in row else None, "meets": row["meets"].value == "true"})
    by_patient: dict[str, list[dict]] = {}
    for item in found.values():
        cited = {statement for statement, role in item["statements"] if role == "recommendation"}
        kept = [s for (statement, role), s in item["statements"].items() if role == "recommendation" or statement not in cited]
        recommendations = sorted(kept,
                                 key=lambda s: (ROLE_ORDER[s["role"]], s["guideline"], s["citation"], s["statement"]))
        by_patient.setdefault(item["patient"], []).append({
            "type": item["type"], "recommendations": recommendations, "based_on": sorted(item["based_on"]),
            "resolution": item["resolution"], "rule": item["rule"],
            "thresholds": sorted(item.get("thresholds", []), key=lambda t: (t["fact"], t["threshold"]))})
    for items in by_patient.values():
        items.sort(key=lambda i: (i["type"], [(r["guideline"], r["statement"]) for r in i["recommendations"]], i["based_on"]))
    return by_patient


def report_fields(others: dict[str, list[dict]], found_interactions: list[dict], knowledge: Knowledge) -> dict:
    """The contract's section-8 fields of one patient's assessment."""
    return {"guidelines": guidelines_json(others, knowledge), "interactions": found_interactions}



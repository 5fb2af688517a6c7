"""Renderings of an assessment: the contract's JSON and RDF with provenance (text and HTML: explain.py)."""

from __future__ import annotations

from decimal import Decimal

import pyoxigraph as ox

from . import resources
from .errors import B12kgError
from .knowledge import Knowledge
from .namespaces import GM
from .sparql import select

CONCLUSION_KINDS = {str(GM.StatusFinding): "status", str(GM.RiskFactorFinding): "risk", str(GM.RecommendedAction): "action"}


class InconsistentConclusions(B12kgError):
    """The rules concluded something impossible (e.g. two statuses): a defect, exit 1."""


def _value(term) -> str | None:
    return None if term is None else term.value


def conclusions(store: ox.Store) -> dict[str, list[dict]]:
    """Every conclusion in the store, grouped by patient IRI, from the report queries."""
    grouped: dict[str, dict] = {}
    for row in select(store, resources.query_text("report/conclusions.rq")):
        grouped[row["conclusion"].value] = {
            "patient": row["patient"].value, "iri": row["conclusion"].value, "kind": CONCLUSION_KINDS[row["kind"].value],
            "code": row["code"].value, "text": _value(row.get("text")), "rule": row["rule"].value,
            "serum_b12": _value(row.get("serumB12")), "due": _value(row.get("due")), "overdue": _value(row.get("overdue")) == "true",
            "measure": set(), "based_on": set(), "evidence": {}}
    for row in select(store, resources.query_text("report/conclusion-facts.rq")):
        if row["conclusion"].value in grouped:
            grouped[row["conclusion"].value]["based_on"].add(_value(row.get("factId")) or row["fact"].value)
    for row in select(store, resources.query_text("report/conclusion-evidence.rq")):
        if row["conclusion"].value in grouped:
            grouped[row["conclusion"].value]["evidence"][row["statement"].value] = {
                "citation": row["citation"].value, "statement": row["statementText"].value,
                "level": _value(row.get("level"))}
    for row in select(store, resources.query_text("report/conclusion-measures.rq")):
        if row["conclusion"].value in grouped:
            grouped[row["conclusion"].value]["measure"].add(row["measure"].value)
    by_patient: dict[str, list[dict]] = {}
    for item in grouped.values():
        by_patient.setdefault(item["patient"], []).append(item)
    return by_patient


def _evidence(item: dict) -> list[dict]:
    return sorted(item["evidence"].values(), key=lambda e: (e["citation"], e["statement"]))


def to_json(found: list[dict], patient_id: str, as_of: str, knowledge: Knowledge, ignored: list[dict]) -> dict:
    """One patient's conclusions (from `conclusions`) as the output contract's JSON object."""
    statuses = [c for c in found if c["kind"] == "status"]
    if len(statuses) != 1:
        raise InconsistentConclusions(f"expected one B12 status for {patient_id}, the rules concluded {len(statuses)}")
    status = statuses[0]
    order = {rule.iri: rule.stage for rule in knowledge.rules}
    risks = sorted((c for c in found if c["kind"] == "risk"), key=lambda c: c["code"])
    actions = sorted((c for c in found if c["kind"] == "action"), key=lambda c: (order.get(c["rule"], 99), c["code"]))
    follow = next((c for c in actions if c["due"]), None)
    measure_order = ["serum-b12", "mma", "homocysteine", "neurological-symptoms"]
    return {
        "patient": patient_id,
        "as_of": as_of,
        "guideline": {"id": knowledge.guideline_iri, "version": knowledge.guideline_version},
        "b12_status": {
            "value": status["code"],
            "serum_b12_ng_per_l": float(Decimal(status["serum_b12"])) if status["serum_b12"] else None,
            "based_on": sorted(status["based_on"]),
            "evidence": _evidence(status),
            "rule": status["rule"],
        },
        "risk_factors": [{"code": c["code"], "based_on": sorted(c["based_on"]), "evidence": _evidence(c),
                          "rule": c["rule"]} for c in risks],
        "recommendations": [{"action": c["code"], "text": c["text"], "based_on": sorted(c["based_on"]),
                             "evidence": _evidence(c), "rule": c["rule"]} for c in actions],
        "follow_up": None if follow is None else {
            "due": follow["due"],
            "overdue": follow["overdue"],
            "measure": sorted(follow["measure"], key=lambda m: measure_order.index(m) if m in measure_order else 99)},
        "ignored_facts": ignored,
    }


def to_rdf(quads: list[ox.Quad], fmt: str) -> str:
    """The assessment's quads serialised reproducibly (canonical.py); Turtle, JSON-LD and
    N-Triples merge the named graphs."""
    from .canonical import serialize
    from .namespaces import PREFIXES

    return serialize(quads, fmt, PREFIXES)

"""The guideline as FHIR knowledge artifacts (`b12kg export-plandefinition`), generated
from the ontology with SPARQL (queries/fhir/recommendations.rq, rules.rq, orders.rq):

- a CPG-style PlanDefinition: one action per recommendation, its condition the rules that
  decide it (described, with the SPARQL file), its documentation the statements cited
  (relatedArtifact citations) and the quality of their evidence;
- an ActivityDefinition per order template (the ServiceRequests and MedicationRequests
  the recommendations propose);
- a Library naming every SPARQL rule, with the query text attached.
"""

from __future__ import annotations

import base64
import uuid

import pyoxigraph as ox

from . import resources
from .fhir_output import clean, coding, dosage, vocabulary
from .knowledge import Knowledge
from .sparql import select

QUALITY_OF_EVIDENCE = "http://hl7.org/fhir/uv/cpg/StructureDefinition/cpg-qualityOfEvidence"
"""The CPG-on-FHIR extension for the quality of the evidence behind a recommendation."""

SPARQL = "application/sparql-query"


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _id(url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url))


def _artifacts(knowledge: Knowledge) -> tuple[dict, list[dict], dict]:
    vocab = vocabulary(knowledge)
    g = vocab.guideline
    base = g["guideline"]
    store = ox.Store()
    store.extend(knowledge.quads)
    rows = select(store, resources.query_text("fhir/recommendations.rq"))
    rules = select(store, resources.query_text("fhir/rules.rq"))
    library_url = f"{base}/Library/rules"

    activities = []
    for order in sorted(vocab.orders.values(), key=lambda o: o.iri):
        url = f"{base}/ActivityDefinition/{_local(order.iri)}"
        definition = {"resourceType": "ActivityDefinition", "id": _id(url), "url": url, "version": g["version"],
                      "name": _local(order.iri).replace("-", "_"), "title": order.label, "status": "draft",
                      "kind": order.resource_type, "intent": "proposal"}
        if order.resource_type == "MedicationRequest":
            definition["productCodeableConcept"] = {"coding": [coding(order.coding)], "text": order.coding.get("display")}
            definition["dosage"] = [dosage(p, order.route) for p in order.phases]
        else:
            definition["code"] = {"coding": [coding(order.coding)], "text": order.label}
        activities.append(clean(definition))

    recommendations: dict[str, dict] = {}
    for row in rows:
        rec = recommendations.setdefault(row["rec"].value, {"rows": [], "statements": {}, "rules": {}})
        rec["rows"].append(row)
        rec["statements"][row["statement"].value] = None
        rec["rules"][row["rule"].value] = row
    actions = []
    for iri, rec in sorted(recommendations.items(), key=lambda kv: (min(int(r["stage"].value) for r in kv[1]["rows"]), kv[0])):
        first = rec["rows"][0]
        statements = [vocab.statements[s] for s in rec["statements"]]
        levels = sorted({s["levelLabel"] or s["level"] for s in statements if s.get("level")})
        code = first["code"].value if "code" in first else None
        action = {
            "id": _local(iri),
            "title": first["summary"].value if "summary" in first else (first["recLabel"].value if "recLabel" in first else _local(iri)),
            "description": first["text"].value if "text" in first else None,
            "code": [{"coding": [{"system": g["codeSystem"], "code": code}]}] if code else None,
            "documentation": [clean({"type": "citation", "label": f"[{s['citation']}]", "display": s["text"],
                                      "citation": f"{g['title']}, {s.get('section') or 'statement'} [{s['citation']}]"})
                              for s in statements],
            "extension": [{"url": QUALITY_OF_EVIDENCE, "valueCodeableConcept": {
                "text": "; ".join(levels) if levels else "not graded by the guideline"}}],
            "condition": [clean({"kind": "applicability", "expression": {
                "language": SPARQL, "description": ". ".join(x for x in (
                    r["ruleLabel"].value if "ruleLabel" in r else _local(rule), r["note"].value if "note" in r else None) if x),
                "expression": r["query"].value, "reference": f"{library_url}#{r['query'].value}"}})
                for rule, r in sorted(rec["rules"].items())],
        }
        orders = vocab.proposed(code) if code else []
        if orders:
            action["definitionCanonical"] = f"{base}/ActivityDefinition/{_local(orders[0].iri)}"
        actions.append(clean(action))

    library = clean({
        "resourceType": "Library", "id": _id(library_url), "url": library_url, "version": g["version"], "name": "B12KGRules",
        "title": f"SPARQL rules of {g['title']}", "status": "draft",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "description": "The SPARQL 1.1 rules b12kg runs, in stage order (classification before the OWL reasoner, then derivation).",
        "relatedArtifact": [{"type": "documentation", "label": r["query"].value, "display": r["label"].value if "label" in r else None,
                             "url": r["rule"].value} for r in rules],
        "content": [{"contentType": SPARQL, "title": r["label"].value if "label" in r else r["query"].value,
                     "url": r["rule"].value,
                     "data": base64.b64encode(resources.query_text(r["query"].value).encode("utf-8")).decode("ascii")}
                    for r in rules],
    })
    plan_url = f"{base}/PlanDefinition"
    plan = clean({
        "resourceType": "PlanDefinition", "id": _id(plan_url), "url": plan_url, "version": g["version"], "name": "B12PeripheralNeuropathy",
        "title": g["title"], "status": "draft",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type", "code": "clinical-protocol"}]},
        "description": g.get("citation"), "publisher": g.get("developer"),
        "topic": [{"coding": [{"system": g["codeSystem"], "code": g["topic"]}], "text": g.get("topicLabel")}] if g.get("topic") else None,
        "relatedArtifact": [{"type": "citation", "label": "guideline", "display": g["title"], "citation": g.get("citation")}],
        "library": [library_url], "action": actions,
    })
    return plan, activities, library


def export(knowledge: Knowledge) -> dict:
    """A Bundle (type collection) of the PlanDefinition, its ActivityDefinitions and the rules Library."""
    plan, activities, library = _artifacts(knowledge)
    entries = [{"fullUrl": r["url"], "resource": r} for r in (plan, *activities, library)]
    return {"resourceType": "Bundle", "id": _id(plan["url"] + "/Bundle"), "type": "collection", "entry": entries}

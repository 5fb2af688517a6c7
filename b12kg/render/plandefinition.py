"""The guideline as FHIR knowledge artifacts (`b12kg export-plandefinition`, the CDS service's
/fhir/PlanDefinition), generated from the knowledge with its named queries:

- a PlanDefinition profiled as a CPG computable plan definition: one action per
  recommendation, its applicability conditions the rules that decide it, each an
  Expression in SPARQL 1.1 (`application/sparql-query`: FHIR's Expression.language is
  extensible; b12kg evaluates them, over the patient's record as RDF, not a CQL engine),
  its documentation the statements cited and the quality of their evidence;
- an ActivityDefinition per order template (the requests the recommendations propose);
- a Library (logic-library) holding every SPARQL rule, and the data the guideline reads as
  FHIR DataRequirements (`$data-requirements` answers them as a module-definition Library).
"""

from __future__ import annotations

import base64
import uuid

from ..knowledge import Knowledge
from ..sparql import select
from .vocabulary import Vocabulary, clean, concept, dosage, vocabulary

QUALITY_OF_EVIDENCE = "http://hl7.org/fhir/uv/cpg/StructureDefinition/cpg-qualityOfEvidence"
"""The CPG-on-FHIR extension for the quality of the evidence behind a recommendation."""
CPG = "http://hl7.org/fhir/uv/cpg/StructureDefinition/"
COMPUTABLE_PLAN = CPG + "cpg-computableplandefinition"
COMPUTABLE_LIBRARY = CPG + "cpg-computablelibrary"
CAPABILITY = CPG + "cpg-knowledgeCapability"
REPRESENTATION = CPG + "cpg-knowledgeRepresentationLevel"
SPARQL = "application/sparql-query"
EVALUATED_BY = ("SPARQL 1.1, evaluated by b12kg over the patient's record read as RDF (POST .../PlanDefinition/{id}/$apply "
                "on the b12kg CDS service); not CQL or FHIRPath.")
LIBRARY_TYPE = "http://terminology.hl7.org/CodeSystem/library-type"
FACT_KINDS = ("Observation", "Condition", "Procedure")
MEDICATION_KINDS = ("MedicationStatement", "MedicationRequest", "MedicationAdministration", "MedicationDispense")


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def resource_id(url: str) -> str:
    """The id of the artifact with this canonical URL (stable, a FHIR id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url))


def _capabilities() -> list[dict]:
    return [{"url": CAPABILITY, "valueCode": "computable"}, {"url": CAPABILITY, "valueCode": "executable"},
            {"url": REPRESENTATION, "valueCode": "executable"}]


def library_url(vocab: Vocabulary) -> str:
    return f"{vocab.guideline['guideline']}/Library/rules"


def activity_definitions(vocab: Vocabulary) -> list[dict]:
    base, g = vocab.guideline["guideline"], vocab.guideline
    activities = []
    for order in sorted(vocab.orders.values(), key=lambda o: o.iri):
        url = f"{base}/ActivityDefinition/{_local(order.iri)}"
        definition = {"resourceType": "ActivityDefinition", "id": resource_id(url), "url": url, "version": g["version"],
                      "name": _local(order.iri).replace("-", "_"), "title": order.label, "status": "draft",
                      "kind": order.resource_type, "intent": "proposal"}
        if order.resource_type == "MedicationRequest":
            definition["productCodeableConcept"] = concept(order)
            definition["dosage"] = [dosage(p, order.route) for p in order.phases]
        else:
            definition["code"] = {**concept(order), "text": order.label}
        activities.append(clean(definition))
    return activities


def data_requirements(vocab: Vocabulary) -> list[dict]:
    """What the guidelines read, as FHIR DataRequirements: the Patient, the coded facts by
    resource type (the codes of every value set a defined class reads), and the medication
    resources (filtered by the ingredients read: products are read through their ingredients)."""
    found = [{"type": "Patient", "mustSupport": ["birthDate", "deceased[x]"]}]

    def codes(*kinds: str) -> list[dict]:
        return [{"system": s, "code": c} for s, c in vocab.codes_for(*kinds)]

    for kind in FACT_KINDS:
        found.append({"type": kind, "codeFilter": [{"path": "code", "code": codes(kind)}]})
    for kind in MEDICATION_KINDS:
        found.append({"type": kind, "codeFilter": [{"path": "medication", "code": codes("MedicationUse")}]})
    found.append({"type": "Medication", "codeFilter": [{"path": "code", "code": codes("MedicationUse")}]})
    return found


def library(knowledge: Knowledge) -> dict:
    """The rules Library: every SPARQL rule in stage order, and the data the guideline reads."""
    vocab = vocabulary(knowledge)
    g, url = vocab.guideline, library_url(vocab)
    rules = select(knowledge.store, knowledge.queries["fhir/rules"])
    queries = {rule.iri: rule.query for rule in knowledge.rules}  # each rule's text, from its own pack
    return clean({
        "resourceType": "Library", "id": resource_id(url), "url": url, "version": g["version"],
        "meta": {"profile": [COMPUTABLE_LIBRARY]}, "extension": _capabilities(),
        "name": g.get("libraryName") or "Rules", "title": f"SPARQL rules of {g['title']}", "status": "draft",
        "type": {"coding": [{"system": LIBRARY_TYPE, "code": "logic-library"}]},
        "description": "The SPARQL 1.1 rules b12kg runs, in stage order (classification before the OWL reasoner, then "
                       "derivation). " + EVALUATED_BY,
        "relatedArtifact": [{"type": "documentation", "label": r["query"].value, "display": r["label"].value if "label" in r else None,
                             "url": r["rule"].value} for r in rules],
        "dataRequirement": data_requirements(vocab),
        "content": [{"contentType": SPARQL, "title": r["label"].value if "label" in r else r["query"].value,
                     "url": r["rule"].value,
                     "data": base64.b64encode(queries.get(r["rule"].value, "").encode("utf-8")).decode("ascii")}
                    for r in rules],
    })


def plan_definition(knowledge: Knowledge) -> dict:
    """The CPG computable PlanDefinition of the primary guideline."""
    vocab = vocabulary(knowledge)
    g, base = vocab.guideline, vocab.guideline["guideline"]
    queries = {rule.iri: rule.query for rule in knowledge.rules}
    recommendations: dict[str, dict] = {}
    for row in select(knowledge.store, knowledge.queries["fhir/recommendations"]):
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
                "language": SPARQL, "name": _local(rule).replace("_", "-")[:64],
                "description": ". ".join(x for x in (r["ruleLabel"].value if "ruleLabel" in r else _local(rule),
                                                      r["note"].value if "note" in r else None, EVALUATED_BY) if x),
                "expression": queries.get(rule) or r["query"].value,
                "reference": f"{library_url(vocab)}#{_local(rule)}"}})
                for rule, r in sorted(rec["rules"].items())],
        }
        orders = vocab.proposed(code) if code else []
        if orders:
            action["definitionCanonical"] = f"{base}/ActivityDefinition/{_local(orders[0].iri)}"
        actions.append(clean(action))
    url = f"{base}/PlanDefinition"
    return clean({
        "resourceType": "PlanDefinition", "id": resource_id(url), "url": url, "version": g["version"],
        "meta": {"profile": [COMPUTABLE_PLAN]}, "extension": _capabilities(),
        "name": g.get("artifactName") or "PlanDefinition", "title": g["title"], "status": "draft", "experimental": True,
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type", "code": "eca-rule"}]},
        "description": g.get("citation"), "publisher": g.get("developer"),
        "usage": "Apply with POST [base]/fhir/PlanDefinition/{id}/$apply on b12kg's CDS service: its conditions are SPARQL.",
        "topic": [{"coding": [{"system": g["codeSystem"], "code": g["topic"]}], "text": g.get("topicLabel")}] if g.get("topic") else None,
        "relatedArtifact": [{"type": "citation", "label": "guideline", "display": g["title"], "citation": g.get("citation")}],
        "library": [library_url(vocab)], "action": actions,
    })


def module_definition(knowledge: Knowledge, of: dict) -> dict:
    """`$data-requirements` of an artifact: a module-definition Library of what it reads."""
    vocab = vocabulary(knowledge)
    return clean({
        "resourceType": "Library", "id": resource_id(of["url"] + "/$data-requirements"), "status": "active",
        "type": {"coding": [{"system": LIBRARY_TYPE, "code": "module-definition"}]},
        "title": f"Data requirements of {of.get('title') or of['url']}",
        "relatedArtifact": [{"type": "depends-on", "resource": library_url(vocab)}],
        "dataRequirement": data_requirements(vocab)})


def artifacts(knowledge: Knowledge) -> list[dict]:
    """The PlanDefinition, its ActivityDefinitions and the rules Library."""
    return [plan_definition(knowledge), *activity_definitions(vocabulary(knowledge)), library(knowledge)]


def export(knowledge: Knowledge) -> dict:
    """A Bundle (type collection) of the PlanDefinition, its ActivityDefinitions and the rules Library."""
    found = artifacts(knowledge)
    entries = [{"fullUrl": r["url"], "resource": r} for r in found]
    return {"resourceType": "Bundle", "id": resource_id(found[0]["url"] + "/Bundle"), "type": "collection", "entry": entries}


__all__ = ["artifacts", "export", "library", "module_definition", "plan_definition"]

"""`b12kg export-plandefinition`: valid FHIR (R4B models), generated from the ontology."""

from __future__ import annotations

import base64
import json
import subprocess

import rdflib
from fhir.resources.R4B.bundle import Bundle

from b12kg.knowledge import load_knowledge
from b12kg.namespaces import GM
from b12kg.render.plandefinition import export


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_export_is_valid_fhir_and_covers_the_ontology():
    knowledge = load_knowledge()
    bundle = export(knowledge)
    Bundle.model_validate(bundle)
    (plan,) = _resources(bundle, "PlanDefinition")
    graph = knowledge.graph
    recommendations = set(graph.subjects(rdflib.RDF.type, GM.Recommendation))
    assert len(plan["action"]) == len(recommendations)
    action_codes = {str(graph.value(a, GM.code)) for r in recommendations for a in graph.objects(r, GM.recommends)}
    assert {a["code"][0]["coding"][0]["code"] for a in plan["action"] if "code" in a} == action_codes
    for action in plan["action"]:
        assert action["documentation"] and all(d["type"] == "citation" and d["display"] for d in action["documentation"])
        assert action["condition"] and all(c["expression"]["language"] == "application/sparql-query" for c in action["condition"])
        assert action["extension"][0]["valueCodeableConcept"]["text"]
    pain = next(a for a in plan["action"] if a.get("code", [{}])[0].get("coding", [{}])[0].get("code") == "b12-for-neuropathic-pain")
    assert "level II" in pain["extension"][0]["valueCodeableConcept"]["text"]

    definitions = {d["url"]: d for d in _resources(bundle, "ActivityDefinition")}
    linked = [a["definitionCanonical"] for a in plan["action"] if "definitionCanonical" in a]
    assert linked and set(linked) <= definitions.keys()
    kinds = {d["kind"] for d in definitions.values()}
    assert kinds == {"ServiceRequest", "MedicationRequest"}

    (library,) = _resources(bundle, "Library")
    assert plan["library"] == [library["url"]]
    rules = {str(r) for r in graph.subjects(rdflib.RDF.type, GM.Rule)}
    assert {c["url"] for c in library["content"]} == rules
    for content in library["content"]:
        text = base64.b64decode(content["data"]).decode("utf-8")
        assert "SELECT" in text or "CONSTRUCT" in text or "INSERT" in text
    texts = {r.query for r in knowledge.rules if r.query}  # each rule's SPARQL, from its own pack
    for condition in (c for a in plan["action"] for c in a["condition"]):
        expression = condition["expression"]
        assert expression["expression"] in texts and "SPARQL" in expression["description"]
        assert expression["reference"].startswith(library["url"] + "#")

    # a CPG computable plan definition, named from the pack's data, with what it reads
    assert plan["meta"]["profile"] == ["http://hl7.org/fhir/uv/cpg/StructureDefinition/cpg-computableplandefinition"]
    assert plan["name"] == str(graph.value(rdflib.URIRef(knowledge.guideline_iri), GM.artifactName))
    kinds = {r["type"] for r in library["dataRequirement"]}
    assert {"Patient", "Observation", "Condition", "MedicationRequest"} <= kinds
    observation = next(r for r in library["dataRequirement"] if r["type"] == "Observation")
    assert {"system": "http://loinc.org", "code": "2132-9"} in observation["codeFilter"][0]["code"]


def test_cli_export(b12kg_command, tmp_path):
    out = tmp_path / "plan.json"
    done = subprocess.run([*b12kg_command, "export-plandefinition", "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    Bundle.model_validate(json.loads(out.read_text()))

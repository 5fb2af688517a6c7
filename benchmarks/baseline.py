"""The straightforward build, as a baseline: everything rebuilt per patient.

rdflib parses the ontology and shapes for every patient; pySHACL validates; owlrl
materialises OWL 2 RL over ontology + patient; rdflib's SPARQL engine runs the same
rule files as b12kg. Same loader and same queries, so results must agree.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import owlrl
import pyshacl
import rdflib
from rdflib import RDF, XSD, Literal

from b12kg import resources
from b12kg.knowledge import load_knowledge
from b12kg.load import load_patient
from b12kg.namespaces import ASSERTED_GRAPH, ASSESSMENT_GRAPH, CONCLUDED_GRAPH, GM, INFERRED_GRAPH, ONTOLOGY_GRAPH

_OUTCOME = """
PREFIX gm: <https://w3id.org/b12kg/model#>
SELECT ?kind ?code WHERE {
  ?c gm:derivedBy ?rule ; gm:concerns ?concept ; a ?kind . ?concept gm:code ?code .
  FILTER(?kind IN (gm:StatusFinding, gm:RiskFactorFinding, gm:RecommendedAction))
}"""
"""Every guideline's conclusions, as the peer stack and benchmarks.run.outcome read them."""


def assess_baseline(path: Path, as_of: date) -> dict:
    """Assess one patient the straightforward way; returns status, risk factors, actions."""
    ontology = rdflib.Graph()
    for file in resources.ontology_files():
        ontology.parse(file, format="turtle")
    shapes = rdflib.Graph().parse(resources.shapes_file("patient-input"), format="turtle")
    knowledge = load_knowledge()
    loaded = load_patient(path, knowledge, as_of)
    facts = loaded.graph  # an rdflib Graph, built once
    conforms, _, text = pyshacl.validate(facts, shacl_graph=shapes, inference="none")
    if not conforms:
        raise ValueError(text)

    dataset = rdflib.Dataset(default_union=True)
    for triple in ontology:
        dataset.graph(ONTOLOGY_GRAPH).add(triple)
    asserted = dataset.graph(ASSERTED_GRAPH)
    for triple in facts:
        asserted.add(triple)
    activity = rdflib.URIRef(f"{loaded.patient}/assessment")
    meta = dataset.graph(ASSESSMENT_GRAPH)
    meta.add((activity, RDF.type, GM.Assessment))
    meta.add((activity, GM.asOf, Literal(as_of.isoformat(), datatype=XSD.date)))
    meta.add((activity, GM.assessedPatient, loaded.patient))

    inferred, concluded = dataset.graph(INFERRED_GRAPH), dataset.graph(CONCLUDED_GRAPH)
    rules = [r for r in knowledge.rules]
    for rule in (r for r in rules if r.before_reasoning):
        for triple in dataset.query(rule.query):
            inferred.add(triple)
    closure = rdflib.Graph()
    for graph in (ontology, facts, inferred):
        for triple in graph:
            closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closure)
    for triple in closure:
        if triple not in ontology and triple not in facts:
            inferred.add(triple)
    for rule in (r for r in rules if not r.before_reasoning):
        for triple in dataset.query(rule.query):
            concluded.add(triple)

    outcome: dict = {"status": None, "risk_factors": set(), "actions": set()}
    for kind, code in dataset.query(_OUTCOME):
        key = {"StatusFinding": "status", "RiskFactorFinding": "risk_factors", "RecommendedAction": "actions"}[str(kind).rsplit("#", 1)[-1]]
        if key == "status":
            outcome["status"] = str(code)
        else:
            outcome[key].add(str(code))
    return outcome

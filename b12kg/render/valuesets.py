"""The value sets of the merged knowledge as FHIR R4 ValueSet resources, and the local fact
codes as a CodeSystem (`b12kg export-valuesets`).

A value set is an OWL class typed gm:ValueSet; its members are read from the knowledge,
never listed here:

- codes asserted in the class or in a named subclass of it (b12:FolicAcidDrug under
  b12:FolateDrug) -> compose.include.concept and expansion.contains;
- a restriction ``[ owl:onProperty skos:broader ; owl:hasValue GROUP ] rdfs:subClassOf VS``
  -> compose.include.filter ``concept is-a GROUP`` (every ATC code under A02BC), and the
  known codes under GROUP in the expansion;
- a restriction on gm:hasIngredient (``owl:hasValue CODE`` or ``owl:someValuesFrom CLASS``)
  -> the drug products whose ingredient qualifies, in compose and expansion.

Each code is turned into (system, code) through the knowledge's gm:CodeSystem table
(gm:systemUri, gm:conceptNamespace). The sources of the members (dct:source) are listed
as expansion parameters named ``source``. FHIR R4 ValueSet:
https://hl7.org/fhir/R4/valueset.html ; CodeSystem: https://hl7.org/fhir/R4/codesystem.html
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import rdflib
from rdflib import OWL, RDF, RDFS, SKOS, URIRef

from ..knowledge import CodeSystem, Knowledge
from ..namespaces import GM

__all__ = ["FACTS_SYSTEM", "VALUESET_BASE", "codesystem", "export", "value_sets", "valueset"]

DCT = rdflib.Namespace("http://purl.org/dc/terms/")
VALUESET_BASE = "https://w3id.org/b12kg/fhir/ValueSet/"
FACTS_SYSTEM = "https://w3id.org/b12kg/fhir/CodeSystem/facts"


def value_sets(knowledge: Knowledge) -> list[URIRef]:
    """Every class typed gm:ValueSet, in IRI order."""
    return sorted({s for s in knowledge.graph.subjects(RDF.type, GM.ValueSet) if isinstance(s, URIRef)}, key=str)


def _subclasses(graph: rdflib.Graph, cls: URIRef) -> set[URIRef]:
    found, todo = {cls}, [cls]
    while todo:
        for sub in graph.subjects(RDFS.subClassOf, todo.pop()):
            if isinstance(sub, URIRef) and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def _restrictions(graph: rdflib.Graph, classes: set[URIRef]) -> Iterable[tuple[URIRef, str, URIRef]]:
    """(property, 'hasValue' | 'someValuesFrom', object) of anonymous restrictions subclassing the classes."""
    for cls in classes:
        for restriction in graph.subjects(RDFS.subClassOf, cls):
            if (restriction, RDF.type, OWL.Restriction) not in graph:
                continue
            prop = graph.value(restriction, OWL.onProperty)
            for kind in ("hasValue", "someValuesFrom"):
                value = graph.value(restriction, OWL[kind])
                if isinstance(prop, URIRef) and isinstance(value, URIRef):
                    yield prop, kind, value


def members(knowledge: Knowledge, value_set: URIRef, _seen: frozenset = frozenset()) -> tuple[set[URIRef], set[URIRef]]:
    """(codes, groups): the codes of a value set and the code groups it takes whole (skos:broader)."""
    graph = knowledge.graph
    classes = _subclasses(graph, value_set)
    codes = {c for cls in classes for c in graph.subjects(RDF.type, cls) if isinstance(c, URIRef)}
    groups: set[URIRef] = set()
    for prop, kind, value in _restrictions(graph, classes):
        if prop == SKOS.broader and kind == "hasValue":
            groups.add(value)
        elif prop == GM.hasIngredient:
            if kind == "hasValue":
                ingredients = {value}
            elif value in _seen | {value_set}:
                ingredients = set(codes)
            else:
                ingredients = members(knowledge, value, _seen | {value_set})[0]
            codes |= {p for i in ingredients for p in graph.subjects(GM.hasIngredient, i) if isinstance(p, URIRef)}
    for group in groups:
        codes |= {c for c in _all_codes(graph) if str(c).startswith(str(group)) and c != group}
    return codes, groups


def _all_codes(graph: rdflib.Graph) -> set[URIRef]:
    return {s for s in graph.subjects(RDF.type, None) if isinstance(s, URIRef)}


def _system_of(knowledge: Knowledge, iri: URIRef) -> tuple[CodeSystem, str] | None:
    """The code system whose concept namespace is the longest prefix of the IRI, and the code."""
    best = max((cs for cs in knowledge.code_systems if str(iri).startswith(cs.namespace)),
               key=lambda cs: len(cs.namespace), default=None)
    return (best, str(iri)[len(best.namespace):]) if best is not None else None


def _label(graph: rdflib.Graph, iri: URIRef) -> str | None:
    for prop in (SKOS.prefLabel, RDFS.label):
        labels = sorted(str(v) for v in graph.objects(iri, prop))
        if labels:
            return labels[0]
    return None


def _pack_version(knowledge: Knowledge, iri: URIRef) -> tuple[str, str]:
    packs = dict(knowledge.defined_in)
    pack = next((p for i, p in knowledge.defined_in if i == str(iri)), packs.get(str(iri), ""))
    version = next((g.version for g in knowledge.guidelines if g.pack == pack), knowledge.guideline_version)
    return pack, version


def valueset(knowledge: Knowledge, value_set: URIRef, timestamp: str) -> dict:
    """One value set as a FHIR R4 ValueSet (compose and expansion)."""
    graph = knowledge.graph
    codes, groups = members(knowledge, value_set)
    pack, version = _pack_version(knowledge, value_set)
    name = str(value_set).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    includes: dict[str, dict] = {}
    contains, sources, unsystematic = [], set(), []
    for code in sorted(codes, key=str):
        found = _system_of(knowledge, code)
        if found is None:
            unsystematic.append(str(code))
            continue
        system, notation = found
        concept = {"code": notation}
        display = _label(graph, code)
        if display:
            concept["display"] = display
        includes.setdefault(system.system_uri, {"system": system.system_uri, "concept": []})["concept"].append(concept)
        contains.append({"system": system.system_uri, "code": notation, **({"display": display} if display else {})})
        sources |= {str(s) for s in graph.objects(code, DCT.source)}
    for group in sorted(groups, key=str):
        found = _system_of(knowledge, group)
        if found is not None:
            system, notation = found
            includes.setdefault(system.system_uri, {"system": system.system_uri})
            includes[system.system_uri].setdefault("filter", []).append({"property": "concept", "op": "is-a", "value": notation})
    resource = {
        "resourceType": "ValueSet",
        "id": f"{pack}-{name}".lower().replace("_", "-")[:64] if pack else name.lower()[:64],
        "url": f"{VALUESET_BASE}{pack}/{name}" if pack else f"{VALUESET_BASE}{name}",
        "version": version,
        "name": name,
        "title": _label(graph, value_set) or name,
        "status": "active",
        "description": (f"Value set {value_set} of the b12kg knowledge (pack {pack or 'model'}), generated from the ontology; "
                        f"each member names its source in the knowledge (dct:source)."),
        "compose": {"include": [includes[k] for k in sorted(includes)] or [{"system": FACTS_SYSTEM}]},
        "expansion": {
            "timestamp": timestamp,
            "total": len(contains),
            "parameter": [{"name": "source", "valueUri": s} for s in sorted(sources)]
            + [{"name": "unsystematic-member", "valueString": s} for s in unsystematic],
            "contains": contains,
        },
    }
    if not resource["expansion"]["parameter"]:
        del resource["expansion"]["parameter"]
    if not contains:
        del resource["expansion"]["contains"]
    return resource


def codesystem(knowledge: Knowledge) -> dict:
    """The local fact codes (contract section 4) as a FHIR R4 CodeSystem."""
    graph = knowledge.graph
    facts = next((cs for cs in knowledge.code_systems if cs.system_uri == FACTS_SYSTEM), None)
    concepts = []
    if facts is not None:
        iris = {t for triple in graph for t in triple if isinstance(t, URIRef) and str(t).startswith(facts.namespace)}
        for iri in sorted(iris, key=str):
            code = str(iri)[len(facts.namespace):]
            concepts.append({"code": code, **({"display": d} if (d := _label(graph, iri)) else {})})
    return {
        "resourceType": "CodeSystem",
        "id": "b12kg-facts",
        "url": FACTS_SYSTEM,
        "version": knowledge.guideline_version,
        "name": "B12kgFacts",
        "title": "b12kg local fact codes",
        "status": "active",
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


def export(knowledge: Knowledge, timestamp: str | None = None) -> list[dict]:
    """Every value set of the knowledge as a ValueSet, then the local CodeSystem."""
    stamp = timestamp or datetime.now(UTC).replace(microsecond=0).isoformat()
    return [valueset(knowledge, vs, stamp) for vs in value_sets(knowledge)] + [codesystem(knowledge)]

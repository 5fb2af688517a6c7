"""The guideline knowledge, read once per process from ontology/ and queries/.

Python reads the tables it needs to orchestrate (analytes and their units, code
systems, the ordered rules) from the ontology with SPARQL; it holds no clinical value
of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property

import pyoxigraph as ox
import rdflib
from rdflib import RDF

from . import resources
from .namespaces import GM, GUIDELINE, ONTOLOGY_GRAPH
from .rdfterms import to_ox
from .sparql import select


@dataclass(frozen=True)
class Analyte:
    """A laboratory quantity the guideline reads, with its unit rules."""

    iri: str
    label: str
    codes: frozenset[str]
    accepted_units: frozenset[str]
    canonical_unit: str
    mass_per_substance: Decimal | None
    plausible_min: Decimal | None
    plausible_max: Decimal | None


@dataclass(frozen=True)
class CodeSystem:
    """A terminology: its FHIR system URI and the namespace of its concept IRIs."""

    iri: str
    system_uri: str
    namespace: str


@dataclass(frozen=True)
class Rule:
    """A rule of the guideline, implemented by a SPARQL file."""

    iri: str
    stage: int
    query_path: str
    query: str

    @property
    def before_reasoning(self) -> bool:
        """Classification rules (stage < 10) run before the OWL reasoner."""
        return self.stage < 10


def _decimal(term: ox.Literal | None) -> Decimal | None:
    return Decimal(term.value) if term is not None else None


@dataclass(frozen=True)
class Knowledge:
    """Everything b12kg knows about the guideline, prepared once."""

    graph: rdflib.Graph
    quads: tuple[ox.Quad, ...]
    analytes: tuple[Analyte, ...]
    code_systems: tuple[CodeSystem, ...]
    rules: tuple[Rule, ...]
    guideline_iri: str
    guideline_version: str
    version_iris: tuple[str, ...]

    @cached_property
    def value_set_members(self) -> frozenset[rdflib.URIRef]:
        """Every coded concept in one of the guideline's value sets (the codes it reads)."""
        value_sets = set(self.graph.subjects(RDF.type, GM.ValueSet))
        return frozenset(c for c, cls in self.graph.subject_objects(RDF.type) if cls in value_sets)

    def analyte_for_code(self, concept_iri: str) -> Analyte | None:
        for analyte in self.analytes:
            if concept_iri in analyte.codes:
                return analyte
        return None

    def analyte(self, iri: str) -> Analyte:
        return next(a for a in self.analytes if a.iri == iri)

    def code_system(self, system_uri: str) -> CodeSystem | None:
        return next((cs for cs in self.code_systems if cs.system_uri == system_uri), None)


@cache
def load_knowledge() -> Knowledge:
    """Parse the ontology and read the tables the pipeline needs (cached per process)."""
    graph = rdflib.Graph()
    for path in resources.ontology_files():
        graph.parse(path, format="turtle")
    store = ox.Store()
    quads = tuple(ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(str(ONTOLOGY_GRAPH))) for s, p, o in graph)
    store.extend(quads)

    analytes = []
    measured_as = select(store, "SELECT ?a ?c WHERE { ?a gm:measuredAs ?c }")
    accepted = select(store, "SELECT ?a ?u WHERE { ?a gm:acceptedUnit ?u }")
    for row in select(store, """
        SELECT ?a ?label ?canonical ?mass ?min ?max WHERE {
          ?a a gm:Analyte ; skos:prefLabel ?label ; gm:canonicalUnit ?canonical .
          OPTIONAL { ?a gm:massPerSubstance ?mass } OPTIONAL { ?a gm:plausibleMin ?min }
          OPTIONAL { ?a gm:plausibleMax ?max } }"""):
        iri = row["a"].value
        codes = {r["c"].value for r in measured_as if r["a"].value == iri}
        units = {r["u"].value for r in accepted if r["a"].value == iri}
        analytes.append(Analyte(
            iri=iri, label=row["label"].value, codes=frozenset(codes), accepted_units=frozenset(units),
            canonical_unit=row["canonical"].value, mass_per_substance=_decimal(row.get("mass")),
            plausible_min=_decimal(row.get("min")), plausible_max=_decimal(row.get("max"))))

    code_systems = tuple(
        CodeSystem(iri=r["cs"].value, system_uri=r["uri"].value, namespace=r["ns"].value)
        for r in select(store, "SELECT ?cs ?uri ?ns WHERE { ?cs a gm:CodeSystem ; gm:systemUri ?uri ; gm:conceptNamespace ?ns }"))

    rules = tuple(sorted(
        (Rule(iri=r["rule"].value, stage=int(r["stage"].value), query_path=r["path"].value,
              query=resources.query_text(r["path"].value))
         for r in select(store, "SELECT ?rule ?stage ?path WHERE { ?rule a gm:Rule ; gm:stage ?stage ; gm:implementedBy ?path }")),
        key=lambda rule: (rule.stage, rule.query_path)))

    version = next(r["v"].value for r in select(store, "SELECT ?g ?v WHERE { ?g a gm:Guideline ; owl:versionInfo ?v }")
                   if r["g"].value == GUIDELINE)
    version_iris = tuple(sorted(r["v"].value for r in select(store, "SELECT ?v WHERE { ?o a owl:Ontology ; owl:versionIRI ?v }")))
    return Knowledge(graph=graph, quads=quads, analytes=tuple(analytes), code_systems=code_systems,
                     rules=rules, guideline_iri=GUIDELINE, guideline_version=version, version_iris=version_iris)

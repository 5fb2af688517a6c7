"""assess() = load -> validate -> classify -> reason -> derive -> provenance -> report.

An Assessor prepares the ontology, shapes, rules and reasoner once and is reused for
every patient of a process (CLI call, batch or server).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyoxigraph as ox

from . import reason, resources
from .derive import add, construct, run_rules
from .knowledge import Knowledge, load_knowledge
from .load import LoadedPatient, load_patient
from .namespaces import ASSERTED_GRAPH, ASSESSMENT_GRAPH, CITED_GRAPH, CONCLUDED_GRAPH, IGNORED_GRAPH, INFERRED_GRAPH
from .provenance import CITED_KNOWLEDGE_QUERY, assessment_quads, provenance_queries
from .rdfterms import to_ox, to_rdflib, triples_to_quads
from .report import to_json
from .validate import validate_input

PATIENT_GRAPHS = [ox.NamedNode(str(g)) for g in (ASSERTED_GRAPH, INFERRED_GRAPH, CONCLUDED_GRAPH, ASSESSMENT_GRAPH, IGNORED_GRAPH,
                                                  CITED_GRAPH)]


@dataclass
class Assessment:
    """The outcome for one patient: the contract JSON and the full dataset (quads)."""

    loaded: LoadedPatient
    as_of: date
    document: dict
    quads: list[ox.Quad] = field(repr=False)


class Assessor:
    """Prepared once, assesses many patients."""

    def __init__(self, reasoner: str = reason.DEFAULT, knowledge: Knowledge | None = None):
        self.knowledge = knowledge or load_knowledge()
        self.reasoner = reason.make_reasoner(reasoner, self.knowledge.graph)
        self.classify_rules = [r for r in self.knowledge.rules if r.before_reasoning]
        self.derive_rules = [r for r in self.knowledge.rules if not r.before_reasoning]
        self.provenance = provenance_queries()
        self.cited_knowledge = resources.query_text(CITED_KNOWLEDGE_QUERY)
        self.store = ox.Store()
        self.store.extend(self.knowledge.quads)

    def load(self, path: Path, as_of: date, input_format: str | None = None) -> LoadedPatient:
        """Load and validate one patient file (raises InputRejected)."""
        loaded = load_patient(Path(path), self.knowledge, as_of, input_format)
        validate_input(loaded, self.knowledge)
        return loaded

    def assess(self, path: Path, as_of: date, input_format: str | None = None) -> Assessment:
        """Assess one patient file as of a date."""
        return self.assess_loaded(self.load(path, as_of, input_format), as_of)

    def assess_loaded(self, loaded: LoadedPatient, as_of: date) -> Assessment:
        store = self.store
        for graph in PATIENT_GRAPHS:
            store.clear_graph(graph)
        asserted, inferred, concluded = (ox.NamedNode(str(g)) for g in (ASSERTED_GRAPH, INFERRED_GRAPH, CONCLUDED_GRAPH))
        store.extend(triples_to_quads(loaded.graph, ASSERTED_GRAPH))
        store.extend(triples_to_quads(loaded.ignored_graph, IGNORED_GRAPH))
        store.extend(assessment_quads(str(loaded.patient), as_of, self.knowledge, self.reasoner.name,
                                      loaded.file, loaded.source_sha256, ox.NamedNode(str(ASSESSMENT_GRAPH))))

        run_rules(store, self.classify_rules, inferred)
        facts = list(loaded.graph) + [tuple(to_rdflib(t) for t in (q.subject, q.predicate, q.object))
                                      for q in store.quads_for_pattern(None, None, None, inferred)]
        store.extend([ox.Quad(to_ox(s), to_ox(p), to_ox(o), inferred) for s, p, o in self.reasoner.infer(facts)])

        run_rules(store, self.derive_rules, concluded)
        for query in self.provenance:
            add(store, construct(store, query), concluded)
        add(store, construct(store, self.cited_knowledge), ox.NamedNode(str(CITED_GRAPH)))

        document = to_json(store, loaded.patient_id, as_of.isoformat(), self.knowledge, loaded.ignored)
        quads = [q for g in PATIENT_GRAPHS for q in store.quads_for_pattern(None, None, None, g)]
        return Assessment(loaded=loaded, as_of=as_of, document=document, quads=quads)

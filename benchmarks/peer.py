"""The best peer stack of PERFORMANCE-NOTES.md rebuilt as a baseline over b12kg's knowledge.

pyoxigraph loads N-Triples in bulk (chunks of patients per store), pySHACL-turbo
validates each chunk on a pyoxigraph store, the OWL 2 RL reasoner (`reasonable`, which
the rules need: value-set memberships are class assertions) runs once per chunk, and
Oxigraph runs the same SPARQL rules and the PROV link queries. There is no per-patient
Python work at all: the patients' facts are mapped and normalised by b12kg's loader
beforehand, untimed (`prepare`), and written as one N-Triples text per chunk. It is the
ceiling of what the same knowledge can do on these engines, not a product: it reports
no located errors, no ignored facts and no JSON.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyoxigraph as ox

from b12kg.knowledge import Knowledge
from b12kg.load import load_patient
from b12kg.namespaces import ASSERTED_GRAPH, ASSESSMENT_GRAPH, CONCLUDED_GRAPH, INFERRED_GRAPH
from b12kg.provenance import CITED_KNOWLEDGE_QUERIES, assessment_quads, provenance_queries
from b12kg.rdfterms import to_ox, to_rdflib
from b12kg.sparql import add, construct, select

OUTCOMES = """
SELECT ?patient ?kind ?code WHERE {
  ?c gm:derivedBy ?rule ; gm:concerns ?concept ; a ?kind ; gm:aboutPatient ?patient . ?concept gm:code ?code .
  FILTER(?kind IN (gm:StatusFinding, gm:RiskFactorFinding, gm:RecommendedAction))
}"""


def prepare(paths: list[Path], knowledge: Knowledge, as_of: date, chunk: int = 100) -> list[tuple[bytes, list[tuple[str, str]]]]:
    """(N-Triples of the patients' asserted facts, their patient IRIs and input digests) per chunk; untimed.
    Chunks of 100 are this stack's best over today's knowledge: 6.2 ms of CPU per patient,
    against 16.0 with the 1,000 of PERFORMANCE-NOTES.md (some queries still grow faster
    than the chunk in Oxigraph)."""
    chunks = []
    for start in range(0, len(paths), chunk):
        lines: list[str] = []
        patients: list[tuple[str, str]] = []
        for path in paths[start:start + chunk]:
            loaded = load_patient(path, knowledge, as_of)
            patients.append((str(loaded.patient), loaded.source_sha256))
            lines.extend(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in loaded.graph)
        chunks.append(("\n".join(lines).encode("utf-8"), patients))
    return chunks


class PeerStack:
    """Prepared once (shapes compiled, reasoner TBox closed), then run over chunks."""

    def __init__(self, knowledge: Knowledge):
        import pyshacl_turbo

        from b12kg.reason import make_reasoner
        from b12kg.validate import shapes_graph

        self.knowledge = knowledge
        self.shapes = pyshacl_turbo.compile_shapes(shapes_graph("patient-input"), advanced=True)
        self.reasoner = make_reasoner("reasonable", knowledge.graph)
        self.classify = [r for r in knowledge.rules if r.before_reasoning]
        self.derive = [r for r in knowledge.rules if not r.before_reasoning]
        self.provenance = provenance_queries(knowledge)
        self.cited = [knowledge.queries[q] for q in CITED_KNOWLEDGE_QUERIES]

    def run(self, chunks: list[tuple[bytes, list[tuple[str, str]]]], as_of: date) -> dict[str, dict]:
        outcomes: dict[str, dict] = {}
        asserted, inferred, concluded = (ox.NamedNode(str(g)) for g in (ASSERTED_GRAPH, INFERRED_GRAPH, CONCLUDED_GRAPH))
        for text, patients in chunks:
            facts = ox.Store()
            facts.load(text, format=ox.RdfFormat.N_TRIPLES)
            conforms, _, _ = self.shapes.validate(facts, inference="none", allow_warnings=True)
            if not conforms:
                raise ValueError("the peer stack's input did not conform")
            store = ox.Store()
            store.extend(self.knowledge.quads)
            store.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=asserted)
            for patient, digest in patients:
                store.extend(assessment_quads(patient, as_of, self.knowledge, "reasonable", patient, digest,
                                              ox.NamedNode(str(ASSESSMENT_GRAPH))))
            for rule in self.classify:
                add(store, construct(store, rule.query), inferred)
            triples = [tuple(to_rdflib(t) for t in (q.subject, q.predicate, q.object))
                       for g in (asserted, inferred) for q in store.quads_for_pattern(None, None, None, g)]
            store.extend([ox.Quad(to_ox(s), to_ox(p), to_ox(o), inferred) for s, p, o in self.reasoner.infer(triples)])
            for rule in self.derive:
                add(store, construct(store, rule.query), concluded)
            for query, _ in self.provenance:  # the peer keeps every link in one graph
                add(store, construct(store, query), concluded)
            for query in self.cited:
                add(store, construct(store, query), concluded)
            for patient, _ in patients:
                outcomes[patient] = {"status": None, "risk_factors": set(), "actions": set()}
            for row in select(store, OUTCOMES):
                found = outcomes.get(row["patient"].value)
                if found is None:
                    continue
                kind = row["kind"].value.rsplit("#", 1)[-1]
                if kind == "StatusFinding":
                    found["status"] = row["code"].value
                else:
                    found["risk_factors" if kind == "RiskFactorFinding" else "actions"].add(row["code"].value)
        return outcomes

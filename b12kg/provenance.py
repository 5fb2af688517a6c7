"""PROV-O provenance: the assessment activity, and conclusion -> rule -> statement -> facts.

The assessment is a prov:Activity carrying the as-of date, the software and guideline
versions, the reasoner used and a hash of the input. The links from each conclusion
to its evidence are drawn by queries/provenance/*.rq.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyoxigraph as ox

from .knowledge import Knowledge
from .knowledge_version import version_of
from .namespaces import GM, INFERRED_GRAPH, PROV, PT
from .reason import INFERRED_LEAVES_OUT
from .version import __version__

XSD = "http://www.w3.org/2001/XMLSchema#"
PROVENANCE_QUERIES = (("provenance/evidence-from-rule", "concluded"), ("provenance/prov-links", "provenance"))
"""The queries that link conclusions to their evidence, with the graph each writes to: a
conclusion's evidence statements belong to it (concluded); its PROV-O view has its own graph."""
CITED_KNOWLEDGE_QUERIES = ("provenance/cited-knowledge", "provenance/cited-interactions")


def _iri(term) -> ox.NamedNode:
    return ox.NamedNode(str(term))


def assessment_node(patient_iri: str, as_of: date, source_sha256: str) -> ox.NamedNode:
    """The assessment's IRI, unique to the patient, the as-of date and the input (contract section 7).

    Conclusion IRIs are minted under it by the derive queries (``{assessment}/conclusion/{code}``),
    so assessments of one patient on several dates or from several exports never share a node.
    """
    if len(source_sha256) != 64 or any(c not in "0123456789abcdef" for c in source_sha256):
        raise ValueError(f"not a SHA-256 hex digest: {source_sha256!r}")
    return ox.NamedNode(f"{patient_iri}/assessment/{as_of.isoformat()}/{source_sha256}")


def assessment_quads(patient_iri: str, as_of: date, knowledge: Knowledge, reasoner: str, source: str,
                     source_sha256: str, graph: ox.NamedNode) -> list[ox.Quad]:
    """The assessment activity: what was assessed, as of when, with what."""
    node = assessment_node(patient_iri, as_of, source_sha256)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    triples = [
        (rdf_type, _iri(GM.Assessment)),
        (rdf_type, _iri(PROV.Activity)),
        (_iri(GM.asOf), ox.Literal(as_of.isoformat(), datatype=ox.NamedNode(XSD + "date"))),
        (_iri(GM.assessedPatient), ox.NamedNode(patient_iri)),
        (_iri(PROV.startedAtTime), ox.Literal(started, datatype=ox.NamedNode(XSD + "dateTime"))),
        (_iri(PROV.used), ox.NamedNode(knowledge.guideline_iri)),
        (_iri(GM.softwareVersion), ox.Literal(f"b12kg {__version__}")),
        (_iri(GM.reasoner), ox.Literal(reasoner)),
        (_iri(GM.inputFile), ox.Literal(source)),
        (_iri(GM.inputSha256), ox.Literal(source_sha256)),
    ]
    triples += [(_iri(GM.guidelineVersion), ox.NamedNode(v)) for v in knowledge.version_iris]
    version = version_of(knowledge)  # the packs and a hash of the merged knowledge (knowledge_version.py)
    triples.append((_iri(GM.knowledgeVersion), ox.NamedNode(version.iri)))
    comment = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
    return [ox.Quad(node, p, o, graph) for p, o in triples] + [
        ox.Quad(ox.NamedNode(patient_iri), rdf_type, _iri(PT.Patient), graph),
        ox.Quad(_iri(INFERRED_GRAPH), comment, ox.Literal(INFERRED_LEAVES_OUT), graph)] + version.describe(graph)


def provenance_queries(knowledge: Knowledge) -> list[tuple[str, str]]:
    """(query text, graph role) of each provenance query."""
    return [(knowledge.queries[q], graph) for q, graph in PROVENANCE_QUERIES]

"""Which quads belong to which assessment, and the named graphs they go to in a cohort store.

An assessment's dataset (pipeline.Assessment.quads, or a `--format trig` file) uses the
pipeline's fixed graphs (asserted, inferred, concluded, assessment, ignored, cited-guideline).
In a cohort store each assessment gets its own graphs, named under its IRI
(contract section 7):

    {assessment}/graph/asserted      the patient facts as read
    {assessment}/graph/inferred      classification and OWL 2 RL inferences
    {assessment}/graph/concluded     the conclusions with their PROV-O links
    {assessment}/graph/activity      the assessment prov:Activity (as-of, versions, input SHA-256)
    {assessment}/graph/ignored       facts set aside, with their reason
    {assessment}/graph/data-quality  the data_quality notes (pt:DataQualityNote), wherever they were made

Quads that belong to no patient (a code's place in its hierarchy, a rule typed as
prov:Plan) are knowledge, not patient data: they go to a graph of the load that first
brought them, never into another patient's graphs. The cited guideline excerpt is left
out: the store holds the whole guideline once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from ..namespaces import ASSERTED_GRAPH, ASSESSMENT_GRAPH, CITED_GRAPH, CONCLUDED_GRAPH, GM, GRAPH, IGNORED_GRAPH, INFERRED_GRAPH, PT

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
ROLES = ("asserted", "inferred", "concluded", "activity", "ignored", "data-quality")
ROLE_OF_GRAPH = {str(ASSERTED_GRAPH): "asserted", str(INFERRED_GRAPH): "inferred", str(CONCLUDED_GRAPH): "concluded",
                 str(ASSESSMENT_GRAPH): "activity", str(IGNORED_GRAPH): "ignored", str(GRAPH["data-quality"]): "data-quality"}
_ASSERTED = ox.NamedNode(str(ASSERTED_GRAPH))
_NOTE = ox.NamedNode(str(PT.DataQualityNote))
CATALOG_GRAPH = ox.NamedNode(str(GRAPH["cohort"]))
"""The store's catalogue: each assessment and its graphs, and each load with its state."""
DROPPED_GRAPHS = {str(CITED_GRAPH)}
"""The cited-guideline excerpt: the store holds the whole guideline once instead."""


def graph_of(assessment: str, role: str) -> ox.NamedNode:
    """The named graph of one assessment's part (a role of ROLES)."""
    if role not in ROLES:
        raise ValueError(f"unknown graph role {role!r}")
    return ox.NamedNode(f"{assessment}/graph/{role}")


@dataclass
class Owner:
    """One assessment in a dataset, and the subjects that are its patient's own."""

    assessment: str
    patient: str
    subjects: set = field(default_factory=set)


def partition(quads: Iterable[ox.Quad], owners: list[Owner]) -> tuple[dict[str, list[ox.Quad]], list[ox.Quad]]:
    """Each owner's quads, and the shared rest, in the graphs they came in.

    A quad is an owner's when its subject is one of the patient's facts, the patient, the
    assessment or a node minted under the assessment's IRI (conclusions, data quality).
    """
    by_subject = {subject: owner for owner in owners for subject in owner.subjects}
    by_iri = {o.assessment: o for o in owners} | {o.patient: o for o in owners}
    mine: dict[str, list[ox.Quad]] = {o.assessment: [] for o in owners}
    shared: list[ox.Quad] = []
    for quad in quads:
        owner = by_subject.get(quad.subject)
        if owner is None and isinstance(quad.subject, ox.NamedNode):
            owner = (by_iri.get(quad.subject.value) or _minted_under(quad.subject.value, by_iri)
                     or _under_fact(quad.subject.value, by_subject))
        if owner is None:
            shared.append(quad)
        else:
            mine[owner.assessment].append(quad)
    return mine, shared


def placed(assessment: str, quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    """One assessment's quads moved into its own graphs (the activity's own triples into
    the activity graph wherever they were); the cited excerpt is dropped, and an inferred
    triple that is also asserted is kept once (in asserted), so a join over the union of
    one assessment's graphs sees each fact once."""
    node = ox.NamedNode(assessment)
    targets = {role: graph_of(assessment, role) for role in ROLES}
    quads = list(quads)
    asserted = {(q.subject, q.predicate, q.object) for q in quads if q.graph_name == _ASSERTED}
    notes = {q.subject for q in quads if q.predicate == RDF_TYPE and q.object == _NOTE}
    out = []
    for quad in quads:
        graph = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else None
        if graph in DROPPED_GRAPHS:
            continue
        role = "activity" if quad.subject == node else "data-quality" if quad.subject in notes else ROLE_OF_GRAPH.get(graph)
        if role is None:
            raise ValueError(f"a quad of assessment {assessment} is in graph {graph}, which b12kg does not write")
        if role == "inferred" and (quad.subject, quad.predicate, quad.object) in asserted:
            continue  # asserted already (the reasoner's plain and xsd:string literals differ in rdflib, not in RDF 1.1)
        out.append(ox.Quad(quad.subject, quad.predicate, quad.object, targets[role]))
    return out


def shared_triples(quads: Iterable[ox.Quad]) -> set[ox.Triple]:
    """The knowledge-level triples of a dataset (the cited excerpt left out)."""
    return {ox.Triple(q.subject, q.predicate, q.object) for q in quads
            if not (isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in DROPPED_GRAPHS)}


def _minted_under(iri: str, by_iri: dict[str, Owner]) -> Owner | None:
    """The owner whose assessment IRI ({patient}/assessment/{date}/{sha256}) `iri` is minted under."""
    cut = iri.rfind("/assessment/")
    if cut < 0:
        return None
    end = cut + len("/assessment/") + 10 + 1 + 64
    owner = by_iri.get(iri[:end])
    return owner if owner is not None and iri[end:end + 1] == "/" else None


def _under_fact(iri: str, by_subject: dict) -> Owner | None:
    """The owner of the fact `iri` is minted under (a data quality note {fact}/quality/{code}...)."""
    end = len(iri)
    for _ in range(4):
        end = iri.rfind("/", 0, end)
        if end <= 0:
            return None
        owner = by_subject.get(ox.NamedNode(iri[:end]))
        if owner is not None:
            return owner
    return None


def owners_in(quads: list[ox.Quad]) -> list[Owner]:
    """The assessments in a dataset written by b12kg (one file's quads), with their patients' subjects."""
    activity_graph, asserted, ignored = (ox.NamedNode(str(g)) for g in (ASSESSMENT_GRAPH, ASSERTED_GRAPH, IGNORED_GRAPH))
    assessed = ox.NamedNode(str(GM.assessedPatient))
    owners = [Owner(q.subject.value, q.object.value) for q in quads
              if q.graph_name == activity_graph and q.predicate == assessed]
    if len(owners) == 1:  # the facts of one file are its one patient's
        owners[0].subjects = {q.subject for q in quads if q.graph_name in (asserted, ignored)}
    return owners

"""Scoping: which facts are assessed. Facts dated after the as-of date, facts that have
not happened or were recorded in error, and undated observations the guideline does not
read are set aside (kept in the ignored graph with their reason) and reported."""

from __future__ import annotations

from datetime import date

import rdflib
from rdflib import RDF, Literal

from ..knowledge import Knowledge
from ..namespaces import GM, PT
from .patient import LoadedPatient

EXCLUDED_STATUSES = {
    "entered-in-error": "recorded in error",
    "refuted": "refuted",
    "not-taken": "recorded as not taken",
    "cancelled": "cancelled",
    "not-done": "not done",
    "intended": "planned, not started",
    "preparation": "in preparation, not done",
    "registered": "ordered, no result yet",
}
"""FHIR statuses (status or verificationStatus) that mean the fact has not happened, or
was recorded in error: such facts are set aside and reported, never assessed."""

DATE_PROPERTIES = (PT.effectiveDate, PT.startDate)


def _fact_date(graph: rdflib.Graph, fact) -> date | None:
    for prop in DATE_PROPERTIES:
        value = graph.value(fact, prop)
        if isinstance(value, Literal) and isinstance(value.toPython(), date):
            return value.toPython()
    return None


def _read_by_guideline(graph: rdflib.Graph, fact, read: frozenset) -> bool:
    codes = set(graph.objects(fact, PT.code)) | set(graph.objects(fact, PT.valueCode))
    return (fact, PT.measures, None) in graph or bool(codes & read)


def scope(loaded: LoadedPatient, as_of: date, knowledge: Knowledge) -> None:
    """Set aside, and report, the facts not assessed (see the module)."""
    read = knowledge.value_set_members
    graph = loaded.graph
    for fact in sorted(set(graph.subjects(PT.subject, None))):
        reason = None
        statuses = {str(s) for s in graph.objects(fact, PT.status)} | {str(s) for s in graph.objects(fact, PT.verificationStatus)}
        excluded = sorted(statuses & EXCLUDED_STATUSES.keys())
        fact_date = _fact_date(graph, fact)
        if excluded:
            reason = f"status {excluded[0]!r}: {EXCLUDED_STATUSES[excluded[0]]}"
        elif fact_date is not None and fact_date > as_of:
            reason = f"dated {fact_date.isoformat()}, after the as-of date {as_of.isoformat()}"
        elif fact_date is None and (fact, RDF.type, PT.Observation) in graph and not _read_by_guideline(graph, fact, read):
            reason = "no effective date, and not an observation this guideline reads"
        if reason is None:
            continue
        rtype = graph.value(fact, PT.resourceType)
        entry = {"id": str(graph.value(fact, PT.fhirId) or fact), "reason": reason}
        if rtype is not None:
            entry["resourceType"] = str(rtype)
        loaded.ignored.append(entry)
        nodes = [fact, *graph.objects(fact, PT.dosage)]
        for node in nodes:
            for triple in list(graph.triples((node, None, None))):
                loaded.ignored_graph.add(triple)
                graph.remove(triple)
        loaded.ignored_graph.add((fact, GM.ignoredBecause, Literal(reason)))

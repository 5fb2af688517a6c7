"""Scoping: which facts are assessed. Facts dated after the as-of date, facts that have
not happened or were recorded in error, medication records whose status or intent does
not count (ontology/model/patient.ttl, pt:countsWhenStatus / pt:countsWhenIntent), medication
records with no start or no code, undated observations the guideline does not read, and
what the loader could not read are set aside (kept in the ignored graph with their
reason) and reported; the loader's data quality notes become RDF in the patient's graph."""

from __future__ import annotations

from datetime import date

import rdflib
from rdflib import RDF, XSD, Literal, URIRef

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


def _read_by_guideline(graph: rdflib.Graph, fact, knowledge: Knowledge) -> bool:
    codes = set(graph.objects(fact, PT.code)) | set(graph.objects(fact, PT.valueCode))
    return (fact, PT.measures, None) in graph or knowledge.reads_any(codes)


def _counting(knowledge: Knowledge) -> dict[URIRef, tuple[frozenset, frozenset]]:
    """Medication class -> (statuses, intents) with which a record counts (empty: any), read once per Knowledge."""
    return knowledge.derived(_counting_table)


def _counting_table(knowledge: Knowledge) -> dict[URIRef, tuple[frozenset, frozenset]]:
    table = {}
    for cls in set(knowledge.graph.subjects(PT.countsWhenStatus, None)):
        table[cls] = (frozenset(str(s) for s in knowledge.graph.objects(cls, PT.countsWhenStatus)),
                      frozenset(str(i) for i in knowledge.graph.objects(cls, PT.countsWhenIntent)))
    return table


def _medication_reason(graph: rdflib.Graph, fact, knowledge: Knowledge) -> str | None:
    """Why a medication record does not count as exposure, if it does not (contract section 6)."""
    for cls, (statuses, intents) in _counting(knowledge).items():
        if (fact, RDF.type, cls) not in graph:
            continue
        name = str(graph.value(fact, PT.resourceType) or cls.split("#")[-1])
        status = graph.value(fact, PT.status)
        if status is not None and str(status) not in statuses:
            return f"status {str(status)!r}: a {name} counts when its status is {', '.join(sorted(statuses))}"
        intent = graph.value(fact, PT.intent)
        if intents and (intent is None or str(intent) not in intents):
            return f"intent {str(intent)!r}: a {name} counts when its intent is {', '.join(sorted(intents))}"
        if graph.value(fact, PT.code) is None:
            return "no medication code b12kg can read"
        if graph.value(fact, PT.startDate) is None:
            return "no start date: the exposure cannot be timed"
    return None


def scope(loaded: LoadedPatient, as_of: date, knowledge: Knowledge) -> None:
    """Set aside, and report, the facts not assessed (see the module); first, date the record."""
    graph = loaded.graph
    _newest_fact(loaded, as_of)
    for fact in sorted(set(graph.subjects(PT.subject, None))):
        reason = loaded.set_aside.get(fact)
        statuses = {str(s) for s in graph.objects(fact, PT.status)} | {str(s) for s in graph.objects(fact, PT.verificationStatus)}
        excluded = sorted(statuses & EXCLUDED_STATUSES.keys())
        fact_date = _fact_date(graph, fact)
        medication = _medication_reason(graph, fact, knowledge)
        if reason is not None:
            pass
        elif excluded:
            reason = f"status {excluded[0]!r}: {EXCLUDED_STATUSES[excluded[0]]}"
        elif medication is not None:
            reason = medication
            if "start" in medication and knowledge.reads_any(graph.objects(fact, PT.code)):
                loaded.quality.append((fact, "start-absent", f"a medication the guideline reads with {medication}: set aside"))
        elif fact_date is not None and fact_date > as_of:
            reason = f"dated {fact_date.isoformat()}, after the as-of date {as_of.isoformat()}"
        elif fact_date is None and (fact, RDF.type, PT.Observation) in graph and not _read_by_guideline(graph, fact, knowledge):
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


RECORD_DATE_PROPERTIES = (PT.effectiveDate, PT.startDate, PT.endDate, PT.latestDate)


def _newest_fact(loaded: LoadedPatient, as_of: date) -> None:
    """pt:newestFactDate on the patient: the newest date on or before the as-of date on any
    clinical resource of the record, read or not (record.newest_fact, contract section 6)."""
    dates = set(loaded.record_dates)
    for prop in RECORD_DATE_PROPERTIES:
        dates.update(str(value)[:10] for value in loaded.graph.objects(None, prop))
    newest = max((d for d in dates if d <= as_of.isoformat()), default=None)
    if newest is not None:
        loaded.graph.add((loaded.patient, PT.newestFactDate, Literal(newest, datatype=XSD.date)))


def add_quality_notes(loaded: LoadedPatient) -> None:
    """The loader's data quality notes as RDF in the patient's graph (pt:DataQualityNote)."""
    for fact, code, detail in loaded.quality:
        note = URIRef(f"{fact}/quality/{code}")
        loaded.graph.add((note, RDF.type, PT.DataQualityNote))
        loaded.graph.add((note, PT.aboutFact, fact))
        loaded.graph.add((note, PT.notePatient, loaded.patient))
        loaded.graph.add((note, PT.qualityCode, Literal(code)))
        loaded.graph.add((note, PT.qualityDetail, Literal(detail)))

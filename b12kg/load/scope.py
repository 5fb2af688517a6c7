"""Scoping: which facts are assessed. Facts dated after the as-of date, facts that have
not happened or were recorded in error, medication records whose status or intent does
not count (ontology/model/patient.ttl, pt:countsWhenStatus / pt:countsWhenIntent), medication
records with no start or no code, undated observations the guideline does not read, and
what the loader could not read are set aside (kept in the ignored facts with their
reason) and reported; the loader's data quality notes become facts of the patient."""

from __future__ import annotations

from datetime import date

from ..knowledge import Knowledge
from ..namespaces import GM, PT
from .codes import tables
from .facts import RDF_TYPE, XSD_DATE, Blank, Facts, P, lexical, plain, python_date, truthy, typed
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

DATE_PROPERTIES = (P.effectiveDate, P.startDate)
IGNORED_BECAUSE = str(GM.ignoredBecause)


def _fact_date(graph: Facts, fact) -> date | None:
    for prop in DATE_PROPERTIES:
        found = python_date(graph.value(fact, prop))
        if found is not None:
            return found
    return None


def _read_by_guideline(graph: Facts, fact, knowledge: Knowledge) -> bool:
    codes = {*graph.objects(fact, P.code), *graph.objects(fact, P.valueCode)}
    return graph.has(fact, P.measures) or tables(knowledge).reads_any(codes)


def _counting(knowledge: Knowledge) -> dict[str, tuple[frozenset, frozenset]]:
    """Medication class -> (statuses, intents) with which a record counts (empty: any), read once per Knowledge."""
    return knowledge.derived(_counting_table)


def _counting_table(knowledge: Knowledge) -> dict[str, tuple[frozenset, frozenset]]:
    table = {}
    for cls in set(knowledge.graph.subjects(PT.countsWhenStatus, None)):
        table[str(cls)] = (frozenset(str(s) for s in knowledge.graph.objects(cls, PT.countsWhenStatus)),
                           frozenset(str(i) for i in knowledge.graph.objects(cls, PT.countsWhenIntent)))
    return table


def _text(term) -> str:
    """str() of a term as rdflib gave it ('None' for no term)."""
    return "None" if term is None else lexical(term)


def _medication_reason(graph: Facts, fact, knowledge: Knowledge) -> str | None:
    """Why a medication record does not count as exposure, if it does not (contract section 6)."""
    for cls, (statuses, intents) in _counting(knowledge).items():
        if (fact, RDF_TYPE, cls) not in graph:
            continue
        rtype = graph.value(fact, P.resourceType)
        name = lexical(rtype) if truthy(rtype) else cls.split("#")[-1]
        status = graph.value(fact, P.status)
        if status is not None and lexical(status) not in statuses:
            return f"status {lexical(status)!r}: a {name} counts when its status is {', '.join(sorted(statuses))}"
        intent = graph.value(fact, P.intent)
        if intents and (intent is None or lexical(intent) not in intents):
            return f"intent {_text(intent)!r}: a {name} counts when its intent is {', '.join(sorted(intents))}"
        if graph.value(fact, P.code) is None:
            return "no medication code b12kg can read"
        if graph.value(fact, P.startDate) is None:
            return "no start date: the exposure cannot be timed"
    return None


def _node_order(node) -> tuple[bool, str]:
    """rdflib's order of subjects: blank nodes first, then IRIs, each by their text."""
    return (type(node) is not Blank, node)


def scope(loaded: LoadedPatient, as_of: date, knowledge: Knowledge) -> None:
    """Set aside, and report, the facts not assessed (see the module); first, date the record."""
    graph = loaded.facts
    _newest_fact(loaded, as_of)
    for fact in sorted(set(graph.subjects(P.subject)), key=_node_order):
        reason = loaded.set_aside.get(fact)
        statuses = {lexical(s) for s in graph.objects(fact, P.status)} | {lexical(s) for s in graph.objects(fact, P.verificationStatus)}
        excluded = sorted(statuses & EXCLUDED_STATUSES.keys())
        fact_date = _fact_date(graph, fact)
        medication = _medication_reason(graph, fact, knowledge)
        if reason is not None:
            pass
        elif excluded:
            reason = f"status {excluded[0]!r}: {EXCLUDED_STATUSES[excluded[0]]}"
        elif medication is not None:
            reason = medication
            if "start" in medication and tables(knowledge).reads_any(graph.objects(fact, P.code)):
                loaded.quality.append((fact, "start-absent", f"a medication the guideline reads with {medication}: set aside"))
        elif fact_date is not None and fact_date > as_of:
            reason = f"dated {fact_date.isoformat()}, after the as-of date {as_of.isoformat()}"
        elif fact_date is None and (fact, RDF_TYPE, P.Observation) in graph and not _read_by_guideline(graph, fact, knowledge):
            reason = "no effective date, and not an observation this guideline reads"
        if reason is None:
            continue
        rtype = graph.value(fact, P.resourceType)
        fhir_id = graph.value(fact, P.fhirId)
        entry = {"id": lexical(fhir_id) if truthy(fhir_id) else lexical(fact), "reason": reason}
        if rtype is not None:
            entry["resourceType"] = lexical(rtype)
        loaded.ignored.append(entry)
        for node in [fact, *graph.objects(fact, P.dosage)]:
            for prop, value in graph.predicate_objects(node):
                loaded.ignored_facts.add(node, prop, value)
                graph.remove(node, prop, value)
        loaded.ignored_facts.add(fact, IGNORED_BECAUSE, plain(reason))


RECORD_DATE_PROPERTIES = (P.effectiveDate, P.startDate, P.endDate, P.latestDate)


def _newest_fact(loaded: LoadedPatient, as_of: date) -> None:
    """pt:newestFactDate on the patient: the newest date on or before the as-of date on any
    clinical resource of the record, read or not (record.newest_fact, contract section 6)."""
    dates = set(loaded.record_dates)
    for prop in RECORD_DATE_PROPERTIES:
        dates.update(lexical(value)[:10] for value in loaded.facts.all_objects(prop))
    newest = max((d for d in dates if d <= as_of.isoformat()), default=None)
    if newest is not None:
        loaded.facts.add(loaded.node, P.newestFactDate, typed(newest, XSD_DATE))


def add_quality_notes(loaded: LoadedPatient) -> None:
    """The loader's data quality notes as facts of the patient (pt:DataQualityNote)."""
    facts = loaded.facts
    for fact, code, detail in loaded.quality:
        note = f"{fact}/quality/{code}"
        facts.add(note, RDF_TYPE, P.DataQualityNote)
        facts.add(note, P.aboutFact, fact)
        facts.add(note, P.notePatient, loaded.node)
        facts.add(note, P.qualityCode, plain(code))
        facts.add(note, P.qualityDetail, plain(detail))

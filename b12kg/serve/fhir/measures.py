"""Quality measures over the cohort store, on the SPARQL endpoint (`b12kg serve DIR`):

    GET  /fhir/metadata                              CapabilityStatement
    GET  /fhir/Measure[/{id}], /fhir/Library[/{id}]  the packs' measures (gm:QualityMeasure) and their queries
    GET  /fhir/Measure/{id}/$evaluate-measure        a MeasureReport: reportType population (summary, the
                                                     default), subject-list, or subject (&subject=Patient/ID);
                                                     periodStart, periodEnd
    GET  /fhir/Measure/$care-gaps                    ?subject=Patient/ID [&status=open-gap|closed-gap]
                                                     [&measureId=ID]: Parameters holding a document Bundle

A measure is data (ontology/model/cds.ttl): each population lists the patients its named
cohort queries list (their intersection when it names several), each patient read at its
latest assessment, so every count equals what the named query gives. Proportion scoring:
the score is numerator / denominator. The measures' numerators are care gaps (improvement
notation decrease): a patient in the numerator has an open gap, one in the denominator only
a closed one. The measurement period is reported; its end binds the queries' period-end
parameter (e.g. the date follow-ups are overdue by). The store is opened read-only per request.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache

import pyoxigraph as ox
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...cohort import named
from ...errors import HttpError, InputRejected
from ...knowledge import Knowledge, load_knowledge
from ...render.plandefinition import resource_id
from ...render.vocabulary import clean, vocabulary
from ...sparql import select
from .common import capability_statement, fhir_errors, fhir_response, searchset

POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
IMPROVEMENT = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
GAP_STATUS = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-gapStatus"
GAP_CODES = "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status"
SLOT_WAIT_SECONDS = 5.0
_ID = re.compile(r"Patient/([A-Za-z0-9\-.]{1,64})")


@dataclass(frozen=True)
class Population:
    code: str
    queries: tuple[str, ...]
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class QualityMeasure:
    iri: str
    code: str
    title: str
    description: str
    improvement: str
    period_parameter: str | None
    statements: tuple[str, ...]
    populations: tuple[Population, ...] = field(default=())

    def url(self, guideline: str) -> str:
        return f"{guideline}/Measure/{self.code}"


def measures(knowledge: Knowledge) -> dict[str, QualityMeasure]:
    """The packs' quality measures by code, in their order (computed once per Knowledge)."""
    return knowledge.derived(_measures)


def _measures(knowledge: Knowledge) -> dict[str, QualityMeasure]:
    rows = select(knowledge.store, knowledge.queries["fhir/measures"])
    found: dict[str, dict] = {}
    for r in rows:
        m = found.setdefault(r["code"].value, {"row": r, "statements": {}, "populations": {}})
        if "statement" in r:
            m["statements"][r["statement"].value] = None
        p = m["populations"].setdefault(r["population"], {"code": r["populationCode"].value, "queries": {}, "params": {}})
        p["queries"][r["query"].value] = None
        if "parameter" in r:
            p["params"][r["parameter"].value] = r["value"].value
    result = {}
    for code, m in found.items():
        r = m["row"]
        populations = tuple(Population(p["code"], tuple(sorted(p["queries"])), tuple(sorted(p["params"].items())))
                            for p in m["populations"].values())
        result[code] = QualityMeasure(r["measure"].value, code, r["title"].value, r["description"].value,
                                      r["improvement"].value if "improvement" in r else "increase",
                                      r["periodParameter"].value if "periodParameter" in r else None,
                                      tuple(m["statements"]), tuple(sorted(populations, key=lambda p: ORDER.index(p.code))))
    return result


ORDER = ("initial-population", "denominator", "denominator-exclusion", "numerator", "numerator-exclusion")


def cohort_query(knowledge: Knowledge, name: str) -> named.NamedQuery:
    """A named cohort query by name: the packaged ones (queries/cohort/), else a pack's (queries/<pack>/cohort/)."""
    packaged = named.named_queries()
    if name in packaged:
        return packaged[name]
    for key, text in knowledge.queries.items():
        if key.endswith(f"cohort/{name}"):
            return named.parse(name, text)
    raise HttpError(500, f"the measure names a cohort query {name!r} that no pack holds")


def _patients(store: ox.Store, query: named.NamedQuery, given: dict[str, str]) -> dict[str, str]:
    """Patient IRI -> FHIR id (or the IRI) of every patient a named query lists."""
    declared = {p.name for p in query.params}
    solutions = named.run(store, query, {k: v for k, v in given.items() if k in declared})
    names = [v.value for v in solutions.variables]
    found = {}
    for row in solutions:
        values = {n: row[n] for n in names if row[n] is not None}
        if "patient" in values:
            found[values["patient"].value] = values["patientId"].value if "patientId" in values else values["patient"].value
    return found


def evaluate(knowledge: Knowledge, store: ox.Store, measure: QualityMeasure, period_end: str | None) -> dict[str, dict[str, str]]:
    """Population code -> the patients in it (IRI -> FHIR id), by the measure's named queries."""
    result = {}
    for population in measure.populations:
        given = dict(population.params)
        if measure.period_parameter and period_end:
            given[measure.period_parameter] = period_end
        members: dict[str, str] | None = None
        for name in population.queries:
            listed = _patients(store, cohort_query(knowledge, name), given)
            members = listed if members is None else {k: v for k, v in members.items() if k in listed}
        result[population.code] = members or {}
    return result


def _concept(system: str, code: str, display: str | None = None) -> dict:
    return {"coding": [clean({"system": system, "code": code, "display": display})]}


def measure_resource(knowledge: Knowledge, measure: QualityMeasure) -> dict:
    vocab = vocabulary(knowledge)
    g = vocab.guideline
    library = f"{g['guideline']}/Library/cohort-queries"
    return clean({
        "resourceType": "Measure", "id": measure.code, "url": measure.url(g["guideline"]), "version": g["version"],
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", measure.code)), "title": measure.title,
        "status": "active", "experimental": True, "description": measure.description, "library": [library],
        "scoring": _concept(SCORING, "proportion"), "improvementNotation": _concept(IMPROVEMENT, measure.improvement),
        "relatedArtifact": [clean({"type": "citation", "label": f"[{vocab.statements[s]['citation']}]", "display": vocab.statements[s]["text"]})
                            for s in measure.statements if s in vocab.statements],
        "group": [{"population": [{
            "code": _concept(POPULATION, p.code),
            "description": " and ".join(p.queries) + (f" ({', '.join(f'{k}={v}' for k, v in p.params)})" if p.params else ""),
            "criteria": {"language": "application/sparql-query", "name": re.sub(r"[^A-Za-z0-9\-.]", "-", p.queries[0])[:64],
                         "reference": f"{library}#{'+'.join(p.queries)}",
                         "description": "Patients listed by the named cohort " + ("queries " if len(p.queries) > 1 else "query ")
                                        + ", ".join(p.queries) + " (SPARQL 1.1, each patient's latest assessment)."}}
            for p in measure.populations]}]})


def queries_library(knowledge: Knowledge) -> dict:
    """The Library of the named cohort queries the measures use (their SPARQL text)."""
    import base64

    g = vocabulary(knowledge).guideline
    url = f"{g['guideline']}/Library/cohort-queries"
    names = sorted({n for m in measures(knowledge).values() for p in m.populations for n in p.queries})
    return {"resourceType": "Library", "id": resource_id(url), "url": url, "version": g["version"], "name": "CohortQueries",
            "title": "Named cohort queries of the quality measures", "status": "active",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
            "content": [{"contentType": "application/sparql-query", "title": n,
                         "data": base64.b64encode(cohort_query(knowledge, n).text.encode("utf-8")).decode("ascii")} for n in names]}


def measure_report(knowledge: Knowledge, measure: QualityMeasure, found: dict[str, dict[str, str]], period: dict, kind: str,
                   subject: str | None = None) -> dict:
    """A MeasureReport: summary (counts), subject-list (counts and a List of patients per population),
    or individual (the one subject's membership)."""
    g = vocabulary(knowledge).guideline
    populations, contained = [], []
    for code in (p.code for p in measure.populations):
        members = found.get(code, {})
        if subject is not None:
            members = {k: v for k, v in members.items() if v == subject}
        entry = {"code": _concept(POPULATION, code), "count": len(members)}
        if kind == "subject-list":
            list_id = f"{code}-subjects"
            contained.append({"resourceType": "List", "id": list_id, "status": "current", "mode": "snapshot",
                              "entry": [{"item": {"reference": f"Patient/{pid}"}} for pid in sorted(members.values())]})
            entry["subjectResults"] = {"reference": f"#{list_id}"}
        populations.append(entry)
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in populations}
    group = {"population": populations}
    if counts.get("denominator"):
        group["measureScore"] = {"value": round(counts.get("numerator", 0) / counts["denominator"], 6)}
    report = {"resourceType": "MeasureReport", "status": "complete", "type": "individual" if subject else kind,
              "measure": measure.url(g["guideline"]), "date": datetime.now(UTC).isoformat(timespec="seconds"), "period": period,
              "improvementNotation": _concept(IMPROVEMENT, measure.improvement), "group": [group],
              "reporter": {"display": "b12kg"}}
    if subject:
        report["subject"] = {"reference": f"Patient/{subject}"}
    if contained:
        report["contained"] = contained
    return report


def _period(store: ox.Store, start: str | None, end: str | None) -> dict:
    """The measurement period: as given, else the cohort's first and last as-of dates."""
    for value, name in ((start, "periodStart"), (end, "periodEnd")):
        if value is not None:
            try:
                date.fromisoformat(value[:10])
            except ValueError:
                raise HttpError(400, f"{name}: {value[:20]!r} is not a date") from None
    summary = named.rows(store, "summary")[0] if (start is None or end is None) else {}
    return clean({"start": (start or summary.get("firstAsOf") or date.today().isoformat())[:10],
                  "end": (end or summary.get("lastAsOf") or date.today().isoformat())[:10]})


def care_gaps(knowledge: Knowledge, store: ox.Store, subject: str, period: dict, statuses: list[str], chosen: list[str]) -> dict:
    """$care-gaps for one patient: a document Bundle (Composition, a DetectedIssue per gap, the individual reports)."""
    vocab = vocabulary(knowledge)
    g = vocab.guideline
    now = datetime.now(UTC).isoformat(timespec="seconds")
    entries, sections = [], []
    for measure in measures(knowledge).values():
        if chosen and measure.code not in chosen:
            continue
        found = evaluate(knowledge, store, measure, period["end"])
        report = measure_report(knowledge, measure, found, period, "individual", subject)
        counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
        if not counts.get("denominator"):
            continue
        gap = "open-gap" if bool(counts.get("numerator")) == (measure.improvement == "decrease") else "closed-gap"
        if statuses and gap not in statuses:
            continue
        report["id"] = resource_id(f"{measure.code}|{subject}|{period['end']}|report")
        issue = {"resourceType": "DetectedIssue", "id": resource_id(f"{measure.code}|{subject}|{period['end']}|gap"),
                 "modifierExtension": [{"url": GAP_STATUS, "valueCodeableConcept": _concept(GAP_CODES, gap)}],
                 "status": "final", "code": _concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "CAREGAP", "Care Gaps"),
                 "patient": {"reference": f"Patient/{subject}"}, "identifiedDateTime": now, "detail": measure.title,
                 "evidence": [{"detail": [{"reference": f"MeasureReport/{report['id']}"}]}]}
        entries += [issue, report]
        sections.append({"title": measure.title, "focus": {"reference": f"MeasureReport/{report['id']}"},
                         "entry": [{"reference": f"DetectedIssue/{issue['id']}"}]})
    composition = clean({"resourceType": "Composition", "id": resource_id(f"{subject}|{period['end']}|care-gaps"), "status": "final",
                         "type": _concept("http://loinc.org", "96315-7", "Gaps in care report"), "subject": {"reference": f"Patient/{subject}"},
                         "date": now, "author": [{"display": "b12kg"}], "title": f"Care gaps: {g['title']}", "section": sections})
    bundle = {"resourceType": "Bundle", "type": "document", "timestamp": now,
              "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{resource_id(composition['id'] + now)}"},
              "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in (composition, *entries)]}
    return {"resourceType": "Parameters", "parameter": [{"name": "return", "resource": bundle}]}


@cache
def _knowledge() -> Knowledge:
    return load_knowledge()


def routes(store_path, slots: asyncio.Semaphore) -> list[Route]:
    """The measure routes of the SPARQL endpoint over the store at `store_path` (read-only, opened per request)."""
    path = str(store_path)

    def measure_of(request: Request) -> QualityMeasure:
        found = measures(_knowledge())
        if request.path_params["id"] not in found:
            raise HttpError(404, f"no Measure/{request.path_params['id'][:64]}; GET /fhir/Measure lists them")
        return found[request.path_params["id"]]

    async def work(function, *args):
        try:
            await asyncio.wait_for(slots.acquire(), SLOT_WAIT_SECONDS)
        except TimeoutError:
            raise HttpError(503, "too many queries at once: try again", {"Retry-After": "1"}) from None
        try:
            return await run_in_threadpool(function, *args)
        except InputRejected as exc:
            raise HttpError(400, str(exc)) from None
        finally:
            slots.release()

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', 'localhost')}"

    @fhir_errors
    async def metadata(request: Request) -> Response:
        return fhir_response(capability_statement(base(request), {"Measure": ["evaluate-measure", "care-gaps"], "Library": []},
                                                  "b12kg cohort endpoint: quality measures computed by the named cohort queries."))

    @fhir_errors
    async def search(request: Request) -> Response:
        knowledge = _knowledge()
        kind = request.path_params["kind"]
        if kind == "Measure":
            found = [measure_resource(knowledge, m) for m in measures(knowledge).values()]
        elif kind == "Library":
            found = [queries_library(knowledge)]
        else:
            raise HttpError(404, f"no {kind[:40]} resources here: Measure, Library")
        if request.path_params.get("id"):
            match = [r for r in found if r["id"] == request.path_params["id"]]
            if not match:
                raise HttpError(404, f"no {kind}/{request.path_params['id'][:64]}")
            return fhir_response(match[0])
        return fhir_response(searchset(found, base(request)))

    @fhir_errors
    async def evaluate_measure(request: Request) -> Response:
        measure = measure_of(request)
        params = request.query_params
        kind = {"population": "summary", "subject-list": "subject-list", "subject": "individual"}.get(params.get("reportType", "population"))
        if kind is None:
            raise HttpError(400, "reportType: population, subject-list or subject")
        subject = _subject(params.get("subject")) if params.get("subject") or kind == "individual" else None

        def run() -> dict:
            store = ox.Store.read_only(path)
            period = _period(store, params.get("periodStart"), params.get("periodEnd"))
            found = evaluate(_knowledge(), store, measure, period["end"])
            return measure_report(_knowledge(), measure, found, period, "summary" if kind == "individual" else kind, subject)

        return fhir_response(await work(run))

    @fhir_errors
    async def gaps(request: Request) -> Response:
        params = request.query_params
        subject = _subject(params.get("subject"))
        statuses = params.getlist("status")
        if any(s not in ("open-gap", "closed-gap") for s in statuses):
            raise HttpError(400, "status: open-gap or closed-gap")

        def run() -> dict:
            store = ox.Store.read_only(path)
            period = _period(store, params.get("periodStart"), params.get("periodEnd"))
            return care_gaps(_knowledge(), store, subject, period, statuses, params.getlist("measureId"))

        return fhir_response(await work(run))

    return [Route("/fhir/metadata", metadata, methods=["GET"]),
            Route("/fhir/Measure/$care-gaps", gaps, methods=["GET"]),
            Route("/fhir/Measure/{id}/$evaluate-measure", evaluate_measure, methods=["GET"]),
            Route("/fhir/{kind}", search, methods=["GET"]),
            Route("/fhir/{kind}/{id}", search, methods=["GET"])]


def _subject(value: str | None) -> str:
    match = _ID.fullmatch(value or "")
    if not match or match.group(1) in (".", ".."):
        raise HttpError(400, "subject: required, Patient/<id>")
    return match.group(1)

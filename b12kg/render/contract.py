"""The output contract's JSON (CONTRACT.md), rendered once per chunk from the assessment set.

The report queries (queries/report/) run once over the chunk's store; their rows are grouped
by patient into each patient's document. Other guidelines and interactions (section 8):
render/guidelines.py.
"""

from __future__ import annotations

from decimal import Decimal

import pyoxigraph as ox

from ..dataset import AssessmentSet
from ..errors import B12kgError
from ..knowledge import Knowledge
from ..namespaces import GM
from ..sparql import select
from . import guidelines

CONCLUSION_KINDS = {str(GM.StatusFinding): "status", str(GM.RiskFactorFinding): "risk", str(GM.RecommendedAction): "action",
                    str(GM.Finding): "finding"}


class InconsistentConclusions(B12kgError):
    """The rules concluded something impossible (e.g. two statuses): a defect, exit 1."""


def _value(term) -> str | None:
    return None if term is None else term.value


def conclusions(store: ox.Store, knowledge: Knowledge) -> dict[str, list[dict]]:
    """Every conclusion in the store, grouped by patient IRI, from the report queries."""
    grouped: dict[str, dict] = {}
    for row in select(store, knowledge.queries["report/conclusions"]):
        item = grouped.get(row["conclusion"].value)
        if item is None:
            item = grouped[row["conclusion"].value] = {
                "patient": row["patient"].value, "iri": row["conclusion"].value, "kind": CONCLUSION_KINDS[row["kind"].value],
                "code": row["code"].value, "text": _value(row.get("text")), "rule": row["rule"].value,
                "reported": {}, "due": _value(row.get("due")), "overdue": _value(row.get("overdue")) == "true",
                "safety": _value(row.get("safety")) == "true", "measure": set(), "based_on": set(), "evidence": {},
                "results": {}}
        if row.get("field") is not None:
            item["reported"][row["field"].value] = row["reported"].value
    for row in select(store, knowledge.queries["report/conclusion-facts"]):
        if row["conclusion"].value in grouped:
            grouped[row["conclusion"].value]["based_on"].add(fact_name(row))
    for row in select(store, knowledge.queries["report/conclusion-evidence"]):
        if row["conclusion"].value in grouped:
            grouped[row["conclusion"].value]["evidence"][row["statement"].value] = {
                "citation": row["citation"].value, "statement": row["statementText"].value,
                "level": _value(row.get("level"))}
    for row in select(store, knowledge.queries["report/conclusion-measures"]):
        if row["conclusion"].value in grouped:
            grouped[row["conclusion"].value]["measure"].add(row["measure"].value)
    for row in select(store, knowledge.queries["report/follow-up-results"]):
        if row["conclusion"].value in grouped:
            coded = row.get("coded")
            value = coded.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1] if coded is not None else exact_number(_value(row.get("value")))
            result = {"measure": row["measure"].value, "value": value, "unit": _value(row.get("unit")),
                      "date": row["date"].value, "fact": _value(row.get("factId")) or row["result"].value}
            if row.get("comparator") is not None:
                result["comparator"] = row["comparator"].value
            grouped[row["conclusion"].value]["results"][row["result"].value] = result
    by_patient: dict[str, list[dict]] = {}
    for item in grouped.values():
        by_patient.setdefault(item["patient"], []).append(item)
    return by_patient


def fact_name(row: dict) -> str:
    """How the contract names a fact: its FHIR id, as ResourceType/id when another resource
    of the patient has the same id (so based_on is never ambiguous), else its IRI."""
    fid = _value(row.get("factId"))
    if fid is None:
        return row["fact"].value
    shared = row.get("shared")
    if shared is not None and shared.value == "true" and row.get("type") is not None:
        return f"{row['type'].value}/{fid}"
    return fid


def populations(store: ox.Store, knowledge: Knowledge) -> dict[str, dict]:
    """Each patient's place in the guideline's population (contract section 5), by patient IRI."""
    found: dict[str, dict] = {}
    for row in select(store, knowledge.queries["report/population"]):
        entry = found.setdefault(row["patient"].value, {"in": row["member"].value == "true", "reason": row["code"].value,
                                                         "based_on": set()})
        if row.get("fact") is not None:
            entry["based_on"].add(fact_name(row))
    return {patient: {**entry, "based_on": sorted(entry["based_on"])} for patient, entry in found.items()}


def records(store: ox.Store, knowledge: Knowledge) -> dict[str, dict]:
    """Each patient's `record` (contract version 3): the newest fact's date, and the therapy
    episode the conclusions assumed (the latest one of the primary guideline's therapy kind)."""
    found: dict[str, dict] = {}
    for row in select(store, knowledge.queries["report/record"]):
        entry = found.setdefault(row["patient"].value, {"newest_fact": _value(row.get("newest")), "since": _value(row.get("since")),
                                                        "current": _value(row.get("current")) == "true", "records": {}})
        if row.get("record") is not None:
            entry["records"][_value(row.get("factId")) or row["record"].value] = (row["recordStart"].value,
                                                                                 _value(row.get("parenteral")) == "true")
    result = {}
    for patient, entry in found.items():
        latest = max(entry["records"].items(), key=lambda item: (item[1][0], item[1][1], item[0]), default=None)
        result[patient] = {"newest_fact": entry["newest_fact"], "b12_therapy": {
            "current": entry["current"],
            "route": None if latest is None else "parenteral" if latest[1][1] else "oral",
            "since": entry["since"],
            "based_on": sorted(entry["records"])}}
    return result


def data_quality(store: ox.Store, knowledge: Knowledge) -> dict[str, list[dict]]:
    """Each patient's data quality notes (contract section 6), by patient IRI."""
    found: dict[str, list[dict]] = {}
    for row in select(store, knowledge.queries["report/data-quality"]):
        fact = fact_name(row) if row.get("fact") is not None else None
        found.setdefault(row["patient"].value, []).append({"fact": fact, "code": row["code"].value, "detail": row["detail"].value})
    return {p: sorted(notes, key=lambda n: (n["code"], n["fact"] or "", n["detail"])) for p, notes in found.items()}


class ExactNumber(float):
    """A reported number that keeps the exact decimal that was compared (179.99999999999999
    stays that): `dumps` prints its digits; any other JSON encoder prints the nearest float."""

    def __new__(cls, decimal: Decimal):
        number = super().__new__(cls, float(decimal))
        number.decimal = decimal
        return number


def exact_number(text: str | None) -> int | ExactNumber | None:
    """A decimal from the store as a JSON number: an integer when whole (140, not 140.0), else exact."""
    if text is None:
        return None
    decimal = Decimal(text)
    if decimal == decimal.to_integral_value():
        return int(decimal)
    return ExactNumber(decimal)


def _marked(node):
    if isinstance(node, ExactNumber):
        return f"\u0000exact:{format(node.decimal.normalize(), 'f')}\u0000"
    if isinstance(node, dict):
        return {k: _marked(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_marked(v) for v in node]
    return node


def dumps(document: dict, **kwargs) -> str:
    """The JSON text of an assessment, with every reported number exactly as compared."""
    import json
    import re

    text = json.dumps(_marked(document), **kwargs)
    return re.sub(r'"\\u0000exact:([-0-9.]+)\\u0000"', r"\1", text)


def _evidence(item: dict) -> list[dict]:
    return sorted(item["evidence"].values(), key=lambda e: (e["citation"], e["statement"]))


NO_RECORD = {"newest_fact": None, "b12_therapy": {"current": False, "route": None, "since": None, "based_on": []}}


def to_json(found: list[dict], patient_id: str, as_of: str, knowledge: Knowledge, ignored: list[dict],
            population: dict | None = None, quality: list[dict] | None = None, record: dict | None = None) -> dict:
    """One patient's conclusions (from `conclusions`), population, data quality notes and
    record summary as the output contract's JSON object."""
    statuses = [c for c in found if c["kind"] == "status"]
    if len(statuses) != 1:
        raise InconsistentConclusions(f"expected one status for {patient_id}, the rules concluded {len(statuses)}")
    status = statuses[0]
    order = {rule.iri: rule.stage for rule in knowledge.rules}
    risks = sorted((c for c in found if c["kind"] == "risk"), key=lambda c: c["code"])
    actions = sorted((c for c in found if c["kind"] == "action"), key=lambda c: (order.get(c["rule"], 99), c["code"]))
    follow = next((c for c in actions if c["due"]), None)
    measure_order = knowledge.measure_order
    return {
        "patient": patient_id,
        "as_of": as_of,
        "guideline": {"id": knowledge.guideline_iri, "version": knowledge.guideline_version},
        "b12_status": {
            "value": status["code"],
            **{field: exact_number(status["reported"].get(field)) for field in knowledge.contract_fields
               if field not in knowledge.comparator_fields},
            **{field: status["reported"][field] for field in knowledge.comparator_fields if status["reported"].get(field)},
            "based_on": sorted(status["based_on"]),
            "evidence": _evidence(status),
            "rule": status["rule"],
        },
        "risk_factors": [{"code": c["code"], "based_on": sorted(c["based_on"]), "evidence": _evidence(c),
                          "rule": c["rule"]} for c in risks],
        "recommendations": [{"action": c["code"], "text": c["text"], "based_on": sorted(c["based_on"]),
                             "evidence": _evidence(c), "rule": c["rule"], "safety": c["safety"]} for c in actions],
        "follow_up": None if follow is None else {
            "due": follow["due"],
            "overdue": follow["overdue"],
            "measure": sorted(follow["measure"], key=lambda m: (measure_order.get(m, len(measure_order)), m)),
            "results": sorted(follow["results"].values(), key=lambda r: (r["date"], measure_order.get(r["measure"], 99), r["fact"]))},
        "ignored_facts": ignored,
        **({"population": population} if population else {}),
        "data_quality": quality or [],
        "record": record or NO_RECORD,
    }


def documents(assessments: AssessmentSet, knowledge: Knowledge) -> list[dict]:
    """The contract JSON of every patient of the set, in order: the report queries run once for the chunk."""
    store = assessments.store
    found, population, quality = conclusions(store, knowledge), populations(store, knowledge), data_quality(store, knowledge)
    met, summary = guidelines.interactions(store, knowledge), records(store, knowledge)
    out = []
    for loaded in assessments.patients:
        patient = str(loaded.patient)
        primary, others = guidelines.split(found.get(patient, []), knowledge)
        document = to_json(primary, loaded.patient_id, assessments.as_of.isoformat(), knowledge, loaded.ignored,
                           population.get(patient), quality.get(patient, []), summary.get(patient))
        document.update(guidelines.report_fields(others, met.get(patient, []), knowledge))
        out.append(document)
    return out

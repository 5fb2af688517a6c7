"""Writes the CDS Hooks request fixtures of this folder from the clinical cases.

Named as in cqframework's opioid-cds-r4: request-<service>-<in|out>-<reason>.json is a
CDS Hooks request (complete prefetch, built from a case bundle; order-sign and order-select
requests add context.draftOrders, order-select context.selections); `in` expects cards, `out` none. NAME.expected.json beside it holds
the HTTP status and the cards expected (indicator, summary, and the resource types the
suggestions create), written here by hand from the guideline, not from b12kg's output.

    .venv/bin/python tests/cds-hooks/make_requests.py
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CASES = ROOT / "tests" / "cases" / "b12"
AS_OF = "2026-11-24"
"""Every fixture is assessed as of this date (the service runs with --as-of)."""

PREFETCH_TYPES = {"patient": "Patient", "observations": "Observation", "conditions": "Condition", "procedures": "Procedure",
                  "medicationStatements": "MedicationStatement", "medicationRequests": "MedicationRequest",
                  "medicationAdministrations": "MedicationAdministration", "medicationDispenses": "MedicationDispense"}
"""Prefetch key -> the resource type it holds (the service's discovery templates; a test checks they agree)."""

SUMMARY = {
    "urgent-untreated-deficiency": "B12 deficiency untreated for more than 3 months: risk of permanent spinal cord lesions. Treat without delay.",
    "avoid-folic-acid-alone": "Folic acid above 0.1 mg daily without B12 may mask B12 deficiency while nerve damage progresses.",
    "draft-folic-acid-alone": "Folic acid above 0.1 mg daily ordered without B12 therapy: it may mask B12 deficiency.",
    "draft-reversible-cause-with-deficiency": "Metformin or a PPI ordered for a patient with B12 deficiency: both lower B12; monitor closely.",
    "draft-oral-b12-where-im-indicated": "Oral B12 ordered, but severe neurological signs call for intramuscular B12 loading.",
}
"""Card summaries of the safety warnings and the order issues (one card each)."""

STATUS = {"unknown": "B12 status unknown (no baseline serum B12)", "confirmed": "Confirmed B12 deficiency",
          "indeterminate": "B12 status indeterminate", "functional": "Functional B12 deficiency", "unlikely": "B12 deficiency unlikely"}
PLAN = {"order-serum-b12": "order serum B12", "order-mma": "order MMA", "oral-b12-high-dose": "oral B12 1500-2000 mcg daily",
        "im-b12-loading": "IM B12 loading", "follow-up-3-months": "reassess at 3 months", "enhanced-monitoring": "closer B12 monitoring"}
"""The decision card's summary: the status, then the plan, in the assessment's order, and how many other guidelines concluded."""
INTERACTION = {"repetition": "Repetition: ", "contradiction": "Contradiction: "}
"""An interaction card's summary starts with its type; the resolution (ontology text) follows."""


def card(code: str, indicator: str, *suggestions: str) -> dict:
    return {"indicator": indicator, "summary": SUMMARY[code], "suggestions": list(suggestions)}


def safety(code: str) -> dict:
    return {"indicator": "critical", "summary": SUMMARY[code], "suggestions": []}


def decision(status: str, *plan: str, others: int = 0, suggestions: tuple[str, ...] = (), indicator: str = "info") -> dict:
    summary = f"{STATUS[status]}: {'; '.join(PLAN[p] for p in plan)}" if plan else STATUS[status]
    if others:
        summary += f" (+ {others} other guideline{'s' if others > 1 else ''})"
    return {"indicator": indicator, "summary": summary, "suggestions": list(suggestions)}


def interaction(kind: str, indicator: str = "info") -> dict:
    return {"indicator": indicator, "summaryStartsWith": INTERACTION[kind], "suggestions": []}


def bundle_of(case: str) -> dict:
    path = ROOT / "examples" / f"{case}.json" if case.startswith("ex") else CASES / f"{case}.json"
    return json.loads(path.read_text())


def patient_id(bundle: dict) -> str:
    return next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def prefetch(bundle: dict, keys=PREFETCH_TYPES) -> dict:
    """Prefetch values for `keys` from a case bundle: the Patient, and a searchset per resource type."""
    found = {}
    for key in keys:
        kind = PREFETCH_TYPES[key]
        resources = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
        if kind == "Patient":
            found[key] = resources[0]
        else:
            found[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                          "entry": [{"fullUrl": f"http://ehr.example/fhir/{kind}/{r['id']}", "resource": r,
                                     "search": {"mode": "match"}} for r in resources]}
    return found


def medication_request(rid: str, pid: str, system: str, code: str, display: str, dose: float | None = None, unit: str = "mg",
                       route: tuple[str, str] | None = None, period_unit: str = "d") -> dict:
    """A draft MedicationRequest as an EHR sends it in context.draftOrders."""
    resource = {"resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "order",
                "subject": {"reference": f"Patient/{pid}"}, "authoredOn": AS_OF,
                "medicationCodeableConcept": {"coding": [{"system": system, "code": code, "display": display}], "text": display}}
    if dose is not None:
        dosage = {"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": period_unit}},
                  "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}]}
        if route:
            dosage["route"] = {"coding": [{"system": "http://snomed.info/sct", "code": route[0], "display": route[1]}]}
        resource["dosageInstruction"] = [dosage]
    return resource


ATC, RXNORM = "http://www.whocc.no/atc", "http://www.nlm.nih.gov/research/umls/rxnorm"
ORAL, IM = ("26643006", "oral route"), ("78421000", "intramuscular route")


def folic(pid: str, mg: float) -> dict:
    return medication_request("draft-folic", pid, ATC, "B03BB01", "folic acid", mg, "mg", ORAL)


def folic_by_reference(pid: str, mg: float) -> list[dict]:
    """A draft folic acid order naming its drug by a Medication resource sent along in draftOrders."""
    order = folic(pid, mg)
    del order["medicationCodeableConcept"]
    order["id"] = "draft-folic-ref"
    order["medicationReference"] = {"reference": "Medication/draft-folic-medication"}
    medication = {"resourceType": "Medication", "id": "draft-folic-medication",
                  "code": {"coding": [{"system": ATC, "code": "B03BB01", "display": "folic acid"}]}}
    return [order, medication]


def oral_b12(pid: str) -> dict:
    return medication_request("draft-b12-oral", pid, ATC, "B03BA01", "cyanocobalamin", 1000, "ug", ORAL)


def im_b12(pid: str) -> dict:
    return medication_request("draft-b12-im", pid, ATC, "B03BA01", "cyanocobalamin", 1000, "ug", IM)


def metformin(pid: str) -> dict:
    return medication_request("draft-metformin", pid, RXNORM, "6809", "metformin", 500, "mg", ORAL)


def omeprazole(pid: str) -> dict:
    return medication_request("draft-omeprazole", pid, RXNORM, "7646", "omeprazole", 20, "mg", ORAL)


PATIENT_VIEW = {
    "in-confirmed-oral": ("ex1-confirmed-oral", [
        decision("confirmed", "oral-b12-high-dose", "follow-up-3-months", others=1, suggestions=("MedicationRequest",))]),
    "in-untreated-deficiency": ("combo-untreated-since-june-vegan-metformin", [
        decision("confirmed", "enhanced-monitoring", "oral-b12-high-dose", "follow-up-3-months", others=2, suggestions=("MedicationRequest",)),
        safety("urgent-untreated-deficiency"), interaction("repetition")]),
    "in-folic-acid-alone": ("avoid-folic-acid-alone-fires-0_4-mg-daily-rxnorm", [
        decision("indeterminate", "order-mma", others=1, suggestions=("ServiceRequest",)), safety("avoid-folic-acid-alone"),
        interaction("repetition")]),
    "in-no-serum-b12": ("status-unknown-no-b12", [
        decision("unknown", "order-serum-b12", others=1, suggestions=("ServiceRequest",)), interaction("repetition")]),
    "in-indeterminate": ("status-indeterminate-b12-exactly-350-ng-per-l", [
        decision("indeterminate", "order-mma", others=1, suggestions=("ServiceRequest",)), interaction("repetition")]),
    "in-severe-case-im": ("im-b12-loading-fires-clinician-asserted-severe-case", [
        decision("confirmed", "im-b12-loading", "follow-up-3-months", others=1, suggestions=("MedicationRequest",))]),
    "in-unlikely-other-guideline": ("order-mma-not-b12-500_1-neuropathy", [decision("unlikely", others=1)]),
    "in-safety-outside-population": ("avoid-folic-acid-alone-fires-outside-population-indeterminate", [safety("avoid-folic-acid-alone")]),
    "out-no-neuropathy-b12-unlikely": ("order-mma-not-b12-420-no-neuropathy", []),
}

ORDER_SIGN = {
    "in-folic-acid-without-b12": ("status-confirmed-b12-179_9-ng-per-l", lambda p: [folic(p, 1)], [
        card("draft-folic-acid-alone", "warning", "MedicationRequest")]),
    "in-folic-acid-status-unknown": ("status-unknown-no-b12", lambda p: [folic(p, 5)], [
        card("draft-folic-acid-alone", "warning", "ServiceRequest")]),
    "in-folic-acid-by-medication-reference": ("status-confirmed-b12-179_9-ng-per-l", lambda p: folic_by_reference(p, 1), [
        card("draft-folic-acid-alone", "warning", "MedicationRequest")]),
    "out-folic-acid-with-b12": ("status-confirmed-b12-179_9-ng-per-l", lambda p: [folic(p, 1), oral_b12(p)], []),
    "out-folic-acid-0_1-mg": ("status-confirmed-b12-179_9-ng-per-l", lambda p: [folic(p, 0.1)], []),
    "in-metformin-confirmed-deficiency": ("ex1-confirmed-oral", lambda p: [metformin(p)], [
        card("draft-reversible-cause-with-deficiency", "warning", "MedicationRequest")]),
    "in-ppi-functional-deficiency": ("status-functional-b12-600-mma-0_6", lambda p: [omeprazole(p)], [
        card("draft-reversible-cause-with-deficiency", "warning", "MedicationRequest")]),
    "out-metformin-b12-unlikely": ("order-mma-not-b12-500_1-neuropathy", lambda p: [metformin(p)], []),
    "in-oral-b12-where-im": ("im-b12-loading-fires-clinician-asserted-severe-case", lambda p: [oral_b12(p)], [
        card("draft-oral-b12-where-im-indicated", "warning", "MedicationRequest")]),
    "out-im-b12-where-im": ("im-b12-loading-fires-clinician-asserted-severe-case", lambda p: [im_b12(p)], []),
    "out-oral-b12-no-severe-signs": ("status-confirmed-b12-179_9-ng-per-l", lambda p: [oral_b12(p)], []),
}


ORDER_SELECT = {
    "in-folic-acid-selected-b12-not-yet": ("status-confirmed-b12-179_9-ng-per-l", lambda p: [folic(p, 1), oral_b12(p)],
                                           ["MedicationRequest/draft-folic"], [card("draft-folic-acid-alone", "warning", "MedicationRequest")]),
    "out-oral-b12-selected": ("status-confirmed-b12-179_9-ng-per-l", lambda p: [folic(p, 1), oral_b12(p)],
                              ["MedicationRequest/draft-b12-oral"], []),
    "in-metformin-selected": ("ex1-confirmed-oral", lambda p: [metformin(p)], ["MedicationRequest/draft-metformin"], [
        card("draft-reversible-cause-with-deficiency", "warning", "MedicationRequest")]),
}
"""order-select: only the orders just selected are checked (the other drafts are not yet chosen)."""


def request(hook: str, name: str, bundle: dict, drafts: list[dict] | None = None, selections: list[str] | None = None) -> dict:
    pid = patient_id(bundle)
    body = {"hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"b12kg-cds-fixture/{hook}/{name}")), "hook": hook,
            "context": {"userId": "Practitioner/example", "patientId": pid}, "prefetch": prefetch(bundle)}
    if drafts is not None:
        body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                          "entry": [{"resource": d} for d in drafts]}
    if selections is not None:
        body["context"]["selections"] = selections
    return body


def write(name: str, body: dict, expected: dict) -> None:
    (HERE / f"{name}.json").write_text(json.dumps(body, indent=1) + "\n")
    (HERE / f"{name}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def main() -> None:
    for old in HERE.glob("request-*.json"):
        old.unlink()
    for reason, (case, cards) in PATIENT_VIEW.items():
        write(f"request-b12-patient-view-{reason}", request("patient-view", reason, bundle_of(case)),
              {"case": case, "status": 200, "cards": cards})
    for reason, (case, drafts, cards) in ORDER_SIGN.items():
        bundle = bundle_of(case)
        write(f"request-b12-order-sign-{reason}", request("order-sign", reason, bundle, drafts(patient_id(bundle))),
              {"case": case, "status": 200, "cards": cards})
    for reason, (case, drafts, selected, cards) in ORDER_SELECT.items():
        bundle = bundle_of(case)
        write(f"request-b12-order-select-{reason}", request("order-select", reason, bundle, drafts(patient_id(bundle)), selected),
              {"case": case, "status": 200, "cards": cards})


if __name__ == "__main__":
    main()

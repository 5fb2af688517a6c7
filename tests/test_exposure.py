"""Medication exposure as episodes (contract section 6, version 3), read once for every pack.

Each record covers a period; records of one kind of exposure from any of the four medication
resources join across the grace gap into episodes; the current episode's start is what "started
N months before" reads. The expected answers below are derived by hand from the contract's
sentences, quoted in each test.
"""

from __future__ import annotations

from datetime import date

import pytest

from b12kg.api import Api
from b12kg.pipeline import Assessor

AS_OF = date(2026, 11, 24)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SCT = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"


@pytest.fixture(scope="module")
def api(assessor: Assessor) -> Api:
    return Api(assessor)


def bundle(*resources: dict, patient: dict | None = None) -> dict:
    entries = [{"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01", **(patient or {})}}]
    for resource in resources:
        entries.append({"resource": {**resource, "subject": {"reference": "Patient/p1"}}})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


METFORMIN = coded(RXNORM, "6809", "metformin")
DIABETIC_NEUROPATHY = {"resourceType": "Condition", "id": "cond-1",
                       "code": coded(SCT, "368581000119106", "neuropathy due to type 2 diabetes mellitus"),
                       "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": "2024-01-01"}
B12_600 = {"resourceType": "Observation", "id": "obs-1", "status": "final",
           "code": coded("http://loinc.org", "2132-9", "B12"),
           "effectiveDateTime": "2026-11-01",
           "valueQuantity": {"value": 600, "unit": "pg/mL", "system": "http://unitsofmeasure.org", "code": "pg/mL"}}


def request(rid: str, authored: str, status: str = "active", **extra) -> dict:
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
            "medicationCodeableConcept": METFORMIN, "authoredOn": authored, **extra}


def dispense(rid: str, handed: str, days: int = 30) -> dict:
    return {"resourceType": "MedicationDispense", "id": rid, "status": "completed", "medicationCodeableConcept": METFORMIN,
            "whenHandedOver": handed, "daysSupply": {"value": days, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}}


def administration(rid: str, day: str) -> dict:
    return {"resourceType": "MedicationAdministration", "id": rid, "status": "completed", "medicationCodeableConcept": METFORMIN,
            "effectiveDateTime": day}


def companion_actions(document: dict) -> set[str]:
    """The actions of every guideline (the primary and the companions: contract section 8)."""
    found = {r["action"] for r in document["recommendations"]}
    for value in document.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found |= {r["action"] for r in item.get("recommendations", []) if isinstance(r, dict) and "action" in r}
    return found


@pytest.mark.parametrize("records", [
    [request("med-1", "2026-01-10")],
    [dispense("med-1", "2025-06-18"), *[dispense(f"med-{i}", day) for i, day in
                                         enumerate(["2025-07-18", "2025-08-17", "2025-09-16", "2025-10-16", "2025-11-15",
                                                    "2025-12-15", "2026-01-14", "2026-02-13", "2026-03-15", "2026-04-14",
                                                    "2026-05-14", "2026-06-13", "2026-07-13", "2026-08-12", "2026-09-11",
                                                    "2026-10-11", "2026-11-10"], start=2)]],
    [administration(f"med-{i}", day) for i, day in enumerate(["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"])],
], ids=["request-only", "dispense-only", "administration-only"])
def test_companion_packs_read_every_medication_resource(api: Api, records: list[dict]):
    """Issue 19, point 10: ADA's metformin use and MHRA's testing advice fire whatever resource
    records the metformin (a request, dispenses, administrations), as the B12 pack's do."""
    document = api.assess(bundle(DIABETIC_NEUROPATHY, B12_600, *records), AS_OF).document
    found = companion_actions(document)
    assert {"ada-periodic-b12-measurement", "mhra-b12-testing"} <= found, found


def test_refills_of_every_resource_type_join_into_one_episode(api: Api):
    """'Records of the same ingredient, from any resource type, whose periods overlap or leave no
    more than the grace gap ... form one episode': a completed order (default 30 days from
    2026-02-01, to 03-02), a dispense on 2026-04-01 (29 uncovered days: joined, covering to 04-30)
    and an active order authored 2026-05-15 (15 days: joined, open to the as-of date) are one
    exposure from 2026-02-01: more than 4 months, the metformin risk factor."""
    document = api.assess(bundle(DIABETIC_NEUROPATHY, B12_600, request("med-1", "2026-02-01", status="completed"),
                                 dispense("med-2", "2026-04-01"), request("med-3", "2026-05-15")), AS_OF).document
    risk = {r["code"]: r for r in document["risk_factors"]}
    assert set(risk) == {"metformin-over-4-months"}
    assert set(risk["metformin-over-4-months"]["based_on"]) == {"med-1", "med-2", "med-3"}


@pytest.mark.parametrize(("second", "risk"), [("2026-07-31", ["metformin-over-4-months"]), ("2026-08-01", [])],
                         ids=["30-uncovered-days-joined", "31-uncovered-days-new-episode"])
def test_the_grace_gap_boundary(api: Api, second: str, risk: list[str]):
    """A 30-day dispense of 2026-06-01 covers 06-01 to 06-30 ('a 30-day supply handed over on 1
    January covers 1-30 January'). A dispense on 07-31 leaves 30 uncovered days (07-01 to 07-30): 'a
    next start on or before the previous end + 1 day + 30 days' joins it, and the active order of
    08-20 with it: one episode from 06-01, more than 4 months before 11-24. On 08-01 the gap is 31
    days: the current episode starts 08-01, less than 4 months."""
    document = api.assess(bundle(DIABETIC_NEUROPATHY, B12_600, dispense("med-1", "2026-06-01"),
                                 dispense("med-2", second), request("med-3", "2026-08-20")), AS_OF).document
    assert [r["code"] for r in document["risk_factors"]] == risk


def test_a_stale_active_order_is_not_current_and_is_reported(api: Api):
    """'An active record whose latest date ... is more than the open-ended limit before the as-of
    date no longer counts as current, and is reported (stale-record)'; a record whose newest fact
    is older than the limit is reported once (record-outdated)."""
    document = api.assess(bundle(DIABETIC_NEUROPATHY, request("med-1", "1988-01-21")), AS_OF).document
    assert document["risk_factors"] == []
    codes = [(note["code"], note["fact"]) for note in document["data_quality"]]
    assert ("stale-record", "med-1") in codes
    assert [c for c, _ in codes].count("record-outdated") == 1
    assert document["record"]["newest_fact"] == "2024-01-01"  # the neuropathy's onset, newer than the 1988 order


def test_newest_fact_reads_resources_the_guideline_does_not_read(api: Api):
    """record.newest_fact: 'the newest date on any clinical resource of the record (Observation,
    Condition, Procedure, Encounter and the four medication resources), whether or not the
    guideline reads its code'; facts after the as-of date are not read."""
    encounter = {"resourceType": "Encounter", "id": "enc-1", "status": "finished", "class": {"code": "AMB"},
                 "period": {"start": "2026-10-30T09:00:00Z", "end": "2026-10-30T10:00:00Z"}}
    later = {"resourceType": "Encounter", "id": "enc-2", "status": "finished", "class": {"code": "AMB"},
             "period": {"start": "2026-12-30T09:00:00Z"}}
    document = api.assess(bundle(DIABETIC_NEUROPATHY, encounter, later), AS_OF).document
    assert document["record"]["newest_fact"] == "2026-10-30"


def test_b12_therapy_in_the_record_names_the_episode_the_conclusions_assumed(api: Api):
    """record.b12_therapy: the current B12 therapy episode (here two monthly IM administrations,
    each covering 3 months), its route, start and records."""
    b12 = coded(ATC, "B03BA03", "hydroxocobalamin")
    doses = [{"resourceType": "MedicationAdministration", "id": f"adm-{i}", "status": "completed", "medicationCodeableConcept": b12,
              "effectiveDateTime": day, "dosage": {"route": coded(SCT, "78421000", "intramuscular")}}
             for i, day in enumerate(["2026-09-01", "2026-10-01"])]
    document = api.assess(bundle(DIABETIC_NEUROPATHY, *doses), AS_OF).document
    assert document["record"]["b12_therapy"] == {"current": True, "route": "parenteral", "since": "2026-09-01",
                                                 "based_on": ["adm-0", "adm-1"]}
    assert document["follow_up"]["due"] == "2026-12-01"


@pytest.mark.parametrize(("renewal", "risk"), [("2026-08-01", ["metformin-over-4-months"]), ("2026-08-02", [])],
                         ids=["renewed-12-months-later", "renewed-12-months-and-1-day-later"])
def test_an_order_stopped_by_its_renewal_covers_up_to_it(api: Api, renewal: str, risk: list[str]):
    """EHRs stop an order when they renew it (Synthea's yearly metformin renewals; the SMART Bulk
    patient with 192 orders). An order stopped with no end of its own and renewed within the
    open-ended limit (12 months) covers up to its renewal: one exposure from 2025-08-01, more than 4
    months before 2026-11-24 (the reading that keeps 'exposure over time, not single records' true
    for renewals; see the issue note). Renewed 12 months and 1 day later, the stopped order keeps its
    default 30 days and the current episode starts with the renewal: less than 4 months."""
    document = api.assess(bundle(DIABETIC_NEUROPATHY, B12_600, request("med-1", "2025-08-01", status="stopped"),
                                 request("med-2", renewal)), AS_OF).document
    assert [r["code"] for r in document["risk_factors"]] == risk

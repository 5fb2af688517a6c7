"""Write tests/realworld/synthea-variants/: copies of real Synthea records with one fact
changed, each named by what it shows, with NAME.expected.json beside it.

Each variant starts from an unchanged original in tests/realworld/synthea/ and adds or
changes exactly one resource (ids of added resources are UUIDv5 of the variant name, so
reruns give identical files). Rerun after changing the table:

    python3 tools/make_realworld_variants.py
"""

from __future__ import annotations

import copy
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realworld_expected import (
    METFORMIN_ER_500,
    NEUROPATHY_T2DM,
    RXNORM,
    condition_ids,
    expected,
    fresh_output_dir,
    medication_request_ids,
    patient_id,
    write_json,
)

ROOT = Path(__file__).resolve().parent.parent
ORIGINALS = ROOT / "tests" / "realworld" / "synthea"
OUT = ROOT / "tests" / "realworld" / "synthea-variants"
DIRK = "Dirk_Kuhlman_1e503533-b8c2-42cb-a6d5-bbd7d70d07ad.json"
LEONOR = "Leonor_Trujillo_5542148c-67d6-4d91-be71-29973234a33b.json"
TWYLA = "Twyla_Moen_a3f60302-e902-468f-a683-6373d24fc4fd.json"
LOINC = "http://loinc.org"
TAG = {"tag": [{"system": "https://w3id.org/b12kg/tags", "code": "realworld-variant"}]}


def new_id(variant: str, role: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://w3id.org/b12kg/tests/realworld/{variant}/{role}"))


def add(bundle: dict, resource: dict) -> str:
    bundle["entry"].append({
        "fullUrl": f"urn:uuid:{resource['id']}",
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    })
    return resource["id"]


def serum_b12(variant: str, bundle: dict, **value) -> dict:
    """A serum B12 Observation (LOINC 2132-9) of the record's patient; `value` gives value[x] and dates."""
    resource = {
        "resourceType": "Observation",
        "id": new_id(variant, "serum-b12"),
        "meta": TAG,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": "2132-9", "display": "Cobalamin (Vitamin B12) [Mass/volume] in Serum or Plasma"}],
                 "text": "Vitamin B12"},
        "subject": {"reference": f"urn:uuid:{patient_id(bundle)}"},
    }
    if "issued" not in value:
        resource["effectiveDateTime"] = "2026-10-01T09:30:00+00:00"
    resource.update(value)
    return resource


def pg_per_ml(number: float, comparator: str | None = None) -> dict:
    quantity = {"value": number, "unit": "pg/mL", "system": "http://unitsofmeasure.org", "code": "pg/mL"}
    if comparator:
        quantity = {"value": number, "comparator": comparator, "unit": "pg/mL", "system": "http://unitsofmeasure.org", "code": "pg/mL"}
    return {"valueQuantity": quantity}


def medication_request(variant: str, bundle: dict, concept: dict, authored: str, **extra) -> dict:
    resource = {
        "resourceType": "MedicationRequest",
        "id": new_id(variant, "medication-request"),
        "meta": TAG,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"urn:uuid:{patient_id(bundle)}"},
        "authoredOn": authored,
    }
    resource.update(extra)
    return resource


def rxnorm(code: str, display: str) -> dict:
    return {"coding": [{"system": RXNORM, "code": code, "display": display}], "text": display}


# --- The variants: (name, original, change, expectations) ---------------------------------
# change(variant, bundle) edits the bundle and returns the id of the changed fact;
# expectations(bundle, fact) gives the keyword arguments of realworld_expected.expected.

def in_population(bundle: dict) -> dict:
    return {"in": True, "reason": "peripheral-neuropathy", "based_on": condition_ids(bundle, NEUROPATHY_T2DM)}


def dirk_metformin(bundle: dict) -> list[str]:
    return medication_request_ids(bundle, METFORMIN_ER_500, "active")


STALE_METFORMIN = ("His metformin order (RxNorm 860975, authored 2019-03-05, never renewed) is stale on 2026-11-24 "
                   "(contract 6, v3): not current, no metformin risk factor, reported as stale-record.")


def dirk_stale(bundle: dict) -> tuple[tuple[str, str], ...]:
    return tuple((i, "stale-record") for i in dirk_metformin(bundle))


def dirk_confirmed(description: str, quality: str | None = None) -> Callable[[dict, str], dict]:
    def spec(bundle: dict, fact: str) -> dict:
        return {
            "description": description + " " + STALE_METFORMIN,
            "b12_status": "confirmed",
            "must": ("oral-b12-high-dose", "follow-up-3-months"),
            "follow_up_due": "2027-02-24",
            "population": in_population(bundle),
            "data_quality": (((fact, quality),) if quality else ()) + dirk_stale(bundle),
            "based_on": {"b12_status": [fact]},
            "no_data_quality_codes": ("record-outdated",),  # the added result, 2026-10-01, is recent
        }
    return spec


def dirk_censored_200(bundle: dict, fact: str) -> dict:
    return {
        "description": "Dirk Kuhlman's record (neuropathy due to type 2 diabetes, metformin since 2019) with one serum B12 "
                       "added: '<200 pg/mL' (valueQuantity.comparator '<'), 2026-10-01. The result stands for an interval "
                       "below 200 that spans the 180 ng/L cut-off: it decides nothing by itself, status indeterminate, "
                       "order MMA, reported as censored-result. Not read as exactly 200, not as confirmed. " + STALE_METFORMIN,
        "b12_status": "indeterminate",
        "must": ("order-mma",),
        "population": in_population(bundle),
        "data_quality": ((fact, "censored-result"), *dirk_stale(bundle)),
        "based_on": {"b12_status": [fact], "order-mma": [fact]},
    }


def dirk_absent(bundle: dict, fact: str) -> dict:
    return {
        "description": "Dirk Kuhlman's record with one serum B12 Observation added that carries a dataAbsentReason "
                       "('error') and no value: it is never a result. Set aside and reported (value-absent); the status "
                       "stays unknown and a serum B12 is still to be ordered. " + STALE_METFORMIN,
        "b12_status": "unknown",
        "must": ("order-serum-b12",),
        "population": in_population(bundle),
        "data_quality": ((fact, "value-absent"), *dirk_stale(bundle)),
    }


def dirk_reference(bundle: dict, fact: str) -> dict:
    return {
        "description": "Dirk Kuhlman's record with the metformin MedicationRequest rewritten to name its drug through "
                       "medicationReference to a contained Medication coded RxNorm 860975, and renewed (authoredOn "
                       "2026-03-01, so current by contract 6, v3): in the population, unknown status, order serum B12, "
                       "metformin for more than 4 months (the drug read through the reference), enhanced monitoring.",
        "must": ("order-serum-b12", "enhanced-monitoring"),
        "risk_factors": ("metformin-over-4-months",),
        "population": in_population(bundle),
        "based_on": {"metformin-over-4-months": [fact]},
    }




def leonor_ppi(bundle: dict, fact: str) -> dict:
    return {
        "description": "Leonor Trujillo's record (neuropathy due to type 2 diabetes, no B12 result) with one active "
                       "MedicationRequest added, coded only by the RxNorm clinical drug 198051 'omeprazole 20 MG Delayed "
                       "Release Oral Capsule' (a product code, not the ingredient 7646), authored 2020-01-09. Since issue 23 "
                       "the shipped product table maps 198051 to omeprazole, so it is read (no medication-unrecognised-code). "
                       "Contract v3: an active order never renewed in the 12 months before the as-of date is stale, read as "
                       "ended 2020-02-07 (30-day default supply): one month of omeprazole, no PPI risk factor.",
        "must": ("order-serum-b12",),
        "population": in_population(bundle),
        "data_quality": ((fact, "stale-record"),),
        "no_data_quality_codes": ("medication-unrecognised-code",),
    }


def leonor_unrecognised(bundle: dict, fact: str) -> dict:
    return {
        "description": "Leonor Trujillo's record with one active MedicationRequest added, coded only in a local formulary "
                       "code system (OMEP20) whose text reads 'Omeprazole 20 mg capsule': the code is not recognised, "
                       "and the text names a drug the guideline reads. Reported (medication-unrecognised-code), never used "
                       "silently: no PPI risk factor is derived from text.",
        "must": ("order-serum-b12",),
        "population": in_population(bundle),
        "data_quality": ((fact, "medication-unrecognised-code"),),
    }


def twyla_b12(bundle: dict, fact: str) -> dict:
    return {
        "description": "Twyla Moen's record (neuropathy due to type 2 diabetes, no B12 result) with an active order for "
                       "RxNorm 2001499 'Vitamin B 12 5 MG/ML Injectable Solution' (a product code, parenteral by its dose "
                       "form) authored 2026-06-01, no dose: parenteral B12 therapy at any dose is under way (contract 3, "
                       "v3), so follow-up is due 3 months after its start (2026-09-01), past due with no serum B12 since; "
                       "there is no baseline serum B12, so the status is unknown but no serum B12 is ordered (a level off "
                       "treatment can no longer be obtained) and no-baseline is reported; no new treatment. A parenteral "
                       "cobalamin needs no dose: no dose-unknown.",
        "must": ("follow-up-3-months",),
        "follow_up_due": "2026-09-01",
        "population": in_population(bundle),
        "data_quality": ((fact, "no-baseline"),),
        "based_on": {"follow-up-3-months": [fact]},
        "no_data_quality_codes": ("dose-unknown",),
    }


def change_add(make: Callable[[str, dict], dict]) -> Callable[[str, dict], str]:
    def change(variant: str, bundle: dict) -> str:
        return add(bundle, make(variant, bundle))
    return change


def to_contained_reference(variant: str, bundle: dict) -> str:
    (request_id,) = dirk_metformin(bundle)
    (entry,) = [e for e in bundle["entry"] if e["resource"].get("id") == request_id]
    resource = entry["resource"]
    concept = resource.pop("medicationCodeableConcept")
    resource["contained"] = [{"resourceType": "Medication", "id": "metformin", "code": concept}]
    resource["medicationReference"] = {"reference": "#metformin"}
    resource["authoredOn"] = "2026-03-01T09:00:00+00:00"  # renewed: an order not renewed for 12 months is stale (contract 6, v3)
    return request_id


VARIANTS = (
    ("dirk-kuhlman-b12-150-pg-per-ml-added-confirmed", DIRK,
     change_add(lambda v, b: serum_b12(v, b, **pg_per_ml(150))),
     dirk_confirmed("Dirk Kuhlman's record (neuropathy due to type 2 diabetes, metformin since 2019, never treated with "
                    "B12) with one serum B12 added: 150 pg/mL on 2026-10-01. Below 180: confirmed; oral high-dose B12 and "
                    "follow-up on 2027-02-24; enhanced monitoring for metformin; not urgent (found less than 3 months "
                    "ago); metformin still active, so maintenance may not stop.")),
    ("dirk-kuhlman-b12-censored-below-200-indeterminate", DIRK,
     change_add(lambda v, b: serum_b12(v, b, **pg_per_ml(200, "<"))), dirk_censored_200),
    ("dirk-kuhlman-b12-censored-below-150-confirmed", DIRK,
     change_add(lambda v, b: serum_b12(v, b, **pg_per_ml(150, "<"))),
     dirk_confirmed("Dirk Kuhlman's record with one serum B12 added: '<150 pg/mL' (comparator '<'), 2026-10-01. The whole "
                    "interval lies below 180: confirmed, oral B12, follow-up 2027-02-24, enhanced monitoring.")),
    ("dirk-kuhlman-b12-value-string-below-150-confirmed", DIRK,
     change_add(lambda v, b: serum_b12(v, b, valueString="<150 pg/mL")),
     dirk_confirmed("Dirk Kuhlman's record with one serum B12 added whose value is the text '<150 pg/mL' (valueString), "
                    "2026-10-01: read as the quantity below 150 pg/mL, reported as value-from-text; below 180: confirmed, "
                    "oral B12, follow-up 2027-02-24.", "value-from-text")),
    ("dirk-kuhlman-b12-data-absent-reason-unknown", DIRK,
     change_add(lambda v, b: serum_b12(v, b, dataAbsentReason={"coding": [
         {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error", "display": "Error"}]})),
     dirk_absent),
    ("dirk-kuhlman-b12-150-issued-only-confirmed", DIRK,
     change_add(lambda v, b: serum_b12(v, b, issued="2026-10-01T14:00:00.000+00:00", **pg_per_ml(150))),
     dirk_confirmed("Dirk Kuhlman's record with one serum B12 of 150 pg/mL added that has no effective[x], only issued "
                    "2026-10-01: the issued date is used and reported (date-from-issued); confirmed, oral B12, follow-up "
                    "2027-02-24.", "date-from-issued")),
    ("dirk-kuhlman-metformin-renewed-medication-reference-contained", DIRK, to_contained_reference, dirk_reference),
    ("leonor-trujillo-omeprazole-product-code-198051-read-stale-order", LEONOR,
     change_add(lambda v, b: medication_request(v, b, rxnorm("198051", "omeprazole 20 MG Delayed Release Oral Capsule"),
                                                "2020-01-09T10:00:00+00:00")),
     leonor_ppi),
    ("leonor-trujillo-omeprazole-text-unrecognised-code", LEONOR,
     change_add(lambda v, b: medication_request(v, b, {
         "coding": [{"system": "http://example.org/fhir/CodeSystem/local-formulary", "code": "OMEP20"}],
         "text": "Omeprazole 20 mg capsule"}, "2020-01-09T10:00:00+00:00")),
     leonor_unrecognised),
    ("twyla-moen-b12-injection-2001499-since-2026-06-01", TWYLA,
     change_add(lambda v, b: medication_request(v, b, rxnorm("2001499", "Vitamin B 12 5 MG/ML Injectable Solution"),
                                                "2026-06-01T10:00:00+00:00")),
     twyla_b12),
)


def main(argv: list[str] | None = None) -> int:
    out = fresh_output_dir(argv, OUT, __doc__.splitlines()[0])
    for name, original, change, spec in VARIANTS:
        bundle = json.loads((ORIGINALS / original).read_text())
        variant = copy.deepcopy(bundle)
        fact = change(name, variant)
        kwargs = spec(variant, fact)
        description = kwargs.pop("description")
        source = f"tests/realworld/synthea/{original}, changed by tools/make_realworld_variants.py ({name})"
        write_json(out / f"{name}.json", variant, compact=True)
        write_json(out / f"{name}.expected.json", expected(description, source=source, **kwargs))
    print(f"{len(VARIANTS)} variants written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

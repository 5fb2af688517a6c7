"""Write tests/realworld/hl7/: HL7 FHIR R4 specification examples as patient Bundles with
expected conclusions.

The examples are kept verbatim in tests/realworld/hl7/source/ (from the npm package
hl7.fhir.r4.examples 4.0.1, CC0-1.0; see tests/realworld/hl7/README.md). A resource example
is wrapped in a collection Bundle with the example Patient it names; a Bundle example is
used as it is (or, where it holds no Patient, also with one added). Variants named
`...-as-<drug>-with-neuropathy` swap the contained Medication's code for a guideline drug and
add a peripheral neuropathy Condition, so that the resource's dates and statuses drive a rule.

    python3 tools/make_hl7_cases.py [--output-dir DIR]
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realworld_expected import RXNORM, SNOMED, expected, fresh_output_dir, write_json

ROOT = Path(__file__).resolve().parent.parent
HL7 = ROOT / "tests" / "realworld" / "hl7"
SOURCE = HL7 / "source"
ORIGIN = "hl7.fhir.r4.examples 4.0.1 (HL7 FHIR R4 specification examples, CC0-1.0) "
BASE = "http://hl7.org/fhir"
NEUROPATHY_ID = "b12kg-peripheral-neuropathy"
OUT_OF_POPULATION = {"in": False, "reason": "no-peripheral-neuropathy", "based_on": []}


def read(name: str) -> dict:
    return json.loads((SOURCE / name).read_text())


def entry(resource: dict) -> dict:
    return {"fullUrl": f"{BASE}/{resource['resourceType']}/{resource['id']}", "resource": resource}


def collection(name: str, *resources: dict) -> dict:
    return {"resourceType": "Bundle", "id": name, "type": "collection", "entry": [entry(r) for r in resources]}


def neuropathy(patient: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": NEUROPATHY_ID,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "302226006", "display": "Peripheral nerve disease"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "onsetDateTime": "2024-03-01",
    }


def as_drug(resource: dict, code: str, display: str) -> dict:
    """The example with its contained Medication replaced by one coded as a guideline drug (same id)."""
    changed = copy.deepcopy(resource)
    reference = changed["medicationReference"]["reference"].lstrip("#")
    changed["contained"] = [
        {"resourceType": "Medication", "id": reference, "code": {"coding": [{"system": RXNORM, "code": code, "display": display}]}}
        if c.get("id") == reference else c
        for c in changed["contained"]
    ]
    changed["medicationReference"].pop("display", None)
    return changed


def in_population() -> dict:
    return {"in": True, "reason": "peripheral-neuropathy", "based_on": [NEUROPATHY_ID]}


def cases() -> list[tuple[str, dict, dict]]:
    patient = read("Patient-pat1.json")
    out = []

    def plain(name: str, source: str, what: str) -> None:
        resource = read(source)
        out.append((name, collection(name, patient, resource), expected(
            f"{source} wrapped with its Patient (Patient-pat1.json). {what} No condition, laboratory result or drug the "
            "guideline reads: outside the population, status unknown, no risk factor, no recommendation; the record is "
            "read, not rejected.",
            source=ORIGIN + source, population=OUT_OF_POPULATION)))

    plain("medicationrequest-medrx0301-contained-oxycodone", "MedicationRequest-medrx0301.json",
          "A completed order whose drug is a contained Medication (SNOMED 430127000, oral oxycodone) named by "
          "medicationReference '#med0310', beside a contained Provenance with a signature.")
    plain("medicationrequest-medrx0302-contained-azithromycin", "MedicationRequest-medrx0302.json",
          "An active order of a contained Medication (SNOMED azithromycin 250 mg capsule), dose in tablets (TAB).")
    plain("medicationadministration-medadmin0306-contained-azithromycin", "MedicationAdministration-medadmin0306.json",
          "A completed administration (effectivePeriod 2015-01-15) of a contained Medication, dose 2 TAB.")
    plain("medicationdispense-meddisp0319-contained-ndc-azithromycin", "MedicationDispense-meddisp0319.json",
          "A completed dispense (whenHandedOver 2015-03-17, daysSupply 5 d) of a contained Medication coded by NDC.")
    plain("medicationstatement-example001-contained-tylenol-pm", "MedicationStatement-example001.json",
          "An active statement of a contained Medication (NDC Tylenol PM) with RxNorm ingredients and strengths per tablet.")

    order = as_drug(read("MedicationRequest-medrx0302.json"), "860975",
                    "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet")
    name = "medicationrequest-medrx0302-as-metformin-with-neuropathy"
    out.append((name, collection(name, patient, neuropathy("pat1"), order), expected(
        "MedicationRequest-medrx0302.json (active order, dispenseRequest.validityPeriod from 2015-01-15, authoredOn "
        "2015-01-15, no dosage bounds) with its contained Medication recoded as RxNorm 860975 (metformin ER 500 mg, a "
        "product code), plus an active peripheral neuropathy Condition. The order's validity ends 2016-01-15, its explicit "
        "end (contract 6, v3: a record covers up to validityPeriod.end): the metformin exposure ended in 2016, so it is not "
        "current on 2026-11-24 and no risk factor follows, 'active' status notwithstanding. No serum B12: order one. The "
        "newest fact (the neuropathy's onset, 2024-03-01) is more than 12 months old: record-outdated.",
        source=ORIGIN + "MedicationRequest-medrx0302.json (Medication recoded, Condition added)",
        must=("order-serum-b12",), population=in_population(), data_quality_codes=("record-outdated",),
        no_data_quality_codes=("stale-record", "dose-unknown"))))

    statement = as_drug(read("MedicationStatement-example001.json"), "198051", "omeprazole 20 MG Delayed Release Oral Capsule")
    name = "medicationstatement-example001-as-omeprazole-with-neuropathy"
    out.append((name, collection(name, patient, neuropathy("pat1"), statement), expected(
        "MedicationStatement-example001.json (status active, effectiveDateTime 2015-01-23) with its contained Medication "
        "recoded as RxNorm 198051 (omeprazole 20 mg delayed-release capsule, a product code), plus an active peripheral "
        "neuropathy Condition. Since issue 23 the shipped product table (NLM RxNorm prescribable content) maps 198051 "
        "to omeprazole, so it is read, not reported as unrecognised. Contract v3: the statement is active but its last "
        "date is 2015-02-22 (dateAsserted), more than 12 months before the as-of date: a stale record, read as ended "
        "2015-03-23 (last date + the 30-day default supply). About two months of omeprazole: no PPI risk factor, no "
        "enhanced monitoring; order a serum B12.",
        source=ORIGIN + "MedicationStatement-example001.json (Medication recoded, Condition added)",
        must=("order-serum-b12",), population=in_population(),
        data_quality=(("example001", "stale-record"),), no_data_quality_codes=("medication-unrecognised-code",))))

    document = read("Bundle-father.json")
    out.append(("document-example-dischargesummary", document, expected(
        "The specification's document Bundle (Bundle-father.json, 'document-example-dischargesummary'): a Composition, "
        "Patient d1 (born 1955), an Observation, a MedicationRequest (status unknown, theophylline) and a "
        "MedicationStatement (text 'Ventolin Inhaler' only) that have no id, only a urn:uuid fullUrl, and absolute "
        "references to the Patient. Nothing the guideline reads: outside the population, status unknown; read, not "
        "rejected.",
        source=ORIGIN + "Bundle-father.json", population=OUT_OF_POPULATION)))

    searchset = read("Bundle-bundle-example.json")
    out.append(("searchset-bundle-example-no-patient", searchset, expected(
        "The specification's searchset Bundle (Bundle-bundle-example.json): a MedicationRequest for Patient/347 and its "
        "included Medication, but no Patient resource. A Bundle must hold exactly one Patient: rejected (exit 2).",
        source=ORIGIN + "Bundle-bundle-example.json", exit_code=2)))
    with_patient = copy.deepcopy(searchset)
    with_patient["entry"].append({"fullUrl": "https://example.com/base/Patient/347",
                                  "resource": {"resourceType": "Patient", "id": "347"}, "search": {"mode": "include"}})
    out.append(("searchset-bundle-example-with-patient", with_patient, expected(
        "Bundle-bundle-example.json with the Patient it names (Patient/347, an otherwise empty resource) added as an "
        "included entry: the MedicationRequest (status unknown, set aside) names its drug through medicationReference "
        "to the in-bundle Medication/example, which has no code. Outside the population, status unknown.",
        source=ORIGIN + "Bundle-bundle-example.json (Patient 347 added)", population=OUT_OF_POPULATION)))
    return out


def main(argv: list[str] | None = None) -> int:
    out_dir = fresh_output_dir(argv, HL7, __doc__.splitlines()[0])
    written = cases()
    for name, bundle, doc in written:
        write_json(out_dir / f"{name}.json", bundle)
        write_json(out_dir / f"{name}.expected.json", doc)
    print(f"{len(written)} HL7 cases written to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

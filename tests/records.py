"""Records built for tests: a small bundle around a patient, and a valid record that takes seconds to assess."""

from __future__ import annotations

import json
from pathlib import Path


def slow_record(case: Path, per_analyte: int = 990) -> dict:
    """A valid record that takes seconds (about 5 s of CPU here): 990 results of each test the
    guideline reads and 990 short metformin statements (exposure episodes to join)."""
    bundle = json.loads(case.read_text())
    patient = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    for n in range(per_analyte):
        year, month, day = 2000 + n // 40, 1 + n % 12, 1 + n % 28
        bundle["entry"].append({"resource": {
            "resourceType": "MedicationStatement", "id": f"metformin-{n}", "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6809"}]},
            "subject": {"reference": f"Patient/{patient}"},
            "effectivePeriod": {"start": f"{year}-{month:02d}-{day:02d}", "end": f"{year}-{month:02d}-{min(day + 20, 28):02d}"},
            "dosage": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": {"value": 850, "unit": "mg", "system": "http://unitsofmeasure.org",
                                                          "code": "mg"}}]}]}})
    template = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    for code, unit, value in (("2132-9", "ng/L", 300), ("13964-2", "nmol/L", 300), ("13965-9", "umol/L", 12)):
        for n in range(per_analyte):
            entry = json.loads(json.dumps(template))
            entry["resource"].update(id=f"extra-{code}-{n}", code={"coding": [{"system": "http://loinc.org", "code": code}]},
                                     valueQuantity={"value": value + n % 7, "unit": unit, "system": "http://unitsofmeasure.org",
                                                    "code": unit},
                                     effectiveDateTime=f"20{10 + n % 16:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}")
            bundle["entry"].append(entry)
    return bundle


def write_bundle(path: Path, pid: str, *resources: dict) -> Path:
    """A collection Bundle of a Patient `pid` (born 1956-03-02) and `resources`, each made the
    patient's, written to `path`."""
    entries = [{"fullUrl": f"urn:uuid:{pid}-0", "resource": {"resourceType": "Patient", "id": pid, "birthDate": "1956-03-02"}}]
    for index, resource in enumerate(resources, 1):
        entries.append({"fullUrl": f"urn:uuid:{pid}-{index}", "resource": {**resource, "subject": {"reference": f"Patient/{pid}"}}})
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path

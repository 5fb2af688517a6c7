"""Loader details that real EHR exports exercise: reference forms and unit spellings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "ex1-confirmed-oral.json").read_text())


@pytest.mark.parametrize("reference", ["Patient/ex1", "Patient/ex1/_history/2", "https://ehr.example.org/fhir/Patient/ex1"])
def test_subject_reference_forms_resolve_to_the_patient(reference, tmp_path, assessor):
    bundle = json.loads(json.dumps(EXAMPLE))
    for entry in bundle["entry"][1:]:
        entry["resource"]["subject"]["reference"] = reference
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(bundle))
    document = assessor.assess(path, date(2026, 11, 24)).document
    assert document["b12_status"]["value"] == "confirmed" and document["b12_status"]["based_on"] == ["obs-2"]


@pytest.mark.parametrize("unit,value,expected", [("pg/ml", 140, 140.0), ("ng/l", 140, 140.0), ("pmol/l", 100, 135.5)])
def test_ucum_synonyms_of_accepted_units_are_accepted(unit, value, expected, tmp_path, assessor):
    bundle = json.loads(json.dumps(EXAMPLE))
    quantity = bundle["entry"][2]["resource"]["valueQuantity"]
    quantity.update(value=value, unit=unit, code=unit)
    bundle["entry"][2]["resource"]["code"]["coding"][0]["code"] = "14685-2" if unit.startswith("pmol") else "2132-9"
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(bundle))
    assert assessor.assess(path, date(2026, 11, 24)).document["b12_status"]["serum_b12_ng_per_l"] == expected


def test_load_document_reads_a_parsed_bundle_as_the_file_would(assessor):
    from b12kg.load import load_document, load_patient

    as_of = date(2026, 11, 24)
    from_file = load_patient(ROOT / "examples" / "ex1-confirmed-oral.json", assessor.knowledge, as_of)
    from_dict = load_document(json.loads(json.dumps(EXAMPLE)), "ex1.json", assessor.knowledge, as_of)
    from_text = load_document((ROOT / "examples" / "ex1-confirmed-oral.ttl").read_text(), "ex1.ttl", assessor.knowledge,
                              as_of, fmt="turtle")
    assert set(from_dict.graph) == set(from_file.graph) and from_dict.patient_id == from_file.patient_id == "ex1"
    assert (from_text.patient, None, None) in from_text.graph

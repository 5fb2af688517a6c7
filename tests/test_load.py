"""Loader details that real EHR exports exercise: reference forms and unit spellings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "ex1-confirmed-oral.json").read_text())


@pytest.mark.parametrize("reference", ["Patient/ex1", "Patient/ex1/_history/2", "https://ehr.example.org/fhir/Patient/ex1",
                                       "https://ehr.example.org/fhir/Patient/ex1/_history/3"])
def test_subject_reference_forms_resolve_to_the_patient(reference, tmp_path, assessor):
    bundle = json.loads(json.dumps(EXAMPLE))
    bundle["entry"][0]["fullUrl"] = "https://ehr.example.org/fhir/Patient/ex1"  # an absolute reference names the server
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


def _write(tmp_path: Path, bundle: dict, name: str = "patient.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle))
    return path


def test_another_servers_patient_is_not_this_patient(tmp_path, assessor):
    """Issue 14: an absolute reference to another server's Patient/ex1 is refused, whatever its id."""
    from b12kg.errors import InputRejected

    bundle = json.loads(json.dumps(EXAMPLE))
    bundle["entry"][2]["resource"]["subject"]["reference"] = "https://other.example.org/fhir/Patient/ex1"
    with pytest.raises(InputRejected, match="not the patient of this file"):
        assessor.assess(_write(tmp_path, bundle), date(2026, 11, 24))


def _b12_value(bundle: dict, text: str) -> dict:
    """The example with its serum B12 value replaced by the JSON number `text` (exact digits)."""
    raw = json.dumps(bundle).replace('"value": 140', f'"value": {text}', 1)
    return raw


@pytest.mark.parametrize("digits,status,printed", [("179.99999999999999", "confirmed", "179.99999999999999"),
                                                   ("140", "confirmed", "140"), ("180.0", "indeterminate", "180")])
def test_reported_numbers_are_the_decimals_compared(digits, status, printed, tmp_path):
    """Issue 14, item 9: serum_b12_ng_per_l prints the exact decimal that was compared (140, not 140.0)."""
    from click.testing import CliRunner

    from b12kg.cli import main

    path = tmp_path / "patient.json"
    path.write_text(_b12_value(EXAMPLE, digits))
    result = CliRunner().invoke(main, ["assess", str(path), "--as-of", "2026-11-24"])
    assert result.exit_code == 0, result.output
    assert f'"serum_b12_ng_per_l": {printed},' in result.stdout
    assert json.loads(result.stdout)["b12_status"]["value"] == status


@pytest.mark.parametrize("as_of", ["2026W482", "20261124", "2026-W48-2", "2026-11-24T00:00"])
def test_as_of_must_be_a_calendar_date(as_of):
    """Issue 14: --as-of takes only YYYY-MM-DD (Python's fromisoformat also reads week dates)."""
    from click.testing import CliRunner

    from b12kg.cli import main

    result = CliRunner().invoke(main, ["assess", str(ROOT / "examples" / "ex1-confirmed-oral.json"), "--as-of", as_of])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


@pytest.mark.parametrize("literal,status", [('"179.99999999999999e0"^^xsd:double', "confirmed"),
                                            ('"179.99999999999999"^^xsd:decimal', "confirmed"),
                                            ('"1.8E2"^^xsd:double', "indeterminate")])
def test_native_doubles_are_read_as_the_decimal_they_spell(literal, status, tmp_path, assessor):
    """Issue 14, item 3: one exact reading for every input path; no binary float in between."""
    ttl = (ROOT / "examples" / "ex1-confirmed-oral.ttl").read_text()
    assert "pt:value 140" in ttl
    path = tmp_path / "patient.ttl"
    path.write_text(ttl.replace("pt:value 140.0", f"pt:value {literal}").replace("pt:value 140", f"pt:value {literal}")
                    .replace('"pg/mL"', '"ng/L"'))
    assert assessor.assess(path, date(2026, 11, 24)).document["b12_status"]["value"] == status


def test_ids_shared_across_resource_types_are_named_with_their_type(tmp_path, assessor):
    """Issue 14: an Observation and a Condition both with id x1: based_on says which (ResourceType/id)."""
    bundle = json.loads(json.dumps(EXAMPLE))
    for entry in bundle["entry"][1:]:
        entry["resource"]["id"] = "x1"
    doc = assessor.assess(_write(tmp_path, bundle), date(2026, 11, 24)).document
    assert doc["b12_status"]["based_on"] == ["Observation/x1"]
    assert doc["population"]["based_on"] == ["Condition/x1"]


def test_in_population_is_asserted_by_the_caller_and_reported(tmp_path):
    from click.testing import CliRunner

    from b12kg.cli import main

    bundle = json.loads(json.dumps(EXAMPLE))
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Condition"]
    path = _write(tmp_path, bundle)
    outside = json.loads(CliRunner().invoke(main, ["assess", str(path), "--as-of", "2026-11-24"]).stdout)
    inside = json.loads(CliRunner().invoke(main, ["assess", str(path), "--as-of", "2026-11-24", "--in-population"]).stdout)
    assert outside["population"] == {"in": False, "reason": "no-peripheral-neuropathy", "based_on": []}
    assert outside["recommendations"] == [] and outside["follow_up"] is None and outside["b12_status"]["value"] == "confirmed"
    assert inside["population"] == {"in": True, "reason": "asserted", "based_on": []}
    assert {r["action"] for r in inside["recommendations"]} == {"oral-b12-high-dose", "follow-up-3-months"}


def test_data_quality_is_data_a_sparql_user_can_query(tmp_path, assessor):
    """Contract 6: data_quality is in the patient's dataset as pt:DataQualityNote nodes."""
    import pyoxigraph as ox

    path = ROOT / "tests" / "cases" / "b12" / "status-indeterminate-fires-censored-below-200-spans-180.json"
    result = assessor.assess(path, date(2026, 11, 24))
    store = ox.Store()
    store.extend(result.quads)
    rows = list(store.query("PREFIX pt: <https://w3id.org/b12kg/patient#> SELECT DISTINCT ?note ?code ?id WHERE { "
                            "?note a pt:DataQualityNote ; pt:qualityCode ?code ; pt:aboutFact ?fact . ?fact pt:fhirId ?id }",
                            use_default_graph_as_union=True))
    assert [(r["code"].value, r["id"].value) for r in rows] == [("censored-result", "obs-b12-1")]
    assert result.document["data_quality"][0]["detail"].startswith("serum/plasma cobalamin (vitamin B12) <200 pg/mL spans the 180")


def test_a_resource_type_that_is_not_a_string_is_a_located_problem(tmp_path, assessor):
    """Found by fuzzing: resourceType [] was an internal error (unhashable list), not a rejection."""
    import json
    from datetime import date

    import pytest

    from b12kg.errors import InputRejected

    doc = json.loads((ROOT / "examples" / "ex1-confirmed-oral.json").read_text())
    doc["entry"][1]["resource"]["resourceType"] = []
    doc["entry"][2]["request"] = ["not", "an", "object"]
    path = tmp_path / "rt.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputRejected, match="resourceType must be a string"):
        assessor.assess(path, date(2026, 11, 24))

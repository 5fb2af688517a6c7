"""Clinical cases: a patient file + the conclusions a clinician expects.

The primary pack's cases: each tests/cases/b12/NAME.json (FHIR R4 Bundle) or NAME.ttl
(native RDF) has NAME.expected.json beside it (format of shared/bin/check-contract, plus
"description" and "based_on"). See tests/cases/README.md for the index.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from b12kg.errors import InputRejected

CASES = Path(__file__).resolve().parent / "cases" / "b12"
SHARED_SCHEMA = Path(__file__).resolve().parent.parent.parent / "shared" / "contract" / "assessment.schema.json"
SCHEMA = json.loads((SHARED_SCHEMA if SHARED_SCHEMA.exists() else CASES.parent.parent / "contract" / "assessment.schema.json").read_text())
EXPECTED = sorted(CASES.glob("*.expected.json"))


def _input(expected: Path) -> Path:
    stem = expected.name[: -len(".expected.json")]
    inputs = [p for p in CASES.glob(stem + ".*") if p != expected]
    assert len(inputs) == 1, f"{stem}: expected one input file, found {inputs}"
    return inputs[0]


def test_there_are_cases():
    assert len(EXPECTED) >= 50


@pytest.mark.parametrize("expected_file", EXPECTED, ids=lambda p: p.name[: -len(".expected.json")])
def test_case(expected_file: Path, assessor):
    expected = json.loads(expected_file.read_text())
    as_of = date.fromisoformat(expected["as_of"])
    path = _input(expected_file)
    if expected.get("exit_code", 0) == 2:
        with pytest.raises(InputRejected) as rejected:
            assessor.assess(path, as_of)
        assert rejected.value.problems and all(p.file == str(path) for p in rejected.value.problems)
        return
    if "--in-population" in expected.get("args", []):
        from b12kg.pipeline import Assessor

        assessor = Assessor(knowledge=assessor.knowledge, in_population=True)
    doc = assessor.assess(path, as_of).document
    # everything shared/bin/check-contract checks, in-process (it runs on the contract examples in test_cli.py)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert set(expected.get("args", [])) <= {"--in-population"}, "a case with other command-line arguments needs its own handling"
    assert doc["b12_status"]["value"] == expected["b12_status"], doc["b12_status"]
    actions = {r["action"] for r in doc["recommendations"]}
    assert set(expected["actions"].get("must", [])) <= actions, f"missing {set(expected['actions']['must']) - actions}"
    assert not set(expected["actions"].get("must_not", [])) & actions, f"unexpected {set(expected['actions']['must_not']) & actions}"
    if "risk_factors" in expected:
        assert sorted(r["code"] for r in doc["risk_factors"]) == sorted(expected["risk_factors"])
    if "risk_factors_include" in expected:
        assert set(expected["risk_factors_include"]) <= {r["code"] for r in doc["risk_factors"]}
    if "follow_up_due" in expected:
        assert (doc["follow_up"] or {}).get("due") == expected["follow_up_due"]
    # overdue: due strictly before the as-of date, and no serum B12 since the due date (contract 2, v3)
    if doc["follow_up"] and doc["follow_up"]["due"] >= expected["as_of"]:
        assert doc["follow_up"]["overdue"] is False
    if "follow_up_overdue" in expected:
        assert doc["follow_up"] and doc["follow_up"]["overdue"] is expected["follow_up_overdue"], doc["follow_up"]
    if "population_in" in expected:
        assert doc["population"]["in"] is expected["population_in"], doc["population"]
    if "population_reason" in expected:
        assert doc["population"]["reason"] == expected["population_reason"], doc["population"]
    if not doc["population"]["in"]:  # contract 5 (v3): outside the population, only the safety warnings
        assert all(r["safety"] for r in doc["recommendations"]) and doc["follow_up"] is None, doc["recommendations"]
    for action in expected.get("safety_actions", []):
        assert any(r["action"] == action and r["safety"] is True for r in doc["recommendations"]), action
    assert all(r["safety"] is (r["action"] in {"urgent-untreated-deficiency", "avoid-folic-acid-alone"}) for r in doc["recommendations"])
    if "b12_therapy_current" in expected:
        assert doc["record"]["b12_therapy"]["current"] is expected["b12_therapy_current"], doc["record"]
    results = {r["fact"] for r in (doc["follow_up"] or {}).get("results", [])}
    assert set(expected.get("follow_up_results_facts", [])) <= results, doc["follow_up"]
    codes = {note["code"] for note in doc["data_quality"]}
    assert set(expected.get("data_quality_codes", [])) <= codes, doc["data_quality"]
    assert not set(expected.get("no_data_quality_codes", [])) & codes, doc["data_quality"]
    assert not set(expected.get("risk_factors_exclude", [])) & {r["code"] for r in doc["risk_factors"]}
    named = {note["fact"] for note in doc["data_quality"]}
    assert set(expected.get("data_quality_facts", [])) <= named, doc["data_quality"]
    for r in doc["recommendations"]:
        assert r["evidence"] and r["rule"], r
    by_code = {"b12_status": doc["b12_status"]}
    by_code.update({r["action"]: r for r in doc["recommendations"]})
    by_code.update({r["code"]: r for r in doc["risk_factors"]})
    for code, ids in expected.get("based_on", {}).items():
        assert code in by_code, f"based_on names {code}, which was not concluded"
        assert set(ids) <= set(by_code[code]["based_on"]), f"{code} based on {by_code[code]['based_on']}, expected {ids}"

"""Real records run through the in-process assessor (contract v2, sections 5 and 6).

tests/realworld/ (Synthea bundles, one-fact variants of them and HL7 specification
examples, with their sources) holds NAME.json and NAME.expected.json: every record is
assessed, or rejected with a clear message (the Synthea practitioner file holds no
patient), with the conclusions a clinician reading it would draw.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from b12kg.errors import InputRejected

REALWORLD = Path(__file__).resolve().parent / "realworld"
EXPECTED = sorted(p for folder in ("synthea", "synthea-variants", "hl7") for p in (REALWORLD / folder).glob("*.expected.json"))


def _input(expected: Path) -> Path:
    return expected.with_name(expected.name[: -len(".expected.json")] + ".json")


def test_every_real_record_has_expectations():
    assert len(EXPECTED) >= 30
    records = [p for p in (REALWORLD / "synthea").glob("*.json") if not p.name.endswith(".expected.json")]
    assert all(_input(e).exists() for e in EXPECTED) and len(records) == 22


@pytest.mark.parametrize("expected_file", EXPECTED, ids=lambda p: p.name[: -len(".expected.json")][:60])
def test_real_record(expected_file: Path, assessor):
    expected = json.loads(expected_file.read_text())
    path = _input(expected_file)
    as_of = date.fromisoformat(expected["as_of"])
    if expected.get("exit_code", 0) == 2:
        with pytest.raises(InputRejected) as rejected:
            assessor.assess(path, as_of)
        assert rejected.value.problems and all(p.file == str(path) for p in rejected.value.problems)
        return
    doc = assessor.assess(path, as_of).document
    if expected.get("b12_status") is not None:
        assert doc["b12_status"]["value"] == expected["b12_status"], doc["b12_status"]
    actions = {r["action"] for r in doc["recommendations"]}
    assert set(expected["actions"]["must"]) <= actions, f"missing {set(expected['actions']['must']) - actions}"
    assert not set(expected["actions"]["must_not"]) & actions, f"unexpected {set(expected['actions']['must_not']) & actions}"
    if "risk_factors" in expected:
        assert sorted(r["code"] for r in doc["risk_factors"]) == sorted(expected["risk_factors"])
    if "follow_up_due" in expected:
        assert (doc["follow_up"] or {}).get("due") == expected["follow_up_due"]
    if "population" in expected:
        assert doc["population"]["in"] is expected["population"]["in"]
        assert doc["population"]["reason"] == expected["population"]["reason"]
        assert set(expected["population"]["based_on"]) <= set(doc["population"]["based_on"]), doc["population"]
    named = {(q["fact"], q["code"]) for q in doc["data_quality"]}
    for note in expected.get("data_quality", []):
        assert (note["fact"], note["code"]) in named, doc["data_quality"]
    codes = {q["code"] for q in doc["data_quality"]}
    assert set(expected.get("data_quality_codes", [])) <= codes, doc["data_quality"]
    assert not set(expected.get("no_data_quality_codes", [])) & codes, doc["data_quality"]
    by_code = {"b12_status": doc["b12_status"]} | {r["action"]: r for r in doc["recommendations"]} | {r["code"]: r for r in doc["risk_factors"]}
    for code, ids in expected.get("based_on", {}).items():
        assert set(ids) <= set(by_code[code]["based_on"]), (code, by_code[code]["based_on"])


def test_no_real_record_raises_an_internal_error(assessor):
    """Every Synthea file is assessed or rejected with a message: never a traceback."""
    outcomes = {"assessed": 0, "rejected": 0}
    for path in sorted((REALWORLD / "synthea").glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        try:
            assessor.assess(path, date(2026, 11, 24))
            outcomes["assessed"] += 1
        except InputRejected as exc:
            assert "exactly one Patient, found 0" in str(exc), exc
            outcomes["rejected"] += 1
    assert outcomes == {"assessed": 21, "rejected": 1}

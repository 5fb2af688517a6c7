"""The Python API: a FHIR Bundle held in memory (dict or JSON text) is assessed exactly as
the same Bundle read from a file, with one prepared Assessor."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from b12kg.api import Api
from b12kg.errors import InputRejected

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases" / "b12"
SOME = ["combo-functional-ataxia-crohns-ppi-folic-acid-neuralgia", "status-unknown-no-b12", "avoid-folic-acid-alone-fires-1-mg-weekly-atc",
        "escalate-to-parenteral-fires-completed-3-month-course", "risk-ppi-fires-atc-a02bc07"]


@pytest.fixture(scope="module")
def api(assessor):
    return Api(assessor)


def _same(a: dict, b: dict) -> None:
    assert {k: v for k, v in a.items() if k != "source"} == {k: v for k, v in b.items() if k != "source"}


@pytest.mark.parametrize("case", SOME)
def test_dict_and_text_are_assessed_as_the_file(api, case):
    path = CASES / f"{case}.json"
    as_of = date.fromisoformat(json.loads((CASES / f"{case}.expected.json").read_text())["as_of"])
    from_file = api.assess_file(path, as_of).document
    _same(api.assess(json.loads(path.read_text()), as_of).document, from_file)
    _same(api.assess(path.read_text(), as_of).document, from_file)
    assert json.loads(api.assess_json(path.read_text(), as_of)) == api.assess(path.read_text(), as_of).document


def test_the_assessor_is_prepared_once(api):
    first = api.assessor
    api.assess(json.loads((CASES / "status-unknown-no-b12.json").read_text()), date(2026, 11, 24))
    assert api.assessor is first


def test_rejections_name_the_document(api):
    bundle = json.loads((CASES / "rejected-unknown-unit-mg-per-h.json").read_text())
    with pytest.raises(InputRejected) as rejected:
        api.assess(bundle, date(2026, 11, 24), name="ward-7/bed-3")
    assert rejected.value.problems and all(p.file == "ward-7/bed-3" for p in rejected.value.problems)
    assert any("mg/h" in p.reason for p in rejected.value.problems)


@pytest.mark.parametrize("document", [b"{}", 42, None, ["a"]], ids=["bytes", "int", "none", "list"])
def test_not_a_document(api, document):
    with pytest.raises(InputRejected):
        api.assess(document, date(2026, 11, 24))


def test_not_json_text(api):
    with pytest.raises(InputRejected):
        api.assess("{not json", date(2026, 11, 24))


def test_the_as_of_date_may_be_iso_text(api):
    """Api.assess(bundle, "2026-11-24") is the same as with the date; a bad date is a clear error."""
    from datetime import datetime

    doc = json.loads((ROOT / "examples" / "ex1-confirmed-oral.json").read_text())
    expected = api.assess(doc, date(2026, 11, 24)).document
    _same(api.assess(doc, "2026-11-24").document, expected)
    _same(api.assess(doc, datetime(2026, 11, 24, 15, 30)).document, expected)
    assert expected["as_of"] == "2026-11-24"
    for bad in ("24/11/2026", "20261124", "2026-W48-2"):  # fromisoformat alone takes the last two; --as-of does not
        with pytest.raises(ValueError, match="not a date"):
            api.assess(doc, bad)
    with pytest.raises(TypeError, match="expected a date"):
        api.assess(doc, 20261124)

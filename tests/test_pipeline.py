"""The pipeline's batch mode concludes exactly what one-at-a-time assessment does."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

from b12kg.errors import InputRejected

CASES = Path(__file__).resolve().parent / "cases" / "b12"
AS_OF = date(2026, 11, 24)


def _case_files() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.suffix in {".json", ".ttl"} and not p.name.endswith(".expected.json"))


def _one_by_one(assessor, path: Path):
    try:
        return assessor.assess(path, AS_OF).document
    except InputRejected as exc:
        return [str(p) for p in exc.problems]


def test_batch_equals_one_at_a_time(assessor):
    files = _case_files()
    batch = list(assessor.assess_many(files, AS_OF, chunk_size=25))
    assert [path for path, _ in batch] == files, "batch keeps input order and loses nothing"
    for path, outcome in batch:
        got = [str(p) for p in outcome.problems] if isinstance(outcome, InputRejected) else outcome.document
        assert got == _one_by_one(assessor, path), path.name


def test_same_patient_id_in_two_files_is_kept_apart(assessor, tmp_path):
    """Two files about patients with the same id must not merge in a chunk."""
    low = CASES / "status-confirmed-b12-179_9-ng-per-l.json"
    bundle = json.loads(low.read_text())
    high = json.loads(json.dumps(bundle))
    for entry in high["entry"]:
        quantity = entry["resource"].get("valueQuantity")
        if quantity:
            quantity["value"] = 900
    (tmp_path / "a.json").write_text(json.dumps(bundle))
    (tmp_path / "b.json").write_text(json.dumps(high))
    shutil.copy(CASES / "rejected-malformed-json.json", tmp_path / "c.json")
    outcomes = dict(assessor.assess_many(sorted(tmp_path.iterdir()), AS_OF))
    assert outcomes[tmp_path / "a.json"].document["b12_status"]["value"] == "confirmed"
    assert outcomes[tmp_path / "b.json"].document["b12_status"]["value"] == "unlikely"
    assert isinstance(outcomes[tmp_path / "c.json"], InputRejected)


def test_an_assessment_over_its_time_budget_is_rejected(assessor):
    from b12kg.pipeline import Assessor

    assessor = Assessor(knowledge=assessor.knowledge, budget=0.0)  # the budget is an argument, never a module global changed
    case = CASES / "status-confirmed-b12-179_9-ng-per-l.json"
    try:
        assessor.assess(case, AS_OF)
    except InputRejected as exc:
        assert "budget" in str(exc) and str(case) in str(exc)
    else:
        raise AssertionError("an assessment over budget must be rejected")
    outcomes = dict(assessor.assess_many([case], AS_OF))
    assert isinstance(outcomes[case], InputRejected)

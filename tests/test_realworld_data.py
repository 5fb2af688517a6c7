"""The real-record test data (tests/realworld/): every record has well-formed expected
conclusions whose fact ids exist in it, and the generated files are what their scripts
write now. (Assessing these records is the loader's test, not this file's.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REALWORLD = ROOT / "tests" / "realworld"
FOLDERS = ("synthea", "synthea-variants", "hl7")
ACTIONS = {
    "order-serum-b12", "order-mma", "oral-b12-high-dose", "im-b12-loading", "follow-up-3-months",
    "urgent-untreated-deficiency", "avoid-folic-acid-alone", "enhanced-monitoring", "lifelong-maintenance",
    "maintenance-may-stop", "escalate-to-parenteral", "b12-for-neuropathic-pain",
}
RISK_FACTORS = {"metformin-over-4-months", "ppi-over-12-months", "vegan-or-vegetarian-diet", "malabsorption", "gastric-or-intestinal-resection"}
REASONS = {True: {"peripheral-neuropathy", "suspected-peripheral-neuropathy", "asserted"},
           False: {"no-peripheral-neuropathy", "outside-age-range", "deceased"}}  # contract 5 (v3)


def records() -> list[Path]:
    found = []
    for folder in FOLDERS:
        found += [p for p in sorted((REALWORLD / folder).glob("*.json")) if not p.name.endswith(".expected.json")]
    return found


def ids_in(bundle: dict) -> set[str]:
    ids: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("resourceType"), str) and isinstance(node.get("id"), str):
                ids.add(node["id"])
            if isinstance(node.get("fullUrl"), str):
                ids.add(node["fullUrl"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(bundle)
    return ids


def test_all_synthea_records_are_here():
    assert len(list((REALWORLD / "synthea").glob("*.expected.json"))) == 22
    assert len([p for p in records() if p.parent.name == "synthea"]) == 22


def test_hl7_cases_cover_each_medication_resource_and_bundle_type():
    kinds = set()
    for record in (REALWORLD / "hl7").glob("*.json"):
        bundle = json.loads(record.read_text())
        kinds.add(bundle.get("type"))
        kinds |= {e["resource"]["resourceType"] for e in bundle.get("entry", []) if "resource" in e}
    assert {"MedicationRequest", "MedicationAdministration", "MedicationDispense", "MedicationStatement"} <= kinds
    assert {"document", "searchset", "collection"} <= kinds


@pytest.mark.parametrize("record", records(), ids=lambda p: f"{p.parent.name}/{p.stem[:48]}")
def test_record_has_well_formed_expected_conclusions(record: Path):
    expected_file = record.with_name(record.stem + ".expected.json")
    assert expected_file.is_file(), f"{record.name} has no expected conclusions"
    expected = json.loads(expected_file.read_text())
    assert expected["as_of"] and expected["description"] and expected.get("source")
    must, must_not = set(expected["actions"]["must"]), set(expected["actions"]["must_not"])
    if expected.get("exit_code", 0) == 2:
        return
    assert must | must_not == ACTIONS and not must & must_not
    assert set(expected["risk_factors"]) <= RISK_FACTORS
    assert ("enhanced-monitoring" in must) == (bool(expected["risk_factors"]) and expected["population_in"])
    population = expected["population"]
    assert population["in"] is expected["population_in"] and population["reason"] in REASONS[population["in"]]
    if not population["in"]:
        assert not must and expected["follow_up_due"] is None, "outside the population: no recommendation, no follow-up"
    assert ("follow-up-3-months" in must) == (expected["follow_up_due"] is not None)
    bundle = json.loads(record.read_text())
    known = ids_in(bundle)
    cited = set(population["based_on"]) | set(expected["data_quality_facts"])
    for ids in expected["based_on"].values():
        cited |= set(ids)
    assert cited <= known, f"ids not in the record: {cited - known}"
    assert {d["fact"] for d in expected["data_quality"] if d["fact"]} == set(expected["data_quality_facts"])


@pytest.mark.parametrize(
    ("script", "folder", "pattern"),
    [
        ("make_realworld_variants.py", "synthea-variants", "*.json"),
        ("make_realworld_expected.py", "synthea", "*.expected.json"),
        ("make_hl7_cases.py", "hl7", "*.json"),
    ],
)
def test_generated_files_are_what_the_scripts_write_now(tmp_path, script, folder, pattern):
    subprocess.run([sys.executable, str(ROOT / "tools" / script), "--output-dir", str(tmp_path)], check=True, timeout=120,
                   capture_output=True)
    fresh = {p.name: p.read_bytes() for p in tmp_path.glob(pattern)}
    committed = {p.name: p.read_bytes() for p in (REALWORLD / folder).glob(pattern)}
    assert fresh.keys() == committed.keys()
    stale = sorted(name for name in fresh if fresh[name] != committed[name])
    assert not stale, f"rerun tools/{script}: {stale}"


def test_each_variant_changes_exactly_one_fact():
    originals = {p.name: json.loads(p.read_text()) for p in (REALWORLD / "synthea").glob("*.json") if ".expected" not in p.name}
    for variant in (REALWORLD / "synthea-variants").glob("*.expected.json"):
        source = json.loads(variant.read_text())["source"].split(",")[0].rsplit("/", 1)[-1]
        changed = json.loads(variant.with_name(variant.name.replace(".expected", "")).read_text())
        before = {json.dumps(e, sort_keys=True) for e in originals[source]["entry"]}
        after = {json.dumps(e, sort_keys=True) for e in changed["entry"]}
        assert len(after - before) == 1 and len(before - after) <= 1, variant.name

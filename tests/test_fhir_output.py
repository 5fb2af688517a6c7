"""`--format fhir`: an R4 Bundle that parses with fhir.resources (R4B models) and says what
the JSON assessment says, on every clinical case (assessed in-process)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from b12kg.render.fhir import to_bundle
from b12kg.render.vocabulary import vocabulary

CASES = Path(__file__).resolve().parent / "cases" / "b12"
ROOT = CASES.parent.parent.parent
ASSESSABLE = [p for p in sorted(CASES.glob("*.expected.json")) if json.loads(p.read_text()).get("exit_code", 0) == 0]


def _input(expected: Path) -> Path:
    stem = expected.name[: -len(".expected.json")]
    return next(p for p in CASES.glob(stem + ".*") if p != expected)


def _by_type(bundle: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def _fact(reference: dict, named: list[str]) -> str:
    """The contract's name of the fact a Reference names: its id (or Type/id when the contract
    names it so), or the IRI identifier (native RDF)."""
    if "reference" not in reference:
        return reference["identifier"]["value"]
    return reference["reference"] if reference["reference"] in named else reference["reference"].split("/", 1)[1]


def _resolve(bundle: dict, reference: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference)


@pytest.mark.parametrize("expected_file", ASSESSABLE, ids=lambda p: p.name[: -len(".expected.json")])
def test_fhir_bundle_is_valid_and_consistent_with_the_json(expected_file: Path, assessor):
    as_of = date.fromisoformat(json.loads(expected_file.read_text())["as_of"])
    result = assessor.assess(_input(expected_file), as_of)
    doc = result.document
    bundle = to_bundle(result, assessor.knowledge)
    Bundle.model_validate(bundle)  # R4B structural validation (raises on any error)
    json.dumps(bundle)
    vocab = vocabulary(assessor.knowledge)
    resources = _by_type(bundle)

    # The GuidanceResponse comes first and points at the RequestGroup and the status parameters.
    guidance = bundle["entry"][0]["resource"]
    assert guidance["resourceType"] == "GuidanceResponse" and guidance["subject"]["reference"] == f"Patient/{doc['patient']}"
    group = _resolve(bundle, guidance["result"]["reference"])
    params = _resolve(bundle, guidance["outputParameters"]["reference"])
    status = next(p for p in params["parameter"] if p["name"] == "b12-status")
    assert status["valueCoding"]["code"] == doc["b12_status"]["value"]
    assert sorted(p["valueCoding"]["code"] for p in params["parameter"] if p["name"] == "risk-factor") == \
        sorted(r["code"] for r in doc["risk_factors"])

    messages = [_resolve(bundle, m["reference"]) for m in guidance.get("evaluationMessage", [])]
    assert [i["details"]["coding"][0]["code"] for m in messages for i in m["issue"]] == [q["code"] for q in doc.get("data_quality", [])]
    population = [p["valueBoolean"] for p in params["parameter"] if p["name"] == "in-population"]
    assert population == ([doc["population"]["in"]] if doc.get("population") else [])

    # One RequestGroup action per recommendation, in order, citing the same statements, then one per
    # conclusion of another guideline (contract section 8).
    others = [c.get("action") or c["code"] for g in doc.get("guidelines", []) if not g.get("primary")
              for c in g.get("conclusions", []) if c.get("kind", "action") == "action"]
    assert [a["code"][0]["coding"][0]["code"] for a in group.get("action", [])] == [r["action"] for r in doc["recommendations"]] + others
    for action, rec in zip(group.get("action", []), doc["recommendations"], strict=False):
        assert [d["display"] for d in action["documentation"]] == [e["statement"] for e in rec["evidence"]]
        orders = vocab.proposed(rec["action"])
        if orders:
            proposed = _resolve(bundle, action["resource"]["reference"])
            assert proposed["resourceType"] == orders[-1].resource_type
            assert proposed["status"] == "draft" and proposed["intent"] == "proposal"
        else:
            assert "resource" not in action

    # DetectedIssue for exactly the warnings, implicating the facts the warning is based on.
    warnings = {r["action"]: r for r in doc["recommendations"] if vocab.item(r["action"]).severity}
    found = resources.get("DetectedIssue", [])
    issues = {i["code"]["coding"][0]["code"]: i for i in found if "interaction-type" not in i["code"]["coding"][0]["system"]}
    assert issues.keys() == warnings.keys()
    # and one per interaction between guidelines, with both statements and the resolution
    interactions = [i for i in found if "interaction-type" in i["code"]["coding"][0]["system"]]
    assert sorted(i["code"]["coding"][0]["code"] for i in interactions) == sorted(x["type"] for x in doc.get("interactions", []))
    for issue in interactions:
        assert len(issue["evidence"]) >= 2 and issue["mitigation"][0]["action"]["text"] == issue["detail"]
    for code, issue in issues.items():
        assert sorted(_fact(r, warnings[code]["based_on"]) for r in issue.get("implicated", [])) == sorted(warnings[code]["based_on"])

    # Provenance: every conclusion's facts and rule, on the resource that carries it.
    provenance = resources["Provenance"]
    conclusions = [("b12-status", doc["b12_status"])] + [(r["action"], r) for r in doc["recommendations"]]
    for activity, conclusion in conclusions:
        mine = [p for p in provenance if p["activity"]["text"] == activity]
        assert mine, f"no Provenance for {activity}"
        for p in mine:
            assert p["policy"][0] == conclusion["rule"]
            assert sorted(_fact(e["what"], conclusion["based_on"]) for e in p.get("entity", [])) == sorted(conclusion["based_on"])
            _resolve(bundle, p["target"][0]["reference"])


def test_proposed_oral_b12_matches_the_guideline_dose(assessor):
    result = assessor.assess(ROOT / "examples" / "ex1-confirmed-oral.json", date(2026, 11, 24))
    bundle = to_bundle(result, assessor.knowledge)
    request = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest")
    dose = request["dosageInstruction"][0]["doseAndRate"][0]["doseRange"]
    assert (dose["low"]["value"], dose["high"]["value"], dose["low"]["code"]) == (1500, 2000, "ug")
    assert request["dosageInstruction"][0]["timing"]["repeat"] == {
        "frequency": 1, "period": 1, "periodUnit": "d",
        "boundsDuration": {"value": 3, "unit": "mo", "system": "http://unitsofmeasure.org", "code": "mo"}}
    assert request["dosageInstruction"][0]["route"]["coding"][0]["code"] == "26643006"


def test_cli_format_fhir(b12kg_command):
    done = subprocess.run([*b12kg_command, "assess", str(ROOT / "examples" / "ex1-confirmed-oral.json"), "--as-of", "2026-11-24",
                           "--format", "fhir"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    Bundle.model_validate(json.loads(done.stdout))


def test_fact_references():
    from b12kg.render.fhir import fact_reference

    types = {"obs-1": "Observation"}
    assert fact_reference("obs-1", types) == {"reference": "Observation/obs-1"}
    assert fact_reference("MedicationRequest/med-1", types) == {"reference": "MedicationRequest/med-1"}  # ids shared across types
    native = fact_reference("https://example.org/patient/1#obs", types)
    assert native["identifier"]["value"] == "https://example.org/patient/1#obs" and "reference" not in native

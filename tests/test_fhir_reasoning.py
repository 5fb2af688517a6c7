"""FHIR Clinical Reasoning on the CDS service, called with a real HTTP client (httpx) against
the service on loopback (issue 22): the PlanDefinition (CPG computable), its Library and
$data-requirements, and $apply, whose CarePlan states the same conclusions as
`b12kg assess --format fhir` on every contract example. Every resource is validated against
the FHIR R4 models (fhir.resources, R4B)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from fhir.resources.R4B.bundle import Bundle  # noqa: E402
from fhir.resources.R4B.capabilitystatement import CapabilityStatement  # noqa: E402
from fhir.resources.R4B.careplan import CarePlan  # noqa: E402
from fhir.resources.R4B.library import Library  # noqa: E402
from fhir.resources.R4B.operationoutcome import OperationOutcome  # noqa: E402
from fhir.resources.R4B.plandefinition import PlanDefinition  # noqa: E402
from servers import LiveService  # noqa: E402

from b12kg.api import Api  # noqa: E402
from b12kg.serve.cds import Config, create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = next((p / "contract" / "examples" for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
                 if (p / "contract" / "examples").is_dir()), None)
CASES = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")) if EXAMPLES else []


@pytest.fixture(scope="module")
def service(assessor, tmp_path_factory):
    live = LiveService(create_app(Config(feedback_db=tmp_path_factory.mktemp("fhir") / "fb.sqlite3"), Api(assessor)))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(service):
    with httpx.Client(base_url=service.url, timeout=120) as c:
        yield c


def _plan(client) -> dict:
    found = client.get("/fhir/PlanDefinition")
    assert found.status_code == 200 and found.headers["content-type"].startswith("application/fhir+json")
    Bundle.model_validate(found.json())
    (entry,) = found.json()["entry"]
    return entry["resource"]


def test_plan_definition_library_and_data_requirements(client):
    plan = _plan(client)
    PlanDefinition.model_validate(plan)
    assert plan["meta"]["profile"] == ["http://hl7.org/fhir/uv/cpg/StructureDefinition/cpg-computableplandefinition"]
    assert all(c["expression"]["language"] == "application/sparql-query" for a in plan["action"] for c in a["condition"])
    assert client.get(f"/fhir/PlanDefinition/{plan['id']}").json() == plan
    libraries = client.get("/fhir/Library", params={"url": plan["library"][0]}).json()
    (library,) = [e["resource"] for e in libraries["entry"]]
    Library.model_validate(library)
    for path in (f"/fhir/PlanDefinition/{plan['id']}/$data-requirements", f"/fhir/Library/{library['id']}/$data-requirements"):
        requirements = client.get(path).json()
        Library.model_validate(requirements)
        assert requirements["type"]["coding"][0]["code"] == "module-definition"
        assert {r["type"] for r in requirements["dataRequirement"]} >= {"Patient", "Observation", "Condition", "MedicationRequest"}
    CapabilityStatement.model_validate(client.get("/fhir/metadata").json())
    definitions = client.get("/fhir/ActivityDefinition").json()
    assert definitions["total"] >= 4
    im = next(e["resource"] for e in definitions["entry"] if e["resource"]["kind"] == "MedicationRequest"
              and any(c["system"].endswith("rxnorm") for c in e["resource"]["productCodeableConcept"]["coding"]))
    assert im["productCodeableConcept"]["coding"][0]["code"] == "2001499"  # the shipped tables' RxNorm product, first


def _apply(client, plan_id: str, bundle: dict, as_of: str) -> httpx.Response:
    patient = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "subject", "valueString": f"Patient/{patient}"}, {"name": "asOf", "valueDate": as_of},
        {"name": "data", "resource": bundle}]}
    return client.post(f"/fhir/PlanDefinition/{plan_id}/$apply", json=parameters, headers={"Content-Type": "application/fhir+json"})


def _conclusions(resources: list[dict]) -> dict:
    """What an assessment concludes, read from its FHIR resources (Bundle entries or CarePlan.contained)."""
    by_type: dict[str, list[dict]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    (group,) = by_type["RequestGroup"]
    (params,) = by_type["Parameters"]
    orders = sorted((r["resourceType"], json.dumps(r.get("medicationCodeableConcept") or r.get("code"), sort_keys=True),
                     json.dumps(r.get("dosageInstruction"), sort_keys=True)) for k in ("ServiceRequest", "MedicationRequest")
                    for r in by_type.get(k, []))
    return {"actions": [a["code"][0]["coding"][0]["code"] for a in group.get("action", [])],
            "issues": sorted(i["code"]["coding"][0]["code"] for i in by_type.get("DetectedIssue", [])),
            "parameters": sorted(json.dumps(p, sort_keys=True) for p in params["parameter"]),
            "orders": orders, "quality": [i["details"]["coding"][0]["code"] for o in by_type.get("OperationOutcome", []) for i in o["issue"]],
            "status": by_type["GuidanceResponse"][0]["note"][0]["text"]}


@pytest.mark.skipif(not CASES, reason="the contract examples (shared/contract/examples) are not beside the repository")
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_apply_agrees_with_assess_format_fhir(client, case, b12kg_command):
    expected = json.loads(case.with_name(case.stem + ".expected.json").read_text())
    as_of = expected.get("as_of") or "2026-11-24"
    done = subprocess.run([*b12kg_command, "assess", str(case), "--as-of", as_of, "--format", "fhir"],
                          capture_output=True, text=True, timeout=300)
    response = _apply(client, _plan(client)["id"], json.loads(case.read_text()), as_of)
    if done.returncode == 2:  # a record b12kg refuses: refused by $apply too, saying why
        assert response.status_code == 422, response.text
        OperationOutcome.model_validate(response.json())
        return
    assert done.returncode == 0, done.stderr
    assert response.status_code == 200, response.text
    plan = response.json()
    CarePlan.model_validate(plan)
    contained = {r["id"] for r in plan["contained"]}
    assert plan["activity"][0]["reference"]["reference"].lstrip("#") in contained
    bundle = json.loads(done.stdout)
    assert _conclusions(plan["contained"]) == _conclusions([e["resource"] for e in bundle["entry"]])


def test_apply_refuses_what_it_cannot_apply(client):
    plan_id = _plan(client)["id"]
    bundle = json.loads((ROOT / "examples" / "ex1-confirmed-oral.json").read_text())
    no_subject = client.post(f"/fhir/PlanDefinition/{plan_id}/$apply", json={"resourceType": "Parameters", "parameter": [
        {"name": "data", "resource": bundle}]}, headers={"Content-Type": "application/fhir+json"})
    assert no_subject.status_code == 400 and no_subject.json()["resourceType"] == "OperationOutcome"
    other = client.post(f"/fhir/PlanDefinition/{plan_id}/$apply", json={"resourceType": "Parameters", "parameter": [
        {"name": "subject", "valueString": "Patient/someone-else"}, {"name": "data", "resource": bundle}]},
        headers={"Content-Type": "application/fhir+json"})
    assert other.status_code == 400 and "someone-else" in other.json()["issue"][0]["diagnostics"]
    no_data = client.post(f"/fhir/PlanDefinition/{plan_id}/$apply", json={"resourceType": "Parameters", "parameter": [
        {"name": "subject", "valueString": "Patient/ex1"}]}, headers={"Content-Type": "application/fhir+json"})
    assert no_data.status_code == 400  # no data and no allow-listed server to read it from
    assert client.post("/fhir/PlanDefinition/nope/$apply", json={"resourceType": "Parameters"}).status_code == 404
    applied = _apply(client, plan_id, bundle, "2026-11-24")
    assert applied.status_code == 200 and applied.json()["subject"] == {"reference": "Patient/ex1"}

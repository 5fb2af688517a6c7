"""Quality measures over a cohort store on `b12kg serve` (issue 22), called with httpx: every
$evaluate-measure count equals what the measure's named cohort queries list, and what the
contract JSON of each assessment says; subject lists and $care-gaps name the same patients;
every resource validates against the FHIR R4 models. The store is a 150-patient synthetic
cohort (benchmarks.cohort; the 2,000-patient comparison is in docs/cds-developers.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

httpx = pytest.importorskip("httpx")

from fhir.resources.R4B.bundle import Bundle  # noqa: E402
from fhir.resources.R4B.measure import Measure  # noqa: E402
from fhir.resources.R4B.measurereport import MeasureReport  # noqa: E402
from fhir.resources.R4B.parameters import Parameters  # noqa: E402

from b12kg.cohort import named  # noqa: E402
from b12kg.knowledge import load_knowledge  # noqa: E402
from b12kg.serve.fhir.measures import cohort_query, measures  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-24"
PATIENTS = 150


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, b12kg_command):
    """(store, the contract documents by patient id) of a synthetic cohort assessed as of AS_OF."""
    folder = tmp_path_factory.mktemp("measures")
    subprocess.run([sys.executable, "-m", "benchmarks.cohort", str(PATIENTS), str(folder / "in")], check=True, cwd=ROOT,
                   capture_output=True, timeout=300)
    subprocess.run([*b12kg_command, "batch", str(folder / "in"), "--store", str(folder / "store"), "--as-of", AS_OF,
                    "-o", str(folder / "out.jsonl")], check=True, capture_output=True, timeout=900)
    documents = {d["patient"]: d for d in map(json.loads, (folder / "out.jsonl").read_text().splitlines())}
    return folder / "store", documents


@pytest.fixture(scope="module")
def server(synthetic, start_server):
    return start_server(synthetic[0])


def _counts(report: dict) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}


def _listed(store: ox.Store, population) -> set[str]:
    """The patient ids a measure population names, by running its named queries directly."""
    knowledge = load_knowledge()
    found = None
    for name in population.queries:
        query = cohort_query(knowledge, name)
        declared = {p.name for p in query.params}
        given = {k: v for k, v in (*population.params, ("date", AS_OF)) if k in declared}
        solutions = named.run(store, query, given)
        ids = {row["patientId"].value for row in solutions}
        found = ids if found is None else found & ids
    return found


def _from_documents(code: str, documents: dict[str, dict]) -> tuple[int, int]:
    """(denominator, numerator) of a measure read from the contract JSON, independently of the queries."""
    deficient = {p for p, d in documents.items() if d["b12_status"]["value"] in ("confirmed", "functional")}
    actions = {p: {r["action"] for r in d["recommendations"]} for p, d in documents.items()}
    if code == "untreated-b12-deficiency":
        return len(deficient), len({p for p in deficient if "urgent-untreated-deficiency" in actions[p]})
    if code == "folate-without-b12-in-deficiency":
        return len(deficient), len({p for p in deficient if "avoid-folic-acid-alone" in actions[p]})
    if code == "metformin-b12-monitoring":
        return len({p for p, d in documents.items() if any(r["code"] == "metformin-over-4-months" for r in d["risk_factors"])}), -1
    if code == "overdue-b12-follow-up":
        due = {p for p, d in documents.items() if d.get("follow_up") and d["follow_up"]["due"] < AS_OF}
        return len(due), len({p for p in due if d_overdue(documents[p])})
    return -1, -1


def d_overdue(document: dict) -> bool:
    return bool((document.get("follow_up") or {}).get("overdue"))


def test_measures_are_valid_fhir(server):
    found = httpx.get(f"{server}/fhir/Measure", timeout=60).json()
    Bundle.model_validate(found)
    assert found["total"] == len(measures(load_knowledge())) == 5
    for entry in found["entry"]:
        Measure.model_validate(entry["resource"])
        assert entry["resource"]["scoring"]["coding"][0]["code"] == "proportion"


def test_evaluate_measure_counts_equal_the_named_queries_and_the_json(server, synthetic):
    store = ox.Store.read_only(str(synthetic[0]))
    for measure in measures(load_knowledge()).values():
        report = httpx.get(f"{server}/fhir/Measure/{measure.code}/$evaluate-measure", params={"periodEnd": AS_OF}, timeout=120).json()
        MeasureReport.model_validate(report)
        counts = _counts(report)
        for population in measure.populations:
            assert counts[population.code] == len(_listed(store, population)), (measure.code, population.code)
        denominator, numerator = _from_documents(measure.code, synthetic[1])
        if denominator >= 0:
            assert counts["denominator"] == denominator, measure.code
        if numerator >= 0:
            assert counts["numerator"] == numerator, measure.code
        assert counts["numerator"] <= counts["denominator"]
        if counts["denominator"]:
            assert report["group"][0]["measureScore"]["value"] == round(counts["numerator"] / counts["denominator"], 6)
    assert any(_counts(httpx.get(f"{server}/fhir/Measure/{m}/$evaluate-measure", params={"periodEnd": AS_OF}, timeout=120).json())["numerator"]
               for m in ("untreated-b12-deficiency", "metformin-b12-monitoring"))  # the cohort has gaps to find


def test_subject_lists_and_care_gaps_name_the_same_patients(server, synthetic):
    store = ox.Store.read_only(str(synthetic[0]))
    measure = measures(load_knowledge())["untreated-b12-deficiency"]
    report = httpx.get(f"{server}/fhir/Measure/{measure.code}/$evaluate-measure",
                       params={"reportType": "subject-list", "periodEnd": AS_OF}, timeout=120).json()
    MeasureReport.model_validate(report)
    lists = {c["id"]: c for c in report["contained"]}
    numerator = next(p for p in report["group"][0]["population"] if p["code"]["coding"][0]["code"] == "numerator")
    patients = {e["item"]["reference"] for e in lists[numerator["subjectResults"]["reference"][1:]]["entry"]}
    numerator_population = next(p for p in measure.populations if p.code == "numerator")
    assert patients == {f"Patient/{p}" for p in _listed(store, numerator_population)} and patients
    subject = sorted(patients)[0]
    gaps = httpx.get(f"{server}/fhir/Measure/$care-gaps", params={"subject": subject, "periodEnd": AS_OF}, timeout=120).json()
    Parameters.model_validate(gaps)
    document = gaps["parameter"][0]["resource"]
    assert document["type"] == "document" and document["entry"][0]["resource"]["resourceType"] == "Composition"
    issues = [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "DetectedIssue"]
    reports = {e["resource"]["id"]: e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "MeasureReport"}
    open_gaps = {reports[i["evidence"][0]["detail"][0]["reference"].split("/")[1]]["measure"] for i in issues
                 if i["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "open-gap"}
    assert any(url.endswith("/untreated-b12-deficiency") for url in open_gaps)
    individual = httpx.get(f"{server}/fhir/Measure/{measure.code}/$evaluate-measure",
                           params={"reportType": "subject", "subject": subject, "periodEnd": AS_OF}, timeout=120).json()
    assert individual["type"] == "individual" and _counts(individual)["numerator"] == 1
    closed = httpx.get(f"{server}/fhir/Measure/$care-gaps", params={"subject": subject, "status": "closed-gap"}, timeout=120).json()
    assert all(e["resource"]["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "closed-gap"
               for e in closed["parameter"][0]["resource"]["entry"] if e["resource"]["resourceType"] == "DetectedIssue")


def test_measure_requests_that_are_refused(server):
    assert httpx.get(f"{server}/fhir/Measure/nope/$evaluate-measure", timeout=30).status_code == 404
    bad = httpx.get(f"{server}/fhir/Measure/untreated-b12-deficiency/$evaluate-measure", params={"reportType": "all"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    assert httpx.get(f"{server}/fhir/Measure/$care-gaps", params={"subject": "../etc"}, timeout=30).status_code == 400
    assert httpx.get(f"{server}/fhir/Measure/untreated-b12-deficiency/$evaluate-measure", params={"periodEnd": "soon"},
                     timeout=30).status_code == 400

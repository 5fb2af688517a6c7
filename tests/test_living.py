"""A living cohort (issue 24): incremental batches with revision links, knowledge-change impact,
patient history, CDS Hooks feedback in the graph. Expected answers are derived by hand from the
inputs (file hashes, the serum B12 values of the synthetic bundles, a hand-written record)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from b12kg.cohort import named
from b12kg.cohort.store import CohortStore
from benchmarks.cohort import dumps, make_cohort

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("B12KG_LIVING_PATIENTS", "2000"))
AS_OF = "2026-11-24"
PATIENT = "https://w3id.org/b12kg/data/patient/"
REVISION = ox.NamedNode("http://www.w3.org/ns/prov#wasRevisionOf")
THRESHOLD = "https://w3id.org/b12kg/b12#threshold-b12-deficient"
TIMINGS: dict[str, float] = {}


def run(b12kg_command, *args, check=True):
    done = subprocess.run([*b12kg_command, *map(str, args)], capture_output=True, text=True, timeout=1500,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("living") / "records"
    folder.mkdir()
    for bundle in make_cohort(N, seed=42):
        (folder / f"{bundle['entry'][0]['resource']['id']}.json").write_text(dumps(bundle), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def store(cohort_dir, b12kg_command):
    """The cohort assessed once into a store (timed: the report gives the figure)."""
    directory = cohort_dir.parent / "store"
    started = time.monotonic()
    done = run(b12kg_command, "batch", cohort_dir, "--as-of", AS_OF, "--store", directory, "--workers", "2", "-o", os.devnull)
    TIMINGS["first batch"] = time.monotonic() - started
    assert f"{N} assessed" in done.stderr
    return directory


def assessments(directory: Path) -> list[str]:
    cohort = CohortStore(directory, read_only=True)
    return cohort.assessments()


def test_second_incremental_run_assesses_nobody(store, cohort_dir, b12kg_command):
    before = assessments(store)
    started = time.monotonic()
    done = run(b12kg_command, "batch", cohort_dir, "--as-of", AS_OF, "--store", store, "--incremental", "--workers", "2",
               "-o", os.devnull)
    TIMINGS["unchanged incremental run"] = time.monotonic() - started
    assert f"{N} in: 0 assessed" in done.stderr and f"{N} unchanged" in done.stderr
    assert "0 re-assessed" in done.stderr and "0 new" in done.stderr
    assert assessments(store) == before


def test_fifty_changed_records_are_reassessed_and_linked(store, cohort_dir, b12kg_command):
    changed = sorted(cohort_dir.glob("*.json"))[::max(1, N // 50)][:50]
    previous = {}
    for path in changed:
        bundle = json.loads(path.read_text())
        patient = bundle["entry"][0]["resource"]
        previous[f"{PATIENT}{patient['id']}"] = f"{PATIENT}{patient['id']}/assessment/{AS_OF}/" \
                                                f"{hashlib.sha256(path.read_bytes()).hexdigest()}"
        patient["gender"] = "male" if patient["gender"] == "female" else "female"
        path.write_text(dumps(bundle), encoding="utf-8")
    started = time.monotonic()
    done = run(b12kg_command, "batch", cohort_dir, "--as-of", AS_OF, "--store", store, "--incremental", "--workers", "2",
               "-o", os.devnull)
    TIMINGS["50 changed incremental run"] = time.monotonic() - started
    assert f"{N} in: 50 assessed" in done.stderr and f"{N - 50} unchanged" in done.stderr
    assert "50 re-assessed" in done.stderr and "0 new" in done.stderr
    cohort = CohortStore(store, read_only=True)
    links = {q.subject.value: q.object.value for q in cohort.store.quads_for_pattern(None, REVISION, None, None)}
    assert len(links) == 50
    for path in changed:
        patient = f"{PATIENT}{path.stem}"
        new = f"{patient}/assessment/{AS_OF}/{hashlib.sha256(path.read_bytes()).hexdigest()}"
        assert links[new] == previous[patient]
    assert len(cohort.assessments()) == N + 50
    again = run(b12kg_command, "batch", cohort_dir, "--as-of", AS_OF, "--store", store, "--incremental", "-o", os.devnull)
    assert "0 re-assessed" in again.stderr and f"{N} unchanged" in again.stderr


def deciding_serum_b12(bundle: dict) -> float | None:
    """By hand, from the record: the serum B12 results not taken during B12 therapy (a cyanocobalamin
    statement's period, open-ended to the as-of date), the latest date, the lowest value that day,
    in ng/L (pg/mL is ng/L; pmol/L x 1.355, the contract's factor)."""
    resources = [e["resource"] for e in bundle["entry"]]
    therapy = []
    for r in resources:
        codes = [c["code"] for c in r.get("medicationCodeableConcept", {}).get("coding", [])]
        if r["resourceType"] == "MedicationStatement" and "B03BA01" in codes:
            period = r["effectivePeriod"]
            therapy.append((period["start"], period.get("end", AS_OF)))
    results = []
    for r in resources:
        codes = [c["code"] for c in r.get("code", {}).get("coding", [])] if r["resourceType"] == "Observation" else []
        if "2132-9" in codes or "14685-2" in codes:
            day, quantity = r["effectiveDateTime"][:10], r["valueQuantity"]
            if any(start <= day <= end for start, end in therapy):
                continue
            results.append((day, quantity["value"] * (1.355 if quantity["unit"] == "pmol/L" else 1)))
    if not results:
        return None
    latest = max(day for day, _ in results)
    return min(value for day, value in results if day == latest)


def deficient_longer_under_200(bundle: dict) -> bool:
    """By hand: an untreated patient (no cyanocobalamin statement), deficient now under a cut-off
    of 180 ng/L (confirmed, or functional), none of whose serum B12
    results more than 3 months before the as-of date showed deficiency under a cut-off of 180
    ng/L (below 180, or 180-350 with an MMA over 0.4 umol/L or a homocysteine over 15 umol/L
    within 90 days, contract section 4), but one of which lay in 180-200: under a cut-off of
    200 the deficiency is older than 3 months (urgent-untreated-deficiency appears)."""
    resources = [e["resource"] for e in bundle["entry"]]
    if any("B03BA01" in [c["code"] for c in r.get("medicationCodeableConcept", {}).get("coding", [])] for r in resources):
        return False
    b12, elevated = [], []
    for r in resources:
        codes = [c["code"] for c in r.get("code", {}).get("coding", [])] if r["resourceType"] == "Observation" else []
        if not codes:
            continue
        day, quantity = date.fromisoformat(r["effectiveDateTime"][:10]), r["valueQuantity"]
        if "2132-9" in codes or "14685-2" in codes:
            b12.append((day, quantity["value"] * (1.355 if quantity["unit"] == "pmol/L" else 1)))
        elif (("13964-2" in codes and quantity["value"] / (1000 if quantity["unit"] == "nmol/L" else 1) > 0.4)
              or ("13965-9" in codes and quantity["value"] > 15)):
            elevated.append(day)

    def functional(day: date, value: float) -> bool:
        return 180 <= value <= 350 and any(abs((day - other).days) <= 90 for other in elevated)

    if not b12:
        return False
    latest = max(day for day, _ in b12)
    deciding = min(value for day, value in b12 if day == latest)
    if not (deciding < 180 or functional(latest, deciding)):
        return False  # no deficiency now under either cut-off: no urgent warning
    old = [(day, value) for day, value in b12 if day < date(2026, 8, 24)]  # AS_OF 2026-11-24 minus 3 months
    assert AS_OF == "2026-11-24"
    return not any(value < 180 or functional(day, value) for day, value in old) and any(180 <= v < 200 for _, v in old)


def test_impact_of_moving_the_deficiency_cut_off_to_200(store, cohort_dir, b12kg_command, tmp_path):
    new = tmp_path / "b12"
    shutil.copytree(ROOT / "ontology" / "b12", new / "ontology")
    shutil.copytree(ROOT / "queries" / "b12", new / "queries")
    ttl = new / "ontology" / "b12-neuropathy.ttl"
    text = ttl.read_text()
    assert text.count("gm:thresholdValue 180.0") == 1
    ttl.write_text(text.replace("gm:thresholdValue 180.0", "gm:thresholdValue 200.0"))
    expected, urgent = set(), set()
    for path in cohort_dir.glob("*.json"):
        bundle = json.loads(path.read_text())
        value = deciding_serum_b12(bundle)
        if value is not None and 180 <= value < 200:  # indeterminate (or functional, unlikely) under 180; confirmed under 200
            expected.add(f"{PATIENT}{path.stem}")
        elif value is not None and deficient_longer_under_200(bundle):
            urgent.add(f"{PATIENT}{path.stem}")  # confirmed either way, but deficient for over 3 months only under 200
    report_file, page = tmp_path / "impact.json", tmp_path / "impact.html"
    started = time.monotonic()
    done = run(b12kg_command, "impact", store, "--knowledge", "installed", "--knowledge", new, "--json", report_file, "--html", page)
    TIMINGS["impact"] = time.monotonic() - started
    report = json.loads(report_file.read_text())
    status_changed = {p["patient"] for p in report["patients"] for c in p["changes"] if c["key"] == "b12-status"}
    TIMINGS["impact: status changes"] = len(status_changed)
    assert expected and status_changed == expected
    assert [e["id"] for e in report["edits"]] == [THRESHOLD]
    assert report["edits"][0]["changes"] == [{"property": "https://w3id.org/b12kg/model#thresholdValue", "old": "180", "new": "200"}]
    for p in report["patients"]:
        for c in p["changes"]:
            assert c["explained_by"] == [THRESHOLD], c
            if c["key"] == "b12-status":
                assert c["new"] == "confirmed" and c["old"] != "confirmed" and "via" not in c
    for p in report["patients"]:
        if p["patient"] in urgent:
            assert [(c["key"], c["change"]) for c in p["changes"]] == [("urgent-untreated-deficiency", "appears")], p
    assert {p["patient"] for p in report["patients"]} == expected | urgent  # only they change at all
    assert report["counts"]["assessed"] == N and report["counts"]["refused"] == 0
    assert report["edits"][0]["patients"] == len(expected | urgent)
    assert "threshold-b12-deficient" in page.read_text() and f"{len(expected | urgent)} of {N} patients change" in done.stderr


RECORD = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in [
    {"resourceType": "Patient", "id": "hist", "gender": "female", "birthDate": "1960-01-01"},
    {"resourceType": "Condition", "id": "cond-pn", "subject": {"reference": "Patient/hist"},
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "302226006"}]}, "onsetDateTime": "2025-06-01"},
    *({"resourceType": "Observation", "id": f"obs-b12-{n}", "status": "final", "subject": {"reference": "Patient/hist"},
       "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]}, "effectiveDateTime": day,
       "valueQuantity": {"value": value, "unit": "ng/L", "system": "http://unitsofmeasure.org", "code": "ng/L"}}
      for n, day, value in ((1, "2026-01-10", 400), (2, "2026-05-10", 250), (3, "2026-09-10", 150)))]]}


def test_history_names_the_facts_that_changed_each_conclusion(tmp_path, b12kg_command):
    record = tmp_path / "hist.json"
    record.write_text(json.dumps(RECORD))
    directory = tmp_path / "store"
    for day in ("2026-02-01", "2026-06-01", "2026-10-01"):
        run(b12kg_command, "batch", record, "--as-of", day, "--store", directory, "--incremental", "--workers", "1", "-o", os.devnull)
    found = json.loads(run(b12kg_command, "history", directory, "hist", "--format", "json").stdout)
    assert [a["as_of"] for a in found["assessments"]] == ["2026-02-01", "2026-06-01", "2026-10-01"]
    assert [a["revision_of"] for a in found["assessments"]] == [None] + [a["assessment"] for a in found["assessments"][:2]]
    first, second = found["steps"]
    status = [c for c in first["conclusions"] if c["key"] == "b12-status"]
    assert status == [{**status[0], "old": "unlikely", "new": "indeterminate", "change": "changes",
                       "because": [{"fact": "obs-b12-2", "change": "in scope"}]}]
    status = [c for c in second["conclusions"] if c["key"] == "b12-status"]
    assert status[0]["old"] == "indeterminate" and status[0]["new"] == "confirmed"
    assert status[0]["because"] == [{"fact": "obs-b12-3", "change": "in scope"}]
    assert {f["id"] for f in second["facts"]} == {"obs-b12-3"}
    assert "obs-b12-3 (in scope)" in run(b12kg_command, "history", directory, "hist").stdout
    rows = named.rows(CohortStore(directory, read_only=True).store, "changed-since", {"date": "2026-10-01"})
    assert {(r["conclusion"], r["beforeValue"], r["afterValue"]) for r in rows if r["conclusion"] == "b12-status"} == {
        ("b12-status", "indeterminate", "confirmed")}


def test_partial_export_is_merged_into_the_stored_input(tmp_path, b12kg_command):
    from b12kg.batch.ndjson import write_export

    bundles = make_cohort(20, seed=7)
    write_export(bundles, tmp_path / "full")
    directory = tmp_path / "store"
    run(b12kg_command, "batch", tmp_path / "full", "--as-of", AS_OF, "--store", directory, "--incremental", "-o", os.devnull)
    target = next(b for b in bundles if any(e["resource"]["resourceType"] == "Observation" for e in b["entry"]))
    observation = json.loads(json.dumps(next(e["resource"] for e in target["entry"] if e["resource"]["resourceType"] == "Observation")))
    observation["effectiveDateTime"] = "2026-11-01"
    write_export([{"entry": [{"resource": observation}]}], tmp_path / "since")
    done = run(b12kg_command, "batch", tmp_path / "since", "--as-of", AS_OF, "--store", directory, "--incremental", "--partial",
               "-o", os.devnull)
    assert "1 re-assessed" in done.stderr and "19 unchanged" in done.stderr and "1 partial records merged" in done.stderr
    cohort = CohortStore(directory, read_only=True)
    pid = target["entry"][0]["resource"]["id"]
    latest = [r for r in cohort.select((ROOT / "queries/living/input-documents.rq").read_text()) if r["patient"].value.endswith(pid)]
    merged = json.loads(latest[0]["document"].value)
    assert len(merged["entry"]) == len(target["entry"])  # every stored resource kept, the changed one replaced
    assert [e["resource"] for e in merged["entry"] if e["resource"].get("id") == observation["id"]] == [observation]
    again = run(b12kg_command, "batch", tmp_path / "since", "--as-of", AS_OF, "--store", directory, "--incremental", "--partial",
                "-o", os.devnull)
    assert "0 re-assessed" in again.stderr and "20 unchanged" in again.stderr


def test_override_posted_through_cds_hooks_is_in_the_override_rate_query(assessor, tmp_path, b12kg_command):
    from b12kg.api import Api
    from b12kg.serve.cds import Config, create_app
    from tests.servers import LiveService

    fixtures = ROOT / "tests" / "cds-hooks"
    body = json.loads((fixtures / "request-b12-patient-view-in-folic-acid-alone.json").read_text())
    directory = tmp_path / "store"
    config = Config(as_of=date.fromisoformat("2026-11-24"), feedback_db=tmp_path / "fb.sqlite3", cohort_store=directory)
    live = LiveService(create_app(config, Api(assessor)))
    try:
        with httpx.Client(base_url=live.url, timeout=60) as client:
            cards = client.post("/cds-services/b12-patient-view", json=body).json()["cards"]
            warning = next(c for c in cards if c["indicator"] == "critical")  # the folic-acid-alone safety card
            sent = {"feedback": [{"card": warning["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:01:00Z",
                                  "overrideReason": {"reason": warning["overrideReasons"][0], "userComment": "on B12 elsewhere"}}]}
            assert client.post("/cds-services/b12-patient-view/feedback", json=sent).status_code == 200
    finally:
        live.stop()
    rows = named.rows(CohortStore(directory, read_only=True).store, "override-rate")
    rule = [r for r in rows if r["by"] == "rule"]
    assert [(r["item"], r["feedbackItems"], r["overrides"]) for r in rule] == [
        ("https://w3id.org/b12kg/rule/avoid-folic-acid-alone", "1", "1")]
    assert float(rule[0]["rate"]) == 1.0 and warning["overrideReasons"][0]["display"] in rule[0]["reasons"]
    assert any(r["by"] == "statement" and r["overrides"] == "1" for r in rows)  # the statements the rule cites
    done = run(b12kg_command, "feedback", directory, "--feedback-db", tmp_path / "fb.sqlite3")
    assert "0 feedback items added, 1 already there" in done.stderr  # re-running adds nothing


def test_a_graph_added_in_a_failed_load_is_rolled_back(tmp_path):
    cohort = CohortStore(tmp_path / "s")
    graph = ox.NamedNode("https://w3id.org/b12kg/feedback/x/graph")
    with pytest.raises(RuntimeError), cohort.loading() as loader:
        loader.add_graph(graph, [ox.Quad(graph, graph, ox.Literal("x"), graph)])
        raise RuntimeError("interrupted")
    assert not cohort.store.contains_named_graph(graph) and not cohort.pending_loads()
    cohort.close()


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, b12kg_command):
    folder = tmp_path_factory.mktemp("small")
    record = folder / "hist.json"
    record.write_text(json.dumps(RECORD))
    run(b12kg_command, "batch", record, "--as-of", AS_OF, "--store", folder / "store", "--workers", "1", "-o", os.devnull)
    return record, folder / "store"


@pytest.mark.parametrize("args, says", [
    (["impact", "{store}", "--knowledge", "installed"], "--knowledge must be given twice"),
    (["impact", "{store}", "--knowledge", "installed", "--knowledge", "/no/such/folder"], "not a folder"),
    (["impact", "{store}", "--knowledge", "installed", "--knowledge", "installed"], "the same"),
    (["history", "{store}", "nobody"], "no assessment of this patient"),
    (["batch", "{records}", "--partial", "--incremental"], "--incremental needs --store"),
    (["batch", "{records}", "--store", "{store}", "--partial"], "--partial needs --incremental"),
])
def test_bad_input_is_refused_with_the_reason(args, says, small_store, b12kg_command):
    record, directory = small_store
    done = run(b12kg_command, *[a.format(store=directory, records=record) for a in args], check=False)
    assert done.returncode == 2 and says in done.stderr, done.stderr


def test_report_timings(store):
    """The figures of this run (printed with -s): not an assertion on speed."""
    print(f"\nliving cohort, {N} patients: " + ", ".join(f"{k} {v:.1f}" for k, v in TIMINGS.items()), file=sys.stderr)

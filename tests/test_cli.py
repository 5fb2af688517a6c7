"""The command line as a user runs it: exit codes, messages, output formats."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import rdflib

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ex1-confirmed-oral.json"
SCHEMA = json.loads((ROOT / "tests" / "contract" / "assessment.schema.json").read_text())
SHARED_CHECK = ROOT.parent / "shared" / "bin" / "check-contract"


def run(command: list[str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_help_reads_well(b12kg_command):
    top = run(b12kg_command, "--help")
    assert top.returncode == 0
    for command in ("assess", "explain", "batch", "validate", "coverage", "query"):
        assert command in top.stdout
    assess = run(b12kg_command, "assess", "--help")
    assert assess.returncode == 0 and "--as-of" in assess.stdout and "--format" in assess.stdout


def test_assess_prints_contract_json(b12kg_command):
    result = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["patient"] == "ex1" and document["b12_status"]["value"] == "confirmed"
    assert document["follow_up"] == {"due": "2027-02-24", "overdue": False, "measure": ["serum-b12", "mma", "homocysteine", "neurological-symptoms"],
                                     "results": []}  # a new treatment: no on-treatment result yet (contract 2, v3)


def test_native_turtle_example_matches_fhir_example(b12kg_command):
    fhir = json.loads(run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24").stdout)
    native = json.loads(run(b12kg_command, "assess", str(EXAMPLE.with_suffix(".ttl")), "--as-of", "2026-11-24").stdout)
    assert native["b12_status"]["value"] == fhir["b12_status"]["value"]
    assert [r["action"] for r in native["recommendations"]] == [r["action"] for r in fhir["recommendations"]]


def test_rejected_input_exits_2_with_located_message(b12kg_command):
    bad = ROOT / "tests" / "cases" / "b12" / "rejected-unknown-unit-mg-per-h.json"
    result = run(b12kg_command, "assess", str(bad), "--as-of", "2026-11-24")
    assert result.returncode == 2
    assert str(bad) in result.stderr and "obs-b12-1" in result.stderr and "valueQuantity" in result.stderr and "mg/h" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_as_of_is_a_usage_error(b12kg_command):
    result = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "24/11/2026")
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


@pytest.mark.parametrize("fmt,parser", [("turtle", "turtle"), ("jsonld", "json-ld"), ("trig", "trig")])
def test_rdf_output_parses_and_carries_provenance(b12kg_command, fmt, parser):
    result = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24", "--format", fmt)
    assert result.returncode == 0, result.stderr
    dataset = rdflib.Dataset()
    dataset.parse(data=result.stdout, format=parser)
    prov = rdflib.Namespace("http://www.w3.org/ns/prov#")
    generated = {s for s, _, _, _ in dataset.quads((None, prov.wasGeneratedBy, None, None))}
    assert any(str(c).endswith("/conclusion/oral-b12-high-dose") for c in generated)
    if fmt == "trig":
        names = {str(g.identifier) for g in dataset.graphs()}
        assert {"https://w3id.org/b12kg/graph/asserted", "https://w3id.org/b12kg/graph/inferred",
                "https://w3id.org/b12kg/graph/concluded", "https://w3id.org/b12kg/graph/cited-guideline"} <= names
        assert any("High-dose oral vitamin B12 supplementation" in str(o) for _, _, o, _ in dataset.quads())


def test_batch_reports_bad_patient_and_assesses_the_rest(b12kg_command, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(EXAMPLE.read_text())
    bad.write_text('{"resourceType": "Bundle", "entry": [')
    output = tmp_path / "out.jsonl"
    result = run(b12kg_command, "batch", str(tmp_path), "--as-of", "2026-11-24", "--output", str(output), "--no-progress")
    assert result.returncode == 2
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(records) == 2
    assert records[0]["file"] == str(bad) and "not valid JSON" in records[0]["rejected"][0]["reason"]
    assert records[1]["patient"] == "ex1"
    assert "1 assessed, 1 rejected" in result.stderr


def test_coverage_matrix_has_no_gap(b12kg_command):
    result = run(b12kg_command, "coverage", "--check")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "| `order-mma` | order-mma | `derive/order-mma.rq` |" in result.stdout


def test_user_query_runs_and_service_is_refused(b12kg_command, tmp_path):
    ask = tmp_path / "ask.rq"
    ask.write_text("ASK { ?c gm:concerns b12:action-oral-b12-high-dose }")
    assert run(b12kg_command, "query", str(EXAMPLE), str(ask), "--as-of", "2026-11-24").stdout.strip() == "true"
    service = tmp_path / "service.rq"
    service.write_text("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    refused = run(b12kg_command, "query", str(EXAMPLE), str(service), "--as-of", "2026-11-24")
    assert refused.returncode == 2 and "SERVICE" in refused.stderr


@pytest.mark.skipif(not SHARED_CHECK.exists(), reason="shared/bin/check-contract is not beside the checkout")
def test_check_contract_passes_on_the_contract_examples(b12kg_command):
    """The contract's own examples through the installed CLI, one process each. The
    clinical cases run in-process (test_cases.py); the same check over them, one
    process per case, is the README's manual command."""
    env = {"B12KG": " ".join(b12kg_command), "PATH": str(Path(b12kg_command[0]).parent) + ":/usr/bin:/bin"}
    result = subprocess.run([str(SHARED_CHECK)], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " 0 failed" in result.stdout

"""Guideline packs: found built in and from a folder (--guideline DIR) without touching the
package; merged into one knowledge graph; rules ordered by the data (phase, dependencies)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from b12kg import resources
from b12kg.errors import InputRejected
from b12kg.knowledge import Rule, _load, _ordered, load_knowledge
from b12kg.pipeline import Assessor

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "tests" / "cases" / "interactions" / "no-interaction-only-b12-guideline.json"

PACK_TTL = """
@prefix gm:   <https://w3id.org/b12kg/model#> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct:  <http://purl.org/dc/terms/> .
@prefix ca:   <https://w3id.org/b12kg/care#> .
@prefix ex:   <https://example.org/neuro#> .

<https://example.org/neuro> a owl:Ontology ; owl:versionIRI <https://example.org/neuro/0.1> ; owl:versionInfo "0.1" .
<https://example.org/guideline/neuro> a gm:Guideline ; dct:title "Example neuropathy follow-up guideline" ; owl:versionInfo "0.1" .
ex:stmt a gm:EvidenceStatement ; gm:partOf <https://example.org/guideline/neuro> ; gm:citation "Example 2026" ;
    gm:statementText "Every patient with peripheral neuropathy should have serum B12 measured." .
ex:action a gm:Action ; gm:code "example-measure-b12" ; gm:actionText "Measure serum B12 (example guideline)." ;
    gm:aboutExecutionOf ca:measure-serum-b12 ; gm:strength gm:should .
ex:rule a gm:Rule ; rdfs:label "example" ; gm:phase gm:derivation ; gm:concludes ex:action ;
    gm:implementedBy "derive/measure-b12.rq" ; gm:cites ex:stmt .
"""

PACK_RQ = """
PREFIX gm: <https://w3id.org/b12kg/model#>
PREFIX pt: <https://w3id.org/b12kg/patient#>
PREFIX ex: <https://example.org/neuro#>
CONSTRUCT { ?c a gm:RecommendedAction ; gm:aboutPatient ?p ; gm:concerns ex:action ; gm:basedOn ?f ; gm:derivedBy ex:rule . }
WHERE { ?f pt:subject ?p ; pt:code <http://snomed.info/id/302226006> . BIND(IRI(CONCAT(STR(?p), "/conclusion/example-measure-b12")) AS ?c) }
"""


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "neuro-example"
    (folder / "ontology").mkdir(parents=True)
    (folder / "queries" / "derive").mkdir(parents=True)
    (folder / "ontology" / "neuro.ttl").write_text(PACK_TTL, encoding="utf-8")
    (folder / "queries" / "derive" / "measure-b12.rq").write_text(PACK_RQ, encoding="utf-8")
    return folder


def test_built_in_packs_are_found():
    names = [p.name for p in resources.packs(())]
    assert names[0] == resources.MODEL
    assert {"uspstf-folic-acid", "ada-diabetes", "aga-ppi-deprescribing", "aan-polyneuropathy", "mhra-metformin-b12"} <= set(names)


def test_a_pack_from_a_folder_changes_the_output_without_touching_the_package(pack_dir: Path):
    before = Assessor().assess(CASE, date(2026, 11, 24)).document
    knowledge = load_knowledge((pack_dir,))
    after = Assessor(knowledge=knowledge).assess(CASE, date(2026, 11, 24)).document
    assert "https://example.org/guideline/neuro" not in {g["id"] for g in before["guidelines"]}
    added = next(g for g in after["guidelines"] if g["id"] == "https://example.org/guideline/neuro")
    assert [c["code"] for c in added["conclusions"]] == ["example-measure-b12"]
    assert added["conclusions"][0]["evidence"][0]["citation"] == "Example 2026"
    # its measurement meets the B12 guideline's? Not here (status confirmed: no B12 order), so no interaction:
    assert after["interactions"] == before["interactions"] == []
    # the B12 guideline's own conclusions are untouched
    assert {k: after[k] for k in ("b12_status", "risk_factors", "recommendations")} == \
           {k: before[k] for k in ("b12_status", "risk_factors", "recommendations")}


def test_a_pack_folder_on_the_command_line(pack_dir: Path, b12kg_command):
    run = subprocess.run([*b12kg_command, "--guideline", str(pack_dir), "assess", str(CASE), "--as-of", "2026-11-24"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    ids = {g["id"] for g in json.loads(run.stdout)["guidelines"]}
    assert "https://example.org/guideline/neuro" in ids


def test_a_folder_that_is_not_a_pack_is_refused(tmp_path: Path):
    with pytest.raises(InputRejected, match="ontology/"):
        resources.pack_from_dir(tmp_path, "test")


def test_rules_run_in_the_order_the_data_declares():
    rules = load_knowledge().rules
    phases = [r.phase_order for r in rules]
    assert phases == sorted(phases)
    assert all(r.before_reasoning for r in rules if r.phase.endswith("#classification"))
    position = {r.iri: i for i, r in enumerate(rules)}
    rule = "https://w3id.org/b12kg/rule/"
    assert position[rule + "uspstf-could-become-pregnant"] < position[rule + "uspstf-folic-acid"]
    assert all(r.phase.endswith("#interaction") for r in rules if "interaction-" in r.iri)


def test_dependencies_override_stages_and_cycles_are_refused():
    a = Rule("a", 50, "a.rq", "q", phase_order=2)
    b = Rule("b", 10, "b.rq", "q", phase_order=2)
    assert [r.iri for r in _ordered([a, b], {"b": {"a"}})] == ["a", "b"]
    with pytest.raises(ValueError, match="cycle"):
        _ordered([a, b], {"a": {"b"}, "b": {"a"}})


def test_two_packs_with_one_name_are_refused(pack_dir: Path):
    with pytest.raises(InputRejected, match="two guideline packs"):
        _load(resources.packs((pack_dir, pack_dir)))

"""`b12kg check`: ontology QC of the merged knowledge, on the real packs and on broken
copies of a pack in a temporary folder (the entity at fault must be named)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from b12kg import check as qc
from b12kg import resources
from b12kg.knowledge import _load

ROOT = Path(__file__).resolve().parent.parent
PACK = "uspstf-folic-acid"
JAVA = shutil.which("java") is not None


def _with_copy(tmp_path: Path, edit) -> tuple:
    """Every built-in pack, the USPSTF pack replaced by an edited copy in tmp_path."""
    folder = tmp_path / "uspstf-copy"
    shutil.copytree(resources.data_dir("ontology") / PACK, folder / "ontology")
    shutil.copytree(resources.data_dir("queries") / PACK, folder / "queries")
    module = folder / "ontology" / f"{PACK}.ttl"
    module.write_text(edit(module.read_text(encoding="utf-8")), encoding="utf-8")
    packs = (*(p for p in resources.packs(()) if p.name != PACK), resources.pack_from_dir(folder, "test copy"))
    return _load(packs)


def _entities(report: qc.Report, check: str) -> set[str]:
    return {f.entity for f in report.findings if f.check == check}


@pytest.mark.skipif(not JAVA, reason="HermiT needs Java")
def test_check_passes_on_the_real_knowledge(b12kg_command):
    run = subprocess.run([*b12kg_command, "check", "--cases", str(ROOT / "tests" / "cases")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OWL 2 DL check by HermiT" in run.stdout and "passed" in run.stdout


def test_missing_citation_is_named(tmp_path):
    knowledge = _with_copy(tmp_path, lambda text: text.replace('gm:citation "JAMA 2023;330(5):454-459" ; ', ""))
    report = qc.check(knowledge, reasoner=False, coverage=False)
    assert not report.ok
    assert "https://w3id.org/b12kg/uspstf#stmt-folic-acid" in _entities(report, "statement-without-text-or-citation-violation")
    assert "uspstf#stmt-folic-acid" in report.text()


def test_iri_defined_in_two_packs_is_named(tmp_path):
    duplicate = '\nrule:ada-periodic-b12 a gm:Rule ; rdfs:label "a second definition" .\n'
    knowledge = _with_copy(tmp_path, lambda text: text + duplicate)
    report = qc.check(knowledge, reasoner=False, coverage=False)
    found = [f for f in report.findings if f.check == "iri-defined-in-two-packs-violation"]
    assert [f.entity for f in found] == ["https://w3id.org/b12kg/rule/ada-periodic-b12"]
    assert "ada-diabetes" in found[0].value and "uspstf-copy" in found[0].value


def test_missing_query_file_unit_and_label_are_named(tmp_path):
    def edit(text: str) -> str:
        text = text.replace('"derive/folic-acid-supplement.rq"', '"derive/no-such-file.rq"')
        text = text.replace('gm:thresholdValue 0.8 ; gm:unit "mg/d" ;', "gm:thresholdValue 0.8 ;")
        return text.replace('uspstf:PregnancyOrPlanningCode a owl:Class, gm:ValueSet ; rdfs:label "current pregnancy or pregnancy planning" .',
                            "uspstf:PregnancyOrPlanningCode a owl:Class, gm:ValueSet .")
    report = qc.check(_with_copy(tmp_path, edit), reasoner=False, coverage=False)
    assert "https://w3id.org/b12kg/rule/uspstf-folic-acid" in _entities(report, "rule-query-missing-violation")
    assert "https://w3id.org/b12kg/uspstf#threshold-folic-acid-max" in _entities(report, "threshold-without-unit-or-source-violation")
    assert "https://w3id.org/b12kg/uspstf#PregnancyOrPlanningCode" in _entities(report, "label-missing-violation")


@pytest.mark.skipif(not JAVA, reason="HermiT needs Java")
def test_unsatisfiable_class_is_named(tmp_path):
    impossible = ('\nuspstf:Impossible a owl:Class ; rdfs:label "pregnant and not pregnant" ;\n'
                  "    rdfs:subClassOf uspstf:PregnancyOrPlanningCode, [ owl:complementOf uspstf:PregnancyOrPlanningCode ] .\n")
    report = qc.check(_with_copy(tmp_path, lambda text: text + impossible), reasoner=True, coverage=False)
    assert _entities(report, "owl-dl") == {"https://w3id.org/b12kg/uspstf#Impossible"}


def test_no_java_is_a_clear_failure(monkeypatch):
    monkeypatch.setattr(qc.shutil, "which", lambda name: None)
    findings, _ = qc.run_hermit(_load(resources.packs(())))
    assert len(findings) == 1 and "needs Java" in findings[0].value and "--no-reasoner" in findings[0].value


def test_check_exits_1_naming_the_entity(tmp_path, b12kg_command):
    folder = tmp_path / "broken"
    (folder / "ontology").mkdir(parents=True)
    (folder / "ontology" / "broken.ttl").write_text("""
@prefix gm: <https://w3id.org/b12kg/model#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
<https://example.org/broken> a owl:Ontology ; owl:versionIRI <https://example.org/broken/1> .
<https://example.org/broken#stmt> a gm:EvidenceStatement ; gm:statementText "Do something." .
""", encoding="utf-8")
    run = subprocess.run([*b12kg_command, "--guideline", str(folder), "check", "--no-reasoner", "--no-coverage"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "https://example.org/broken#stmt" in run.stdout and "citation" in run.stdout

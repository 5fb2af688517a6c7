"""The coverage matrix shows no gap, and would show one if knowledge or cases went missing."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import rdflib

from b12kg.coverage import GM, build, guideline_text, normative_fragments
from b12kg.knowledge import load_knowledge

CASES = Path(__file__).resolve().parent / "cases"


def test_no_gap():
    assert build(load_knowledge(), CASES).gaps == []


def test_every_normative_line_of_the_guideline_is_checked():
    knowledge = load_knowledge()
    pattern = str(knowledge.graph.value(rdflib.URIRef(knowledge.guideline_iri), GM.normativePattern))
    fragments = normative_fragments(guideline_text(), pattern)
    assert any("Metformin use >4 months" in f for f in fragments)
    assert any(f.startswith("Vitamin B12 deficiency left untreated for >3 months") for f in fragments)
    assert not any(f == "Treatment Protocol" for f in fragments)


def test_a_missing_statement_individual_is_a_gap():
    knowledge = load_knowledge()
    graph = rdflib.Graph()
    for triple in knowledge.graph:
        graph.add(triple)
    statement = rdflib.URIRef("https://w3id.org/b12kg/b12#stmt-folic-acid")
    graph.remove((statement, GM.statementText, None))
    gaps = build(dataclasses.replace(knowledge, graph=graph), CASES).gaps
    assert any("Doses of folic acid >0.1 mg daily" in gap for gap in gaps)


def test_a_rule_without_cases_is_a_gap(tmp_path):
    for case in (CASES / "b12").glob("status-*"):
        shutil.copy(case, tmp_path / case.name)
    gaps = build(load_knowledge(), tmp_path).gaps
    assert any("escalate-to-parenteral" in gap and "fire" in gap for gap in gaps)


def test_coverage_works_from_any_folder(b12kg_command, tmp_path):
    """The cases travel with the package: no tests/cases is needed in the working folder."""
    import subprocess

    result = subprocess.run([*b12kg_command, "coverage", "--check", "--format", "json"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert any(row["fires_in"] for row in json.loads(result.stdout)["rules"])


def test_coverage_without_cases_degrades_with_a_message(monkeypatch):
    from click.testing import CliRunner

    from b12kg import resources
    from b12kg.cli import main

    monkeypatch.setattr(resources, "cases_dir", lambda: None)
    result = CliRunner().invoke(main, ["coverage", "--check"])
    assert result.exit_code == 0, result.output
    assert "carries no clinical test cases" in result.output and "--cases" in result.output
    assert "## Rules" in result.output

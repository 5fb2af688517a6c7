"""The knowledge files themselves: complete, executable, self-describing, and the only
place clinical values live."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pyshacl
import pytest
import rdflib

from b12kg import resources
from b12kg.knowledge import load_knowledge

ROOT = Path(__file__).resolve().parent.parent
QUERIES = sorted(resources.data_dir("queries").rglob("*.rq"))


def test_ontology_conforms_to_guideline_integrity_shapes():
    shapes = rdflib.Graph().parse(resources.shapes_file("guideline-integrity"), format="turtle")
    conforms, _, text = pyshacl.validate(load_knowledge().graph, shacl_graph=shapes, inference="none")
    assert conforms, text


def test_every_ontology_module_is_versioned_and_imports_nothing():
    owl = rdflib.Namespace("http://www.w3.org/2002/07/owl#")
    for path in resources.ontology_files():
        graph = rdflib.Graph().parse(path, format="turtle")
        ontologies = list(graph.subjects(rdflib.RDF.type, owl.Ontology))
        assert len(ontologies) == 1, path
        assert graph.value(ontologies[0], owl.versionIRI) is not None, path
        assert not list(graph.objects(None, owl.imports)), f"{path} has owl:imports: nothing may be fetched"


def test_external_defaults_are_marked():
    knowledge = load_knowledge()
    gm = rdflib.Namespace("https://w3id.org/b12kg/model#")
    b12 = rdflib.Namespace("https://w3id.org/b12kg/b12#")
    for name in ("threshold-mma-elevated", "threshold-homocysteine-elevated", "window-metabolite"):
        assert knowledge.graph.value(b12[name], gm.isExternalDefault) == rdflib.Literal(True)
    assert knowledge.graph.value(b12["threshold-b12-deficient"], gm.isExternalDefault) == rdflib.Literal(False)


def test_rules_run_in_a_stable_order_from_existing_files():
    rules = load_knowledge().rules
    for phase in {r.phase_order for r in rules}:
        stages = [r.stage for r in rules if r.phase_order == phase]
        assert stages == sorted(stages) or phase != 1  # within a phase, stage order (dependencies aside)
    assert [r.phase_order for r in rules] == sorted(r.phase_order for r in rules)
    assert all(r.query for r in rules), [r.iri for r in rules if not r.query]


@pytest.mark.parametrize("path", [q for q in QUERIES if q.parent.name == "derive"], ids=lambda p: p.stem)
def test_derive_query_opens_with_its_header(path: Path):
    header = path.read_text().split("PREFIX", 1)[0]
    for field in ("# derives:", "# when:", "# then:", "# tests:"):
        assert field in header, f"{path.name} lacks '{field}'"
    assert "# rec:" in header or "# derives: b12kg" in header


def test_what_a_query_header_names_under_tests_exists():
    """Every test module and case glob a query's `# tests:` header names matches a file (each
    pack's cases in tests/cases/<pack>/): moving or renaming cases updates the headers."""
    missing = []
    for path in QUERIES:
        header = path.read_text().split("PREFIX", 1)[0]
        for block in re.findall(r"^# tests:(.*(?:\n#\s{2,}\S.*)*)", header, re.M):
            for name in re.findall(r"tests/[^\s,()]+", block):
                if "<" not in name and not any(ROOT.glob(name)):
                    missing.append(f"{path.relative_to(resources.data_dir('queries'))}: {name}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_queries_never_reach_out(path: Path):
    text = re.sub(r"#.*", "", path.read_text())
    assert not re.search(r"\bSERVICE\b|\bFROM\s+(NAMED\s+)?<|\bLOAD\b", text, re.IGNORECASE)


def test_python_holds_no_clinical_threshold():
    """The guideline's numbers live in ontology/: no numeric constant of the package is one."""
    clinical = {Decimal(v) for v in ("180", "350", "500", "0.4", "15", "90", "1.355", "1355", "0.1", "132.8", "258.2")}
    offenders = []
    for path in sorted((ROOT / "b12kg").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            is_number = isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
            if is_number and Decimal(str(node.value)) in clinical:
                offenders.append(f"{path.name}:{node.lineno}: {node.value}")
    assert not offenders, "\n".join(offenders)

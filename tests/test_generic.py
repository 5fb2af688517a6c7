"""Nothing guideline-specific lives in the package's Python or in the generic model: every
IRI, unit and code of a guideline pack is data in its pack (issue 12)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import rdflib

from b12kg import resources
from b12kg.knowledge import load_knowledge

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "b12kg"
GM = rdflib.Namespace("https://w3id.org/b12kg/model#")


def _string_constants(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module, docstrings left out (they describe, they do not decide)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add(id(first.value))
    # an expression statement that is a bare string (attribute docstrings) describes too; an
    # f-string's format spec (":g") is formatting, not data
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            docstrings.add(id(node.value))
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            docstrings.update(id(n) for n in ast.walk(node.format_spec))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _pack_terms() -> tuple[set[str], set[str], set[str]]:
    """(namespaces, codes, units) of every guideline pack: the things Python must not name."""
    knowledge = load_knowledge()
    graph = knowledge.graph
    model = {iri.rsplit("#", 1)[0] + "#" for iri, pack in knowledge.defined_in if pack == resources.MODEL and "#" in iri}
    namespaces = {iri.rsplit("#", 1)[0] + "#" for iri, pack in knowledge.defined_in if pack != resources.MODEL and "#" in iri} - model
    namespaces |= {g.iri for g in knowledge.guidelines}
    codes = {str(c) for c in graph.objects(None, GM.code)} - {str(c) for s, c in graph.subject_objects(GM.code)
                                                                if any(p == resources.MODEL for i, p in knowledge.defined_in if i == str(s))}
    codes |= {str(c).rsplit("/", 1)[-1].rsplit("#", 1)[-1] for vs in graph.subjects(rdflib.RDF.type, GM.ValueSet)
              for c in graph.subjects(rdflib.RDF.type, vs) if isinstance(c, rdflib.URIRef)}
    units = {str(u) for p in (GM.unit, GM.acceptedUnit, GM.canonicalUnit) for u in graph.objects(None, p)}
    # the patient vocabulary itself fixes doses in mg and daily doses in mg/d (pt:doseMg, pt:dailyDoseMg): generic
    generic = {str(u) for kind in (GM.DoseQuantity, GM.DailyDose) for a in graph.subjects(rdflib.RDF.type, kind)
               for u in graph.objects(a, GM.canonicalUnit)}
    return namespaces, codes, units - generic


GENERIC_WORDS = {"asserted"}
"""Codes that are also the model's own names: "asserted" names the graph of asserted facts
(namespaces.ASSERTED_GRAPH) as well as a population reason."""


def test_no_guideline_iri_unit_or_code_in_the_package_python():
    namespaces, codes, units = _pack_terms()
    codes -= GENERIC_WORDS
    assert "https://w3id.org/b12kg/b12#" in namespaces and "order-mma" in codes and "ng/L" in units  # the test can fail
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in _string_constants(path):
            if any(ns in text for ns in namespaces):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: IRI {text!r}")
            elif text in codes:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: code {text!r}")
            elif text in units or any(re.search(rf"(?<![\w/]){re.escape(u)}(?![\w/])", text) for u in units if "/" in u):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: unit {text!r}")
    assert not offenders, "\n".join(offenders)


PACK_FOLDERS = {pack.name for pack in resources.packs()} - {resources.MODEL}
GENERIC_QUERY_FOLDERS = sorted(d for d in resources.data_dir("queries").iterdir() if d.is_dir() and d.name not in PACK_FOLDERS)
GENERIC = [*sorted((resources.data_dir("ontology") / "model").glob("*.ttl")),
           *sorted(resources.data_dir("shapes").glob("*.ttl")),
           *(p for d in GENERIC_QUERY_FOLDERS for p in sorted(d.rglob("*.rq")))]
GUIDELINE_WORDS = re.compile(r"(?<![\w/-])(B12|cobalamin|cyanocobalamin|metformin|folic|folate|folinic|MMA|methylmalonic|"
                             r"homocysteine|neuropath\w*|polyneuropath\w*|proton pump|PPIs?|ng/L|pg/mL|vegan|vegetarian)(?![\w-])",
                             re.IGNORECASE)
"""Words of the packs' guidelines (their analytes, drugs, conditions and units) that the
generic model, shapes and query folders must not use, in text or in comments."""


def test_every_generic_query_folder_is_checked():
    names = {d.name for d in GENERIC_QUERY_FOLDERS}
    assert {"classify", "cohort", "report", "provenance", "quality", "interactions", "qc"} <= names
    assert "b12" not in names and "b12" in PACK_FOLDERS
    assert GUIDELINE_WORDS.search("serum B12 and MMA") and not GUIDELINE_WORDS.search("b12kg")  # the check can fail


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_generic_model_names_no_guideline_term(path: Path):
    namespaces, codes, units = _pack_terms()
    text = path.read_text(encoding="utf-8")
    found = sorted(ns for ns in namespaces if ns in text)
    assert not found, f"{path} names {found}"
    assert not re.search(r"PREFIX (b12|ada|aga|aan|mhra|uspstf):", text)
    words = sorted({m.group(0) for m in GUIDELINE_WORDS.finditer(text)})
    assert not words, f"{path} uses the guideline words {words}"
    if path.suffix == ".rq":  # string literals of a query: no pack code or unit
        literals = set(re.findall(r'"([^"\n]*)"', "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))))
        assert not literals & ((codes - GENERIC_WORDS) | units), f"{path} names {sorted(literals & (codes | units))}"


def test_no_guideline_word_in_the_package_python():
    """Titles, labels and messages about a guideline come from its pack (docstrings may describe)."""
    offenders = [f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}"
                 for path in sorted(PACKAGE.rglob("*.py")) for line, text in _string_constants(path)
                 if GUIDELINE_WORDS.search(text)]
    assert not offenders, "\n".join(offenders)

"""Reasoner backends agree: the compiled default against `reasonable` on every case and record
(inferred graphs equal), and against the reference implementations (owlrl, HermiT)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from b12kg.pipeline import Assessor

CASES = Path(__file__).resolve().parent / "cases"
B12 = CASES / "b12"
"""The primary pack's cases (with their expectations); _every_input reads every pack's."""


def _assessable_cases() -> list[Path]:
    cases = []
    for expected in sorted(B12.glob("*.expected.json")):
        if json.loads(expected.read_text()).get("exit_code", 0) == 0:
            stem = expected.name[: -len(".expected.json")]
            cases.append(next(p for p in B12.glob(stem + ".*") if p != expected))
    return cases


CASE_FILES = _assessable_cases()


def _comparable(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "ignored_facts"}


OWLRL_CASES = CASE_FILES[::3]


def _as_of(case: Path) -> date:
    return date.fromisoformat(json.loads(case.with_name(case.stem + ".expected.json").read_text())["as_of"])


@pytest.fixture(scope="module")
def owlrl_documents() -> dict[Path, dict]:
    """owlrl's conclusions on a third of the cases, assessed in batches (one owlrl run per
    as-of date: ~1 s per patient alone, a few seconds for all; test_pipeline shows batch
    and one-at-a-time conclude the same)."""
    owlrl = Assessor(reasoner="owlrl")
    documents = {}
    for as_of in sorted({_as_of(case) for case in OWLRL_CASES}):
        for path, outcome in owlrl.assess_many([c for c in OWLRL_CASES if _as_of(c) == as_of], as_of):
            documents[path] = outcome if isinstance(outcome, Exception) else outcome.document
    return documents


@pytest.mark.parametrize("case", OWLRL_CASES, ids=lambda p: p.stem)
def test_default_and_owlrl_conclude_the_same(case: Path, assessor, owlrl_documents):
    """owlrl is the pure-Python OWL 2 RL reference; the default (compiled) must match it exactly."""
    owlrl = owlrl_documents[case]
    assert not isinstance(owlrl, Exception), owlrl
    assert _comparable(assessor.assess(case, _as_of(case)).document) == _comparable(owlrl)


@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java, which is not installed")
@pytest.mark.parametrize("name", ["combo-functional-ataxia-crohns-ppi-folic-acid-neuralgia",
                                  "combo-vegan-metformin-pernicious-anaemia-confirmed",
                                  "status-unlikely-b12-350_5-ng-per-l"])
def test_hermit_concludes_the_same(name: str, assessor):
    """HermiT (OWL 2 DL) classifies the same facts into the same classes as OWL 2 RL."""
    case = B12 / f"{name}.json"
    as_of = date.fromisoformat(json.loads((B12 / f"{name}.expected.json").read_text())["as_of"])
    hermit = Assessor(reasoner="hermit")
    assert _comparable(hermit.assess(case, as_of).document) == _comparable(assessor.assess(case, as_of).document)


AGREEMENT_DATES = (date(2026, 11, 24), date(2021, 4, 1))
INPUT_SUFFIXES = {".json", ".ttl", ".jsonld", ".nt", ".ndjson"}


def _every_input() -> list[Path]:
    """Every input under tests/cases and tests/realworld, subfolders and native RDF included."""
    roots = (CASES, CASES.parent / "realworld")
    return sorted(p for root in roots for p in root.rglob("*")
                  if p.suffix in INPUT_SUFFIXES and not p.name.endswith(".expected.json"))


@pytest.mark.parametrize("as_of", AGREEMENT_DATES, ids=str)
def test_compiled_infers_what_reasonable_infers(as_of: date, monkeypatch):
    """Chunk by chunk, on the same facts (asserted and classified), the compiled backend's
    inferred graph is the one reasonable's entailments make after reason.readable."""
    import pyoxigraph as ox

    from b12kg import reason

    RDF_TYPE, PATIENT = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ox.NamedNode("https://w3id.org/b12kg/patient#Patient")
    reference = Assessor(reasoner="reasonable")
    compiled = reason.make_reasoner("compiled", reference.knowledge.graph)
    materialise, chunks, differences = reason.materialise, [], []

    def both(reasoner, store, asserted, graphs, inferred):
        before = {(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, inferred)}
        facts = {(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, graphs[0])}
        materialise(reasoner, store, asserted, graphs, inferred)
        expected = {(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, inferred)} - before
        found = compiled.entail(facts, before)
        chunks.append(sum(1 for _, p, o in facts if p == RDF_TYPE and o == PATIENT))  # patients in this chunk
        if set(found) != expected or len(found) != len(expected):
            differences.append((sorted(map(str, expected - set(found)))[:5], sorted(map(str, set(found) - expected))[:5]))

    monkeypatch.setattr(reason, "materialise", both)
    inputs = _every_input()
    assessed = [outcome for _, outcome in reference.assess_many(inputs, as_of) if not isinstance(outcome, Exception)]
    assert len(inputs) > 280 and len(assessed) > 200 and sum(chunks) >= len(assessed)
    assert differences == []


def test_compiled_equals_reasonable_on_every_rule():
    """The rules this ontology does not fire on patients (inverse, symmetric, transitive and
    functional properties, sameAs, allValuesFrom, facts that change the schema, lists,
    container memberships, blank nodes, language tags), on a small ontology of each."""
    import pyoxigraph as ox
    import rdflib
    from reasoner_rules import CLASSIFIED, FACTS, ONTOLOGY

    from b12kg import reason
    from b12kg.rdfterms import to_ox, to_rdflib

    ontology = rdflib.Graph().parse(data=ONTOLOGY, format="turtle")
    reference, compiled = reason.make_reasoner("reasonable", ontology), reason.make_reasoner("compiled", ontology)
    for name, text in FACTS.items():
        facts = list(rdflib.Graph().parse(data=f"@prefix : <urn:t#> . @prefix xsd: <{rdflib.XSD}> . {text}", format="turtle"))
        expected = {tuple(to_ox(t) for t in triple) for triple in reason.readable(reference.infer(facts), facts)}
        found = compiled.entail({tuple(to_ox(t) for t in triple) for triple in facts})
        assert set(found) == expected and len(found) == len(expected), name

    # facts of the classification rules: the reference hands their literals to the reasoner through rdflib
    classified = {(ox.NamedNode(f"urn:t#{s}"), ox.NamedNode(f"urn:t#{p}"), ox.Literal(lexical, datatype=ox.NamedNode(f"{rdflib.XSD}{d}")))
                  for s, p, lexical, d in CLASSIFIED}
    facts = [tuple(to_rdflib(t) for t in triple) for triple in classified]
    expected = {tuple(to_ox(t) for t in triple) for triple in reason.readable(reference.infer(facts), facts)}
    found = compiled.entail(set(), classified)
    assert set(found) == expected and len(found) == len(expected) and len(expected) > 3


def test_the_compiled_reasoner_holds_the_closure_reasonable_computes():
    """The ontology's closure, computed once at load (the compiled backend's base), is reasonable's."""
    from pyoxigraph import Literal

    from b12kg import reason
    from b12kg.knowledge import load_knowledge
    from b12kg.rdfterms import to_ox

    graph = load_knowledge().graph
    reference, compiled = reason.make_reasoner("reasonable", graph), reason.make_reasoner("compiled", graph)
    expected = {tuple(to_ox(t) for t in triple) for triple in reference._tbox_closure}
    assert {t for t in compiled._base if type(t[0]) is not Literal} == expected


def test_unknown_reasoner_is_refused():
    with pytest.raises(ValueError, match="unknown reasoner"):
        Assessor(reasoner="magic")


def test_the_reasoner_ontology_file_is_private_and_removed_with_its_process(tmp_path):
    """reasonable reads the TBox from a file: only its user may read it, and it goes with the process."""
    import os
    import subprocess
    import sys

    script = ("import os, stat; from b12kg.knowledge import load_knowledge; from b12kg import reason\n"
              "r = reason.make_reasoner('reasonable', load_knowledge().graph)\n"
              "folder = os.path.dirname(r._tbox_file)\n"
              "print(folder, oct(stat.S_IMODE(os.stat(folder).st_mode)), os.path.getsize(r._tbox_file) > 0)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True).stdout.split()
    folder, mode, written = out
    assert folder.startswith(str(tmp_path)) and mode == "0o700" and written == "True"
    assert not Path(folder).exists()


def test_a_killed_process_ontology_file_is_removed_by_the_next(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    import tempfile

    from b12kg import reason

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    orphan = tmp_path / f"{reason.TBOX_FOLDER_PREFIX}{gone}-abc"
    alive = tmp_path / f"{reason.TBOX_FOLDER_PREFIX}{os.getpid()}-def"
    older = tmp_path / f"{reason.TBOX_FOLDER_PREFIX}xyz"  # not named by a process: left alone
    for folder in (orphan, alive, older):
        folder.mkdir()
        (folder / "tbox.ttl").write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    reason._remove_orphans()
    assert not orphan.exists() and alive.exists() and older.exists()

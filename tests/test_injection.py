"""No injection: hostile ids, codes, units and parameters never change a query.

Every query b12kg runs is a packaged file (queries/, shapes/) whose values are bound by
the engine (pyoxigraph over the store, pySHACL's initBindings for $this): no Python code
builds a query by formatting a string (checked on the source), the pipeline runs nothing
but packaged queries (recorded while hostile patients are assessed), and the hostile text
comes back unchanged in the output, or in an escaped one-line rejection.
"""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import pyoxigraph as ox
import pytest
import rdflib
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from b12kg import resources
from b12kg.cli import main
from b12kg.errors import InputRejected
from b12kg.load import fhir_base as fhir
from b12kg.namespaces import ONTOLOGY_GRAPH

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 24)
PT = "https://w3id.org/b12kg/patient#"
XSD = "http://www.w3.org/2001/XMLSchema#"

HOSTILE = [
    '"} ; DROP ALL ; INSERT DATA { <urn:x> <urn:y> <urn:z> } #',
    "x' . } DELETE WHERE { ?s ?p ?o } #",
    "<http://example.org/evil> } UNION { ?s ?p ?o",
    "line one\nline two\r\n\tindented",
    "\\u0022} ; DROP ALL ; \\U0000003E",  # backslash escapes that SPARQL would decode if pasted
    "{0} {patient} %s $this ?value {?value}",
    "пациент 😀 \u202e\u200b \x00 end",
]
QUERY_METHODS = {"query", "update", "prepareQuery", "parseQuery", "parseUpdate"}


def _formatted(node: ast.expr) -> bool:
    """Is this expression a string built by formatting (f-string, %, +, str.format)?"""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"format", "replace", "join"}


def test_no_query_is_built_by_formatting_a_string():
    offenders = []
    for path in sorted((ROOT / "b12kg").rglob("*.py")):  # every module, packages included
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            arguments = node.args[:1] + [k.value for k in node.keywords if k.arg in {"query", "query_object", "update"}]
            if name in QUERY_METHODS and any(_formatted(a) for a in arguments):
                offenders.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    assert not offenders, offenders


class RecordingStore:
    """A pyoxigraph store that records the text of every query run on it."""

    def __init__(self, store: ox.Store):
        self._store = store
        self.queries: list[str] = []

    def query(self, query: str, *args, **kwargs):
        self.queries.append(query)
        return self._store.query(query, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def _packaged_queries() -> set[str]:
    return {p.read_text() for p in resources.data_dir("queries").rglob("*.rq")}


@pytest.fixture
def recorded(assessor, monkeypatch):
    """Record every query the assessor's store and rdflib (pySHACL) run during the test.

    The SHACL engine is pinned to pySHACL, whose shape queries run through rdflib and
    can be seen; pySHACL-turbo runs the same shapes inside Rust."""
    from b12kg import validate

    monkeypatch.setenv("B12KG_SHACL_ENGINE", "pyshacl")
    validate.engine.cache_clear()
    queries: list[str] = []
    fresh = assessor.new_store

    def new_store():  # every run gets a fresh store: record the queries of each
        store = RecordingStore(fresh())
        store.queries = queries
        return store

    monkeypatch.setattr(assessor, "new_store", new_store)
    shacl: list[str] = []
    original = rdflib.Graph.query

    def query(graph, query_object, *args, **kwargs):
        if isinstance(query_object, str):
            shacl.append(query_object)
        return original(graph, query_object, *args, **kwargs)

    monkeypatch.setattr(rdflib.Graph, "query", query)
    yield {"store": queries, "shacl": shacl}
    validate.engine.cache_clear()


def native_patient(patient_id: str, fact_id: str, unit: str = "pg/mL") -> str:
    """Turtle for one patient with a serum B12 of 140 (confirmed), written by pyoxigraph's
    serializer so that any text is escaped correctly."""
    patient, fact = ox.NamedNode("https://example.org/p"), ox.NamedNode("https://example.org/p/b12")
    iri = lambda local: ox.NamedNode(PT + local)  # noqa: E731
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    triples = [
        ox.Triple(patient, rdf_type, iri("Patient")), ox.Triple(patient, iri("fhirId"), ox.Literal(patient_id)),
        ox.Triple(fact, rdf_type, iri("Observation")), ox.Triple(fact, iri("fhirId"), ox.Literal(fact_id)),
        ox.Triple(fact, iri("subject"), patient), ox.Triple(fact, iri("status"), ox.Literal("final")),
        ox.Triple(fact, iri("code"), ox.NamedNode("https://loinc.org/2132-9")),
        ox.Triple(fact, iri("effectiveDate"), ox.Literal("2026-10-15", datatype=ox.NamedNode(XSD + "date"))),
        ox.Triple(fact, iri("value"), ox.Literal("140.0", datatype=ox.NamedNode(XSD + "decimal"))),
        ox.Triple(fact, iri("unit"), ox.Literal(unit)),
    ]
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE).decode("utf-8")


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_ids_are_assessed_unchanged(text: str, tmp_path: Path, assessor, recorded):
    path = tmp_path / "patient.ttl"
    path.write_text(native_patient(f"pat {text}", f"obs {text}"), encoding="utf-8")
    ontology_before = len(list(assessor.store.quads_for_pattern(None, None, None, ox.NamedNode(str(ONTOLOGY_GRAPH)))))
    doc = assessor.assess(path, AS_OF).document
    assert doc["patient"] == f"pat {text}"
    assert doc["b12_status"]["value"] == "confirmed" and doc["b12_status"]["based_on"] == [f"obs {text}"]
    assert json.loads(json.dumps(doc)) == doc
    packaged = _packaged_queries()
    assert recorded["store"] and all(q in packaged for q in recorded["store"])
    assert recorded["shacl"] and not any(text in q for q in recorded["shacl"])
    assert len(list(assessor.store.quads_for_pattern(None, None, None, ox.NamedNode(str(ONTOLOGY_GRAPH))))) == ontology_before


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_units_are_rejected_on_one_line(text: str, tmp_path: Path):
    path = tmp_path / "patient.ttl"
    path.write_text(native_patient("pat-1", "obs-1", unit=text), encoding="utf-8")
    result = CliRunner().invoke(main, ["assess", str(path), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "obs-1" in lines[1] and "valueQuantity.code" in lines[1] and "not a UCUM unit" in lines[1]
    assert lines[1].isprintable()


def _bundle_with(code: str, system: str = "http://snomed.info/sct") -> dict:
    example = json.loads((ROOT / "examples" / "ex1-confirmed-oral.json").read_text())
    condition = example["entry"][1]["resource"]
    condition["code"]["coding"] = [{"system": system, "code": code, "display": code}]
    return example


CODES = [t.replace("\x00", "0") for t in HOSTILE if "\n" not in t]
"""The hostile texts that are valid FHIR codes (no line breaks, no NUL)."""


@pytest.mark.parametrize("code", CODES, ids=range(len(CODES)))
def test_hostile_codes_are_unknown_codes(code: str, tmp_path: Path, assessor, recorded):
    """A FHIR code with quotes or braces is a code the guideline does not know: nothing else changes."""
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(_bundle_with(code)), encoding="utf-8")
    doc = assessor.assess(path, AS_OF).document
    assert doc["b12_status"]["value"] == "confirmed" and doc["patient"] == "ex1"
    assert all(q in _packaged_queries() for q in recorded["store"])


def test_a_hostile_system_is_an_unbound_coding(tmp_path: Path, assessor):
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(_bundle_with("302226006", system="http://snomed.info/sct>}DROP_ALL{")), encoding="utf-8")
    assert assessor.assess(path, AS_OF).document["b12_status"]["value"] == "confirmed"


@pytest.mark.parametrize("arguments", [
    ["--as-of", '2026-11-24"} ; DROP ALL'],
    ["--as-of", "2026-11-24\n"],
    ["--input-format", "xml"],
    ["--format", "json; rm -rf /"],
], ids=["as-of-injection", "as-of-newline", "input-format", "output-format"])
def test_hostile_parameters_are_usage_errors(arguments: list[str]):
    example = ROOT / "examples" / "ex1-confirmed-oral.json"
    result = CliRunner().invoke(main, ["assess", str(example), *arguments])
    assert result.exit_code == 2 and "Traceback" not in result.output and result.exception is not None


def test_a_hostile_query_file_is_refused(tmp_path: Path):
    query = tmp_path / "evil.rq"
    query.write_text('SELECT * WHERE { ?s ?p ?o } ; DROP ALL ; LOAD <http://example.org/x>')
    example = ROOT / "examples" / "ex1-confirmed-oral.json"
    result = CliRunner().invoke(main, ["query", str(example), str(query), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2 and str(query) in result.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_any_id_makes_a_valid_iri_that_keeps_it(text: str):
    """Ids and codes become IRIs by percent-encoding: always valid, never a delimiter, reversible."""
    patient = fhir.patient_iri(text)
    fact = fhir.fact_iri(patient, "Observation", text)
    for iri in (patient, fact):
        ox.NamedNode(str(iri))  # raises on an invalid IRI
        assert not set(str(iri)) & set('<>"{}|\\^` \n')
    assert unquote(str(patient).rsplit("/", 1)[-1]) == text


def test_the_rejection_keeps_every_problem_on_its_line(tmp_path: Path, assessor):
    path = tmp_path / "patient.ttl"
    path.write_text(native_patient("pat-1", "obs\n-1", unit="mg/h\nFORGED"), encoding="utf-8")
    with pytest.raises(InputRejected) as rejected:
        assessor.assess(path, AS_OF)
    assert all("\n" not in str(p) for p in rejected.value.problems)

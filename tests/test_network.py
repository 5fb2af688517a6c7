"""No network, ever, at run time: hostile inputs and queries never open a connection.

Two guards, each checked against a known network attempt before it is trusted:

- `no_network`: a Python audit hook on socket connects, name lookups and urllib requests
  that records and refuses them (in-process: the loader, SHACL, rdflib's SPARQL engine);
- `strace`: the real command in a child process under strace, failing on any connect(2)
  at all, which also sees what Python cannot (pyoxigraph's Rust HTTP client for SERVICE).
  Skipped where strace is missing or not permitted.

pyoxigraph does run SERVICE and LOAD over the network, so no query that reaches it may
hold them: user queries are parsed, checked and run by rdflib in a sandbox (`b12kg.query`), every
packaged query and shape passes it, and tests/test_injection.py shows that the pipeline
runs packaged queries only.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import ClassVar

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import Namespace

import b12kg.validate
from b12kg import resources
from b12kg.errors import InputRejected
from b12kg.query import prepare_user_query as check_user_query

b12kg.validate._no_graph_loading()  # as b12kg does before rdflib's SPARQL engine runs (pySHACL, query)

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad_inputs"
CASES = ROOT / "tests" / "cases"
SH = Namespace("http://www.w3.org/ns/shacl#")
AS_OF = date(2026, 11, 24)
NETWORK_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                  "socket.gethostbyaddr", "urllib.Request", "http.client.connect"}


class NetworkAttempt(RuntimeError):
    """Raised by the guard inside the code that tried to connect."""


class _Guard:
    """The audit hook's state: one hook per process (hooks cannot be removed), armed per test."""

    armed = False
    attempts: ClassVar[list[tuple[str, str]]] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.armed and event in NETWORK_EVENTS:
            cls.attempts.append((event, repr(args)[:200]))
            raise NetworkAttempt(f"{event} {args!r:.200}")


sys.addaudithook(_Guard.hook)


@pytest.fixture
def network_attempts() -> Iterator[list[tuple[str, str]]]:
    """Arm the guard; the test reads the attempts it recorded."""
    _Guard.attempts = []
    _Guard.armed = True
    try:
        yield _Guard.attempts
    finally:
        _Guard.armed = False


@pytest.fixture
def no_network(network_attempts) -> Iterator[None]:
    """Fail the test on any network attempt, even one the code under test swallowed."""
    yield
    assert not network_attempts, f"network attempted: {network_attempts}"


# --- the guards catch real attempts -------------------------------------------------------

def test_the_guard_catches_sockets_and_urllib(network_attempts):
    with socket.socket() as raw, pytest.raises(NetworkAttempt):
        raw.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
    with pytest.raises(NetworkAttempt):
        socket.getaddrinfo("example.org", 80)
    with pytest.raises(NetworkAttempt):
        urllib.request.urlopen("http://example.org/", timeout=1)
    assert [event for event, _ in network_attempts] == ["socket.connect", "socket.getaddrinfo", "urllib.Request"]


def test_the_guard_catches_rdflib_service(network_attempts):
    """rdflib's SPARQL engine calls SERVICE endpoints: the hook sees it (and stops it)."""
    with pytest.raises(NetworkAttempt):
        list(rdflib.Graph().query("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"))
    assert network_attempts


def _strace(command: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `command` under strace; the connect(2) calls it made."""
    log = tmp_path / "strace.log"
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log), *command],
                          capture_output=True, timeout=300)
    if not log.exists():
        pytest.skip(f"strace cannot trace here: {done.stderr.decode(errors='replace')[:200]}")
    return done, [line for line in log.read_text().splitlines() if "connect(" in line]


@pytest.fixture(scope="module")
def strace() -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")


def test_strace_catches_pyoxigraph_service(strace, tmp_path: Path):
    """The OS-level guard sees what the audit hook cannot: pyoxigraph resolving a SERVICE host."""
    script = ("import pyoxigraph as ox\ntry:\n list(ox.Store().query("
              "'SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }'))\nexcept OSError:\n pass")
    _, connects = _strace([sys.executable, "-c", script], tmp_path)
    assert connects


# --- hostile inputs ---------------------------------------------------------------------------

XML_LITERAL = """@prefix pt: <https://w3id.org/b12kg/patient#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
<https://example.org/p> a pt:Patient ;
    pt:fhirId "\\u003C!DOCTYPE r [\\u003C!ENTITY x SYSTEM 'http://example.org/x'>]><r>&x;</r>"^^rdf:XMLLiteral .
"""

HOSTILE = {
    "owl-imports.ttl": (BAD / "turtle-owl-imports.ttl").read_text(),
    "remote-context.jsonld": json.dumps({"@context": "http://example.org/context.jsonld", "@id": "http://example.org/p"}),
    "imported-context.jsonld": json.dumps({"@context": {"@import": "http://example.org/c.jsonld"}, "@id": "urn:p"}),
    "scoped-context.jsonld": json.dumps({"@context": {"p": {"@id": "http://example.org/p", "@context": "http://example.org/c"}},
                                         "@id": "urn:s", "p": {"@id": "urn:o"}}),
    "aliased-context.jsonld": json.dumps({"@context": {"c": "@context"}, "c": "http://example.org/c", "@id": "urn:p"}),
    "external-entity.rdf": (BAD / "rdfxml-refused.rdf").read_text(),
    "external-entity.ttl": (BAD / "turtle-entity-declaration.ttl").read_text(),
    "escaped-doctype-xml-literal.ttl": XML_LITERAL,
    "billion-laughs-narrative.json": (BAD / "narrative-entity-expansion.json").read_text(),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_rejected_without_network(name: str, tmp_path: Path, assessor, no_network):
    path = tmp_path / name
    path.write_text(HOSTILE[name], encoding="utf-8")
    with pytest.raises(InputRejected):
        assessor.assess(path, AS_OF)


def test_every_corpus_and_case_file_is_assessed_without_network(assessor, no_network):
    paths = [p for found in (BAD.iterdir(), CASES.rglob("*")) for p in sorted(found)  # every pack's cases
             if p.suffix in {".json", ".ttl", ".jsonld", ".nt", ".rdf"} and not p.name.endswith(".expected.json")]
    assert len(paths) > 100
    for path in paths:
        with contextlib.suppress(InputRejected):
            assessor.assess(path, AS_OF)


@pytest.mark.parametrize("name", ["owl-imports.ttl", "remote-context.jsonld", "escaped-doctype-xml-literal.ttl",
                                  "billion-laughs-narrative.json"])
def test_the_command_opens_no_connection(name: str, strace, b12kg_command, tmp_path: Path):
    path = tmp_path / name
    path.write_text(HOSTILE[name], encoding="utf-8")
    done, connects = _strace([*b12kg_command, "assess", str(path), "--as-of", AS_OF.isoformat()], tmp_path)
    assert done.returncode == 2, done.stderr
    assert not connects, connects


# --- queries ------------------------------------------------------------------------------------

def _shape_queries() -> list[str]:
    shapes = rdflib.Graph().parse(resources.shapes_file("patient-input"), format="turtle")
    return [str(q) for q in shapes.objects(None, SH.select)]


PACKAGED = sorted(resources.data_dir("queries").rglob("*.rq"))


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_packaged_queries_pass_the_user_query_check(path: Path):
    check_user_query(path.read_text(), str(path))


def test_shape_queries_pass_the_user_query_check():
    queries = _shape_queries()
    assert queries
    for query in queries:
        check_user_query(query, "patient-input.ttl")


REFUSED_QUERIES = {
    "service": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "service-silent": "select * where { service silent <http://example.org/sparql> { ?s ?p ?o } }",
    "escaped-service": "SELECT * WHERE { \\u0053ERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "service-in-exists": "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <http://example.org/s> { ?s ?p ?o } } }",
    "service-variable": "SELECT * WHERE { BIND(<http://example.org/s> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    "service-in-subquery": "SELECT * WHERE { { SELECT * WHERE { SERVICE <http://example.org/s> { ?s ?p ?o } } } }",
    "describe-from": "DESCRIBE <http://example.org/x> FROM <http://example.org/g>",
    "from": "SELECT * FROM <http://example.org/g.ttl> WHERE { ?s ?p ?o }",
    "from-named": "SELECT * FROM NAMED <http://example.org/g.ttl> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "load": "LOAD <http://example.org/g.ttl>",
    "load-into": "LOAD SILENT <http://example.org/g.ttl> INTO GRAPH <urn:g>",
    "drop": 'SELECT * WHERE { ?s ?p "x" } ; DROP ALL',
    "insert": "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
}


@pytest.mark.parametrize("name", sorted(REFUSED_QUERIES))
def test_user_queries_that_reach_out_or_write_are_refused(name: str, no_network):
    with pytest.raises(InputRejected) as refused:
        check_user_query(REFUSED_QUERIES[name], "user.rq")
    assert refused.value.problems and all(p.file == "user.rq" for p in refused.value.problems)


@pytest.mark.parametrize("query", [
    'SELECT ?service ?from WHERE { ?service <http://example.org/LOAD> "SERVICE FROM LOAD" } # SERVICE',
    "PREFIX service: <http://example.org/> SELECT * WHERE { ?s service:from ?o FILTER(?s<?o||?o>?s) }",
])
def test_keywords_in_names_strings_and_comments_are_allowed(query: str):
    check_user_query(query, "user.rq")


FROM_QUERY = "SELECT * FROM <http://example.org/g.ttl> WHERE { ?s ?p ?o }"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rdflib_would_load_a_from_graph_by_default(network_attempts, monkeypatch):
    monkeypatch.setattr(rdflib.plugins.sparql, "SPARQL_LOAD_GRAPHS", True)
    with pytest.raises(Exception, match="Could not load"):
        list(rdflib.Dataset().query(FROM_QUERY))
    assert network_attempts


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rdflib_never_loads_a_from_graph(no_network):
    """With SPARQL_LOAD_GRAPHS off (set by b12kg.validate and b12kg.query), FROM names a graph, it fetches nothing."""
    assert rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS is False
    assert list(rdflib.Dataset().query(FROM_QUERY)) == []


def test_pyoxigraph_parsers_fetch_no_context(no_network):
    """The JSON-LD parser has no document loader: a remote context is an error, not a fetch."""
    with pytest.raises(SyntaxError):
        list(ox.parse('{"@context": "http://example.org/c", "@id": "http://example.org/p"}', format=ox.RdfFormat.JSON_LD))


@pytest.mark.parametrize("name", ["u-quote", "U-quote", "plain-service"])
def test_the_query_command_opens_no_connection(name: str, strace, b12kg_command, tmp_path: Path):
    """Issue 14: `b12kg query` with the escape tricks, traced at the OS level (forked query process included)."""
    service = "SERVICE <http://127.0.0.1:9/leak> { ?a ?b ?c }"
    text = {"u-quote": 'SELECT * WHERE { VALUES ?z { "x\\u0022 # " } ?f ?p ?v FILTER(?v < 180) ' + service + " OPTIONAL {\n} }",
            "U-quote": "SELECT * WHERE { VALUES ?z { 'x\\U00000027 # ' } " + service + " OPTIONAL {\n} }",
            "plain-service": "SELECT * WHERE { " + service + " }"}[name]
    query = tmp_path / "q.rq"
    query.write_text(text, encoding="utf-8")
    example = ROOT / "examples" / "ex1-confirmed-oral.json"
    done, connects = _strace([*b12kg_command, "query", str(example), str(query), "--as-of", AS_OF.isoformat()], tmp_path)
    assert done.returncode in (0, 2), done.stderr
    assert not [c for c in connects if "AF_INET" in c or "AF_INET6" in c], connects

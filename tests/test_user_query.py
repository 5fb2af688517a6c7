"""User SPARQL (issue 14): however it is written, a user query never opens a connection,
and it stays within its limits.

A real HTTP listener runs on loopback and counts the requests it receives; every query
below names it in a SERVICE (or tries to), through escape tricks that once made a text
check and the executing engine disagree. The listener must receive nothing.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
import time
from datetime import date
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery

from b12kg.cli import main
from b12kg.errors import InputRejected
from b12kg.query import (
    QuadsSource,
    QueryLimitExceeded,
    QueryLimits,
    QueryRefused,
    UserQuery,
    prepare_user_query,
    run_user_query,
    serialize_result,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ex1-confirmed-oral.json"
AS_OF = date(2026, 11, 24)
EXAMPLES = int(os.environ.get("B12KG_FUZZ_EXAMPLES", "25"))


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012

    def _answer(self) -> None:
        type(self).hits.append(self.path)
        body = b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def listener():
    """A SPARQL-looking endpoint on loopback that records every request it gets."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture
def hits(listener):
    _Listener.hits = []
    return _Listener.hits


@pytest.fixture(scope="module")
def source(assessor) -> QuadsSource:
    assessment = assessor.assess(EXAMPLE, AS_OF)
    return QuadsSource([*assessor.knowledge.quads, *assessment.quads])


def test_the_listener_counts_a_real_request(listener, hits):
    """The listener is what the other tests trust: it sees a plain HTTP request."""
    import urllib.request

    urllib.request.urlopen(f"{listener}/ping", timeout=5).read()
    assert hits == ["/ping"]


def _tricks(url: str) -> dict[str, str]:
    return {
        "u-quote-comment": 'SELECT * WHERE { VALUES ?z { "x\\u0022 # " } ?f ?p ?v FILTER(?v < 180) '
                           f"SERVICE <{url}/b12-below-180> {{ ?a ?b ?c }} OPTIONAL {{\n}} }}",
        "u-apostrophe-comment": "SELECT * WHERE { VALUES ?z { 'x\\u0027 # ' } ?f ?p ?v "
                                f"SERVICE <{url}/a> {{ ?a ?b ?c }} OPTIONAL {{\n}} }}",
        "U-quote-comment": 'SELECT * WHERE { VALUES ?z { "x\\U00000022 # " } '
                           f"SERVICE <{url}/U> {{ ?a ?b ?c }} OPTIONAL {{\n}} }}",
        "u-newline-in-string": f'SELECT * WHERE {{ VALUES ?z {{ "a\\u000A" }} SERVICE <{url}/n> {{ ?a ?b ?c }} }}',
        "u-hash-in-iri": f"SELECT * WHERE {{ SERVICE <{url}/\\u0023x> {{ ?a ?b ?c }} }}",
        "escaped-keyword": f"SELECT * WHERE {{ \\u0053ERVICE <{url}/k> {{ ?a ?b ?c }} }}",
        "long-string": f'SELECT * WHERE {{ VALUES ?z {{ """x\n# """ }} SERVICE <{url}/l> {{ ?a ?b ?c }} }}',
        "service-in-exists": f"SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{url}/e> {{ ?s ?p ?o }} }} }}",
        "service-variable": f"SELECT * WHERE {{ BIND(<{url}/v> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        "service-silent": f"SELECT * WHERE {{ SERVICE SILENT <{url}/s> {{ ?s ?p ?o }} }}",
        "from": f"SELECT * FROM <{url}/g.ttl> WHERE {{ ?s ?p ?o }}",
        "from-named": f"SELECT * FROM NAMED <{url}/g.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "load": f"LOAD <{url}/g.ttl>",
        "describe-from": f"DESCRIBE <{url}/x> FROM <{url}/g>",
    }


@pytest.mark.parametrize("name", sorted(_tricks("http://x")))
def test_escape_tricks_never_reach_the_listener(name: str, listener, hits, source):
    text = _tricks(listener)[name]
    try:
        query = prepare_user_query(text, "trick.rq")
        run_user_query(query, source, QueryLimits(timeout=20))
    except InputRejected as refused:
        assert refused.problems[0].file == "trick.rq"
    assert hits == []


def test_the_check_and_the_run_read_the_same_algebra(source):
    """The \\u0022 trick: by SPARQL 1.1 (section 19.2) escapes are decoded before parsing, so
    the rest of the line is a comment; the query that runs is the one that was checked."""
    query = prepare_user_query('SELECT ?z WHERE { VALUES ?z { "x\\u0022 # " } SERVICE <http://127.0.0.1:1/> { ?a ?b ?c } }\n} }',
                               "trick.rq")
    rows = list(run_user_query(query, source).bindings)
    assert [str(r[rdflib.Variable("z")]) for r in rows] == ["x"]


def test_the_engine_itself_cannot_call_a_service(listener, hits, source):
    """Even an algebra that skipped the check (built here by hand) cannot reach out."""
    text = f"SELECT * WHERE {{ SERVICE <{listener}/bypass> {{ ?a ?b ?c }} }}"
    unchecked = UserQuery(text=text, file="bypass.rq", form="SELECT", algebra=translateQuery(parseQuery(text)))
    with pytest.raises(QueryRefused, match="SERVICE"):
        run_user_query(unchecked, source)
    assert hits == []


def test_the_query_process_cannot_open_a_socket(listener, hits, source, monkeypatch):
    """The sandbox's audit hook refuses connections made by any code in the query process."""
    import b12kg.query.sandbox as q

    def connect(query, source, limits):
        import urllib.request

        urllib.request.urlopen(f"{listener}/from-python", timeout=5)
        return ("ASK", True)

    monkeypatch.setattr(q, "_evaluate", connect)
    query = prepare_user_query("ASK {}", "ask.rq")
    with pytest.raises(QueryRefused, match="never reach out"):
        run_user_query(query, source)
    assert hits == []


_escapes = st.sampled_from(['\\u0022', '\\U00000022', '\\u0027', '\\u0023', '\\u000A', '\\u000D', '\\u003E', '\\u007D',
                            '"', "'", '#', '\n', '\\"', '\\\\', '>', '}', '<', '{'])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.lists(_escapes, max_size=6).map("".join), quote=st.sampled_from(['"', "'", '"""', "'''"]),
       tail=st.lists(_escapes, max_size=6).map("".join), place=st.sampled_from(["value", "iri", "comment"]))
def test_generated_escape_laden_queries_never_reach_out(prefix, quote, tail, place, listener, hits, source):
    hits.clear()
    service = f"SERVICE <{listener}/fuzz> {{ ?a ?b ?c }}"
    if place == "value":
        text = f"SELECT * WHERE {{ VALUES ?z {{ {quote}{prefix}{quote} }} {service} OPTIONAL {{ {tail} }} }}"
    elif place == "iri":
        text = f"SELECT * WHERE {{ SERVICE <{listener}/{prefix}> {{ ?a ?b ?c }} {tail} }}"
    else:
        text = f"SELECT * WHERE {{ ?s ?p ?o # {prefix}\n {service} {quote}{tail}{quote} }}"
    with contextlib.suppress(InputRejected):
        run_user_query(prepare_user_query(text, "fuzz.rq"), source, QueryLimits(timeout=20))
    assert hits == []


# --- limits --------------------------------------------------------------------------------

def test_a_slow_query_is_stopped_at_its_time_limit(source):
    query = prepare_user_query("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", "slow.rq")
    started = time.monotonic()
    with pytest.raises(QueryLimitExceeded, match="longer than its limit of 2 s"):
        run_user_query(query, source, QueryLimits(timeout=2))
    assert time.monotonic() - started < 4


def test_too_many_rows_are_refused(source):
    query = prepare_user_query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", "rows.rq")
    with pytest.raises(QueryLimitExceeded, match="more than 100 rows"):
        run_user_query(query, source, QueryLimits(max_rows=100))


def test_an_oversized_query_is_refused():
    text = "SELECT * WHERE { ?s ?p ?o } # " + "x" * 200_000
    with pytest.raises(QueryRefused, match="over the limit of 100000"):
        prepare_user_query(text, "big.rq")


# --- answers as users expect -----------------------------------------------------------------

def test_a_join_returns_each_row_once(source):
    """Facts sit in the asserted and the inferred graphs; the default graph is their union."""
    query = prepare_user_query("SELECT ?f ?v WHERE { ?f pt:value ?v ; pt:code ?c }", "join.rq")
    rows = [(str(r[rdflib.Variable("f")]), str(r[rdflib.Variable("v")])) for r in run_user_query(query, source).bindings]
    assert rows and len(rows) == len(set(rows))


def test_a_named_graph_can_be_addressed(source):
    query = prepare_user_query("ASK { GRAPH graph:concluded { ?c a ?type } }", "g.rq")
    assert run_user_query(query, source).askAnswer is True


@pytest.mark.parametrize(("fmt", "marker"), [("json", '"bindings"'), ("xml", "<sparql"), ("csv", "f,v"), ("tsv", "?f\t?v"),
                                              ("table", "(1 row)")])
def test_select_result_formats(fmt: str, marker: str, source):
    query = prepare_user_query("SELECT ?f ?v WHERE { ?f pt:value ?v }", "f.rq")
    assert marker in serialize_result(run_user_query(query, source), fmt)


def test_construct_is_rdf(source):
    query = prepare_user_query("CONSTRUCT { ?f pt:value ?v } WHERE { ?f pt:value ?v }", "c.rq")
    text = serialize_result(run_user_query(query, source), "turtle")
    assert len(rdflib.Graph().parse(data=text, format="turtle")) == 1


@pytest.mark.parametrize(("text", "where"), [
    ("SELECT * WHERE { ?s ?p }", "line 1"),
    ("SELECT *\nWHERE {\n  ?s ?p ?o .\n  FILTER(\n}", "line"),
])
def test_syntax_errors_name_their_position(text: str, where: str):
    with pytest.raises(QueryRefused, match=f"syntax error at {where}"):
        prepare_user_query(text, "bad.rq")


def test_an_update_is_named_as_an_update():
    with pytest.raises(QueryRefused, match=r"updates .* are not accepted"):
        prepare_user_query("DELETE WHERE { ?s ?p ?o }", "u.rq")


# --- the command ------------------------------------------------------------------------------

def _cli(tmp_path: Path, data: bytes, *options: str):
    path = tmp_path / "q.rq"
    path.write_bytes(data)
    return CliRunner().invoke(main, ["query", str(EXAMPLE), str(path), "--as-of", AS_OF.isoformat(), *options])


def test_cli_a_non_utf8_query_is_input_not_a_defect(tmp_path: Path):
    result = _cli(tmp_path, b"SELECT * WHERE { ?s ?p \xff }")
    assert result.exit_code == 2 and "not UTF-8" in result.stderr and "internal error" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_cli_a_fifo_query_file_is_refused_not_waited_on(tmp_path: Path):
    """Issue 18, defect 19: `query` waited for ever on a FIFO."""
    fifo = tmp_path / "q.rq"
    os.mkfifo(fifo)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(CliRunner().invoke(
        main, ["query", str(EXAMPLE), str(fifo), "--as-of", AS_OF.isoformat()])), daemon=True)
    worker.start()
    worker.join(60)
    assert outcome, "the query command waited on the FIFO"
    assert outcome[0].exit_code == 2 and "not a regular file" in outcome[0].stderr


def test_cli_engine_errors_exit_2(tmp_path: Path):
    result = _cli(tmp_path, b"SELECT * WHERE { BIND(1 AS ?x) BIND(2 AS ?x) }")
    assert result.exit_code in (0, 2) and "internal error" not in result.stderr


def test_cli_timeout_is_exit_2(tmp_path: Path):
    result = _cli(tmp_path, b"SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", "--timeout", "1")
    assert result.exit_code == 2 and "limit of 1 s" in result.stderr


def test_cli_table_format(tmp_path: Path):
    result = _cli(tmp_path, b"SELECT ?v WHERE { ?f pt:value ?v }", "--format", "table")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].strip() == "v" and "140" in result.stdout


def test_an_on_disk_store_is_queried_read_only_and_deduplicated(tmp_path: Path, source):
    """The cohort endpoint's source: a pyoxigraph RocksDB store read through rdflib's engine."""
    import pyoxigraph as ox

    from b12kg.query import StoreSource

    store = ox.Store(str(tmp_path / "store"))
    store.extend(source.quads)
    store.flush()
    del store
    query = prepare_user_query("SELECT ?f ?v WHERE { ?f pt:value ?v ; pt:code ?c }", "join.rq")
    on_disk = [tuple(map(str, (r[rdflib.Variable("f")], r[rdflib.Variable("v")])))
               for r in run_user_query(query, StoreSource(tmp_path / "store")).bindings]
    in_memory = [tuple(map(str, (r[rdflib.Variable("f")], r[rdflib.Variable("v")]))) for r in run_user_query(query, source).bindings]
    assert on_disk and sorted(on_disk) == sorted(in_memory)
    ask = prepare_user_query("ASK { GRAPH graph:concluded { ?c a ?type } }", "g.rq")
    assert run_user_query(ask, StoreSource(tmp_path / "store")).askAnswer is True

"""b12kg serve with a real HTTP client (httpx) against a server started on loopback:
named queries, refused requests (the store unchanged), a query stopped at its time
limit while the server keeps serving, content negotiation, bounds."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET

import httpx
import pyoxigraph as ox
import pytest
import rdflib

from b12kg.cohort import named

TIMEOUT = 3.0
GM = "PREFIX gm: <https://w3id.org/b12kg/model#> "


@pytest.fixture(scope="module")
def server(cohort, start_server):
    return start_server(cohort[0], "--timeout", str(TIMEOUT), "--max-rows", "500")


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=60) as http:
        yield http


def _snapshot(directory) -> frozenset:
    return frozenset(ox.Store.read_only(str(directory)))


def _bindings(response) -> list[dict[str, str]]:
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


PARAMS = {"overdue-follow-ups": {"date": "2027-03-01"}, "follow-ups-by-month": {"date": "2027-03-01"},
          "metformin-without-recent-b12": {"window": "P12M"}}


@pytest.mark.parametrize("name", sorted(named.named_queries()))
def test_every_named_query_over_http(client, cohort, name):
    local = named.rows(ox.Store.read_only(str(cohort[0])), name, PARAMS.get(name))
    response = client.get(f"/queries/{name}", params=PARAMS.get(name, {}), headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    assert _bindings(response) == local
    if name in ("counts-by-status", "untreated-deficiency", "awaiting-mma", "folic-acid-without-b12"):
        assert local  # the small cohort has rows for these


def test_named_query_parameters_and_errors(client):
    assert client.get("/queries/overdue-follow-ups", params={"date": "2027-02-30"}).status_code == 400
    assert client.get("/queries/overdue-follow-ups", params={"when": "2027-01-01"}).status_code == 400
    assert client.get("/queries/no-such-query").status_code == 404
    listing = client.get("/queries").json()
    assert {q["name"] for q in listing} == set(named.named_queries())


def test_user_queries_through_the_sandboxed_engine(client, cohort):
    statuses = {d["b12_status"]["value"] for d in cohort[1].values()}
    query = GM + "SELECT DISTINCT ?code WHERE { ?f a gm:StatusFinding ; gm:concerns ?c . ?c gm:code ?code }"
    for response in (client.get("/sparql", params={"query": query}),
                     client.post("/sparql", data={"query": query}),
                     client.post("/sparql", content=query.encode(), headers={"Content-Type": "application/sparql-query"})):
        assert response.status_code == 200, response.text
        assert {r["code"] for r in _bindings(response)} == statuses
    count = client.post("/sparql", data={"query": GM + "SELECT (COUNT(DISTINCT ?a) AS ?n) { ?a a gm:Assessment }"})
    assert _bindings(count) == [{"n": str(len(cohort[1]))}]


REFUSED = {
    "update-direct": ("POST", {"content": b"CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}}),
    "update-form": ("POST", {"data": {"update": "DROP ALL"}}),
    "update-get": ("GET", {"params": {"update": "CLEAR ALL"}}),
    "update-as-query": ("POST", {"data": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}}),
    "load": ("POST", {"data": {"query": "LOAD <http://127.0.0.1:9/data.ttl>"}}),
    "service": ("GET", {"params": {"query": "SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"}}),
    "from-remote": ("GET", {"params": {"query": "SELECT * FROM <http://127.0.0.1:9/g.ttl> { ?s ?p ?o }"}}),
    "from-named-remote": ("POST", {"data": {"query": "SELECT * FROM NAMED <http://127.0.0.1:9/g.ttl> { GRAPH ?g { ?s ?p ?o } }"}}),
    "escaped-service": ("POST", {"content": b'SELECT * WHERE { VALUES ?z { "x\\u0022 # " } SERVICE <http://127.0.0.1:9/b12> { ?a ?b ?c } }',
                                 "headers": {"Content-Type": "application/sparql-query"}}),
    "put": ("PUT", {"content": b"<urn:a> <urn:b> <urn:c> .", "headers": {"Content-Type": "application/n-triples"}}),
    "delete": ("DELETE", {}),
}


def test_refused_requests_get_4xx_and_leave_the_store_unchanged(client, cohort):
    before = _snapshot(cohort[0])
    for name, (method, kwargs) in REFUSED.items():
        response = client.request(method, "/sparql", **kwargs)
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        assert response.text.strip(), name  # a message saying why
    assert _snapshot(cohort[0]) == before


def test_no_connection_is_made_for_escaped_service(client):
    """The issue 14 trick: a SERVICE hidden after an escaped quote never reaches a listener."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    connections = []

    def accept():
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                connections.append(listener.accept()[0])

    watcher = threading.Thread(target=accept)
    watcher.start()
    for quote in ("\\u0022", "\\U00000022", "\\u0027"):
        text = (f'SELECT * WHERE {{ VALUES ?z {{ "x{quote} # " }} ?s ?p ?o SERVICE <http://127.0.0.1:{port}/leak> '
                "{ ?a ?b ?c } OPTIONAL {\n} } LIMIT 1")
        if quote == "\\u0027":
            text = text.replace('"x', "'x").replace(' # " }', " # ' }")
        response = client.post("/sparql", content=text.encode(), headers={"Content-Type": "application/sparql-query"})
        # the engine that checks is the engine that runs: the SERVICE is a comment to both
        assert response.status_code in (200, 400), response.text
    watcher.join()
    listener.close()
    assert connections == []


def test_expensive_query_is_stopped_and_the_server_keeps_serving(client):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    started = time.monotonic()
    response = client.post("/sparql", data={"query": query})
    elapsed = time.monotonic() - started
    assert response.status_code == 503 and "time limit" in response.text
    assert elapsed < TIMEOUT + 1.0, elapsed
    answer = client.get("/sparql", params={"query": "ASK {}"})
    assert answer.status_code == 200 and answer.json()["boolean"] is True


def test_row_limit(client):
    response = client.get("/sparql", params={"query": "SELECT * { ?s ?p ?o }"})
    assert response.status_code == 400 and "500 rows" in response.text


SELECT = GM + "SELECT ?a ?d WHERE { ?a a gm:Assessment ; gm:asOf ?d } ORDER BY ?a LIMIT 3"
CONSTRUCT = GM + "CONSTRUCT { ?a gm:asOf ?d } WHERE { ?a a gm:Assessment ; gm:asOf ?d } LIMIT 3"


@pytest.mark.parametrize(("accept", "media"), [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "text/html"),  # a browser: an HTML table
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
])
def test_select_content_negotiation(client, accept, media):
    response = client.get("/sparql", params={"query": SELECT}, headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == media
    body = response.text
    if media == "text/html":
        assert "<table>" in body and body.count("<tr>") == 4 and "<script" not in body
    elif media.endswith("json"):
        assert len(json.loads(body)["results"]["bindings"]) == 3
    elif media.endswith("xml"):
        assert len(ET.fromstring(body).findall(".//{http://www.w3.org/2005/sparql-results#}result")) == 3
    elif media == "text/csv":
        assert body.splitlines()[0] == "a,d" and len(body.splitlines()) == 4
    else:
        assert body.splitlines()[0] == "?a\t?d" and len(body.splitlines()) == 4


@pytest.mark.parametrize(("accept", "media", "rdf_format"), [
    ("text/turtle", "text/turtle", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/ld+json", "application/ld+json", "json-ld"),
])
def test_graph_content_negotiation(client, accept, media, rdf_format):
    for query in (CONSTRUCT, GM + "DESCRIBE ?a WHERE { ?a a gm:Assessment } LIMIT 1"):
        response = client.post("/sparql", data={"query": query}, headers={"Accept": accept})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == media
        graph = rdflib.Graph().parse(data=response.text, format=rdf_format)
        assert len(graph) >= 1


def test_not_acceptable_and_bounds(client):
    assert client.get("/sparql", params={"query": SELECT}, headers={"Accept": "image/png"}).status_code == 406
    big = client.post("/sparql", content=b"#" * (2 * 1024 * 1024), headers={"Content-Type": "application/sparql-query"})
    assert big.status_code == 413
    assert client.get("/nowhere").status_code == 404
    assert client.post("/queries/counts-by-status", data={"a": "b"}).status_code == 405


def test_index_page_lists_the_named_queries(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "<script" not in response.text
    for name in named.named_queries():
        assert f'href="/queries/{name}"' in response.text


@pytest.mark.parametrize("query", [
    GM + "CONSTRUCT WHERE { ?a a gm:Assessment ; gm:asOf ?d }",
    GM + "CONSTRUCT WHERE { ?a a gm:Assessment ; gm:asOf ?d } ORDER BY ?a LIMIT 2",
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 5",
    GM + "SELECT ?s ?o WHERE { ?s (!gm:asOf)+ ?o } LIMIT 5",
    "SELECT ?s ?o WHERE { ?s !(<urn:x:none>)* ?o } LIMIT 5",
    "ASK { ?s (!rdf:type)* ?o }",
], ids=["construct-where", "construct-where-limit", "construct-where-all", "negated-one-or-more", "negated-zero-or-more", "negated-ask"])
def test_valid_sparql_short_forms_and_negated_closures_run(client, query):
    """Issue 18: CONSTRUCT WHERE (the short form) and negated property-path closures are SPARQL 1.1."""
    accept = "application/n-triples" if "CONSTRUCT" in query else "application/sparql-results+json"
    response = client.post("/sparql", data={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    if "CONSTRUCT" in query:
        assert len(rdflib.Graph().parse(data=response.text, format="nt")) >= 2
    elif query.startswith("ASK"):
        assert response.json()["boolean"] is True
    else:
        assert len(_bindings(response)) == 5


def test_negated_inverse_sets_are_refused_with_the_reason(client):
    response = client.post("/sparql", data={"query": "SELECT * WHERE { ?s !^rdf:type ?o } LIMIT 1"})
    assert response.status_code == 400 and "negated property set" in response.text

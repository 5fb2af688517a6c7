"""The W3C SPARQL 1.1 Protocol tests (tests/w3c_protocol/manifest.ttl) replayed against
`b12kg serve`: the 20 query-side tests must pass; the 14 update-side tests must be
refused with 4xx (the endpoint is read-only by design), leaving the store unchanged."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.collection import Collection

HERE = Path(__file__).resolve().parent / "w3c_protocol"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
QUERY_SIDE = 20


def _manifest() -> list[dict]:
    graph = rdflib.Graph().parse(HERE / "manifest.ttl", format="turtle", publicID="file:///w3c_protocol/manifest.ttl")
    manifest = next(graph.subjects(rdflib.RDF.type, MF.Manifest))
    tests = []
    for entry in Collection(graph, graph.value(manifest, MF.entries)):
        requests = []
        for request in Collection(graph, graph.value(graph.value(entry, MF.action), HT.requests)):
            body = graph.value(request, HT.body)
            headers = graph.value(request, HT.headers)
            response = graph.value(request, HT.resp)
            requests.append({
                "method": str(graph.value(request, HT.methodName)),
                "path": str(graph.value(request, HT.absolutePath)),
                "body": str(graph.value(body, CNT.chars)) if body is not None else None,
                "headers": {str(graph.value(h, HT.fieldName)): str(graph.value(h, HT.fieldValue))
                            for h in Collection(graph, headers)} if headers is not None else {},
                "status": {str(s).rsplit("StatusCode", 1)[1] for s in graph.objects(response, MF.expectedStatus)},
                "format": str(graph.value(response, MF.expectedFormat) or ""),
                "boolean": graph.value(response, MF.expectedBoolean),
            })
        data = {str(graph.value(d, rdflib.RDFS.label)): str(graph.value(d, UT.graph)).rsplit("/", 1)[1]
                for d in graph.objects(entry, UT.graphData)}
        tests.append({"name": str(entry).rsplit("#", 1)[1], "requests": requests, "data": data})
    return tests


TESTS = _manifest()
QUERY_TESTS = [t for t in TESTS if "update" not in t["name"]]
UPDATE_TESTS = [t for t in TESTS if "update" in t["name"]]


def test_the_manifest_has_20_query_side_tests():
    assert len(QUERY_TESTS) == QUERY_SIDE and len(TESTS) == 34


@pytest.fixture(scope="module")
def protocol_store(tmp_path_factory):
    """A store with data1-3.nt as named graphs named by their labels in the manifest."""
    folder = tmp_path_factory.mktemp("w3c") / "store"
    store = ox.Store(str(folder))
    labels = {label: file for t in TESTS for label, file in t["data"].items()}
    for label, file in labels.items():
        store.load(path=str(HERE / file), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(label))
    store.flush()
    del store
    return folder


@pytest.fixture(scope="module")
def client(protocol_store, start_server):
    with httpx.Client(base_url=start_server(protocol_store, "--timeout", "10"), timeout=30) as http:
        yield http


def _send(client: httpx.Client, request: dict) -> httpx.Response:
    body = request["body"].encode("utf-8") if request["body"] is not None else None
    headers = {k.title(): v for k, v in request["headers"].items()}
    if body is None and request["method"] in ("POST", "PUT"):
        body = b""
    return client.request(request["method"], request["path"], content=body, headers=headers)


def _check_format(response: httpx.Response, request: dict) -> None:
    media = response.headers["content-type"].split(";")[0]
    if request["format"] in ("boolean", "tabular"):
        assert media in ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                         "text/tab-separated-values"), media
    if request["format"] == "boolean":
        if media.endswith("json"):
            answer = json.loads(response.text)["boolean"]
        else:
            answer = ET.fromstring(response.text).find("{http://www.w3.org/2005/sparql-results#}boolean").text == "true"
        if request["boolean"] is not None:
            assert answer is (str(request["boolean"]) == "true")
    elif request["format"] == "tabular":
        assert "results" in json.loads(response.text) if media.endswith("json") else response.text
    elif request["format"] == "RDF":
        formats = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld"}
        assert media in formats, media
        rdflib.Graph().parse(data=response.text, format=formats[media])


@pytest.mark.parametrize("test", QUERY_TESTS, ids=lambda t: t["name"])
def test_query_side(client, test):
    for request in test["requests"]:
        response = _send(client, request)
        assert str(response.status_code)[0] + "xx" in request["status"], (response.status_code, response.text)
        if response.status_code < 300:
            _check_format(response, request)


@pytest.mark.parametrize("test", UPDATE_TESTS, ids=lambda t: t["name"])
def test_update_side_is_refused_by_design(client, protocol_store, test):
    """Every update request is refused with 4xx and changes nothing; the follow-up ASK
    requests of the update tests then answer false (nothing was inserted)."""
    before = frozenset(ox.Store.read_only(str(protocol_store)))
    updates = [r for r in test["requests"] if r["boolean"] is None]  # the checks that follow an update expect a boolean
    assert updates
    for request in updates:
        response = _send(client, request)
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
    for check in (r for r in test["requests"] if r["boolean"] is not None):
        response = _send(client, check)
        assert response.status_code == 200 and response.json()["boolean"] is False  # the update did not happen
    assert frozenset(ox.Store.read_only(str(protocol_store))) == before

"""The cohort's SPARQL endpoint as the graph world's clients use it (issue 22): SPARQLWrapper
with its defaults for the four query forms, RDF/XML and N-Quads, the SPARQL 1.1 Service
Description at GET /sparql, read-only CORS for a configured origin (a hosted YASGUI), and
the HTML tables a browser gets (headless Chromium on the query page)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib

httpx = pytest.importorskip("httpx")

from b12kg.cohort import named  # noqa: E402

GM = "PREFIX gm: <https://w3id.org/b12kg/model#> "
YASGUI = "https://yasgui.example.org"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")


@pytest.fixture(scope="module")
def server(cohort, start_server):
    return start_server(cohort[0], "--allow-origin", YASGUI)


def _wrapper(server: str, query: str):
    from SPARQLWrapper import SPARQLWrapper

    client = SPARQLWrapper(f"{server}/sparql")  # defaults: GET, XML results, RDF/XML graphs
    client.setQuery(query)
    return client.query()


def test_sparqlwrapper_runs_the_four_forms_with_its_defaults(server, cohort):
    pytest.importorskip("SPARQLWrapper")
    assessments = len(cohort[1])
    select = _wrapper(server, GM + "SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE { ?a a gm:Assessment }")
    assert select.response.headers["content-type"].startswith("application/sparql-results+xml")
    document = select.convert()  # xml.dom.minidom
    assert document.getElementsByTagName("literal")[0].firstChild.data == str(assessments)

    ask = _wrapper(server, GM + "ASK { ?a a gm:Assessment }").convert()
    assert ask.getElementsByTagName("boolean")[0].firstChild.data == "true"

    construct = _wrapper(server, GM + "CONSTRUCT { ?a gm:asOf ?d } WHERE { ?a a gm:Assessment ; gm:asOf ?d }")
    assert construct.response.headers["content-type"].startswith("application/rdf+xml")
    graph = construct.convert()  # parsed from RDF/XML by rdflib
    assert isinstance(graph, rdflib.Graph) and len(graph) == assessments

    one = sorted(cohort[1].values(), key=lambda d: d["patient"])[0]
    describe = _wrapper(server, GM + "DESCRIBE ?a WHERE { ?a a gm:Assessment ; gm:asOf ?d } ORDER BY ?a LIMIT 1").convert()
    assert isinstance(describe, rdflib.Graph) and len(describe) >= 3
    assert one  # the cohort has assessments to describe


@pytest.mark.parametrize(("accept", "parse"), [("application/rdf+xml", "xml"), ("application/n-quads", "nquads")])
def test_graph_answers_in_rdf_xml_and_n_quads(server, accept, parse):
    query = GM + "CONSTRUCT { ?a gm:asOf ?d } WHERE { ?a a gm:Assessment ; gm:asOf ?d } LIMIT 4"
    response = httpx.post(f"{server}/sparql", data={"query": query}, headers={"Accept": accept}, timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == accept
    dataset = rdflib.Dataset()
    dataset.parse(data=response.text, format=parse)
    assert len(list(dataset.quads((None, None, None, None)))) == 4


def test_service_description_at_get_sparql_with_no_query(server):
    response = httpx.get(f"{server}/sparql", headers={"Accept": "text/turtle"}, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    (service,) = graph.subjects(rdflib.RDF.type, SD.Service)
    assert (service, SD.endpoint, rdflib.URIRef(f"{server}/sparql")) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    assert len(list(graph.objects(service, SD.resultFormat))) >= 9
    xml = httpx.get(f"{server}/sparql", headers={"Accept": "application/rdf+xml"}, timeout=30)
    assert len(rdflib.Graph().parse(data=xml.text, format="xml")) == len(graph)
    browser = httpx.get(f"{server}/sparql", headers={"Accept": "text/html,*/*;q=0.8"}, timeout=30)
    assert browser.status_code == 303 and browser.headers["location"] == "/"


def test_read_only_cors_for_a_configured_origin(server):
    preflight = httpx.options(f"{server}/sparql", headers={"Origin": YASGUI, "Access-Control-Request-Method": "POST",
                                                            "Access-Control-Request-Headers": "content-type, accept"}, timeout=30)
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == YASGUI
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "HEAD", "POST"}
    answer = httpx.get(f"{server}/sparql", params={"query": "ASK {}"}, headers={"Origin": YASGUI}, timeout=30)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == YASGUI
    assert "content-type" in answer.headers["access-control-expose-headers"].lower()
    for method in ("PUT", "DELETE"):  # writes are never allowed cross-origin
        refused = httpx.options(f"{server}/sparql", headers={"Origin": YASGUI, "Access-Control-Request-Method": method}, timeout=30)
        assert refused.status_code == 403
    other = httpx.get(f"{server}/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://evil.example"}, timeout=30)
    assert other.status_code == 403


def test_named_queries_as_html_tables(server, cohort):
    store = ox.Store.read_only(str(cohort[0]))
    for name in ("counts-by-status", "untreated-deficiency"):
        rows = named.rows(store, name)
        page = httpx.get(f"{server}/queries/{name}", headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<table>" in page.text and f"{len(rows)} row" in page.text
        assert " ".join(named.get(name).answers.split())[:40] in page.text
    overdue = httpx.get(f"{server}/queries/overdue-follow-ups", params={"date": "2027-03-01"}, headers={"Accept": "text/html"}, timeout=30)
    assert 'name="date" value="2027-03-01"' in overdue.text and "xsd:date" in overdue.text


def test_query_page_in_a_headless_browser(server, cohort, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/")
    links = {a.text for a in browser.find_elements(By.CSS_SELECTOR, "section h3 a")}
    assert links == set(named.named_queries())
    area = browser.find_element(By.NAME, "query")
    area.clear()
    area.send_keys(GM + "SELECT ?a ?d WHERE { ?a a gm:Assessment ; gm:asOf ?d } ORDER BY ?a")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert len(rows) == len(cohort[1])
    assert [h.text for h in browser.find_elements(By.CSS_SELECTOR, "table thead th")] == ["a", "d"]
    browser.get(f"{server}/queries/counts-by-status")
    assert browser.find_element(By.TAG_NAME, "h1").text == "counts-by-status"
    assert browser.find_elements(By.CSS_SELECTOR, "table tbody tr")

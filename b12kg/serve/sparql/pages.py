"""What the SPARQL endpoint shows a person and describes to a program: the index page (the
named queries and a query form), answers as HTML tables (a user query's, a named query's
with its description and parameters), and the SPARQL 1.1 Service Description. No scripts:
the pages are plain HTML under a policy that forbids them."""

from __future__ import annotations

import json
from html import escape

import pyoxigraph as ox
import rdflib

from ...cohort import named

STYLE = ("body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:.5rem;"
         "overflow:auto}textarea{width:100%;height:10rem;font-family:monospace}table{border-collapse:collapse;margin:1rem 0}"
         "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}"
         "th{background:#eee}td.iri{font-family:monospace;font-size:.8rem}caption{text-align:left;font-weight:bold}")
FORMATS = ("html", "json", "xml", "csv", "tsv")
HTML_MAX_ROWS = 1000
"""Rows an HTML table shows at most (the machine formats give the whole answer)."""


def page(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>").encode()


def _cell(term: dict | None) -> str:
    """A SPARQL JSON term as a table cell (IRIs in monospace; literals with their language)."""
    if term is None:
        return "<td></td>"
    value = escape(term.get("value", ""))
    if term.get("type") == "uri":
        return f'<td class="iri">{value}</td>'
    if term.get("xml:lang"):
        return f"<td>{value} <small>@{escape(term['xml:lang'])}</small></td>"
    return f"<td>{value}</td>"


def table(columns: list[str], rows: list[dict], caption: str = "") -> str:
    """An HTML table of SPARQL JSON bindings (at most HTML_MAX_ROWS rows; the count says how many there are)."""
    head = "".join(f"<th scope=col>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c)) for c in columns) + "</tr>" for row in rows[:HTML_MAX_ROWS])
    more = f" (the first {HTML_MAX_ROWS} shown)" if len(rows) > HTML_MAX_ROWS else ""
    count = f"{len(rows)} row{'s' if len(rows) != 1 else ''}{more}"
    return f"<table><caption>{escape(caption)} {count}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def answer_table(body: bytes, fmt: str) -> str:
    """An answer (SPARQL JSON for SELECT/ASK, N-Triples for CONSTRUCT/DESCRIBE) as an HTML table."""
    if fmt == "json":
        found = json.loads(body)
        if "boolean" in found:
            return f"<p>ASK: <strong>{'true' if found['boolean'] else 'false'}</strong></p>"
        return table(found["head"].get("vars", []), found["results"]["bindings"])
    rows = []
    for triple in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
        rows.append({k: _term(getattr(triple, k)) for k in ("subject", "predicate", "object")})
    return table(["subject", "predicate", "object"], rows)


def _term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.Literal):
        return {"type": "literal", "value": term.value, **({"xml:lang": term.language} if term.language else {})}
    return {"type": "bnode", "value": str(term)}


def query_form(text: str) -> str:
    options = "".join(f"<option{' selected' if f == 'html' else ''}>{f}</option>" for f in FORMATS)
    return ('<form method="post" action="/sparql"><textarea name="query" aria-label="SPARQL query">'
            f"{escape(text)}</textarea><label>Format <select name=\"format\">{options}</select></label> "
            '<button type="submit">Run</button></form>')


def results_page(query: str, answer_html: str) -> bytes:
    return page("SPARQL results", f'<p><a href="/">b12kg cohort endpoint</a></p><h1>Results</h1>{answer_html}'
                                  f"<h2>Query</h2>{query_form(query)}")


def _params(query: named.NamedQuery) -> str:
    items = "".join(f"<li><code>{escape(p.name)}</code> (xsd:{escape(p.datatype)}"
                    f"{', default ' + escape(p.default) if p.default else ''}): {escape(p.description)}</li>" for p in query.params)
    return f"<ul>{items}</ul>" if items else "<p>No parameters.</p>"


def named_query_page(query: named.NamedQuery, given: dict[str, str], body: bytes) -> bytes:
    """A named query's answer as a table, with what it answers, its parameters (a form) and its text."""
    inputs = "".join(f'<label>{escape(p.name)} <input name="{escape(p.name)}" value="{escape(given.get(p.name, ""))}" '
                     f'placeholder="{escape(p.default or "")}"></label> ' for p in query.params)
    form = f'<form method="get" action="/queries/{escape(query.name)}">{inputs}<button type="submit">Run</button></form>' if inputs else ""
    links = " ".join(f'<a href="/queries/{escape(query.name)}?format={f}">{f}</a>' for f in ("csv", "json", "xml", "tsv"))
    return page(f"{query.name}: b12kg cohort", (
        f'<p><a href="/">b12kg cohort endpoint</a></p><h1>{escape(query.name)}</h1>'
        f"<p>{escape(' '.join(query.answers.split()))}</p><h2>Parameters</h2>{_params(query)}{form}"
        f"<h2>Answer</h2>{answer_table(body, 'json')}<p>Also as {links}.</p>"
        f"<details><summary>SPARQL</summary><pre>{escape(query.text)}</pre></details>"))


def index_page() -> bytes:
    """The page at /: the named queries (what each answers, parameters, text) and a query form."""
    items = []
    for query in named.named_queries().values():
        items.append(f'<section id="{escape(query.name)}"><h3><a href="/queries/{escape(query.name)}">{escape(query.name)}</a></h3>'
                     f"<p>{escape(' '.join(query.answers.split()))}</p>{_params(query)}"
                     f"<details><summary>SPARQL</summary><pre>{escape(query.text)}</pre></details></section>")
    return page("b12kg cohort SPARQL endpoint", (
        "<h1>b12kg cohort: SPARQL 1.1 endpoint (read-only)</h1>"
        "<p>Query the cohort at <code>/sparql</code> (GET or POST; GET with no query gives the "
        "<a href=\"/sparql?format=turtle\">service description</a>). Each assessment's graphs are named "
        "<code>{assessment}/graph/{asserted,inferred,concluded,provenance,activity,ignored,data-quality}</code>; the "
        "guideline is <code>https://w3id.org/b12kg/graph/ontology</code>; the default graph is the union of all graphs. "
        "Updates, SERVICE, LOAD and FROM are refused. Quality measures: <a href=\"/fhir/Measure\">/fhir/Measure</a>.</p>"
        f"{query_form('SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10')}<h2>Named queries</h2>{''.join(items)}"))


SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS_NS = rdflib.Namespace("http://www.w3.org/ns/formats/")
RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV", "Turtle", "N-Triples",
                  "JSON-LD", "RDF_XML", "N-Quads")
DESCRIPTION_FORMATS = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "rdfxml": "xml", "nq": "nt"}


def service_description(endpoint_url: str, fmt: str, ontology_graph: str) -> bytes:
    """The SPARQL 1.1 Service Description of the endpoint, in an RDF format."""
    graph = rdflib.Graph()
    graph.bind("sd", SD)
    graph.bind("formats", FORMATS_NS)
    service, dataset, default = rdflib.BNode(), rdflib.BNode(), rdflib.BNode()
    named_graph = rdflib.BNode()
    graph.add((service, rdflib.RDF.type, SD.Service))
    graph.add((service, SD.endpoint, rdflib.URIRef(endpoint_url)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    for name in RESULT_FORMATS:
        graph.add((service, SD.resultFormat, FORMATS_NS[name]))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, rdflib.RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, rdflib.RDF.type, SD.Graph))
    graph.add((dataset, SD.namedGraph, named_graph))
    graph.add((named_graph, SD.name, rdflib.URIRef(ontology_graph)))
    graph.add((service, rdflib.RDFS.comment, rdflib.Literal(
        "b12kg cohort store, read-only: the default graph is the union of every graph; each assessment's graphs are "
        "named {assessment}/graph/{role}. Updates, SERVICE, LOAD and FROM are refused; named queries at /queries.")))
    return graph.serialize(format=DESCRIPTION_FORMATS.get(fmt, "turtle"), encoding="utf-8")

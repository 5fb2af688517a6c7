"""Content negotiation of the SPARQL endpoint: the answer formats of each query form, from the
Accept header or a `format` parameter (as SPARQLWrapper, YASGUI and curl send them).

SELECT and ASK: SPARQL JSON, XML, CSV, TSV, and an HTML table for a browser. CONSTRUCT and
DESCRIBE: Turtle, N-Triples, JSON-LD, RDF/XML, N-Quads, and an HTML table. A `format`
parameter may name a format or a media type, and may be repeated (SPARQLWrapper sends
`format`, `output` and `results`); the first one that names a format of the query's form is
used, so `format=xml` is SPARQL XML for a SELECT and RDF/XML for a CONSTRUCT."""

from __future__ import annotations

from http import HTTPStatus

from ...errors import HttpError

TABULAR = {"application/sparql-results+json": "json", "application/json": "json", "application/sparql-results+xml": "xml",
           "application/xml": "xml", "text/xml": "xml", "text/csv": "csv", "text/tab-separated-values": "tsv", "text/html": "html"}
GRAPH = {"text/turtle": "turtle", "application/x-turtle": "turtle", "text/n3": "turtle", "application/n-triples": "nt",
         "text/plain": "nt", "application/ld+json": "jsonld", "application/rdf+xml": "rdfxml", "application/n-quads": "nq",
         "text/html": "html"}
ALIASES = {"tabular": {"sparql-results+json": "json", "sparql-results+xml": "xml"},
           "graph": {"xml": "rdfxml", "rdf+xml": "rdfxml", "rdf": "rdfxml", "json": "jsonld", "json-ld": "jsonld", "n3": "turtle",
                     "ttl": "turtle", "ntriples": "nt", "n-triples": "nt", "nquads": "nq", "n-quads": "nq"}}
MEDIA_OF = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml", "csv": "text/csv",
            "tsv": "text/tab-separated-values", "turtle": "text/turtle", "nt": "application/n-triples", "jsonld": "application/ld+json",
            "rdfxml": "application/rdf+xml", "nq": "application/n-quads", "html": "text/html"}
FORMAT_PARAMETERS = ("format", "output", "results")
"""Query parameters that may name the answer format (SPARQLWrapper sends all three)."""


def accepted(accept: str | None) -> list[str]:
    """Media types of an Accept header, best first (q=0 left out)."""
    ranked = []
    for position, part in enumerate((accept or "*/*").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranked.append((-q, position, media.lower()))
    return [m for _, _, m in sorted(ranked)]


def _named(value: str, kind: str) -> str | None:
    table = TABULAR if kind == "tabular" else GRAPH
    value = value.strip().lower()
    if value in table.values():
        return value
    return table.get(value.split(";")[0]) or ALIASES[kind].get(value.removeprefix("application/"))


def negotiate(accept: str | None, kind: str, explicit: list[str] | None = None) -> str:
    """The output format for a result kind ('tabular' for SELECT/ASK, 'graph' for CONSTRUCT/DESCRIBE)."""
    table = TABULAR if kind == "tabular" else GRAPH
    if explicit:
        for value in explicit:
            found = _named(value, kind)
            if found:
                return found
        raise HttpError(HTTPStatus.BAD_REQUEST, f"format {explicit[0][:40]!r} is not one of {', '.join(sorted(set(table.values())))}")
    for media in accepted(accept):
        if media in table:
            return table[media]
        if media in ("*/*", "application/*", "text/*"):
            return "json" if kind == "tabular" else "turtle"
    raise HttpError(HTTPStatus.NOT_ACCEPTABLE, f"no acceptable format; offered: {', '.join(table)}")

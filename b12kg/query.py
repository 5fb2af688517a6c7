"""User SPARQL queries over an assessed patient's dataset, refused if they could reach out.

A user query is parsed (rdflib's SPARQL 1.1 grammar) before it runs, and refused when
it is an update (LOAD, INSERT, DROP ...), names a SERVICE, or loads graphs with
FROM / FROM NAMED: the engine would otherwise fetch them over the network.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from .errors import InputRejected
from .namespaces import PREFIXES


def _walk(node):
    yield node
    if isinstance(node, CompValue):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value)


def check_user_query(text: str, file: str = "<query>") -> None:
    """Raise InputRejected unless `text` is one read-only, local SPARQL query."""
    try:
        parsed = parseQuery(text)
    except Exception as exc:  # pyparsing's ParseException and friends
        raise InputRejected.one(file, f"not a SPARQL 1.1 query (updates such as LOAD are not accepted): {' '.join(str(exc).split())[:200]}") from None
    query = parsed[1]
    if "datasetClause" in query:
        raise InputRejected.one(file, "FROM / FROM NAMED would load graphs from elsewhere: query the patient's dataset instead",
                                field="FROM")
    for node in _walk(query):
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            raise InputRejected.one(file, "SERVICE would call a remote endpoint: b12kg never goes on the network", field="SERVICE")


def run_user_query(quads: list[ox.Quad], ontology: tuple[ox.Quad, ...], text: str, file: str = "<query>"):
    """Run a checked user query over the ontology and one assessment's quads."""
    check_user_query(text, file)
    store = ox.Store()
    store.extend(ontology)
    store.extend(quads)
    return store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)

"""Running SPARQL over a pyoxigraph store: the one place queries are executed."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from .namespaces import PREFIXES


def construct(store: ox.Store, query: str) -> list[ox.Triple]:
    """The triples a CONSTRUCT query builds over the union of the store's graphs."""
    return list(store.query(query, prefixes=PREFIXES, use_default_graph_as_union=True))


def add(store: ox.Store, triples: Iterable[ox.Triple], graph: ox.NamedNode) -> None:
    """Add triples to one named graph of the store."""
    store.extend([ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples])


def select(store: ox.Store, query: str) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
    """The rows of a SELECT query over the union of the graphs, as dicts of bound variables."""
    solutions = store.query(query, prefixes=PREFIXES, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{n: v for n, v in zip(names, row, strict=True) if v is not None} for row in solutions]

"""Run the guideline's rules (SPARQL CONSTRUCT files) over one patient's dataset.

The dataset is a pyoxigraph store with one named graph per kind of triple: the
ontology, the asserted facts, the inferred facts and the concluded ones. Rules read
the union of the graphs and their results go to the graph of their phase; a rule may
read what earlier stages concluded.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from .knowledge import Rule
from .namespaces import PREFIXES


def construct(store: ox.Store, query: str) -> list[ox.Triple]:
    """The triples a CONSTRUCT query builds over the union of the store's graphs."""
    return list(store.query(query, prefixes=PREFIXES, use_default_graph_as_union=True))


def add(store: ox.Store, triples: Iterable[ox.Triple], graph: ox.NamedNode) -> None:
    store.extend([ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples])


def run_rules(store: ox.Store, rules: Iterable[Rule], graph: ox.NamedNode) -> None:
    """Run rules in order, adding each one's results before the next runs."""
    for rule in rules:
        add(store, construct(store, rule.query), graph)


def select(store: ox.Store, query: str) -> list[dict[str, object]]:
    """The rows of a SELECT query as dicts of bound variables."""
    solutions = store.query(query, prefixes=PREFIXES, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{n: row[n] for n in names if row[n] is not None} for row in solutions]

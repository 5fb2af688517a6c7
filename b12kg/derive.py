"""Run the guideline's rules (SPARQL CONSTRUCT files) over the patients' dataset.

The dataset is a pyoxigraph store with one named graph per kind of triple: the
ontology, the asserted facts, the inferred facts and the concluded ones. Rules read
the union of the graphs and their results go to the graph of their phase; a rule may
read what earlier stages concluded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyoxigraph as ox

from .knowledge import Rule
from .sparql import add, construct


def run_rules(store: ox.Store, rules: Iterable[Rule], graph: ox.NamedNode,
              after_each: Callable[[str], None] | None = None) -> None:
    """Run rules in order, adding each one's results before the next runs; `after_each`
    is called with the rule's query path (e.g. to enforce a time budget)."""
    for rule in rules:
        add(store, construct(store, rule.query), graph)
        if after_each is not None:
            after_each(rule.query_path)

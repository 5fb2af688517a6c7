"""A SPARQL Protocol dataset (default-graph-uri, named-graph-uri) over a cohort store.

The protocol's dataset parameters name graphs; here they name graphs *of the local
store*, never documents to fetch: a name the store does not hold is an empty graph.
What a pending (uncommitted) load wrote is hidden, as from the named queries.
The query runs in b12kg.query's sandboxed engine over this view of the store.
"""

from __future__ import annotations

import rdflib

from .._oxstore import ReadOnlyOxigraphStore
from ..query import StoreSource
from ..rdfterms import to_rdflib

MAX_DATASET_GRAPHS = 100
"""Graphs a request may name in default-graph-uri and named-graph-uri together."""


class SelectedGraphsStore(ReadOnlyOxigraphStore):
    """The store seen through a protocol dataset: the default graph is the merge of the
    `default` graphs (the union of all graphs when `default` is None), and the named
    graphs are `named` (all graphs when None). Per the protocol, naming only one kind
    leaves the other empty."""

    def __init__(self, path: str, default: list[str] | None, named: list[str] | None):
        from .store import uncommitted

        super().__init__(path)
        self._default = None if default is None else [rdflib.URIRef(g) for g in default]
        self._named = None if named is None else {rdflib.URIRef(g) for g in named}
        self._hidden = uncommitted(self._store)

    def _visible(self, quad) -> bool:
        """Only what committed loads wrote (cohort.store.uncommitted)."""
        return self._hidden is None or self._hidden.visible(quad)

    def triples(self, pattern, context=None):
        graph = self._graph(context)
        if graph is None and self._default is not None:  # the default graph: a merge of the listed graphs
            seen = set()
            for name in self._default:
                for triple, contexts in super().triples(pattern, rdflib.Graph(store=self, identifier=name)):
                    if triple not in seen:
                        seen.add(triple)
                        yield triple, contexts
            return
        if graph is not None and self._named is not None and to_rdflib(graph) not in self._named:
            return
        yield from super().triples(pattern, context)

    def contexts(self, triple=None):
        hidden = {to_rdflib(g) for g in self._hidden.graphs} if self._hidden else set()
        for graph in super().contexts(triple):
            if (self._named is None or graph.identifier in self._named) and graph.identifier not in hidden:
                yield graph


class SelectedStoreSource(StoreSource):
    """StoreSource with a protocol dataset."""

    def __init__(self, path, default: list[str] | None = None, named: list[str] | None = None):
        super().__init__(path)
        if default is not None or named is not None:  # naming one kind leaves the other empty
            default, named = default or [], named or []
        self.default, self.named = default, named

    def open(self) -> rdflib.Dataset:
        return rdflib.Dataset(store=SelectedGraphsStore(self.path, self.default, self.named), default_union=True)

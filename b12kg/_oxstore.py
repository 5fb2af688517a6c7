"""A read-only rdflib store over an on-disk pyoxigraph store, for the user-query engine.

rdflib evaluates user queries (b12kg.query); this adapter lets it read a pyoxigraph
RocksDB store pattern by pattern. With no graph named, a pattern matches the union of
the store's graphs and each triple is returned once, however many graphs hold it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import rdflib
from rdflib.store import Store

from .rdfterms import to_ox, to_rdflib


class ReadOnlyOxigraphStore(Store):
    """rdflib's Store interface (read side) over `pyoxigraph.Store.read_only(path)`."""

    context_aware = True
    graph_aware = True
    formula_aware = False
    transaction_aware = False

    def __init__(self, path: str):
        super().__init__()
        self._store = ox.Store.read_only(path)

    def _graph(self, context) -> ox.NamedNode | ox.DefaultGraph | None:
        if context is None:
            return None
        identifier = getattr(context, "identifier", context)
        if identifier == rdflib.graph.DATASET_DEFAULT_GRAPH_ID:
            return None  # the default graph is the union of the graphs
        return to_ox(identifier) if not isinstance(identifier, rdflib.BNode) else ox.BlankNode(str(identifier))

    def triples(self, pattern, context=None) -> Iterator:
        s, p, o = (None if t is None or isinstance(t, rdflib.Variable) else to_ox(t) for t in pattern)
        if isinstance(s, ox.Literal) or (p is not None and not isinstance(p, ox.NamedNode)):
            return  # no triple has a literal subject or a non-IRI predicate (path closures ask from every node)
        graph = self._graph(context)
        if graph is not None:
            ctx = context if isinstance(context, rdflib.Graph) else None
            for quad in self._store.quads_for_pattern(s, p, o, graph):
                if self._visible(quad):
                    yield (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)), iter([ctx])
            return
        seen = set()
        for quad in self._store.quads_for_pattern(s, p, o, None):
            key = (quad.subject, quad.predicate, quad.object)
            if key in seen or not self._visible(quad):
                continue
            seen.add(key)
            yield (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)), iter([None])

    def _visible(self, quad: ox.Quad) -> bool:
        """Whether a quad of the store is read (all are; a view may hide some)."""
        return True

    def __len__(self, context=None) -> int:
        graph = self._graph(context)
        if graph is not None:
            return sum(1 for _ in self._store.quads_for_pattern(None, None, None, graph))
        return len({(q.subject, q.predicate, q.object) for q in self._store})

    def contexts(self, triple=None) -> Iterator[rdflib.Graph]:
        for name in self._store.named_graphs():
            yield rdflib.Graph(store=self, identifier=to_rdflib(name))

    def add(self, *args, **kwargs):
        raise PermissionError("the cohort store is read-only here")

    addN = remove = remove_graph = add

    def add_graph(self, graph) -> None:
        """Registering a graph writes nothing: rdflib's Dataset registers its default graph
        while reading (GRAPH ?g iterates the contexts), so this must not refuse."""

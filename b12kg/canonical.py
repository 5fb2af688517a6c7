"""Reproducible RDF: the same assessment serialised to the same bytes.

Quads are written in sorted order (graph, subject, predicate, object as N-Quads
terms), so a diff of two outputs shows only what changed. b12kg's own graphs carry
no blank nodes (the reasoner's anonymous classes are dropped, see
reason.INFERRED_LEAVES_OUT); blank nodes from a native RDF input are relabelled by
the W3C RDF Dataset Canonicalization algorithm (RDFC-1.0), so their labels do not
depend on the parser's random ones either.
"""

from __future__ import annotations

import pyoxigraph as ox

from .reason import INFERRED_LEAVES_OUT

FORMATS = {"turtle": ox.RdfFormat.TURTLE, "trig": ox.RdfFormat.TRIG, "jsonld": ox.RdfFormat.JSON_LD,
           "nt": ox.RdfFormat.N_TRIPLES, "nquads": ox.RdfFormat.N_QUADS}
_COMMENTED = {"turtle", "trig", "nt", "nquads"}
"""Formats with '#' comments: the output starts with what the inferred graph leaves out."""


def _has_blank_nodes(quads: list[ox.Quad]) -> bool:
    return any(isinstance(term, ox.BlankNode) for q in quads for term in (q.subject, q.object, q.graph_name))


def canonical_quads(quads: list[ox.Quad], merge_graphs: bool = False) -> list[ox.Quad]:
    """`quads` without duplicates, in a stable order, blank nodes canonically labelled;
    with `merge_graphs` all in the default graph."""
    if merge_graphs:
        quads = [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads]
    dataset = ox.Dataset(quads)
    if _has_blank_nodes(quads):
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(dataset, key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))


def serialize(quads: list[ox.Quad], fmt: str, prefixes: dict[str, str] | None = None) -> str:
    """The quads in one of FORMATS; formats without named graphs merge them."""
    rdf_format = FORMATS[fmt]
    ordered = canonical_quads(quads, merge_graphs=not rdf_format.supports_datasets)
    kwargs = {"prefixes": prefixes} if prefixes and fmt in ("turtle", "trig") else {}
    text = ox.serialize(ordered, format=rdf_format, **kwargs).decode("utf-8")
    if fmt in _COMMENTED:
        text = f"# {INFERRED_LEAVES_OUT}\n{text}"
    return text

"""OWL reasoning behind one small interface, with interchangeable backends.

Each backend takes the ontology's axioms (TBox, prepared once) and one chunk's facts
(ABox: the asserted graph and what the classification rules inferred) and adds only the
new triples about the patients to the inferred graph, so asserted and inferred facts
stay in separate graphs. Backends:

- ``compiled``: OWL 2 RL as ``reasonable`` computes it, compiled from the ontology once per
  process (the ontology's closure, then tables and templates of the rules) and run on
  the chunk's pyoxigraph terms (compiled.py). Default: no per-chunk ontology reading, no
  rdflib round trip; tests/test_reason.py requires it to equal ``reasonable``.
- ``reasonable``: OWL 2 RL in Rust, on rdflib terms; the reference for ``compiled``
  (complete for this ontology: value sets are class assertions, bands are computed by
  queries/classify).
- ``owlrl``: OWL 2 RL in pure Python, the W3C reference implementation; slow.
- ``hermit``: OWL 2 DL with owlready2 + HermiT (needs Java); slowest, for checking.

The choice and its measurements are in README.md and benchmarks/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import pyoxigraph as ox
import rdflib
from rdflib import OWL, RDF, RDFS, XSD, BNode, Literal

Triple = tuple[rdflib.term.Node, rdflib.term.Node, rdflib.term.Node]


def axioms(ontology: rdflib.Graph) -> list[Triple]:
    """The ontology's logical triples: annotations with literal values are left out."""
    return [t for t in ontology if not isinstance(t[2], Literal)]


INFERRED_LEAVES_OUT = (
    "The inferred graph holds what the OWL reasoner entails about the patient's facts, "
    "without: statements about the ontology's blank nodes (memberships of anonymous "
    "restriction and union classes), owl:sameAs of a node with itself, memberships of owl:Thing and "
    "rdfs:Resource, and copies of asserted facts (the same triple, a plain literal "
    "re-typed as xsd:string).")
"""What `readable` drops, stated in the output (README: Reproducible RDF)."""

_TAUTOLOGICAL_CLASSES = {OWL.Thing, RDFS.Resource}


def _plain(term: rdflib.term.Node) -> rdflib.term.Node:
    """A literal typed xsd:string as the plain literal it equals in RDF 1.1."""
    if isinstance(term, Literal) and term.datatype == XSD.string:
        return Literal(str(term))
    return term


def readable(inferred: Iterable[Triple], facts: Iterable[Triple]) -> set[Triple]:
    """The entailments a reader can use (see INFERRED_LEAVES_OUT); they go to a store, so
    unordered (sorting rdflib terms cost 0.3 ms per patient)."""
    facts = list(facts)
    known = {(s, p, _plain(o)) for s, p, o in facts}
    own_blanks = {term for triple in facts for term in triple if isinstance(term, BNode)}
    kept = set()
    for s, p, o in inferred:
        o = _plain(o)
        if (s, p, o) in known or (p == RDF.type and o in _TAUTOLOGICAL_CLASSES) or (p == OWL.sameAs and s == o):
            continue
        if any(isinstance(term, BNode) and term not in own_blanks for term in (s, p, o)):
            continue
        kept.add((s, p, o))
    return kept


class Reasoner(Protocol):
    """Computes what the ontology entails about one chunk's facts."""

    name: str


class RdflibReasoner(Reasoner, Protocol):
    """A reference backend: rdflib triples in, new rdflib triples out."""

    def infer(self, facts: Iterable[Triple]) -> set[Triple]:
        """New triples entailed by the ontology and `facts` (neither already present)."""
        ...


def materialise(reasoner: Reasoner, store: ox.Store, asserted: Callable[[], list[Triple]], graphs: list[ox.NamedNode],
                inferred: ox.NamedNode) -> None:
    """Add to the `inferred` graph of the store what the ontology entails about the facts of
    `graphs` (the asserted graph, whose triples as rdflib terms `asserted()` makes for a
    reference backend, and the inferred one), filtered as INFERRED_LEAVES_OUT says."""
    if hasattr(reasoner, "materialise"):
        reasoner.materialise(store, graphs, inferred)
        return
    from ..rdfterms import to_ox, to_rdflib

    facts = asserted()
    facts += [tuple(to_rdflib(t) for t in (q.subject, q.predicate, q.object))
              for q in store.quads_for_pattern(None, None, None, graphs[-1])]
    entailed = readable(reasoner.infer(facts), facts)
    store.extend([ox.Quad(to_ox(s), to_ox(p), to_ox(o), inferred) for s, p, o in entailed])


DEFAULT = "compiled"

from .compiled import CompiledReasoner  # noqa: E402 (they read the helpers above)
from .reference import (  # noqa: E402
    TBOX_FOLDER_PREFIX,  # noqa: F401
    HermitReasoner,
    OwlrlReasoner,
    ReasonableReasoner,
    _remove_orphans,  # noqa: F401
)

BACKENDS: dict[str, type] = {"compiled": CompiledReasoner, "reasonable": ReasonableReasoner, "owlrl": OwlrlReasoner,
                             "hermit": HermitReasoner}


def make_reasoner(name: str, ontology: rdflib.Graph) -> Reasoner:
    """A prepared reasoner backend by name."""
    try:
        return BACKENDS[name](ontology)
    except KeyError:
        raise ValueError(f"unknown reasoner {name!r}; choose from {', '.join(BACKENDS)}") from None

"""Patient facts (load.facts terms) handed on: to a pyoxigraph store, as N-Triples or quads, and
to rdflib (the OWL reasoner's input, pySHACL's graphs). Terms recur across records (classes,
properties, codes, units), so their pyoxigraph and rdflib forms are memoised."""

from __future__ import annotations

import pyoxigraph as ox

from .facts import XSD_STRING, Blank, Facts, from_rdflib, to_rdflib  # noqa: F401 (from_rdflib: a name of this stage)

_OX: dict = {}
"""Term -> its pyoxigraph term, memoised (classes, properties and codes recur in every record)."""


def to_ox(term):
    """A term as pyoxigraph's."""
    kind = type(term)
    if kind is Blank:
        return ox.BlankNode(term)
    found = _OX.get(term)
    if found is not None:
        return found
    if kind is str:
        found = ox.NamedNode(term)
    elif kind is tuple:
        if len(term) == 3:
            found = ox.Literal(term[0], language=term[2])
        elif term[1] == XSD_STRING:
            found = ox.Literal(term[0])
        else:
            found = ox.Literal(term[0], datatype=to_ox(term[1]))
    if len(_OX) > 50_000:
        _OX.clear()
    _OX[term] = found
    return found


def quads(facts: Facts, graph) -> list:
    """The facts as pyoxigraph quads in one named graph (a pyoxigraph NamedNode)."""
    found = []
    for s, by_predicate in facts._spo.items():
        subject = to_ox(s)
        for p, objects in by_predicate.items():
            predicate = to_ox(p)
            found.extend(ox.Quad(subject, predicate, to_ox(o), graph) for o in objects)
    return found


_RDFLIB: dict = {}
"""Term -> its rdflib term, memoised like _OX."""


def rdflib_triples(facts: Facts) -> list[tuple]:
    """The facts as rdflib triples (for the OWL reasoner)."""
    found = []
    memo = _RDFLIB
    if len(memo) > 50_000:
        memo.clear()
    for triple in facts:
        converted = []
        for term in triple:
            if type(term) is Blank:
                converted.append(to_rdflib(term))
                continue
            known = memo.get(term)
            if known is None:
                known = memo[term] = to_rdflib(term)
            converted.append(known)
        found.append(tuple(converted))
    return found


def put_facts(store: ox.Store, facts: list[Facts], graph: ox.NamedNode) -> None:
    """Several patients' facts into one named graph of a store: parsed from N-Triples in one
    call (faster than building a pyoxigraph quad per triple), except facts with blank nodes,
    whose labels N-Triples loading would change."""
    text = "".join(f.ntriples() for f in facts if not f.has_blank_nodes())
    if text:
        store.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
    for f in facts:
        if f.has_blank_nodes():
            store.extend(quads(f, graph))

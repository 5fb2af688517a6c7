"""The default reasoner: OWL 2 RL compiled from the ontology once per process.

At load, the ontology's closure is computed (engine.closure) and the rules are compiled
from it into tables and templates (rules.py): nothing here names a class or property of
b12kg's ontologies, so editing the ontology changes the reasoning. Per chunk, the
entailments of its facts (the asserted graph and what the classification rules put in the
inferred graph) are computed in Python on pyoxigraph terms, filtered as `readable`
filters and written to the inferred graph: no rdflib conversion, no Rust call. Facts that
would change the schema (a triple with an OWL/RDFS axiom predicate, a list, an rdf:_n
property) are reasoned from scratch with the ontology, as `reasonable` does every time.
"""

from __future__ import annotations

import gc

import pyoxigraph as ox

from .engine import Run, SchemaChanged, closure
from .rules import FIRST, LITERAL, RESOURCE, REST, SAME_AS, THING, TYPE, container_axioms


class CompiledReasoner:
    """OWL 2 RL as `reasonable` computes it, with the ontology's part compiled once."""

    name = "compiled"

    def __init__(self, ontology):
        """`ontology`: the ontology's rdflib graph, or a Knowledge (its quads: the same triples in
        the same order, with no rdflib graph to build when the knowledge came from an image)."""
        if hasattr(ontology, "quads"):
            self._axioms = [(q.subject, q.predicate, q.object) for q in ontology.quads if type(q.object) is not ox.Literal]
        else:
            from ..rdfterms import to_ox
            from . import axioms

            self._axioms = [(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in axioms(ontology)]
        self._base, self._tables, self._templates, self._index = closure(self._axioms)

    def materialise(self, store: ox.Store, graphs: list[ox.NamedNode], inferred: ox.NamedNode) -> None:
        """Add to `inferred` what the ontology entails about the facts of `graphs` (the asserted
        graph, then the inferred one), filtered as reason.INFERRED_LEAVES_OUT says."""
        collecting = gc.isenabled()
        gc.disable()  # tens of thousands of short-lived tuples, none in a cycle: no collection pass for them
        try:
            asserted, classified = ({(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, g)}
                                    for g in (graphs[0], graphs[-1]))
            store.extend([ox.Quad(s, p, o, inferred) for s, p, o in self.entail(asserted, classified)])
        finally:
            if collecting:
                gc.enable()

    def entail(self, facts: set, classified: set = frozenset()) -> list[tuple]:
        """The readable entailments of the facts (pyoxigraph terms), in no order. `classified`:
        more facts, made by SPARQL rules, whose literals the reference path hands to the
        reasoner through rdflib (which rewrites the lexical form of a number or a date)."""
        handed = facts | self._handed(classified, every=False)
        known, equality = self._entail(handed)
        if equality and any(type(o) is ox.Literal for _, _, o in classified):  # eq-rep reads every literal
            handed = facts | self._handed(classified, every=True)
            known, _ = self._entail(handed)
        return _readable(known, handed, self._base)

    def _entail(self, facts: set) -> tuple[set, bool]:
        predicates = {p for _, p, _ in facts}
        try:
            if FIRST in predicates or REST in predicates or container_axioms((None, p, None) for p in predicates):
                raise SchemaChanged("lists or container memberships")
            run = Run(self._tables, self._templates, self._index, self._base)
            return run.add(facts), run.index.equality
        except SchemaChanged:  # reasoned from scratch, with the tables these facts make
            return closure([*self._axioms, *facts, *container_axioms(facts)])[0], True

    def _handed(self, classified: set, every: bool) -> set:
        """The classified facts as the reasoner would see them: their literals through rdflib
        where a join reads them (or `every` literal)."""
        templates, values, handed = self._templates, self._templates.values, set()
        for triple in classified:
            s, p, o = triple
            if type(o) is ox.Literal:
                key = (p, s if s in values else None, LITERAL)
                template = templates.get(key, False)
                if template is False:
                    template = templates.make(key)
                if every or template is None or template.reads_object:
                    triple = (s, p, _returned(o))
            handed.add(triple)
        return handed


def _readable(known: set, facts: set, base: frozenset) -> list[tuple]:
    """What reason.readable keeps of `known` (the ontology's closure and the facts left out),
    literals as the rdflib round trip of the reference path gives them back."""
    kept, own_blanks, plain_facts = [], None, None
    for triple in known:
        s, p, o = triple
        if type(o) is ox.BlankNode or type(s) is ox.BlankNode:
            if own_blanks is None:
                own_blanks = {t for f in facts for t in (f[0], f[2]) if type(t) is ox.BlankNode}
            if (type(s) is ox.BlankNode and s not in own_blanks) or (type(o) is ox.BlankNode and o not in own_blanks):
                continue  # the ontology's anonymous classes
        if triple in facts or triple in base or type(s) is ox.Literal or type(p) is not ox.NamedNode:
            continue  # a literal subject (a range or an inverse on a literal) is generalised RDF: no statement
        if (p == TYPE and o in (THING, RESOURCE)) or (p == SAME_AS and s == o):
            continue
        if type(o) is ox.Literal:
            if plain_facts is None:
                plain_facts = {(a, b, _returned(c)) for a, b, c in facts if type(c) is ox.Literal}
            o = _returned(o)
            if (s, p, o) in plain_facts:
                continue
        kept.append((s, p, o))
    return kept


def _returned(literal: ox.Literal) -> ox.Literal:
    """A literal as the reference path hands it back: through rdflib, which writes the
    lexical form of a number, date or boolean its own way."""
    from ..rdfterms import to_ox, to_rdflib

    return to_ox(to_rdflib(literal))

"""The fixpoint of the rules (rules.py) over triples, added to a closed base (the ontology's closure).

A `Run` takes triples and adds each with its template (what it entails through the
one-triple rules); the triples a join rule reads are indexed and joined with what is
already known, base and run alike, and what the joins entail is added the same way, until
nothing is new. The base is read, never changed: a run keeps its own copy of an index
entry it extends. `closure` computes a closure from nothing, reading the tables again
from what it entailed until they no longer change: the ontology's closure at load, and a
chunk's when its facts would change the tables (`SchemaChanged`).
"""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox

from .rules import EMPTY, LITERAL, SAME_AS, SCHEMA_CLASSES, SCHEMA_PREDICATES, SEED, SUBCLASS, TYPE, Tables, Templates, lists, schema_shaped


class SchemaChanged(Exception):
    """A triple of the run would change the tables it was compiled from."""


def _get(table: dict, base: dict, key):
    found = table.get(key)
    return base.get(key, EMPTY) if found is None else found


def _put(table: dict, base: dict, key, value) -> None:
    found = table.get(key)
    if found is None:
        found = table[key] = set(base.get(key, EMPTY))
    found.add(value)


class Index:
    """The known triples a join reads: types of nodes, objects and subjects of the indexed
    predicates, pairs of the inverse-functional ones and, once two nodes are the same,
    every triple by subject, predicate and object. An index over a base holds the entries
    it changed (copied from the base's first)."""

    def __init__(self, base: Index | None = None):
        self.base = base or _EMPTY_INDEX
        self.types, self.out, self.into, self.pairs, self.same = {}, {}, {}, {}, {}
        self.by_subject, self.by_predicate, self.by_object = {}, {}, {}
        self.equality = False
        """Whether nodes are known to be the same (then the eq-rep rules read every triple)."""

    def index_all(self, triple) -> None:
        s, p, o = triple
        base = self.base
        _put(self.by_subject, base.by_subject, s, (p, o))
        _put(self.by_predicate, base.by_predicate, p, (s, o))
        _put(self.by_object, base.by_object, o, (s, p))


_EMPTY_INDEX = Index.__new__(Index)
_EMPTY_INDEX.types = _EMPTY_INDEX.out = _EMPTY_INDEX.into = _EMPTY_INDEX.pairs = _EMPTY_INDEX.same = {}
_EMPTY_INDEX.by_subject = _EMPTY_INDEX.by_predicate = _EMPTY_INDEX.by_object = {}
_EMPTY_INDEX.equality = False


class Run:
    """One fixpoint over a base with fixed tables."""

    def __init__(self, tables: Tables, templates: Templates, base_index: Index | None, base_triples=EMPTY,
                 strict: bool = True):
        self.tables, self.templates = tables, templates
        self.base = base_triples
        self.index = Index(base_index)
        self.known: set = set()
        self.given = ()
        self.strict = strict
        """Raise SchemaChanged on a triple that changes the tables (else the caller reads them again)."""
        same = templates.get((SAME_AS, None, None), False)
        same = templates.make((SAME_AS, None, None)) if same is False else same
        self.reflexive_inert = templates.base is not None and same is not None and same.live is None
        """Whether `x owl:sameAs x` entails nothing (neither the rules nor the output read it): then
        prp-fp does not make it."""
        self.type_joined = TYPE in tables.join_predicates
        if base_index is not None and base_index.equality:
            self._start_equality()

    def add(self, triples) -> set:
        """Add triples and what they entail; returns the entailments (without what no join reads
        and no output holds) and what the joins entailed."""
        known, templates, todo = self.known, self.templates, []
        values, made, index, literal = templates.values, templates.get, self.index, ox.Literal
        self.given = triples
        for given in (triples, todo):
            for triple in given:  # todo grows while it is read
                if triple in known:
                    continue
                if given is todo:
                    known.add(triple)
                if index.equality:
                    self._replace(triple, todo)
                s, p, o = triple
                if p == TYPE:
                    key = (p, s if s in values else None, o)
                else:
                    key = (p, s if s in values else None, o if o in values else LITERAL if type(o) is literal else None)
                template = made(key, False)
                if template is False:
                    template = templates.make(key)
                if template is None:
                    template = templates.exact(s, p, o)
                elif template.trivial:
                    continue
                if template.seed_joined:
                    self._join_any(triple, todo)
                if template.live is not None:
                    new = set(template.live(s, o))
                    new -= known
                    known |= new
                    if template.joined is not None:
                        for t in template.joined(s, o):
                            if t in new:
                                self._join_any(t, todo)
                    if index.equality:
                        for t in new:
                            self._replace(t, todo)
        return known

    def _join_any(self, triple, todo: list) -> None:
        if triple[1] == TYPE:
            self._join_type(triple, todo)
            if not self.type_joined:
                return
        self._join(triple, todo)

    def _join_type(self, triple, todo: list) -> None:
        s, _, c = triple
        tables, index = self.tables, self.index
        if self.strict and c in SCHEMA_CLASSES and triple not in self.base:
            raise SchemaChanged(triple)
        _put(index.types, index.base.types, s, c)
        intersections = tables.intersections_with.get(c)
        if intersections is not None:  # cls-int1
            types = index.types[s]
            todo.extend((s, TYPE, intersection) for intersection, members in intersections if members <= types)
        for restriction, q in tables.some_values_of.get(c, ()):  # cls-svf1, the filler's side
            todo.extend((u, TYPE, restriction) for u in _get(index.into, index.base.into, (q, s)))
        for q, filler in tables.all_values.get(c, ()):  # cls-avf, the restriction's side
            todo.extend((v, TYPE, filler) for v in _get(index.out, index.base.out, (s, q)))

    def _join(self, triple, todo: list) -> None:
        s, p, o = triple
        tables, index = self.tables, self.index
        base = index.base
        if self.strict and p in SCHEMA_PREDICATES and triple not in self.base:
            raise SchemaChanged(triple)
        if p in tables.indexed:
            _put(index.out, base.out, (s, p), o)
            _put(index.into, base.into, (p, o), s)
            for restriction, filler in tables.some_values_on.get(p, ()):  # cls-svf1
                if filler in _get(index.types, base.types, o):
                    todo.append((s, TYPE, restriction))
            for restriction, filler in tables.all_values_on.get(p, ()):  # cls-avf
                if restriction in _get(index.types, base.types, s):
                    todo.append((o, TYPE, filler))
            if p in tables.transitive or p == SUBCLASS:  # prp-trp, rdfs11
                todo.extend((s, p, z) for z in _get(index.out, base.out, (o, p)))
                todo.extend((w, p, o) for w in _get(index.into, base.into, (p, s)))
            if p in tables.functional:  # prp-fp: every pair of objects of a subject, itself too
                for y in index.out[(s, p)]:
                    if y != o or not self.reflexive_inert or index.equality or o in tables.values:
                        todo.extend(((o, SAME_AS, y), (y, SAME_AS, o)))
        if p in tables.inverse_functional:  # prp-ifp as reasonable joins it: on the property only
            _put(index.pairs, base.pairs, p, (s, o))
            for x, _ in index.pairs[p]:
                todo.extend(((s, SAME_AS, x), (x, SAME_AS, s)))
        if p == SAME_AS and s != o:  # a node the same as itself entails nothing new (eq-* give it anyway)
            if not index.equality:
                self._start_equality()
            _put(index.same, base.same, s, o)
            todo.append((o, SAME_AS, s))  # eq-sym
            for x in index.same[s]:  # eq-trans, joined as reasonable does: (y same z), (y same x) => (x same z)
                todo.extend(((x, SAME_AS, o), (o, SAME_AS, x)))
            todo.extend((o, q, v) for q, v in _get(index.by_subject, base.by_subject, s))  # eq-rep-s
            todo.extend((x, o, y) for x, y in _get(index.by_predicate, base.by_predicate, s))  # eq-rep-p
            todo.extend((x, q, o) for x, q in _get(index.by_object, base.by_object, s))  # eq-rep-o

    def _start_equality(self) -> None:
        """From the first two nodes known to be the same on, every triple is indexed (the base's
        are, see `closure`)."""
        self.index.equality = True
        for t in (*self.known, *self.given):
            self.index.index_all(t)

    def _replace(self, triple, todo: list) -> None:
        """eq-rep-s/p/o for a new triple, with what is already the same as its terms."""
        index = self.index
        index.index_all(triple)
        s, p, o = triple
        same, base = index.same, index.base.same
        todo.extend((x, p, o) for x in _get(same, base, s))
        todo.extend((s, x, o) for x in _get(same, base, p))
        todo.extend((s, p, x) for x in _get(same, base, o))


def closure(triples) -> tuple[set, Tables, Templates, Index]:
    """The closure of triples from nothing (the seed triples added), reading the tables again
    from it until they are those it was computed with; with its tables, templates and index."""
    given = list(dict.fromkeys([*SEED, *triples]))
    list_members = lists(given)
    known: set = set(given)
    schema = None
    while True:
        fresh = frozenset(t for t in known if schema_shaped(t))  # all the tables read
        if fresh == schema:
            break
        schema = fresh
        by_predicate = defaultdict(list)
        for s, p, o in schema:
            by_predicate[p].append((s, o))
        tables = Tables(by_predicate, list_members)
        templates = Templates(tables)
        run = Run(tables, templates, None, strict=False)
        known = run.add(known) | known
    index = run.index
    for t in known:  # the base of later runs: indexed whole, for the joins and for equality
        index.index_all(t)
        if t[1] == TYPE:
            _put(index.types, {}, t[0], t[2])
    known = frozenset(known)
    return known, tables, Templates(tables, known), index

"""The OWL 2 RL rules of `reasonable`, as tables read from a closed ontology and a fixpoint engine.

`Tables.read` reads what each rule needs from a set of triples (class -> superclasses,
property -> domains, ranges, superproperties, inverses; the intersections, unions and
restrictions; the property characteristics). The rules that read one triple and the
tables (cax-sco, cax-eqc, cls-thing, prp-dom, prp-rng, prp-spo1, prp-eqp, prp-inv, prp-symp,
cls-int2, cls-uni, cls-hv1, cls-hv2, cls-svf2, scm-eqc) are folded, per predicate or class,
into one template of everything a triple entails through them (`Templates`); the rules that
join two triples (cls-int1, cls-svf1, cls-avf, prp-trp, prp-fp, prp-ifp, rdfs11, eq-sym,
eq-trans, eq-rep-s/p/o) run on indexes (`Run`). The set of rules, and their quirks, are
those of `reasonable` 0.4 (lib/src/reasoner.rs), the reference this must equal:

- cls-thing types every subject (also a literal subject an inverse or a range made);
- prp-ifp makes any two subjects of an inverse-functional property the same, whatever
  their objects (reasonable's join does not compare them), and so does this;
- lists (intersections, unions) are read from the input triples, not entailed ones;
- no eq-ref, cls-maxc, prp-key, prp-spo2, cls-oo: reasonable implements none of them;
- a class with two owl:intersectionOf (or owl:unionOf) lists: reasonable keeps one of
  them for cls-int1 (a hash map), this keeps both, as OWL 2 RL says (no ontology of b12kg
  has one);
- the checks that only report (cax-dw, prp-irp, prp-asyp, prp-pdw, cls-com, cls-nothing2,
  datatypes) entail nothing and are left out.
"""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox

_RDF, _RDFS, _OWL = "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#"
TYPE, FIRST, REST, NIL = (ox.NamedNode(_RDF + n) for n in ("type", "first", "rest", "nil"))
SUBCLASS, SUBPROPERTY, DOMAIN, RANGE, RESOURCE = (ox.NamedNode(_RDFS + n) for n in ("subClassOf", "subPropertyOf", "domain", "range", "Resource"))
(THING, NOTHING, CLASS, SAME_AS, EQUIVALENT_CLASS, EQUIVALENT_PROPERTY, INVERSE_OF, INTERSECTION_OF, UNION_OF, HAS_VALUE,
 ON_PROPERTY, ALL_VALUES_FROM, SOME_VALUES_FROM, FUNCTIONAL, INVERSE_FUNCTIONAL, SYMMETRIC, TRANSITIVE) = (
    ox.NamedNode(_OWL + n) for n in (
        "Thing", "Nothing", "Class", "sameAs", "equivalentClass", "equivalentProperty", "inverseOf", "intersectionOf",
        "unionOf", "hasValue", "onProperty", "allValuesFrom", "someValuesFrom", "FunctionalProperty",
        "InverseFunctionalProperty", "SymmetricProperty", "TransitiveProperty"))

SEED = ((THING, TYPE, CLASS), (NOTHING, TYPE, CLASS))
"""What reasonable holds before any input (cls-thing, cls-nothing1)."""
SCHEMA_PREDICATES = frozenset({SUBCLASS, SUBPROPERTY, DOMAIN, RANGE, EQUIVALENT_CLASS, EQUIVALENT_PROPERTY, INVERSE_OF,
                               INTERSECTION_OF, UNION_OF, HAS_VALUE, ON_PROPERTY, ALL_VALUES_FROM, SOME_VALUES_FROM})
SCHEMA_CLASSES = frozenset({FUNCTIONAL, INVERSE_FUNCTIONAL, SYMMETRIC, TRANSITIVE})
"""A triple with one of these predicates (or a type among these classes) changes the tables."""
_CONTAINER = _RDF + "_"

Triple = tuple
EMPTY: frozenset = frozenset()


def schema_shaped(triple: Triple) -> bool:
    return triple[1] in SCHEMA_PREDICATES or (triple[1] == TYPE and triple[2] in SCHEMA_CLASSES)


def container_axioms(triples) -> list[Triple]:
    """reasonable's rdfs12: each rdf:_n predicate of the input is a container membership property."""
    found = {p for _, p, _ in triples if p.value.startswith(_CONTAINER) and p.value[len(_CONTAINER):].isascii()
             and p.value[len(_CONTAINER):].isdigit() and int(p.value[len(_CONTAINER):]) > 0}
    return [t for p in found for t in ((p, TYPE, ox.NamedNode(_RDF + "Property")),
                                      (p, TYPE, ox.NamedNode(_RDFS + "ContainerMembershipProperty")),
                                      (p, SUBPROPERTY, ox.NamedNode(_RDFS + "member")))]


def lists(triples) -> dict:
    """Each list node's members, as reasonable reads them: the rdf:first values of every node
    linked to it by rdf:rest (not to rdf:nil), in no order."""
    parent: dict = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    firsts, nodes = [], set()
    for s, p, o in triples:
        if p == REST and o != NIL:
            nodes.update((s, o))
            a, b = find(s), find(o)
            if a != b:
                parent[a] = b
        elif p == FIRST:
            firsts.append((s, o))
            nodes.add(s)
    members = defaultdict(list)
    for node, value in firsts:
        members[find(node)].append(value)
    return {node: members[find(node)] for node in nodes if find(node) in members}


def _grouped(pairs, both=False) -> dict:
    table = defaultdict(list)
    for a, b in pairs:
        table[a].append(b)
        if both:
            table[b].append(a)
    return {k: tuple(dict.fromkeys(v)) for k, v in table.items()}


class Tables:
    """What the rules read from the schema, as lookups (see the module docstring)."""

    def __init__(self, by_predicate: dict, list_members: dict):
        def pairs(p):
            return by_predicate.get(p, ())

        typed = _grouped((c, x) for x, c in pairs(TYPE) if c in SCHEMA_CLASSES)
        self.symmetric, self.transitive, self.functional, self.inverse_functional = (
            frozenset(typed.get(c, ())) for c in (SYMMETRIC, TRANSITIVE, FUNCTIONAL, INVERSE_FUNCTIONAL))
        self.domain, self.range, self.superproperty = (_grouped(pairs(p)) for p in (DOMAIN, RANGE, SUBPROPERTY))
        self.equivalent_property = _grouped(pairs(EQUIVALENT_PROPERTY), both=True)
        self.inverse = _grouped(pairs(INVERSE_OF), both=True)
        self.superclass = _grouped(pairs(SUBCLASS))
        self.equivalent_class = _grouped(pairs(EQUIVALENT_CLASS), both=True)
        intersections = [(c, tuple(dict.fromkeys(list_members[node]))) for c, node in pairs(INTERSECTION_OF) if list_members.get(node)]
        self.conjuncts = _grouped((c, m) for c, members in intersections for m in members)  # cls-int2
        self.intersections_with = _grouped((m, (c, frozenset(members))) for c, members in intersections for m in members)  # cls-int1
        self.unions_with = _grouped((m, c) for c, node in pairs(UNION_OF) for m in list_members.get(node, ()))
        on = _grouped(pairs(ON_PROPERTY))
        has_value = [(r, p, y) for r, y in pairs(HAS_VALUE) for p in on.get(r, ())]
        self.has_value = _grouped((r, (p, y)) for r, p, y in has_value)  # cls-hv1
        self.value_restrictions = _grouped((p, (y, r)) for r, p, y in has_value)  # cls-hv2
        self.values = frozenset(y for _, _, y in has_value)
        all_values = [(r, p, y) for r, y in pairs(ALL_VALUES_FROM) for p in on.get(r, ())]
        self.all_values = _grouped((r, (p, y)) for r, p, y in all_values)
        self.all_values_on = _grouped((p, (r, y)) for r, p, y in all_values)
        some = [(r, p, y) for r, y in pairs(SOME_VALUES_FROM) for p in on.get(r, ())]
        self.some_thing = _grouped((p, r) for r, p, y in some if y == THING)  # cls-svf2 (and cls-svf1 with owl:Thing)
        self.some_values_on = _grouped((p, (r, y)) for r, p, y in some if y != THING)  # cls-svf1
        self.some_values_of = _grouped((y, (r, p)) for r, p, y in some if y != THING)
        self.indexed = frozenset(self.some_values_on) | frozenset(self.all_values_on) | self.transitive | self.functional | {SUBCLASS}
        """Predicates whose triples the joins look up by subject and by object."""
        self.join_classes = frozenset(self.intersections_with) | frozenset(self.some_values_of) | frozenset(self.all_values) | SCHEMA_CLASSES
        self.join_predicates = self.indexed | self.inverse_functional | SCHEMA_PREDICATES | {SAME_AS}

    def relevant(self, triple: Triple) -> bool:
        """Whether a join rule reads this triple."""
        return triple[1] in self.join_predicates or (triple[1] == TYPE and triple[2] in self.join_classes)

    def one_step(self, triple: Triple):
        """What one triple entails through the rules that read one triple and the tables."""
        a, p, b = triple
        yield a, TYPE, THING
        for c in self.domain.get(p, ()):
            yield a, TYPE, c
        for c in self.range.get(p, ()):
            yield b, TYPE, c
        for q in self.superproperty.get(p, ()) + self.equivalent_property.get(p, ()):
            yield a, q, b
        for q in self.inverse.get(p, ()):
            yield b, q, a
        if p in self.symmetric:
            yield b, p, a
        for r in self.some_thing.get(p, ()):
            yield a, TYPE, r
        for y, r in self.value_restrictions.get(p, ()):
            if b == y:
                yield a, TYPE, r
        if p == EQUIVALENT_CLASS:  # scm-eqc1, scm-eqc2
            yield a, SUBCLASS, b
            yield b, SUBCLASS, a
        if p == TYPE:
            for c in self.superclass.get(b, ()) + self.equivalent_class.get(b, ()) + self.conjuncts.get(b, ()) + self.unions_with.get(b, ()):
                yield a, TYPE, c
            for q, y in self.has_value.get(b, ()):
                yield a, q, y


_S, _O = ox.BlankNode("b12kg-template-subject"), ox.BlankNode("b12kg-template-object")


class _Exact(Exception):
    """A template whose variables would stand where the rules compare terms: computed per triple."""


class Template:
    """What one triple entails through the one-triple rules, as code: `live(s, o)` the
    entailments a join reads or the output may hold, `joined(s, o)` those a join reads,
    `seed_joined` whether a join reads the triple itself, `trivial` when none of these.
    Left out: memberships of owl:Thing and rdfs:Resource, statements about the ontology's
    blank nodes, about a literal or in the ontology's own closure, unless a join reads
    them."""

    __slots__ = ("joined", "live", "reads_object", "seed_joined", "trivial")

    def __init__(self, seed: Triple, closure: set, tables: Tables, symbolic: bool, base: frozenset | None,
                 literal: bool = False):
        names: dict = {}

        def code(term):
            if symbolic and term == _S:
                return "s"
            if symbolic and term == _O:
                return "o"
            return names.setdefault(term, f"c{len(names)}")

        def function(triples) -> object:
            if not triples:
                return None
            body = ", ".join(f"({code(a)}, {code(p)}, {code(b)})" for a, p, b in triples)
            namespace = {name: term for term, name in names.items()}
            return eval(f"lambda s, o: ({body},)", namespace)

        def shown(t) -> bool:
            if base is None:
                return True  # a closure from nothing keeps everything
            if (t[1] == TYPE and t[2] in (THING, RESOURCE)) or (t[1] == SAME_AS and t[0] == t[2]):
                return False
            if not symbolic:
                return True  # the facts' own terms: reason.readable's filter decides
            if literal and t[0] == _O:
                return False  # generalised RDF: no statement
            constants = [x for x in t if x not in (_S, _O)]
            return not any(type(x) is ox.BlankNode for x in constants) and (len(constants) < 3 or t not in base)

        entailed = sorted((t for t in closure if t != seed), key=str)
        self.joined = function([t for t in entailed if tables.relevant(t)])
        self.live = function([t for t in entailed if tables.relevant(t) or shown(t)])
        self.seed_joined = tables.relevant(seed)
        self.trivial = self.live is None and not self.seed_joined
        self.reads_object = not symbolic or any(_O in t for t in closure if tables.relevant(t))
        """Whether a join reads the object (then its exact term matters)."""


LITERAL = object()
"""In a template's key: the object is a literal (what is said about it is no statement)."""


class Templates(dict):
    """Templates by (predicate, subject or None, object, LITERAL or None), made on first
    use: the subject or object is named only where a rule compares it (a cls-hv2 value, the
    class of a type)."""

    def __init__(self, tables: Tables, base: frozenset | None = None):
        """With the closed `base` later triples are added to (then what it holds is left
        out of templates), or none for a closure from nothing (then templates keep all)."""
        super().__init__()
        self.tables, self.base = tables, base
        self.values = tables.values

    def exact(self, s, p, o) -> Template:
        """The template of one triple, for those whose template cannot have variables."""
        return Template((s, p, o), self._closure((s, p, o), False), self.tables, False, self.base)

    def make(self, key) -> Template | None:
        """The template for a key (see `Templates.key`); None if it must be exact."""
        p, s, o = key
        seed = (_S if s is None else s, p, _O if o is None or o is LITERAL else o)
        try:
            found = Template(seed, self._closure(seed, True), self.tables, True, self.base, literal=o is LITERAL)
        except _Exact:
            found = None
        self[key] = found
        return found

    def _closure(self, seed: Triple, symbolic: bool) -> set:
        closure, todo = {seed}, [seed]
        while todo:
            for t in self.tables.one_step(todo.pop()):
                if symbolic and (t[1] in (_S, _O) or (t[1] == TYPE and t[2] in (_S, _O))):
                    raise _Exact
                if t not in closure:
                    closure.add(t)
                    todo.append(t)
        return closure

"""One patient's facts as plain Python terms, indexed like rdflib's memory store, handed on as
N-Triples (to the chunk's store and to SHACL) without an rdflib Graph.

Terms: an IRI is a `str`; a blank node (native RDF only) a `Blank`; a literal a tuple
(lexical form, datatype IRI) or, with a language, (lexical form, rdf:langString, tag). Plain
strings are xsd:string literals. Literals are built by the functions below, which give the
lexical forms rdflib gave (its normalisation), so what reaches the store is unchanged.

`Facts` keeps two of the indexes of rdflib's Memory store (subject first and predicate first,
each a dict in insertion order, emptied entries kept; the loader asks no pattern that rdflib
answered from its third) so that every pattern lists its triples in the order rdflib listed
them: the order of problems found while reading a file stays what it was.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING, XSD_DATE, XSD_DATETIME, XSD_DECIMAL, XSD_BOOLEAN = (XSD + n for n in ("string", "date", "dateTime", "decimal", "boolean"))
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
PT_NS = "https://w3id.org/b12kg/patient#"


class Blank(str):
    """A blank node's label (native RDF input)."""

    __slots__ = ()


class _Vocabulary:
    """pt:name -> its IRI (a str): `P.code` (one str per name, its hash computed once)."""

    def __getattr__(self, name: str) -> str:
        iri = PT_NS + name
        setattr(self, name, iri)
        return iri


P = _Vocabulary()


def plain(value: str) -> tuple:
    """A plain (xsd:string) literal."""
    return (value, XSD_STRING)


TRUE = ("true", XSD_BOOLEAN)


def decimal(number: Decimal) -> tuple:
    """An xsd:decimal literal of exactly `number`'s digits (rdflib's lexical form of a Decimal)."""
    return (f"{number:f}", XSD_DECIMAL)


_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)")


def typed(lexical: str, datatype: str) -> tuple:
    """A literal of a datatype, its lexical form as rdflib normalises it (a valid date as written,
    anything else as rdflib reads it)."""
    if datatype == XSD_DATE and _valid_date(lexical):
        return (lexical, datatype)
    if datatype == XSD_DATETIME and _valid_datetime(lexical):
        return (lexical, datatype)
    if datatype == XSD_STRING:
        return (lexical, datatype)
    return _rdflib_literal(lexical, datatype)[0]


@lru_cache(maxsize=8192)
def _valid_date(lexical: str) -> bool:
    match = _DATE.fullmatch(lexical)
    if match is None:
        return False
    try:
        date(*map(int, match.groups()))
    except ValueError:
        return False
    return True


def _valid_datetime(lexical: str) -> bool:
    match = _DATETIME.fullmatch(lexical)
    if match is None:
        return False
    try:
        datetime(*map(int, match.groups()))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _rdflib_literal(lexical: str, datatype: str) -> tuple[tuple, bool]:
    """rdflib's reading of a typed literal: (the literal with rdflib's lexical form, ill-typed)."""
    import rdflib

    with rdflib_quiet():
        literal = rdflib.Literal(lexical, datatype=rdflib.URIRef(datatype))
    return (str(literal), datatype), bool(literal.ill_typed)


def ill_typed(literal: tuple) -> bool:
    """Whether a literal's lexical form is not one of its datatype (rdflib's judgement)."""
    lexical, datatype = literal[0], literal[1]
    if datatype in (XSD_STRING, RDF_LANGSTRING):
        return False
    if (datatype == XSD_DATE and _valid_date(lexical)) or (datatype == XSD_DATETIME and _valid_datetime(lexical)):
        return False
    if (datatype == XSD_DECIMAL and _DECIMAL.fullmatch(lexical)) or (datatype == XSD_BOOLEAN and lexical in ("true", "false")):
        return False
    return _rdflib_literal(lexical, datatype)[1]


def lexical(term) -> str:
    """The text of a term: a literal's lexical form, an IRI or a blank node label (rdflib's str())."""
    return term[0] if type(term) is tuple else term


def nt(term) -> str:
    """A term in N-Triples."""
    kind = type(term)
    if kind is str:
        return f"<{term}>"
    if kind is tuple:
        quoted = json.dumps(term[0], ensure_ascii=False)  # JSON's string escapes are N-Triples' ones
        if len(term) == 3:
            return f"{quoted}@{term[2]}"
        return quoted if term[1] == XSD_STRING else f"{quoted}^^<{term[1]}>"
    return f"_:{term}"


class Facts:
    """A set of triples with rdflib's Memory-store indexes and iteration orders (see the module)."""

    __slots__ = ("_pos", "_spo", "count")

    def __init__(self, triples=()):
        self._spo: dict = {}
        self._pos: dict = {}
        self.count = 0
        for s, p, o in triples:
            self.add(s, p, o)

    def add(self, s, p, o) -> None:
        by_predicate = self._spo.get(s)
        if by_predicate is None:
            by_predicate = self._spo[s] = {}
        objects = by_predicate.get(p)
        if objects is None:
            objects = by_predicate[p] = {}
        elif o in objects:
            return
        objects[o] = 1
        by_object = self._pos.get(p)
        if by_object is None:
            by_object = self._pos[p] = {}
        subjects = by_object.get(o)
        if subjects is None:
            by_object[o] = {s: 1}
        else:
            subjects[s] = 1
        self.count += 1

    def remove(self, s, p, o) -> None:
        objects = self._spo.get(s, {}).get(p)
        if objects is None or o not in objects:
            return
        del objects[o]
        del self._pos[p][o][s]
        self.count -= 1

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        for s, predicates in self._spo.items():
            for p, objects in predicates.items():
                for o in objects:
                    yield s, p, o

    def __contains__(self, triple) -> bool:
        s, p, o = triple
        return o in self._spo.get(s, {}).get(p, ())

    def has(self, s, p) -> bool:
        """Whether `s` has a value of `p` ((s, p, None) in graph)."""
        return bool(self._spo.get(s, {}).get(p))

    def objects(self, s, p) -> list:
        return list(self._spo.get(s, {}).get(p, ()))

    def value(self, s, p):
        """The first object of (s, p), else None."""
        for o in self._spo.get(s, {}).get(p, ()):
            return o
        return None

    def subject(self, p, o):
        """The first subject of (p, o), else None (rdflib's graph.value(predicate=p, object=o))."""
        for s in self._pos.get(p, {}).get(o, ()):
            return s
        return None

    def subject_objects(self, p) -> list[tuple]:
        """(s, o) of every triple with predicate p, in rdflib's order (by object first)."""
        return [(s, o) for o, subjects in self._pos.get(p, {}).items() for s in subjects]

    def subjects(self, p=None, o=None) -> list:
        """Subjects of (p, o), of p, or all subjects (each once)."""
        if p is None:
            return [s for s, predicates in self._spo.items() if any(predicates.values())]
        if o is not None:
            return list(self._pos.get(p, {}).get(o, ()))
        return [s for subjects in self._pos.get(p, {}).values() for s in subjects]

    def all_objects(self, p) -> list:
        """Objects of p over every subject (rdflib's graph.objects(None, p))."""
        return [o for o, subjects in self._pos.get(p, {}).items() for _ in subjects]

    def predicate_objects(self, s) -> list[tuple]:
        return [(p, o) for p, objects in self._spo.get(s, {}).items() for o in objects]

    def nodes(self) -> set:
        """The IRIs and blank nodes that are objects."""
        return {o for by_object in self._pos.values() for o, subjects in by_object.items() if subjects and type(o) is not tuple}

    def has_blank_nodes(self) -> bool:
        return any(type(s) is Blank for s in self._spo) or any(type(o) is Blank for o in self.nodes())

    def ntriples(self, predicates: frozenset | None = None) -> str:
        """The facts as N-Triples (only those of some predicates, when given)."""
        lines = []
        for s, by_predicate in self._spo.items():
            subject = nt(s)
            for p, objects in by_predicate.items():
                if predicates is not None and p not in predicates:
                    continue
                for o in objects:
                    lines.append(f"{subject} <{p}> {nt(o)} .\n")
        return "".join(lines)

    def rdflib_graph(self):
        """The facts as an rdflib Graph (for pySHACL, the reference engine, and tests)."""
        import rdflib

        graph = rdflib.Graph(bind_namespaces="none")
        for triple in self:
            graph.add(tuple(to_rdflib(t) for t in triple))
        return graph


def python_date(term) -> date | None:
    """The date a literal stands for, when rdflib reads it as a date (or a dateTime), else None."""
    if type(term) is not tuple:
        return None
    lexical, datatype = term[0], term[1]
    if datatype == XSD_DATE and _valid_date(lexical):
        return date.fromisoformat(lexical)
    if datatype in (XSD_STRING, RDF_LANGSTRING, XSD_DECIMAL):
        return None
    return _rdflib_date(lexical, datatype)


@lru_cache(maxsize=1024)
def _rdflib_date(lexical: str, datatype: str) -> date | None:
    import rdflib

    with rdflib_quiet():
        value = rdflib.Literal(lexical, datatype=rdflib.URIRef(datatype)).toPython()
    return value if isinstance(value, date) else None


def truthy(term) -> bool:
    """A term's truth as rdflib's (`term or default`): a typed literal is false when its value is
    (0, false, an empty text)."""
    if term is None:
        return False
    if type(term) is not tuple or term[1] in (XSD_STRING, RDF_LANGSTRING):
        return bool(lexical(term))
    return _rdflib_truth(term[0], term[1])


@lru_cache(maxsize=1024)
def _rdflib_truth(lexical: str, datatype: str) -> bool:
    import rdflib

    with rdflib_quiet():
        return bool(rdflib.Literal(lexical, datatype=rdflib.URIRef(datatype)))


@contextmanager
def rdflib_quiet() -> Iterator[None]:
    """rdflib logs a traceback (or warns) for every ill-typed literal it builds; b12kg
    reports them as problems instead."""
    logger = logging.getLogger("rdflib.term")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def to_rdflib(term):
    """A term as rdflib's."""
    import rdflib

    kind = type(term)
    if kind is str:
        return rdflib.URIRef(term)
    if kind is tuple:
        if len(term) == 3:
            return rdflib.Literal(term[0], lang=term[2])
        if term[1] == XSD_STRING:
            return rdflib.Literal(term[0])
        return rdflib.Literal(term[0], datatype=rdflib.URIRef(term[1]))
    return rdflib.BNode(term)


def from_rdflib(term):
    """An rdflib term as a term here."""
    import rdflib

    if isinstance(term, rdflib.URIRef):
        return str(term)
    if isinstance(term, rdflib.Literal):
        if term.language:
            return (str(term), RDF_LANGSTRING, term.language)
        return (str(term), str(term.datatype) if term.datatype else XSD_STRING)
    return Blank(str(term))

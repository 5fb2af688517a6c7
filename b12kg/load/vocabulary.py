"""The vocabulary gate: an input may only state patient facts in the patient vocabulary
(ontology/model/patient.ttl), with literals of the right datatype. Axioms, conclusions and
values b12kg computes are refused."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import rdflib
from rdflib import OWL, RDF, RDFS, XSD, BNode, Literal, URIRef

from ..errors import InputRejected, Problem
from ..knowledge import Knowledge
from ..namespaces import PT
from .locate import describe, field_name
from .numbers import DECIMAL, decimal_value, inexact

NUMBERS = (XSD.decimal, XSD.integer, XSD.double)
"""Datatypes read as a number where the vocabulary expects xsd:decimal."""

ANNOTATIONS = frozenset({RDFS.label, RDFS.comment, OWL.imports})
"""Properties outside the patient vocabulary an input may use: they state no fact
(owl:imports only of b12kg's own ontologies, see native.refuse_imports)."""


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


def short(graph: rdflib.Graph, iri: URIRef) -> str:
    """'xsd:decimal' rather than the full IRI, where the vocabulary has a prefix for it."""
    return iri.n3(graph.namespace_manager)


def computed_terms(knowledge: Knowledge) -> frozenset:
    """Patient-vocabulary terms b12kg computes (pt:computedBy in ontology/model/patient.ttl): never accepted as input."""
    return frozenset(knowledge.graph.subjects(PT.computedBy, None))


def input_terms(knowledge: Knowledge) -> tuple[set, set, dict, frozenset]:
    """The patient vocabulary's input classes, input properties, datatype ranges and computed
    terms (read once per Knowledge: knowledge.derived(input_terms))."""
    computed = computed_terms(knowledge)
    kinds: dict[URIRef, set] = {OWL.Class: {OWL.Ontology}, OWL.ObjectProperty: set(), OWL.DatatypeProperty: set()}
    for kind, terms in kinds.items():
        terms.update(t for t in knowledge.graph.subjects(RDF.type, kind) if t.startswith(PT) and t not in computed)
    ranges = {p: r for p, r in knowledge.graph.subject_objects(RDFS.range) if p.startswith(PT) and r.startswith(XSD)}
    return kinds[OWL.Class], kinds[OWL.ObjectProperty] | kinds[OWL.DatatypeProperty], ranges, computed


def _datatype(literal: Literal) -> URIRef:
    return literal.datatype or (RDF.langString if literal.language else XSD.string)


def _term_problem(graph: rdflib.Graph, triple, terms: tuple[set, set, dict, frozenset], names: rdflib.Graph) -> str | None:
    """Why one triple is not a patient fact in the patient vocabulary (None if it is)."""
    _, prop, value = triple
    classes, properties, ranges, computed = terms
    if prop == RDF.type:
        return None if value in classes else f"<{value}> is not a class of the patient vocabulary (ontology/model/patient.ttl)"
    if prop not in properties and prop not in ANNOTATIONS:
        why = "is computed by b12kg" if prop in computed else "is not a property of the patient vocabulary (ontology/model/patient.ttl)"
        return f"<{prop}> {why}: the input may only state patient facts"
    expected = ranges.get(prop)
    if isinstance(value, Literal):
        return _literal_problem(graph, triple, expected, names)
    if expected is None:
        return None
    found = "a blank node" if isinstance(value, BNode) else f"<{value}>"
    return f"expected a literal of type {short(names, expected)}, found {found}"


def _literal_problem(graph: rdflib.Graph, triple, expected: URIRef | None, names: rdflib.Graph) -> str | None:
    """Why a literal is ill-typed, inexact or of the wrong datatype (None if it is fine). A
    number where xsd:decimal is expected (xsd:integer, or xsd:double from a JSON-LD number)
    is rewritten as the decimal its digits spell."""
    subject, prop, value = triple
    found = _datatype(value)

    def wrong_type() -> str:
        return f"{str(value)!r} has the datatype {short(names, found)}; {short(names, prop)} takes {expected and short(names, expected)}"

    if value.ill_typed or (found == XSD.decimal and not DECIMAL.fullmatch(str(value))):
        return f"{str(value)!r} is not a valid {short(names, found)}"
    if found not in NUMBERS:
        return None if expected in (None, found) else wrong_type()
    number = decimal_value(value)
    if number is None or inexact(number):
        return inexact(number) if number is not None else f"{str(value)!r} is not a finite number"
    if expected not in (None, XSD.decimal):
        return wrong_type()
    if expected == XSD.decimal and found != XSD.decimal:
        graph.remove(triple)
        graph.add((subject, prop, Literal(number, datatype=XSD.decimal)))
    return None


def check_terms(graph: rdflib.Graph, knowledge: Knowledge, file: str) -> None:
    """Refuse what is not a patient fact: terms outside the patient vocabulary (axioms,
    conclusions, computed values) and literals that are ill-typed or of the wrong datatype."""
    terms = knowledge.derived(input_terms)
    refused = []
    with rdflib_quiet():
        for triple in list(graph):  # a number may be rewritten as a decimal on the way
            reason = _term_problem(graph, triple, terms, knowledge.graph)
            if reason:
                refused.append((triple, reason))
    if refused:
        raise InputRejected([Problem(file, reason, describe(graph, triple[0]), field_name(knowledge, triple[1]), "patient vocabulary")
                             for triple, reason in sorted(refused)])

"""The vocabulary gate: an input may only state patient facts in the patient vocabulary
(ontology/model/patient.ttl), with literals of the right datatype. Axioms, conclusions and
values b12kg computes are refused."""

from __future__ import annotations

import rdflib
from rdflib import OWL, RDF, RDFS, XSD, URIRef

from ..errors import InputRejected, Problem
from ..knowledge import Knowledge
from ..namespaces import PT
from .facts import RDF_TYPE, XSD_DECIMAL, Blank, Facts, decimal, ill_typed, lexical, rdflib_quiet
from .locate import describe, field_name
from .numbers import DECIMAL, decimal_value, inexact

NUMBERS = frozenset(str(t) for t in (XSD.decimal, XSD.integer, XSD.double))
"""Datatypes read as a number where the vocabulary expects xsd:decimal."""

ANNOTATIONS = frozenset(str(t) for t in (RDFS.label, RDFS.comment, OWL.imports))
"""Properties outside the patient vocabulary an input may use: they state no fact
(owl:imports only of b12kg's own ontologies, see native.refuse_imports)."""


def short(graph: rdflib.Graph | Knowledge, iri: str) -> str:
    """'xsd:decimal' rather than the full IRI, where the vocabulary has a prefix for it (the
    prefixes of a graph, or of a Knowledge's graph)."""
    if not isinstance(graph, rdflib.Graph):
        graph = graph.graph
    return URIRef(iri).n3(graph.namespace_manager)


def computed_terms(knowledge: Knowledge) -> frozenset[str]:
    """Patient-vocabulary terms b12kg computes (pt:computedBy in ontology/model/patient.ttl): never accepted as input."""
    return frozenset(str(t) for t in knowledge.graph.subjects(PT.computedBy, None))


def input_terms(knowledge: Knowledge) -> tuple[set, set, dict, frozenset]:
    """The patient vocabulary's input classes, input properties, datatype ranges and computed
    terms, as IRI strings (read once per Knowledge: knowledge.derived(input_terms))."""
    computed = computed_terms(knowledge)
    kinds: dict[URIRef, set] = {OWL.Class: {str(OWL.Ontology)}, OWL.ObjectProperty: set(), OWL.DatatypeProperty: set()}
    for kind, terms in kinds.items():
        terms.update(str(t) for t in knowledge.graph.subjects(RDF.type, kind) if t.startswith(PT) and str(t) not in computed)
    ranges = {str(p): str(r) for p, r in knowledge.graph.subject_objects(RDFS.range) if p.startswith(PT) and r.startswith(XSD)}
    return kinds[OWL.Class], kinds[OWL.ObjectProperty] | kinds[OWL.DatatypeProperty], ranges, computed


def _term_problem(graph: Facts, triple, terms: tuple[set, set, dict, frozenset], names: Knowledge) -> str | None:
    """Why one triple is not a patient fact in the patient vocabulary (None if it is)."""
    _, prop, value = triple
    classes, properties, ranges, computed = terms
    if prop == RDF_TYPE:
        return None if value in classes else f"<{lexical(value)}> is not a class of the patient vocabulary (ontology/model/patient.ttl)"
    if prop not in properties and prop not in ANNOTATIONS:
        why = "is computed by b12kg" if prop in computed else "is not a property of the patient vocabulary (ontology/model/patient.ttl)"
        return f"<{prop}> {why}: the input may only state patient facts"
    expected = ranges.get(prop)
    if type(value) is tuple:
        return _literal_problem(graph, triple, expected, names)
    if expected is None:
        return None
    found = "a blank node" if type(value) is Blank else f"<{value}>"
    return f"expected a literal of type {short(names, expected)}, found {found}"


_EXACT: dict[str, str | None] = {}
"""Lexical form of a number -> why it cannot be compared exactly (None: it can), memoised."""


def _number_problem(text: str) -> tuple[object, str | None]:
    """(its finite value or None, why the rules cannot use it) of a number's lexical form."""
    number = decimal_value((text, XSD_DECIMAL))
    if number is None:
        return None, f"{text!r} is not a finite number"
    if text not in _EXACT:
        if len(_EXACT) > 100_000:
            _EXACT.clear()
        _EXACT[text] = inexact(number)
    return number, _EXACT[text]


def _literal_problem(graph: Facts, triple, expected: str | None, names: Knowledge) -> str | None:
    """Why a literal is ill-typed, inexact or of the wrong datatype (None if it is fine). A
    number where xsd:decimal is expected (xsd:integer, or xsd:double from a JSON-LD number)
    is rewritten as the decimal its digits spell."""
    subject, prop, value = triple
    found = value[1]

    def wrong_type() -> str:
        return f"{value[0]!r} has the datatype {short(names, found)}; {short(names, prop)} takes {expected and short(names, expected)}"

    if ill_typed(value) or (found == XSD_DECIMAL and not DECIMAL.fullmatch(value[0])):
        return f"{value[0]!r} is not a valid {short(names, found)}"
    if found not in NUMBERS:
        return None if expected in (None, found) else wrong_type()
    number, reason = _number_problem(value[0])
    if reason:
        return reason
    if expected not in (None, XSD_DECIMAL):
        return wrong_type()
    if expected == XSD_DECIMAL and found != XSD_DECIMAL:
        graph.remove(*triple)
        graph.add(subject, prop, decimal(number))
    return None


def _accepted_literals(knowledge: Knowledge) -> dict:
    """(property, literal) pairs already found fine and left as they are (knowledge.derived: one memo per Knowledge)."""
    return {}


def check_terms(graph: Facts, knowledge: Knowledge, file: str) -> None:
    """Refuse what is not a patient fact: terms outside the patient vocabulary (axioms,
    conclusions, computed values) and literals that are ill-typed or of the wrong datatype."""
    terms = knowledge.derived(input_terms)
    classes, accepted = terms[0], knowledge.derived(_accepted_literals)
    refused = []
    for triple in list(graph):  # a number may be rewritten as a decimal on the way
        _, prop, value = triple
        if (value in classes if prop == RDF_TYPE else type(value) is tuple and (prop, value) in accepted):
            continue
        reason = _term_problem(graph, triple, terms, knowledge)  # its graph read only to name a refused term
        if reason:
            refused.append((triple, reason))
        elif type(value) is tuple and triple in graph:  # fine, and not rewritten
            if len(accepted) > 100_000:
                accepted.clear()
            accepted[(prop, value)] = True
    if refused:
        from .facts import to_rdflib

        with rdflib_quiet():  # ordered as rdflib orders its terms
            ordered = sorted(((tuple(to_rdflib(t) for t in triple), triple), reason) for triple, reason in refused)
        raise InputRejected([Problem(file, reason, describe(graph, triple[0]), field_name(knowledge, triple[1]), "patient vocabulary")
                             for (_, triple), reason in ordered])

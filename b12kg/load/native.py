"""Native RDF input (Turtle, JSON-LD, N-Triples) in the patient vocabulary.

Parsed by pyoxigraph's strict parsers without any network access: remote JSON-LD
contexts and XML markup declarations are refused before parsing, owl:imports are
never followed, and at most MAX_TRIPLES statements are read.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pyoxigraph as ox
from rdflib import OWL, RDF, XSD

from ..errors import InputRejected, Problem
from ..knowledge import Knowledge
from ..rdfterms import to_rdflib
from .convert import from_rdflib
from .facts import RDF_TYPE, Blank, Facts, P, lexical, truthy
from .locate import describe, field_name
from .numbers import DECIMAL, inexact
from .reading import MAX_TRIPLES
from .strict_json import MARKUP_DECLARATION, MARKUP_REFUSED, parse_json
from .vocabulary import rdflib_quiet, short

RDF_FORMATS = {"turtle": (ox.RdfFormat.TURTLE, "Turtle"), "json-ld": (ox.RdfFormat.JSON_LD, "JSON-LD"),
               "nt": (ox.RdfFormat.N_TRIPLES, "N-Triples")}

_NUMBER_TYPES = (str(XSD.decimal), str(XSD.integer))
"""Datatypes rdflib would spell out in full (checked before it sees them)."""

_FLOAT_TYPES = (str(XSD.double), str(XSD.float))
"""Binary floating-point datatypes: read as the decimal their lexical form spells, before
rdflib (which would round them through a binary float: 1e-400 would become 0)."""

_DOUBLE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

RESERVED_SEGMENTS = ("conclusion", "assessment", "quality")
"""Path segments under a patient's IRI where b12kg writes its own nodes (conclusions, the
assessment, data quality notes): an input node there is refused."""


def _remote_contexts(node: Any) -> list[str]:
    """Every @context given by reference (a URL) in a JSON-LD document."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        found.append(item)
                    elif isinstance(item, dict) and "@import" in item:
                        found.append(str(item["@import"]))
            found.extend(_remote_contexts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_remote_contexts(item))
    return found


def parse_rdf(text: str, fmt: str, file: str, knowledge: Knowledge) -> Facts:
    """Native RDF as facts (see the module; each term as rdflib reads it), or InputRejected with located problems."""
    rdf_format, name = RDF_FORMATS[fmt]
    if MARKUP_DECLARATION.search(text):
        raise InputRejected.one(file, f"the file holds {MARKUP_REFUSED}")
    if fmt == "json-ld":
        doc = parse_json(text, file)
        remote = _remote_contexts(doc)
        if remote:
            raise InputRejected.one(file, f"JSON-LD context by reference ({remote[0]}) is not fetched: put the context inline",
                                    field="@context")
        text = json.dumps(_exact_numbers(doc), ensure_ascii=False)
    graph = Facts()
    refused: list[tuple[ox.Quad, str]] = []
    try:
        with rdflib_quiet():
            for count, quad in enumerate(ox.parse(text, format=rdf_format, without_named_graphs=True), 1):
                if count > MAX_TRIPLES:
                    raise InputRejected.one(file, f"more than {MAX_TRIPLES} triples, over the limit per patient", rule="limit")
                reason = _native_term_problem(quad)
                if reason is None and isinstance(quad.object, ox.Literal) and quad.object.datatype.value in _FLOAT_TYPES:
                    quad, reason = _as_decimal(quad)
                if reason is None:
                    triple = tuple(to_rdflib(term) for term in (quad.subject, quad.predicate, quad.object))
                    if not getattr(triple[2], "ill_typed", False):
                        graph.add(*(from_rdflib(term) for term in triple))
                        continue
                    reason = f"{quad.object.value[:40]!r} is not a valid {short(knowledge.graph, triple[2].datatype)}"
                refused.append((quad, reason))
    except SyntaxError as exc:
        raise InputRejected.one(file, f"not valid {name}: {exc}") from None
    if refused:
        raise InputRejected([Problem(file, reason, describe(graph, from_rdflib(to_rdflib(quad.subject))),
                                     field_name(knowledge, quad.predicate.value), "patient vocabulary")
                             for quad, reason in refused])
    return graph


def _native_term_problem(quad: ox.Quad) -> str | None:
    """Why a parsed statement cannot be read: a triple term, or a number checked before rdflib
    rewrites it in full (it would spell out "1E+999999999"^^xsd:decimal as a billion digits)."""
    if any(isinstance(term, ox.Triple) for term in (quad.subject, quad.object)):
        return "a triple term (RDF 1.2) is not patient data"
    term = quad.object
    if not isinstance(term, ox.Literal) or term.datatype.value not in _NUMBER_TYPES:
        return None
    if not DECIMAL.fullmatch(term.value) or (term.datatype.value == str(XSD.integer) and "." in term.value):
        return f"{term.value[:40]!r} is not a valid xsd:{term.datatype.value.rsplit('#', 1)[-1]}"
    return inexact(Decimal(term.value))


def _as_decimal(quad: ox.Quad) -> tuple[ox.Quad, str | None]:
    """An xsd:double / xsd:float literal as the xsd:decimal its lexical form spells (exactly), or why it cannot be."""
    lexical = quad.object.value.strip()
    if not _DOUBLE.fullmatch(lexical):
        return quad, f"{lexical[:40]!r} is not a finite number"
    number = Decimal(lexical)
    reason = inexact(number)
    if reason:
        return quad, reason
    text = format(number, "f")
    literal = ox.Literal(text if "." in text else f"{text}.0", datatype=ox.NamedNode(str(XSD.decimal)))
    return ox.Quad(quad.subject, quad.predicate, literal, quad.graph_name), None


def _exact_numbers(node: Any, key: str | None = None) -> Any:
    """A parsed JSON-LD document with every JSON number written as a typed string of its exact
    digits (xsd:integer or xsd:double, as JSON-LD reads numbers), so that no parser rounds it
    through a binary float. Contexts are left as they are."""
    if isinstance(node, dict):
        result = {k: (v if k in ("@context", "@version") else _exact_numbers(v, k)) for k, v in node.items()}
        value = node.get("@value")
        if "@type" not in node and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            result["@type"] = str(XSD.integer if isinstance(value, int) else XSD.double)
        return result
    if isinstance(node, list):
        return [_exact_numbers(item, key) for item in node]
    if isinstance(node, bool) or not isinstance(node, (int, Decimal)):
        return node
    datatype = XSD.integer if isinstance(node, int) else XSD.double
    if key == "@value":
        return str(node)
    return {"@value": str(node), "@type": str(datatype)}


def _node_order(node) -> tuple[bool, str]:
    """rdflib's order of nodes: blank nodes first, then IRIs, each by their text."""
    return (type(node) is not Blank, node)


def refuse_reserved_iris(graph: Facts, patient: str, file: str) -> None:
    """Refuse an input node whose IRI is one b12kg writes itself (a conclusion, the assessment,
    a data quality note of this patient): a fact could otherwise pose as a conclusion, or a
    conclusion be 'based on' itself."""
    prefix = f"{patient}/"
    objects = (o for _, _, o in graph if type(o) is str)
    for node in sorted({*graph.subjects(), *objects}, key=_node_order):
        if type(node) is str and node.startswith(prefix):
            segments = str(node)[len(prefix):].split("/")
            if segments[0] in RESERVED_SEGMENTS or (len(segments) > 2 and segments[2] in RESERVED_SEGMENTS):
                raise InputRejected.one(file, f"the IRI <{str(node)[:200]}> is one b12kg gives its own "
                                        f"{segments[0] if segments[0] in RESERVED_SEGMENTS else segments[2]} nodes: "
                                        "name the input's nodes otherwise", resource=str(node)[:200], field="IRI",
                                        rule="patient vocabulary")


def refuse_imports(graph: Facts, knowledge: Knowledge, file: str) -> None:
    """owl:imports are never followed: importing anything but b12kg's own ontologies (which
    are always loaded) is refused rather than silently dropped."""
    own = {str(o) for o in knowledge.graph.subjects(RDF.type, OWL.Ontology)}
    for ontology, imported in graph.subject_objects(str(OWL.imports)):
        if type(imported) is not str or imported not in own:
            raise InputRejected.one(file, f"owl:imports <{lexical(imported)}> is not followed (b12kg never fetches anything): "
                                    "put the facts in this file", resource=lexical(ontology), field="owl:imports")


def native_patient(graph: Facts, file: str) -> tuple[str, str]:
    """The one pt:Patient of a native RDF file and its id."""
    patients = sorted(set(graph.subjects(RDF_TYPE, P.Patient)), key=_node_order)
    if len(patients) != 1:
        raise InputRejected.one(file, f"the file must describe exactly one pt:Patient, found {len(patients)}",
                                field="rdf:type pt:Patient")
    patient = patients[0]
    if type(patient) is not str:
        raise InputRejected.one(file, "the pt:Patient must be named by an IRI, not a blank node")
    fhir_id = graph.value(patient, P.fhirId)
    return patient, lexical(fhir_id) if truthy(fhir_id) else patient

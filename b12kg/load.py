"""Load one patient's facts from a file into an RDF graph in the patient vocabulary.

Inputs: a FHIR R4 JSON Bundle (.json), or native RDF (.ttl, .jsonld, .nt) written in
the patient vocabulary (ontology/patient.ttl). Every path ends in the same steps:
units are normalised to each analyte's canonical unit (from the ontology), and facts
dated after the as-of date, or recorded in error, are set aside and reported.
Hostile input is refused with a located problem, never half-read:

- nothing is fetched: owl:imports are refused, remote JSON-LD contexts are refused, XML
  markup declarations (<!DOCTYPE, <!ENTITY) are refused and no XML parser ever runs;
- native RDF may only use the patient vocabulary (no axioms, no conclusions, no computed
  values), with literals of the right datatype;
- per-patient limits, each rejected explicitly: MAX_INPUT_BYTES, MAX_JSON_DEPTH,
  MAX_JSON_DIGITS, fhir.MAX_BUNDLE_ENTRIES, MAX_TRIPLES, MAX_RESULTS_PER_ANALYTE, and
  numbers the rules can compare exactly (fhir.MAX_DECIMAL_PLACES, fhir.MAX_MAGNITUDE).
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib
from rdflib import OWL, RDF, RDFS, XSD, BNode, Literal, URIRef

from . import units
from .errors import InputRejected, Problem
from .fhir import bundle_to_graph, decimal_or_none, inexact
from .knowledge import Analyte, Knowledge
from .namespaces import B12, GM, PT
from .rdfterms import to_rdflib

MAX_INPUT_BYTES = 10 * 1024 * 1024
"""Largest patient file accepted (10 MiB); larger ones are rejected before they are read."""

MAX_TRIPLES = 100_000
"""Most triples one patient's facts may hold (native RDF: counted while parsing). About
10,000 facts; measured: 8,000 observations load, validate and assess in about 10 s."""

MAX_RESULTS_PER_ANALYTE = 1000
"""Most results of one laboratory test (serum B12, MMA, homocysteine) per patient, far
beyond a real record. It also bounds the rules' cost, which grows with the number of
results of one test (measured: 200 serum B12 results assess in 0.5 s, 1,000 in 2.5 s)."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of a JSON document (a FHIR Bundle needs about 10 levels)."""

MAX_JSON_DIGITS = 100
"""Most digits of a JSON integer (FHIR's largest, integer64, has 19)."""

FORMATS = {".json": "fhir", ".ttl": "turtle", ".jsonld": "json-ld", ".nt": "nt"}
"""File extension -> input format. RDF/XML is not accepted (no XML parser ever runs)."""

_RDF_FORMATS = {"turtle": (ox.RdfFormat.TURTLE, "Turtle"), "json-ld": (ox.RdfFormat.JSON_LD, "JSON-LD"),
                "nt": (ox.RdfFormat.N_TRIPLES, "N-Triples")}

_MARKUP_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
"""XML markup declarations: the carriers of external entities and entity expansion."""
_MARKUP_REFUSED = "an XML markup declaration (<!DOCTYPE or <!ENTITY): refused, XML is never parsed"

_NUMBER_TYPES = (str(XSD.decimal), str(XSD.integer))
"""Datatypes rdflib would spell out in full (checked before it sees them)."""

_NUMBERS = (XSD.decimal, XSD.integer, XSD.double)
"""Datatypes read as a number where the vocabulary expects xsd:decimal."""

_UCUM_SHAPE = re.compile(r"[!-~]{1,60}")
"""What a UCUM code can look like (printable ASCII, no space): anything else is not UCUM
and is never handed to the UCUM parser (or its cache)."""

_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
"""The lexical space of xsd:decimal (rdflib also accepts exponents, NaN and Infinity)."""

EXCLUDED_STATUSES = {
    "entered-in-error": "recorded in error",
    "refuted": "refuted",
    "not-taken": "recorded as not taken",
    "cancelled": "cancelled",
    "not-done": "not done",
    "intended": "planned, not started",
    "preparation": "in preparation, not done",
    "registered": "ordered, no result yet",
}
"""FHIR statuses (status or verificationStatus) that mean the fact has not happened, or
was recorded in error: such facts are set aside and reported, never assessed."""

DATE_PROPERTIES = (PT.effectiveDate, PT.startDate)


@dataclass
class LoadedPatient:
    """One patient's facts, ready for validation."""

    file: str
    patient: URIRef
    patient_id: str
    graph: rdflib.Graph
    ignored_graph: rdflib.Graph = field(default_factory=rdflib.Graph)
    ignored: list[dict[str, str]] = field(default_factory=list)
    source_sha256: str = ""


def input_format(path: Path, override: str | None = None) -> str:
    """The input format, from the extension unless overridden."""
    if override:
        if override not in FORMATS.values():
            raise InputRejected.one(str(path), f"unknown input format {override!r} (choose from {', '.join(sorted(set(FORMATS.values())))})")
        return override
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputRejected.one(str(path), f"cannot tell the format from the extension {path.suffix!r}: "
                                "use .json (FHIR R4 Bundle), .ttl, .jsonld or .nt, or --input-format") from None


def read_text(path: Path) -> tuple[str, bytes]:
    """The file's text, refusing empty, oversized and non-UTF-8 files. At most MAX_INPUT_BYTES
    are read, so a device or a pipe that never ends is refused too."""
    file = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputRejected.one(file, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputRejected.one(file, f"the file is over the limit of {MAX_INPUT_BYTES} bytes per patient", rule="limit")
    if not data.strip():
        raise InputRejected.one(file, "the file is empty")
    try:
        return data.decode("utf-8-sig"), data
    except UnicodeDecodeError as exc:
        raise InputRejected.one(file, f"the file is not UTF-8 text (byte {exc.start})") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (parsers disagree on which one wins)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {twice!r} appears twice in one object")
    return obj


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise ValueError(f"the number {text[:20]}... has {len(text)} digits")
    return int(text)


def _json_path(path: tuple) -> str:
    """A JSON location as FHIR writes it: code.coding[0].code."""
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
    return text.lstrip(".") or "(document)"


def _json_place(doc: Any, path: tuple) -> dict[str, str | None]:
    """The resource ('Observation/obs-2') and field of a location in a FHIR Bundle."""
    if len(path) >= 3 and path[0] == "entry" and path[2] == "resource":
        resource = doc["entry"][path[1]]["resource"]
        if not isinstance(resource, dict):
            return {"resource": None, "field": _json_path(path)}
        return {"resource": f"{resource.get('resourceType')}/{resource.get('id')}", "field": _json_path(path[3:])}
    return {"resource": None, "field": _json_path(path)}


def _string_problem(text: str) -> str | None:
    """Why a JSON string cannot be accepted, if it cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"the text holds an unpaired UTF-16 surrogate ({text[exc.start]!a}), which is not Unicode"
    if "<!" in text and _MARKUP_DECLARATION.search(text):
        return f"the text holds {_MARKUP_REFUSED}"
    return None


def json_problems(doc: Any, file: str) -> list[Problem]:
    """Nesting beyond MAX_JSON_DEPTH, non-Unicode text and XML markup declarations, located."""
    problems = []
    stack: list[tuple[Any, tuple]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            problems.append(Problem(file, f"nested more than {MAX_JSON_DEPTH} levels deep: not a patient record",
                                    **_json_place(doc, path)))
            continue
        if isinstance(node, dict):
            for key, value in node.items():
                reason = _string_problem(key)
                if reason:
                    problems.append(Problem(file, f"a key: {reason}", **_json_place(doc, path)))
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(node))
        elif isinstance(node, str):
            reason = _string_problem(node)
            if reason:
                problems.append(Problem(file, reason, **_json_place(doc, path)))
    return problems


def parse_json(text: str, file: str) -> Any:
    """Strict JSON: located errors for malformed, absurdly nested or non-Unicode input,
    NaN/Infinity, duplicate keys and XML markup declarations. Numbers with a fraction or
    an exponent are read as exact Decimals, never rounded through binary floats."""
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_not_a_number, parse_int=_integer,
                         parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputRejected.one(file, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputRejected.one(file, f"not valid JSON: nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # from the hooks
        raise InputRejected.one(file, f"not valid JSON: {exc}") from None
    problems = json_problems(doc, file)
    if problems:
        raise InputRejected(problems)
    return doc


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


@contextmanager
def _rdflib_quiet() -> Iterator[None]:
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


def parse_rdf(text: str, fmt: str, file: str, knowledge: Knowledge) -> rdflib.Graph:
    """Native RDF, parsed by pyoxigraph's strict parsers without any network access.

    Remote JSON-LD contexts and XML markup declarations are refused before parsing;
    at most MAX_TRIPLES statements are read. (owl:imports are refused by `refuse_imports`.)
    """
    rdf_format, name = _RDF_FORMATS[fmt]
    if _MARKUP_DECLARATION.search(text):
        raise InputRejected.one(file, f"the file holds {_MARKUP_REFUSED}")
    if fmt == "json-ld":
        remote = _remote_contexts(parse_json(text, file))
        if remote:
            raise InputRejected.one(file, f"JSON-LD context by reference ({remote[0]}) is not fetched: put the context inline",
                                    field="@context")
    graph = rdflib.Graph()
    refused: list[tuple[ox.Quad, str]] = []
    try:
        with _rdflib_quiet():
            for count, quad in enumerate(ox.parse(text, format=rdf_format, without_named_graphs=True), 1):
                if count > MAX_TRIPLES:
                    raise InputRejected.one(file, f"more than {MAX_TRIPLES} triples, over the limit per patient", rule="limit")
                reason = _native_term_problem(quad)
                if reason is None:
                    triple = tuple(to_rdflib(term) for term in (quad.subject, quad.predicate, quad.object))
                    if not getattr(triple[2], "ill_typed", False):
                        graph.add(triple)
                        continue
                    reason = f"{quad.object.value[:40]!r} is not a valid {_short(knowledge.graph, triple[2].datatype)}"
                refused.append((quad, reason))
    except SyntaxError as exc:
        raise InputRejected.one(file, f"not valid {name}: {exc}") from None
    if refused:
        raise InputRejected([Problem(file, reason, describe(graph, to_rdflib(quad.subject)),
                                     field_name(knowledge, to_rdflib(quad.predicate)), "patient vocabulary")
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
    if not _DECIMAL.fullmatch(term.value) or (term.datatype.value == str(XSD.integer) and "." in term.value):
        return f"{term.value[:40]!r} is not a valid xsd:{term.datatype.value.rsplit('#', 1)[-1]}"
    return inexact(Decimal(term.value))


def refuse_imports(graph: rdflib.Graph, knowledge: Knowledge, file: str) -> None:
    """owl:imports are never followed: importing anything but b12kg's own ontologies (which
    are always loaded) is refused rather than silently dropped."""
    own = set(knowledge.graph.subjects(RDF.type, OWL.Ontology))
    for ontology, imported in graph.subject_objects(OWL.imports):
        if imported not in own:
            raise InputRejected.one(file, f"owl:imports <{imported}> is not followed (b12kg never fetches anything): "
                                    "put the facts in this file", resource=str(ontology), field="owl:imports")


def native_patient(graph: rdflib.Graph, file: str) -> tuple[URIRef, str]:
    """The one pt:Patient of a native RDF file and its id."""
    patients = sorted(set(graph.subjects(RDF.type, PT.Patient)))
    if len(patients) != 1:
        raise InputRejected.one(file, f"the file must describe exactly one pt:Patient, found {len(patients)}",
                                field="rdf:type pt:Patient")
    patient = patients[0]
    if not isinstance(patient, URIRef):
        raise InputRejected.one(file, "the pt:Patient must be named by an IRI, not a blank node")
    return patient, str(graph.value(patient, PT.fhirId) or patient)


def describe(graph: rdflib.Graph, node) -> str:
    """'ResourceType/id' for a fact node (its statement, for a dosage), else the node."""
    owner = graph.value(predicate=PT.dosage, object=node) or node
    rtype, fid = graph.value(owner, PT.resourceType), graph.value(owner, PT.fhirId)
    if rtype is not None and fid is not None:
        return f"{rtype}/{fid}"
    return str(fid or owner)


def field_name(knowledge: Knowledge, prop) -> str | None:
    """The FHIR path a property of the patient vocabulary stands for (pt:fhirPath), else its IRI."""
    if prop is None:
        return None
    fhir_path = knowledge.graph.value(prop, PT.fhirPath)
    return str(fhir_path) if fhir_path is not None else str(prop)


def computed_terms(knowledge: Knowledge) -> frozenset:
    """Patient-vocabulary terms b12kg computes (pt:computedBy in ontology/patient.ttl): never accepted as input."""
    return frozenset(knowledge.graph.subjects(PT.computedBy, None))

ANNOTATIONS = frozenset({RDFS.label, RDFS.comment, OWL.imports})
"""Properties outside the patient vocabulary an input may use: they state no fact
(owl:imports only of b12kg's own ontologies, see `refuse_imports`)."""


def _input_terms(knowledge: Knowledge) -> tuple[set, set, dict, frozenset]:
    """The patient vocabulary's input classes, input properties, datatype ranges and computed terms."""
    computed = computed_terms(knowledge)
    kinds: dict[URIRef, set] = {OWL.Class: {OWL.Ontology}, OWL.ObjectProperty: set(), OWL.DatatypeProperty: set()}
    for kind, terms in kinds.items():
        terms.update(t for t in knowledge.graph.subjects(RDF.type, kind) if t.startswith(PT) and t not in computed)
    ranges = {p: r for p, r in knowledge.graph.subject_objects(RDFS.range) if p.startswith(PT) and r.startswith(XSD)}
    return kinds[OWL.Class], kinds[OWL.ObjectProperty] | kinds[OWL.DatatypeProperty], ranges, computed


def _datatype(literal: Literal) -> URIRef:
    return literal.datatype or (RDF.langString if literal.language else XSD.string)


def _short(graph: rdflib.Graph, iri: URIRef) -> str:
    """'xsd:decimal' rather than the full IRI, where the vocabulary has a prefix for it."""
    return iri.n3(graph.namespace_manager)


def _term_problem(graph: rdflib.Graph, triple, terms: tuple[set, set, dict, frozenset], names: rdflib.Graph) -> str | None:
    """Why one triple is not a patient fact in the patient vocabulary (None if it is)."""
    _, prop, value = triple
    classes, properties, ranges, computed = terms
    if prop == RDF.type:
        return None if value in classes else f"<{value}> is not a class of the patient vocabulary (ontology/patient.ttl)"
    if prop not in properties and prop not in ANNOTATIONS:
        why = "is computed by b12kg" if prop in computed else "is not a property of the patient vocabulary (ontology/patient.ttl)"
        return f"<{prop}> {why}: the input may only state patient facts"
    expected = ranges.get(prop)
    if isinstance(value, Literal):
        return _literal_problem(graph, triple, expected, names)
    if expected is None:
        return None
    found = "a blank node" if isinstance(value, BNode) else f"<{value}>"
    return f"expected a literal of type {_short(names, expected)}, found {found}"


def _literal_problem(graph: rdflib.Graph, triple, expected: URIRef | None, names: rdflib.Graph) -> str | None:
    """Why a literal is ill-typed, inexact or of the wrong datatype (None if it is fine). A
    number where xsd:decimal is expected (xsd:integer, or xsd:double from a JSON-LD number)
    is rewritten as the decimal its digits spell."""
    subject, prop, value = triple
    found = _datatype(value)
    wrong_type = (f"{str(value)!r} has the datatype {_short(names, found)}; "
                  f"{_short(names, prop)} takes {expected and _short(names, expected)}")
    if value.ill_typed or (found == XSD.decimal and not _DECIMAL.fullmatch(str(value))):
        return f"{str(value)!r} is not a valid {_short(names, found)}"
    if found not in _NUMBERS:
        return None if expected in (None, found) else wrong_type
    number = _decimal_value(value)
    if number is None or inexact(number):
        return inexact(number) if number is not None else f"{str(value)!r} is not a finite number"
    if expected not in (None, XSD.decimal):
        return wrong_type
    if expected == XSD.decimal and found != XSD.decimal:
        graph.remove(triple)
        graph.add((subject, prop, Literal(number, datatype=XSD.decimal)))
    return None


def check_terms(graph: rdflib.Graph, knowledge: Knowledge, file: str) -> None:
    """Refuse what is not a patient fact: terms outside the patient vocabulary (axioms,
    conclusions, computed values) and literals that are ill-typed or of the wrong datatype."""
    terms = _input_terms(knowledge)
    problems = []
    with _rdflib_quiet():
        for triple in sorted(graph):
            reason = _term_problem(graph, triple, terms, knowledge.graph)
            if reason:
                problems.append(Problem(file, reason, describe(graph, triple[0]), field_name(knowledge, triple[1]),
                                        "patient vocabulary"))
    if problems:
        raise InputRejected(problems)


def _decimal_value(literal) -> Decimal | None:
    """A literal's finite decimal value, else None."""
    return decimal_or_none(str(literal)) if isinstance(literal, Literal) else None


def _is_ucum(unit: str) -> bool:
    if not _UCUM_SHAPE.fullmatch(unit):
        return False
    try:
        units.factor(unit, unit)
    except units.UnitError:
        return False
    return True


def accepted_spelling(unit: str, analyte: Analyte) -> str | None:
    """The accepted unit that `unit` is, if any: itself, or a UCUM synonym of it
    ('pg/ml' is 'pg/mL': UCUM writes the litre as l or L), else None."""
    if unit in analyte.accepted_units:
        return unit
    if not _is_ucum(unit):
        return None
    for accepted in sorted(analyte.accepted_units):
        try:
            if units.factor(unit, accepted) == 1:
                return accepted
        except units.UnitError:
            continue
    return None


def _unit_reason(unit: str, analyte: Analyte) -> str:
    """Why a unit is refused for an analyte: not UCUM, the wrong dimension, or not an accepted unit."""
    accepted = ", ".join(sorted(analyte.accepted_units))
    if not _is_ucum(unit):
        return f"unit {unit!r} is not a UCUM unit (accepted for {analyte.label}: {accepted})"
    try:
        units.factor(unit, analyte.canonical_unit, analyte.mass_per_substance)
    except units.UnitError:
        return (f"unit {unit!r} is a UCUM unit of the wrong dimension for {analyte.label}: it cannot be converted "
                f"to {analyte.canonical_unit} (accepted: {accepted})")
    return f"unit {unit!r} is not one of the units accepted for {analyte.label}: {accepted}"


def _canonical(value: Decimal, unit: str, analyte: Analyte) -> Decimal | None:
    """`value` in the analyte's canonical unit, or None when it is outside the plausible range."""
    try:
        canonical = units.convert(value, unit, analyte.canonical_unit, analyte.mass_per_substance)
    except ArithmeticError:  # beyond Decimal's exponent range: certainly implausible
        return None
    if inexact(canonical) or not analyte.plausible_min <= canonical <= analyte.plausible_max:
        return None
    return canonical


def normalise(graph: rdflib.Graph, knowledge: Knowledge, file: str) -> None:
    """Add canonical values: lab results in the analyte's unit, doses in mg, periods in days.

    Units that are not accepted and implausible values (against the analyte's plausible
    range in the ontology) are rejected here; a missing value or unit is left for SHACL.
    """
    problems: list[Problem] = []
    results: Counter[Analyte] = Counter()
    for fact, concept in list(graph.subject_objects(PT.code)):
        analyte = knowledge.analyte_for_code(str(concept))
        if analyte is None:
            continue
        results[analyte] += 1
        graph.add((fact, PT.measures, URIRef(analyte.iri)))
        value, unit = _decimal_value(graph.value(fact, PT.value)), graph.value(fact, PT.unit)
        spelling = accepted_spelling(str(unit), analyte) if unit is not None else None
        if unit is not None and spelling is None:
            problems.append(Problem(file, _unit_reason(str(unit), analyte), describe(graph, fact), "valueQuantity.code", "UCUM"))
            continue
        if value is None or spelling is None:
            continue
        canonical = _canonical(value, spelling, analyte)
        if canonical is None:
            problems.append(Problem(file, f"{value} {unit} is not a plausible {analyte.label} "
                                    f"(accepted range {analyte.plausible_min}-{analyte.plausible_max} {analyte.canonical_unit})",
                                    describe(graph, fact), "valueQuantity.value", "plausible range"))
            continue
        graph.add((fact, PT.canonicalValue, Literal(canonical, datatype=XSD.decimal)))
        graph.add((fact, PT.canonicalUnit, Literal(analyte.canonical_unit)))
    problems += [Problem(file, f"{count} results of {analyte.label}, over the limit of {MAX_RESULTS_PER_ANALYTE} per patient",
                         field="code", rule="limit")
                 for analyte, count in results.items() if count > MAX_RESULTS_PER_ANALYTE]

    dose = knowledge.analyte(str(B12["dose-quantity"]))
    for dosage, value_literal in list(graph.subject_objects(PT.doseValue)):
        value, unit = _decimal_value(value_literal), graph.value(dosage, PT.doseUnit)
        spelling = accepted_spelling(str(unit), dose) if unit is not None else None
        if unit is not None and spelling is None:
            problems.append(Problem(file, _unit_reason(str(unit), dose), describe(graph, dosage),
                                    "dosage.doseAndRate.doseQuantity.code", "UCUM"))
            continue
        if value is None or spelling is None:
            continue
        mg = _canonical(value, spelling, dose)
        if mg is None:
            problems.append(Problem(file, f"a dose of {value} {unit} is not plausible", describe(graph, dosage),
                                    "dosage.doseAndRate.doseQuantity.value", "plausible range"))
            continue
        graph.add((dosage, PT.doseMg, Literal(mg, datatype=XSD.decimal)))
    for dosage, unit in list(graph.subject_objects(PT.periodUnit)):
        period = _decimal_value(graph.value(dosage, PT.period)) or Decimal(1)
        try:
            if not _UCUM_SHAPE.fullmatch(str(unit)):
                raise units.UnitError(str(unit))
            days = units.convert(period, str(unit), "d")
        except (units.UnitError, ArithmeticError):
            problems.append(Problem(file, f"period unit {str(unit)!r} is not a UCUM unit of time", describe(graph, dosage),
                                    "dosage.timing.repeat.periodUnit", "UCUM"))
            continue
        if days <= 0 or inexact(days):
            problems.append(Problem(file, inexact(days) or "the dosing period must be positive", describe(graph, dosage),
                                    "dosage.timing.repeat.period", "plausible range"))
            continue
        graph.add((dosage, PT.periodDays, Literal(days, datatype=XSD.decimal)))
    if problems:
        raise InputRejected(problems)


def _fact_date(graph: rdflib.Graph, fact) -> date | None:
    for prop in DATE_PROPERTIES:
        value = graph.value(fact, prop)
        if isinstance(value, Literal) and isinstance(value.toPython(), date):
            return value.toPython()
    return None


def _read_by_guideline(graph: rdflib.Graph, fact, read: frozenset) -> bool:
    codes = set(graph.objects(fact, PT.code)) | set(graph.objects(fact, PT.valueCode))
    return (fact, PT.measures, None) in graph or bool(codes & read)


def scope(loaded: LoadedPatient, as_of: date, knowledge: Knowledge) -> None:
    """Set aside, and report, facts dated after the as-of date, facts that have not
    happened or were recorded in error, and undated observations the guideline does not read."""
    read = knowledge.value_set_members
    graph = loaded.graph
    for fact in sorted(set(graph.subjects(PT.subject, None))):
        reason = None
        statuses = {str(s) for s in graph.objects(fact, PT.status)} | {str(s) for s in graph.objects(fact, PT.verificationStatus)}
        excluded = sorted(statuses & EXCLUDED_STATUSES.keys())
        fact_date = _fact_date(graph, fact)
        if excluded:
            reason = f"status {excluded[0]!r}: {EXCLUDED_STATUSES[excluded[0]]}"
        elif fact_date is not None and fact_date > as_of:
            reason = f"dated {fact_date.isoformat()}, after the as-of date {as_of.isoformat()}"
        elif fact_date is None and (fact, RDF.type, PT.Observation) in graph and not _read_by_guideline(graph, fact, read):
            reason = "no effective date, and not an observation this guideline reads"
        if reason is None:
            continue
        rtype = graph.value(fact, PT.resourceType)
        entry = {"id": str(graph.value(fact, PT.fhirId) or fact), "reason": reason}
        if rtype is not None:
            entry["resourceType"] = str(rtype)
        loaded.ignored.append(entry)
        nodes = [fact, *graph.objects(fact, PT.dosage)]
        for node in nodes:
            for triple in list(graph.triples((node, None, None))):
                loaded.ignored_graph.add(triple)
                graph.remove(triple)
        loaded.ignored_graph.add((fact, GM.ignoredBecause, Literal(reason)))


def load_patient(path: Path, knowledge: Knowledge, as_of: date, override: str | None = None) -> LoadedPatient:
    """Read, map, normalise and scope one patient file."""
    import hashlib

    file = str(path)
    fmt = input_format(path, override)
    text, data = read_text(path)
    ignored: list[dict[str, str]] = []
    if fmt == "fhir":
        graph, patient, patient_id, ignored = bundle_to_graph(parse_json(text, file), knowledge, file)
    else:
        graph = parse_rdf(text, fmt, file, knowledge)
        refuse_imports(graph, knowledge, file)
        patient, patient_id = native_patient(graph, file)
    if len(graph) > MAX_TRIPLES:
        raise InputRejected.one(file, f"{len(graph)} triples, over the limit of {MAX_TRIPLES} per patient", rule="limit")
    check_terms(graph, knowledge, file)
    normalise(graph, knowledge, file)
    loaded = LoadedPatient(file=file, patient=patient, patient_id=patient_id, graph=graph, ignored=ignored,
                           source_sha256=hashlib.sha256(data).hexdigest())
    scope(loaded, as_of, knowledge)
    return loaded

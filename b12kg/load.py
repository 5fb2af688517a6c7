"""Load one patient's facts from a file into an RDF graph in the patient vocabulary.

Inputs: a FHIR R4 JSON Bundle (.json), or native RDF (.ttl, .jsonld, .nt) written in
the patient vocabulary (ontology/patient.ttl). Every path ends in the same steps:
units are normalised to each analyte's canonical unit (from the ontology), and facts
dated after the as-of date, or recorded in error, are set aside and reported.
Nothing is fetched: no owl:imports are followed and remote JSON-LD contexts are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import rdflib
from rdflib import RDF, XSD, Literal, URIRef

from . import units
from .errors import InputRejected, Problem
from .fhir import bundle_to_graph
from .knowledge import Knowledge
from .namespaces import B12, PT

MAX_INPUT_BYTES = 10 * 1024 * 1024
"""Largest patient file accepted (10 MiB); larger ones are rejected, not parsed."""

MAX_TRIPLES = 100_000
"""Most triples one patient's facts may hold."""

FORMATS = {".json": "fhir", ".ttl": "turtle", ".jsonld": "json-ld", ".nt": "nt"}
"""File extension -> input format."""

EXCLUDED_STATUSES = {"entered-in-error", "not-taken", "cancelled", "not-done", "refuted"}
"""FHIR statuses that mean the fact did not happen or was recorded in error."""

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
        raise InputRejected.one(str(path), f"cannot tell the format from the extension {path.suffix!r}: use .json (FHIR R4 Bundle), .ttl, .jsonld or .nt, or --input-format") from None


def read_text(path: Path) -> tuple[str, bytes]:
    """The file's text, refusing empty, oversized and non-UTF-8 files."""
    file = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputRejected.one(file, f"cannot read the file: {exc.strerror}") from None
    if size > MAX_INPUT_BYTES:
        raise InputRejected.one(file, f"the file is {size} bytes, over the limit of {MAX_INPUT_BYTES} bytes per patient")
    data = path.read_bytes()
    if not data.strip():
        raise InputRejected.one(file, "the file is empty")
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError as exc:
        raise InputRejected.one(file, f"the file is not UTF-8 text (byte {exc.start})") from None


def parse_json(text: str, file: str):
    """JSON, with a located error for malformed or absurdly nested input."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputRejected.one(file, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputRejected.one(file, "the JSON is nested too deeply to be a patient record") from None


def _remote_contexts(node) -> list[str]:
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


def parse_rdf(text: str, fmt: str, file: str) -> rdflib.Graph:
    """Native RDF, parsed without any network access."""
    if fmt == "json-ld":
        remote = _remote_contexts(parse_json(text, file))
        if remote:
            raise InputRejected.one(file, f"JSON-LD context by reference ({remote[0]}) is not fetched: put the context inline", field="@context")
    graph = rdflib.Graph()
    try:
        graph.parse(data=text, format=fmt)
    except Exception as exc:  # rdflib raises several parser-specific exceptions
        message = " ".join(str(exc).split())[:300]
        raise InputRejected.one(file, f"not valid {fmt}: {message}") from None
    return graph


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


def _decimal_value(literal) -> Decimal | None:
    if not isinstance(literal, Literal):
        return None
    try:
        return Decimal(str(literal))
    except InvalidOperation:
        return None


def normalise(graph: rdflib.Graph, knowledge: Knowledge, file: str) -> None:
    """Add canonical values: lab results in the analyte's unit, doses in mg, periods in days.

    Units that are not accepted are left for SHACL to report; implausible values are
    rejected here, against the analyte's plausible range in the ontology.
    """
    problems: list[Problem] = []
    for fact, concept in list(graph.subject_objects(PT.code)):
        analyte = knowledge.analyte_for_code(str(concept))
        if analyte is None:
            continue
        graph.add((fact, PT.measures, URIRef(analyte.iri)))
        value, unit = _decimal_value(graph.value(fact, PT.value)), graph.value(fact, PT.unit)
        if value is None or unit is None or str(unit) not in analyte.accepted_units:
            continue
        canonical = units.convert(value, str(unit), analyte.canonical_unit, analyte.mass_per_substance)
        if not (analyte.plausible_min <= canonical <= analyte.plausible_max):
            problems.append(Problem(file, f"{value} {unit} is not a plausible {analyte.label} "
                                    f"(accepted range {analyte.plausible_min}-{analyte.plausible_max} {analyte.canonical_unit})",
                                    describe(graph, fact), "valueQuantity.value", "plausible range"))
            continue
        graph.add((fact, PT.canonicalValue, Literal(canonical, datatype=XSD.decimal)))
        graph.add((fact, PT.canonicalUnit, Literal(analyte.canonical_unit)))

    dose = knowledge.analyte(str(B12["dose-quantity"]))
    for dosage, value_literal in list(graph.subject_objects(PT.doseValue)):
        value, unit = _decimal_value(value_literal), graph.value(dosage, PT.doseUnit)
        if value is None or unit is None or str(unit) not in dose.accepted_units:
            continue
        mg = units.convert(value, str(unit), dose.canonical_unit)
        if not (dose.plausible_min <= mg <= dose.plausible_max):
            problems.append(Problem(file, f"a dose of {value} {unit} is not plausible", describe(graph, dosage),
                                    "dosage.doseAndRate.doseQuantity.value", "plausible range"))
            continue
        graph.add((dosage, PT.doseMg, Literal(mg, datatype=XSD.decimal)))
    for dosage, unit in list(graph.subject_objects(PT.periodUnit)):
        period = _decimal_value(graph.value(dosage, PT.period)) or Decimal(1)
        try:
            days = units.convert(period, str(unit), "d")
        except units.UnitError:
            problems.append(Problem(file, f"period unit {unit!r} is not a UCUM unit of time", describe(graph, dosage),
                                    "dosage.timing.repeat.periodUnit", "UCUM"))
            continue
        if days <= 0:
            problems.append(Problem(file, "the dosing period must be positive", describe(graph, dosage),
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


def scope(loaded: LoadedPatient, as_of: date) -> None:
    """Set aside facts dated after the as-of date or recorded in error, and report them."""
    graph = loaded.graph
    for fact in sorted(set(graph.subjects(PT.subject, None))):
        reason = None
        statuses = {str(s) for s in graph.objects(fact, PT.status)} | {str(s) for s in graph.objects(fact, PT.verificationStatus)}
        excluded = statuses & EXCLUDED_STATUSES
        fact_date = _fact_date(graph, fact)
        if excluded:
            reason = f"status {sorted(excluded)[0]!r}: the fact did not happen or was recorded in error"
        elif fact_date is not None and fact_date > as_of:
            reason = f"dated {fact_date.isoformat()}, after the as-of date {as_of.isoformat()}"
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
        graph = parse_rdf(text, fmt, file)
        patient, patient_id = native_patient(graph, file)
    if len(graph) > MAX_TRIPLES:
        raise InputRejected.one(file, f"{len(graph)} triples, over the limit of {MAX_TRIPLES} per patient")
    normalise(graph, knowledge, file)
    loaded = LoadedPatient(file=file, patient=patient, patient_id=patient_id, graph=graph, ignored=ignored,
                           source_sha256=hashlib.sha256(data).hexdigest())
    scope(loaded, as_of)
    return loaded

"""Load one patient's facts into an RDF graph in the patient vocabulary.

Inputs: a FHIR R4 JSON Bundle (.json), or native RDF (.ttl, .jsonld, .nt) written in
the patient vocabulary (ontology/model/patient.ttl). Every path ends in the same steps:
units are normalised to each analyte's canonical unit (from the ontology), and facts
dated after the as-of date, or recorded in error, are set aside and reported.
Hostile input is refused with a located problem, never half-read:

- nothing is fetched: owl:imports are refused, remote JSON-LD contexts are refused, XML
  markup declarations (<!DOCTYPE, <!ENTITY) are refused and no XML parser ever runs;
- native RDF may only use the patient vocabulary (no axioms, no conclusions, no computed
  values), with literals of the right datatype;
- per-patient limits (reading.py), each rejected explicitly, and numbers the rules can
  compare exactly (numbers.py).

One module per concern: reading (files, formats, limits), strict_json, bundle and
fhir_* (the FHIR mapping, one module per resource family), native (RDF input),
vocabulary (the gate on what an input may state), normalise (units), scope (what is
assessed), locate (naming a problem's place, shared with b12kg.validate).
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from ..errors import InputRejected
from ..knowledge import Knowledge
from .bundle import bundle_to_graph
from .facts import Facts
from .fhir_base import fact_iri, patient_iri
from .locate import describe, field_name
from .native import native_patient, parse_rdf, refuse_imports, refuse_reserved_iris
from .normalise import accepted_spelling, normalise
from .patient import LoadedPatient
from .reading import (
    FORMATS,
    MAX_BUNDLE_ENTRIES,
    MAX_INPUT_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_DIGITS,
    MAX_RESULTS_PER_ANALYTE,
    MAX_TRIPLES,
    input_format,
    read_text,
)
from .scope import EXCLUDED_STATUSES, add_quality_notes, scope
from .strict_json import parse_json
from .vocabulary import check_terms

__all__ = [
    "EXCLUDED_STATUSES",
    "FORMATS",
    "MAX_BUNDLE_ENTRIES",
    "MAX_INPUT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_JSON_DIGITS",
    "MAX_RESULTS_PER_ANALYTE",
    "MAX_TRIPLES",
    "Facts",
    "LoadedPatient",
    "accepted_spelling",
    "describe",
    "fact_iri",
    "field_name",
    "input_format",
    "load_document",
    "load_patient",
    "parse_json",
    "patient_iri",
    "read_text",
]


def load_document(document: dict | str, file: str, knowledge: Knowledge, as_of: date, fmt: str = "fhir",
                  source_sha256: str | None = None) -> LoadedPatient:
    """Map, normalise and scope one patient held in memory: a FHIR Bundle already parsed
    as a dict, or the text of a FHIR JSON / native RDF document (`fmt`: fhir, turtle,
    json-ld, nt). `file` names it in messages."""
    if fmt not in FORMATS.values():
        raise InputRejected.one(file, f"unknown input format {fmt!r} (choose from {', '.join(sorted(set(FORMATS.values())))})")
    if isinstance(document, str):
        if source_sha256 is None:
            source_sha256 = hashlib.sha256(document.encode("utf-8")).hexdigest()
        if fmt == "fhir":
            document = parse_json(document, file)
    elif fmt != "fhir":
        raise InputRejected.one(file, f"a parsed document can only be a FHIR Bundle, not {fmt}")
    elif source_sha256 is None:
        import json

        source_sha256 = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    ignored: list[dict[str, str]] = []
    set_aside: dict = {}
    quality: list[tuple] = []
    record_dates: frozenset[str] = frozenset()
    if fmt == "fhir":
        mapped = bundle_to_graph(document, knowledge, file)
        facts, patient, patient_id, ignored = mapped.graph, mapped.patient, mapped.patient_id, mapped.ignored
        set_aside, quality, record_dates = mapped.set_aside, mapped.quality, mapped.record_dates
    else:
        facts = parse_rdf(document, fmt, file, knowledge)
        refuse_imports(facts, knowledge, file)
        patient, patient_id = native_patient(facts, file)
        refuse_reserved_iris(facts, patient, file)
    if len(facts) > MAX_TRIPLES:
        raise InputRejected.one(file, f"{len(facts)} triples, over the limit of {MAX_TRIPLES} per patient", rule="limit")
    check_terms(facts, knowledge, file)
    normalise(facts, knowledge, file)
    loaded = LoadedPatient(file=file, node=patient, patient_id=patient_id, facts=facts, ignored=ignored,
                           source_sha256=source_sha256, set_aside=set_aside, quality=quality, record_dates=record_dates)
    scope(loaded, as_of, knowledge)
    add_quality_notes(loaded)
    return loaded


def load_patient(path: Path, knowledge: Knowledge, as_of: date, override: str | None = None) -> LoadedPatient:
    """Read, map, normalise and scope one patient file."""
    path = Path(path)
    fmt = input_format(path, override)
    text, data = read_text(path)
    return load_document(text, str(path), knowledge, as_of, fmt, source_sha256=hashlib.sha256(data).hexdigest())

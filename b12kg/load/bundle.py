"""FHIR R4 JSON Bundles -> patient facts in the b12kg patient vocabulary (RDF).

Each resource is first validated against the FHIR R4B models of fhir.resources (R4B is
the FHIR R4 technical correction; Patient, Observation, Condition, Procedure,
MedicationStatement and Bundle are unchanged from R4.0.1, and fhir.resources 8 ships no
separate R4 package). Validation errors name the resource and the FHIR field. The
mapping then reads the raw JSON, keeping every resource's FHIR id on its RDF node;
`MAPPINGS` says which module maps each resource type the guideline reads.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import InputRejected, Problem
from ..knowledge import Knowledge
from .codes import tables
from .facts import RDF_TYPE, P, plain
from .fhir_base import EARLIEST_DATE, Mapper, code_segment, fact_iri, patient_iri
from .fhir_check import certainly_valid, keep_tables
from .fhir_clinical import map_condition, map_patient, map_procedure
from .fhir_medication import MEDICATIONS, map_medication
from .fhir_observation import map_observation
from .fhir_patient import map_demographics
from .locate import resource_name
from .reading import MAX_BUNDLE_ENTRIES

MAPPINGS = {
    "Observation": (P.Observation, map_observation),
    "Condition": (P.Condition, map_condition),
    "Procedure": (P.Procedure, map_procedure),
    **{name: (table["class"], map_medication) for name, table in MEDICATIONS.items()},
}
"""Resource type -> (class in the patient vocabulary, mapping). Medication resources are
indexed for medicationReference; other valid FHIR types (Patient aside) are listed as ignored."""

VALIDATED = {*MAPPINGS, "Patient", "Medication"}
"""Resource types checked against the FHIR R4(B) models: those the guideline reads. Other
types are never validated field by field: what the guideline does not read never rejects."""

BUNDLE_TYPES = ("collection", "transaction", "batch", "document", "searchset", "history")
"""Bundle types read (contract section 6); any other, or none, is refused."""

def _model_errors(file: str, where: str, resource: dict) -> list[Problem]:
    """FHIR structural validation of one resource with fhir.resources (R4B)."""
    from fhir.resources.R4B import get_fhir_model_class

    resource_type = resource.get("resourceType")
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, TypeError):
        return [Problem(file, f"{resource_type!r} is not a FHIR R4 resource type", where, "resourceType",
                        "FHIR R4 resource types")]
    try:
        model.model_validate(resource)
    except Exception as exc:  # pydantic.ValidationError (or a model error on odd input)
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            return [Problem(file, str(exc), where, None, "FHIR R4 structure")]
        return [Problem(file, e["msg"], where, ".".join(str(p) for p in e["loc"]) or None, "FHIR R4 structure")
                for e in errors()]
    return []


def _bundle_type(bundle: dict, file: str) -> str:
    kind = bundle.get("type")
    if kind not in BUNDLE_TYPES:
        found = "no type" if kind is None else f"the type {str(kind)[:40]!r}"
        raise InputRejected.one(file, f"the Bundle has {found}: expected one of {', '.join(BUNDLE_TYPES)}",
                                resource="Bundle", field="type", rule="FHIR R4 Bundle.type")
    return kind


SCREENED = ("Observation", "Condition", "Procedure")
"""Resource types mapped only when one of their codes (code, or an Observation's coded value) is
one the guideline reads: a result of one of its analytes or a code in one of its value sets.
The others are listed as ignored without being validated field by field: a fact the guideline
does not read never rejects a record (contract 6), and a real export's hundreds of vital signs,
encounters' diagnoses and procedures cost nothing."""


def _reads_codes(resource: dict, knowledge: Knowledge) -> bool:
    """Whether a Condition, Procedure or Observation carries a code the guideline reads (or a
    group of it: a hierarchical code system's prefix), or, for a Condition, text naming a
    condition the guideline reads (its code then unrecognised: reported, contract section 5).
    A code that is not a CodeableConcept with a list of codings cannot be screened: it is kept,
    so the model validation names what is wrong with it."""
    codes = tables(knowledge)
    for key in ("code", "valueCodeableConcept"):
        codeable = resource.get(key)
        if codeable is None:
            continue
        codings = codeable.get("coding", []) if isinstance(codeable, dict) else None
        if not isinstance(codings, list):
            return True
        for coding in codings:
            if not isinstance(coding, dict) or not isinstance(coding.get("system"), str) or coding.get("code") is None:
                continue
            namespace = codes.namespaces.get(coding["system"])
            if namespace is None:
                continue
            iri = namespace + code_segment(str(coding["code"]))
            if codes.reads_code(iri) or codes.analyte_for_code(iri) is not None:
                return True
    return resource.get("resourceType") == "Condition" and knowledge.names_condition_read(_texts(resource.get("code")))


def _texts(codeable: Any) -> list[str]:
    """The words of a CodeableConcept: its text and its codings' displays."""
    if not isinstance(codeable, dict):
        return []
    codings = codeable.get("coding")
    displays = [c.get("display") for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []
    found = [codeable.get("text"), *displays]
    return [t for t in found if isinstance(t, str)]


CLINICAL_DATES = {
    "Observation": ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod", "recordedDate", "abatementDateTime"),
    "Procedure": ("performedDateTime", "performedPeriod"),
    "Encounter": ("period",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    "MedicationRequest": ("authoredOn",),
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod"),
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
}
"""The dates on a record's clinical resources that say how recent it is (record.newest_fact,
contract section 6): read whether or not the guideline reads the resource's code."""


def _clinical_dates(resource: dict) -> list[str]:
    found = []
    for key in CLINICAL_DATES.get(resource.get("resourceType"), ()):
        value = resource.get(key)
        values = [value.get("start"), value.get("end")] if isinstance(value, dict) else [value]
        found += [v[:10] for v in values if isinstance(v, str) and len(v) >= 10 and v[4:5] == "-" and v[:10] >= EARLIEST_DATE]
    return found


def _entries(bundle: dict, file: str, knowledge: Knowledge, ignored: list[dict],
             dates: set[str]) -> list[tuple[int, dict, str | None]]:
    """(index, resource, fullUrl) of every entry with a valid resource; a resource without an
    id is named by its fullUrl (contract 6); one with neither is refused when the guideline
    reads its type (conclusions could not name it), else named by its place ('entry-3'). In
    a history Bundle only the newest version of each resource (the first listed) is read."""
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InputRejected.one(file, "the Bundle has no entries", resource="Bundle", field="entry")
    if len(entries) > MAX_BUNDLE_ENTRIES:
        raise InputRejected.one(file, f"{len(entries)} entries, over the limit of {MAX_BUNDLE_ENTRIES} per patient",
                                resource="Bundle", field="entry", rule="limit")
    problems: list[Problem] = []
    found: list[tuple[int, dict, str | None]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        request = entry.get("request") if isinstance(entry, dict) else None
        if resource is None and isinstance(request, dict) and request.get("method") == "DELETE":
            continue  # a deletion in a history or transaction Bundle: nothing to read
        if not isinstance(resource, dict):
            problems.append(Problem(file, "entry has no resource object", f"Bundle.entry[{index}]", "resource"))
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            problems.append(Problem(file, f"resourceType must be a string, not {type(rtype).__name__}", f"Bundle.entry[{index}]",
                                    "resource.resourceType"))
            continue
        where = resource_name(resource)
        if rtype in CLINICAL_DATES:
            dates.update(_clinical_dates(resource))
        if rtype in SCREENED and not _reads_codes(resource, knowledge):
            ignored.append({"id": str(resource.get("id") or full_url or f"entry-{index}"), "resourceType": rtype,
                            "reason": f"a {rtype} with no code this guideline reads"})
            continue
        if rtype in VALIDATED:
            model_problems = [] if certainly_valid(resource) else _model_errors(file, where, resource)
        else:
            model_problems = _type_problem(file, where, rtype)
        if not model_problems and not resource.get("id"):
            if full_url:
                resource = {**resource, "id": full_url}
            elif rtype in MAPPINGS or rtype == "Patient":
                model_problems = [Problem(file, "resource has no id and its entry no fullUrl: conclusions could not name it",
                                          where, "id")]
            else:
                resource = {**resource, "id": f"entry-{index}"}
        problems.extend(model_problems)
        if not model_problems:
            found.append((index, resource, full_url))
    keep_tables()  # the FHIR check tables kept for the next run, once (fhir_check.py)
    if problems:
        raise InputRejected(problems)
    if bundle.get("type") == "history":
        seen: set[tuple[str, str]] = set()
        newest = []
        for item in found:
            key = (item[1]["resourceType"], str(item[1]["id"]))
            if key not in seen:
                seen.add(key)
                newest.append(item)
        found = newest
    return found


def _type_problem(file: str, where: str, resource_type: Any) -> list[Problem]:
    if _is_fhir_type(resource_type):
        return []
    return [Problem(file, f"{str(resource_type)[:60]!r} is not a FHIR R4 resource type", where, "resourceType",
                    "FHIR R4 resource types")]


@lru_cache(maxsize=1024)
def _is_fhir_type(resource_type: str) -> bool:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(resource_type)
    except (KeyError, ValueError, TypeError):
        return False
    return True


def bundle_to_graph(bundle: Any, knowledge: Knowledge, file: str) -> Mapper:
    """Validate a FHIR R4 Bundle and map it to patient facts: the Mapper holds the graph,
    the patient node and id, the resources set aside and the data quality notes.
    Raises InputRejected with every problem found.
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise InputRejected.one(file, f"expected a FHIR R4 Bundle, found {found!r}", field="resourceType")
    _bundle_type(bundle, file)
    screened: list[dict] = []
    dates: set[str] = set()
    resources = _entries(bundle, file, knowledge, screened, dates)

    patients = [(i, r, url) for i, r, url in resources if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        ids = ", ".join(str(r.get("id")) for _, r, _ in patients) or "none"
        raise InputRejected.one(file, f"a Bundle must hold exactly one Patient, found {len(patients)} ({ids})",
                                resource="Bundle", field="entry.resource")
    _, patient, full_url = patients[0]
    patient_id = str(patient["id"])
    patient_node = patient_iri(patient_id)
    subjects = {f"Patient/{patient_id}": patient_node}
    if full_url:
        subjects[full_url] = patient_node

    mapper = Mapper(knowledge, file)
    mapper.ignored.extend(screened)
    mapper.record_dates = frozenset(dates)
    mapper.patient, mapper.patient_id = patient_node, patient_id
    mapper.graph.add(patient_node, RDF_TYPE, P.Patient)
    mapper.graph.add(patient_node, P.fhirId, plain(patient_id))
    map_patient(mapper, patient_node, patient)
    map_demographics(mapper, patient_node, patient)
    for _, resource, url in resources:
        names = [f"{resource['resourceType']}/{resource['id']}"] + ([url] if url else [])
        mapper.resources.update(dict.fromkeys(names, resource))
    seen: dict[tuple[str, str], int] = {}
    for _, resource, _ in resources:
        resource_type = resource["resourceType"]
        if resource_type == "Patient":
            continue
        if resource_type not in MAPPINGS:
            mapper.ignored.append({"id": str(resource["id"]), "resourceType": resource_type,
                                   "reason": f"{resource_type} is not read by this guideline"})
            continue
        key = (resource_type, str(resource["id"]))
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        node = fact_iri(patient_node, resource_type, str(resource["id"]), occurrence)
        rdf_class, mapping = MAPPINGS[resource_type]
        mapper.common(node, resource, rdf_class, subjects)
        mapping(mapper, node, resource)
    for node, problems in mapper.deferred.items():
        if mapper.reads(node):
            mapper.problems.extend(problems)
        else:
            mapper.set_aside.setdefault(node, f"{problems[0].reason} (not read by this guideline)")
    if mapper.problems:
        raise InputRejected(mapper.problems)
    return mapper

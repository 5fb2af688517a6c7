"""FHIR R4 JSON Bundles -> patient facts in the b12kg patient vocabulary (RDF).

Each resource is first validated against the FHIR R4B models of fhir.resources (R4B is
the FHIR R4 technical correction; Patient, Observation, Condition, Procedure,
MedicationStatement and Bundle are unchanged from R4.0.1, and fhir.resources 8 ships no
separate R4 package). Validation errors name the resource and the FHIR field. The
mapping then reads the raw JSON, keeping every resource's FHIR id on its RDF node.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import rdflib
from rdflib import RDF, XSD, Literal, URIRef

from .errors import InputRejected, Problem
from .knowledge import Knowledge
from .namespaces import DATA, PT

MAX_BUNDLE_ENTRIES = 10_000
"""Most entries of one patient's Bundle, checked before any is validated (about load.MAX_TRIPLES
triples; measured: 31,000 entries take 6.6 s just to validate)."""

MAX_DECIMAL_PLACES = 18
MAX_MAGNITUDE = Decimal(10) ** 12
"""Every number must be held exactly by the rules' SPARQL engine (pyoxigraph's xsd:decimal:
18 fractional digits, up to about 1.7e20), leaving room for products such as a daily dose."""

USED_TYPES = {"Patient", "Observation", "Condition", "Procedure", "MedicationStatement"}
"""Resource types the guideline reads; other valid FHIR types are listed as ignored."""


def patient_iri(patient_id: str) -> URIRef:
    """The IRI of a patient node, safe for any FHIR id."""
    return URIRef(f"{DATA}patient/{quote(patient_id, safe='')}")


def fact_iri(patient: URIRef, resource_type: str, resource_id: str, occurrence: int = 0) -> URIRef:
    """The IRI of one resource of a patient (a repeated id gets its own node)."""
    suffix = f"~{occurrence}" if occurrence else ""
    return URIRef(f"{patient}/{resource_type}/{quote(resource_id, safe='')}{suffix}")


def _first(resource: dict, paths: tuple[str, ...]) -> tuple[str, Any]:
    """The first of some dotted paths present in a resource ('effectivePeriod.start'), and its value."""
    for path in paths:
        value: Any = resource
        for step in path.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        if value:
            return path, value
    return paths[0], None


def _where(resource: dict) -> str:
    """'Observation/obs-2': how problems name a resource."""
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def decimal_or_none(value: Any) -> Decimal | None:
    """A JSON number (or numeric string) as a finite Decimal; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _decimal_places(number: Decimal) -> int:
    """Digits after the point, trailing zeros aside (exact: no rounding context)."""
    _, digits, exponent = number.as_tuple()
    significant = "".join(map(str, digits)).rstrip("0")
    return max(0, -(int(exponent) + len(digits) - len(significant))) if significant else 0


def inexact(number: Decimal) -> str | None:
    """Why the rules could not compare `number` exactly (see MAX_DECIMAL_PLACES), if so."""
    shown = str(number) if len(str(number)) <= 40 else f"{number:.6e}"
    if number.copy_abs() >= MAX_MAGNITUDE:
        return f"{shown} is too large to compare exactly (limit {MAX_MAGNITUDE:.0e})"
    if _decimal_places(number) > MAX_DECIMAL_PLACES:
        return f"{shown} has more than {MAX_DECIMAL_PLACES} decimal places: it cannot be compared exactly"
    return None


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


def _plain_reference(reference: str) -> str:
    """'Patient/ID' for a versioned ('Patient/ID/_history/2') or absolute ('https://host/fhir/Patient/ID') reference."""
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:])


TIME_PROPERTIES = {PT.effectiveDate: PT.effectiveTime, PT.startDate: PT.startTime}
"""The date properties whose wall-clock time is kept too (local time, as recorded)."""


class _Mapper:
    """Maps one Bundle's resources onto an rdflib graph."""

    def __init__(self, knowledge: Knowledge, file: str):
        self.knowledge = knowledge
        self.file = file
        self.graph = rdflib.Graph()
        self.ignored: list[dict[str, str]] = []
        self.problems: list[Problem] = []

    def add_date(self, node: URIRef, prop: URIRef, resource: dict, *paths: str, partial_ok: bool = False) -> None:
        """The date part of the first FHIR date / dateTime found, as xsd:date, and its
        wall-clock time (pt:*Time, xsd:dateTime) when it has one, to order same-day facts.

        A partial date (2026, 2026-10) is a problem where durations are measured from it
        (results, medication starts); for a condition's onset or a procedure, which the
        rules read only as a history, it stands for the first day of its period."""
        path, value = _first(resource, paths)
        if not isinstance(value, str):
            return
        if len(value) < 10:
            if not partial_ok:
                self.problems.append(Problem(self.file, f"the date {value!r} is not a full date (YYYY-MM-DD): "
                                             "durations cannot be measured from a partial date",
                                             _where(resource), path, "full date"))
                return
            value = (value + "-01-01")[:10] if len(value) == 4 else (value + "-01")[:10]
        self.graph.add((node, prop, Literal(value[:10], datatype=XSD.date)))
        time_prop = TIME_PROPERTIES.get(prop)
        if time_prop is not None and len(value) >= 19 and value[10] == "T":
            self.graph.add((node, time_prop, Literal(value[:19], datatype=XSD.dateTime)))

    def add_number(self, node: URIRef, prop: URIRef, resource: dict, field: str, value: Any) -> None:
        """A FHIR decimal or integer as xsd:decimal (nothing when absent; a problem when not a number)."""
        if value is None:
            return
        number = decimal_or_none(value)
        reason = f"{value!r} is not a number" if number is None else inexact(number)
        if reason:
            self.problems.append(Problem(self.file, reason, _where(resource), field, "exact number"))
            return
        self.graph.add((node, prop, Literal(number, datatype=XSD.decimal)))

    def concepts(self, codeable: Any) -> tuple[list[URIRef], list[str]]:
        """Concept IRIs of a CodeableConcept's codings (unbound codings as text)."""
        iris, unbound = [], []
        if not isinstance(codeable, dict):
            return iris, unbound
        for coding in codeable.get("coding") or []:
            system, code = coding.get("system"), coding.get("code")
            if not code:
                continue
            code_system = self.knowledge.code_system(system) if system else None
            if code_system is None:
                unbound.append(f"{system}|{code}")
            else:
                iris.append(URIRef(code_system.namespace + quote(str(code), safe="-._~")))
        return iris, unbound

    def add_codes(self, node: URIRef, prop: URIRef, codeable: Any) -> None:
        iris, unbound = self.concepts(codeable)
        for iri in iris:
            self.graph.add((node, prop, iri))
        for text in unbound:
            self.graph.add((node, PT.codeText, Literal(text)))

    def common(self, node: URIRef, resource: dict, rdf_class: URIRef, subjects: dict[str, URIRef]) -> None:
        g = self.graph
        g.add((node, RDF.type, rdf_class))
        g.add((node, PT.fhirId, Literal(str(resource.get("id")))))
        g.add((node, PT.resourceType, Literal(resource["resourceType"])))
        reference = (resource.get("subject") or {}).get("reference")
        if reference:
            subject = subjects.get(reference) or subjects.get(_plain_reference(reference)) or \
                patient_iri(reference.split("/")[-1] + "#unresolved")
            g.add((node, PT.subject, subject))
        if resource.get("status"):
            g.add((node, PT.status, Literal(str(resource["status"]))))

    def observation(self, node: URIRef, r: dict) -> None:
        g = self.graph
        self.add_codes(node, PT.code, r.get("code"))
        self.add_date(node, PT.effectiveDate, r, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant")
        quantity = r.get("valueQuantity")
        if isinstance(quantity, dict):
            self.add_number(node, PT.value, r, "valueQuantity.value", quantity.get("value"))
            unit = quantity.get("code") or quantity.get("unit")
            if unit:
                g.add((node, PT.unit, Literal(str(unit))))
        if "valueCodeableConcept" in r:
            self.add_codes(node, PT.valueCode, r["valueCodeableConcept"])

    def condition(self, node: URIRef, r: dict) -> None:
        g = self.graph
        self.add_codes(node, PT.code, r.get("code"))
        for coding in (r.get("clinicalStatus") or {}).get("coding") or []:
            if coding.get("code"):
                g.add((node, PT.clinicalStatus, Literal(str(coding["code"]))))
        self.add_date(node, PT.effectiveDate, r, "onsetDateTime", "onsetPeriod.start", "recordedDate", partial_ok=True)

    def procedure(self, node: URIRef, r: dict) -> None:
        self.add_codes(node, PT.code, r.get("code"))
        self.add_date(node, PT.effectiveDate, r, "performedDateTime", "performedPeriod.start", partial_ok=True)

    def medication_statement(self, node: URIRef, r: dict) -> None:
        g = self.graph
        self.add_codes(node, PT.code, r.get("medicationCodeableConcept"))
        self.add_date(node, PT.startDate, r, "effectivePeriod.start", "effectiveDateTime")
        self.add_date(node, PT.endDate, r, "effectivePeriod.end")
        for index, dosage in enumerate(r.get("dosage") or []):
            self.add_codes(node, PT.route, dosage.get("route"))
            dose = next((d.get("doseQuantity") for d in dosage.get("doseAndRate") or [] if d.get("doseQuantity")), None)
            if not dose:
                continue
            dosage_node = URIRef(f"{node}/dosage/{index}")
            g.add((node, PT.dosage, dosage_node))
            g.add((dosage_node, RDF.type, PT.Dosage))
            self.add_number(dosage_node, PT.doseValue, r, f"dosage[{index}].doseAndRate.doseQuantity.value", dose.get("value"))
            unit = dose.get("code") or dose.get("unit")
            if unit:
                g.add((dosage_node, PT.doseUnit, Literal(str(unit))))
            repeat = (dosage.get("timing") or {}).get("repeat") or {}
            for key, prop in (("frequency", PT.frequency), ("period", PT.period)):
                self.add_number(dosage_node, prop, r, f"dosage[{index}].timing.repeat.{key}", repeat.get(key))
            if repeat.get("periodUnit"):
                g.add((dosage_node, PT.periodUnit, Literal(str(repeat["periodUnit"]))))


_CLASSES = {"Observation": PT.Observation, "Condition": PT.Condition, "Procedure": PT.Procedure,
            "MedicationStatement": PT.MedicationStatement}


def bundle_to_graph(bundle: Any, knowledge: Knowledge, file: str) -> tuple[rdflib.Graph, URIRef, str, list[dict]]:
    """Validate a FHIR R4 Bundle and map it to patient facts.

    Returns the graph, the patient node, the patient id and the resources set aside.
    Raises InputRejected with every problem found.
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise InputRejected.one(file, f"expected a FHIR R4 Bundle, found {found!r}", field="resourceType")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InputRejected.one(file, "the Bundle has no entries", resource="Bundle", field="entry")
    if len(entries) > MAX_BUNDLE_ENTRIES:
        raise InputRejected.one(file, f"{len(entries)} entries, over the limit of {MAX_BUNDLE_ENTRIES} per patient",
                                resource="Bundle", field="entry", rule="limit")

    problems: list[Problem] = []
    resources: list[tuple[int, dict]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            problems.append(Problem(file, "entry has no resource object", f"Bundle.entry[{index}]", "resource"))
            continue
        where = _where(resource)
        model_problems = _model_errors(file, where, resource)
        if not model_problems and not resource.get("id"):
            model_problems = [Problem(file, "resource has no id: conclusions could not name it", where, "id")]
        problems.extend(model_problems)
        if not model_problems:
            resources.append((index, resource))
    if problems:
        raise InputRejected(problems)

    patients = [(i, r) for i, r in resources if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        ids = ", ".join(str(r.get("id")) for _, r in patients) or "none"
        raise InputRejected.one(file, f"a Bundle must hold exactly one Patient, found {len(patients)} ({ids})",
                                resource="Bundle", field="entry.resource")
    patient_index, patient = patients[0]
    patient_id = str(patient["id"])
    patient_node = patient_iri(patient_id)
    subjects = {f"Patient/{patient_id}": patient_node}
    full_url = entries[patient_index].get("fullUrl")
    if full_url:
        subjects[full_url] = patient_node

    mapper = _Mapper(knowledge, file)
    mapper.graph.add((patient_node, RDF.type, PT.Patient))
    mapper.graph.add((patient_node, PT.fhirId, Literal(patient_id)))
    seen: dict[tuple[str, str], int] = {}
    for _, resource in resources:
        resource_type = resource["resourceType"]
        if resource_type == "Patient":
            continue
        if resource_type not in USED_TYPES:
            mapper.ignored.append({"id": str(resource["id"]), "resourceType": resource_type,
                                   "reason": f"{resource_type} is not read by this guideline"})
            continue
        key = (resource_type, str(resource["id"]))
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        node = fact_iri(patient_node, resource_type, str(resource["id"]), occurrence)
        mapper.common(node, resource, _CLASSES[resource_type], subjects)
        {"Observation": mapper.observation, "Condition": mapper.condition, "Procedure": mapper.procedure,
         "MedicationStatement": mapper.medication_statement}[resource_type](node, resource)
        if resource_type == "Condition":
            for coding in (resource.get("verificationStatus") or {}).get("coding") or []:
                if coding.get("code"):
                    mapper.graph.add((node, PT.verificationStatus, Literal(str(coding["code"]))))
    if mapper.problems:
        raise InputRejected(mapper.problems)
    return mapper.graph, patient_node, patient_id, mapper.ignored

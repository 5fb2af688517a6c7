"""What every FHIR resource mapping shares: the mapper's state (facts, problems, set-aside
resources) and the readers of FHIR datatypes (dates, numbers, CodeableConcepts)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ..errors import Problem
from ..knowledge import Knowledge
from ..namespaces import DATA
from .codes import tables
from .facts import RDF_TYPE, XSD_DATE, XSD_DATETIME, Facts, P, decimal, plain, typed
from .locate import resource_name
from .numbers import decimal_or_none, inexact


@lru_cache(maxsize=16384)
def code_segment(code: str) -> str:
    """A code as the last segment of its concept's IRI (percent-encoded)."""
    return quote(code, safe="-._~")


def patient_iri(patient_id: str) -> str:
    """The IRI of a patient node, safe for any FHIR id."""
    return f"{DATA}patient/{quote(patient_id, safe='')}"


def fact_iri(patient: str, resource_type: str, resource_id: str, occurrence: int = 0) -> str:
    """The IRI of one resource of a patient (a repeated id gets its own node)."""
    suffix = f"~{occurrence}" if occurrence else ""
    return f"{patient}/{resource_type}/{quote(resource_id, safe='')}{suffix}"


def first(resource: dict, paths: tuple[str, ...]) -> tuple[str, Any]:
    """The first of some dotted paths present in a resource ('effectivePeriod.start'), and its value."""
    for path in paths:
        value: Any = resource
        for step in path.split("."):
            if isinstance(value, list) and step.isdigit():
                value = value[int(step)] if int(step) < len(value) else None
            else:
                value = value.get(step) if isinstance(value, dict) else None
        if value:
            return path, value
    return paths[0], None


def plain_reference(reference: str) -> str:
    """'Patient/ID' for a versioned ('Patient/ID/_history/2') or absolute ('https://host/fhir/Patient/ID') reference."""
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:])


EARLIEST_DATE = "1900-01-01"
"""Dates before this are not plausible dates of a clinical record (a year 0001 result is a
data-entry or export error): refused on the facts the guideline reads, set aside otherwise."""

TIME_PROPERTIES = {P.effectiveDate: P.effectiveTime, P.startDate: P.startTime}
"""The date properties whose wall-clock time is kept too (local time, as recorded)."""


class Mapper:
    """Maps one Bundle's resources onto patient facts, collecting problems, set-aside
    resources and data quality notes.

    A problem found on a fact is `deferred`: it rejects the record only when the fact is
    one the guideline reads (a result of an analyte it reads, or a code in one of its value
    sets); otherwise the fact is set aside with the reason (contract section 6: what the
    guideline does not read never rejects a record)."""

    def __init__(self, knowledge: Knowledge, file: str):
        self.knowledge = knowledge
        self.codes = tables(knowledge)
        self.file = file
        self.graph = Facts()
        self.ignored: list[dict[str, str]] = []
        self.problems: list[Problem] = []
        self.deferred: dict[str, list[Problem]] = {}
        self.set_aside: dict[str, str] = {}
        self.quality: list[tuple[str, str, str]] = []
        self.patient: str | None = None
        self.patient_id = ""
        self.record_dates: frozenset[str] = frozenset()
        """Dates on the record's clinical resources (record.newest_fact)."""
        self.resources: dict[str, dict] = {}
        """In-bundle resources by every name a reference may use (fullUrl, Type/id)."""

    def problem(self, node: str | None, reason: str, resource: dict, field: str | None, rule: str | None = None) -> None:
        """A problem with a fact: deferred until it is known whether the guideline reads the fact."""
        found = Problem(self.file, reason, resource_name(resource), field, rule)
        if node is None:
            self.problems.append(found)
        else:
            self.deferred.setdefault(node, []).append(found)

    def note(self, node: str, code: str, detail: str) -> None:
        """A data quality note about a fact (contract section 6)."""
        self.quality.append((node, code, detail))

    def reads(self, node: str) -> bool:
        """Whether the guideline reads this fact: a result of one of its analytes, or a code in one of its value sets."""
        codes = self.graph.objects(node, P.code)
        return any(self.codes.analyte_for_code(c) for c in codes) or self.codes.reads_any(codes)

    def add_date(self, node: str, prop: str, resource: dict, *paths: str, partial_ok: bool = False) -> None:
        """The date part of the first FHIR date / dateTime found, as xsd:date, and its
        wall-clock time (pt:*Time, xsd:dateTime) when it has one, to order same-day facts.

        A partial date (2026, 2026-10) is a problem where durations are measured from it
        (results, medication starts); for a condition's onset or a procedure, which the
        rules read only as a history, it stands for the first day of its period."""
        path, value = first(resource, paths)
        if not isinstance(value, str):
            return
        if len(value) < 10:
            if not partial_ok:
                self.problem(node, f"the date {value!r} is not a full date (YYYY-MM-DD): "
                             "durations cannot be measured from a partial date", resource, path, "full date")
                return
            value = (value + "-01-01")[:10] if len(value) == 4 else (value + "-01")[:10]
        if value[:10] < EARLIEST_DATE:
            self.problem(node, f"the date {value[:10]} is before {EARLIEST_DATE}: not a plausible date of a record",
                         resource, path, "plausible date")
            return
        self.graph.add(node, prop, typed(value[:10], XSD_DATE))
        time_prop = TIME_PROPERTIES.get(prop)
        if time_prop is not None and len(value) >= 19 and value[10] == "T":
            self.graph.add(node, time_prop, typed(value[:19], XSD_DATETIME))

    def add_number(self, node: str, prop: str, resource: dict, field: str, value: Any, owner: str | None = None) -> None:
        """A FHIR decimal or integer as xsd:decimal (nothing when absent; a problem about `owner`,
        the fact, when not a number)."""
        if value is None:
            return
        number = decimal_or_none(value) if not isinstance(value, str) else None
        reason = f"{value!r} is not a number" if number is None else inexact(number)
        if reason:
            self.problem(owner or node, reason, resource, field, "exact number")
            return
        self.graph.add(node, prop, decimal(number))

    def concepts(self, codeable: Any) -> tuple[list[str], list[str]]:
        """Concept IRIs of a CodeableConcept's codings (unbound codings as text)."""
        iris, unbound = [], []
        if not isinstance(codeable, dict):
            return iris, unbound
        for coding in codeable.get("coding") or []:
            system, code = coding.get("system"), coding.get("code")
            if not code:
                continue
            namespace = self.codes.namespaces.get(system) if isinstance(system, str) and system else None
            if namespace is None:
                unbound.append(f"{system}|{code}")
            else:
                iris.append(namespace + code_segment(str(code)))
        return iris, unbound

    def add_codes(self, node: str, prop: str, codeable: Any, with_text: bool = False) -> None:
        iris, unbound = self.concepts(codeable)
        for iri in iris:
            self.graph.add(node, prop, iri)
        for words in unbound:
            self.graph.add(node, P.codeText, plain(words))
        if with_text and isinstance(codeable, dict):
            texts = [codeable.get("text")] + [c.get("display") for c in codeable.get("coding") or [] if isinstance(c, dict)]
            for words in texts:
                if isinstance(words, str) and words.strip():
                    self.graph.add(node, P.text, plain(words[:300]))

    def common(self, node: str, resource: dict, rdf_class: str, subjects: dict[str, str]) -> None:
        g = self.graph
        g.add(node, RDF_TYPE, rdf_class)
        g.add(node, P.fhirId, plain(str(resource.get("id"))))
        g.add(node, P.resourceType, plain(resource["resourceType"]))
        reference = (resource.get("subject") or resource.get("patient") or {}).get("reference")
        if reference:
            subject = resolve_subject(reference, subjects) or patient_iri(reference.split("/")[-1] + "#unresolved")
            g.add(node, P.subject, subject)
        if resource.get("status"):
            g.add(node, P.status, plain(str(resource["status"])))


def resolve_subject(reference: str, subjects: dict[str, str]) -> str | None:
    """The patient node a subject reference names: the Patient's fullUrl (urn:uuid: or an
    absolute URL), or a relative 'Patient/ID' (versioned or not). An absolute reference to
    another server's Patient is not this patient, whatever its id."""
    if reference in subjects:
        return subjects[reference]
    if "://" in reference or reference.startswith("urn:"):
        base = reference.split("/_history/")[0]
        return subjects.get(base)
    return subjects.get(plain_reference(reference))

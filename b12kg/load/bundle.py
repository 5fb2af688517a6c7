"""FHIR R4 JSON Bundles -> patient facts in the b12kg patient vocabulary (RDF).

Each resource is first validated against the FHIR R4B models of fhir.resources (R4B is
the FHIR R4 technical correction; Patient, Observation, Condition, Procedure,
MedicationStatement and Bundle are unchanged from R4.0.1, and fhir.resources 8 ships no
separate R4 package). Validation errors name the resource and the FHIR field. The
mapping then reads the raw JSON, keeping every resource's FHIR id on its RDF node;
`MAPPINGS` says which module maps each resource type the guideline reads.
"""

from __future__ import annotations

from typing import Any

import rdflib
from rdflib import RDF, Literal, URIRef

from ..errors import InputRejected, Problem
from ..knowledge import Knowledge
from ..namespaces import PT
from .fhir_base import Mapper, fact_iri, patient_iri
from .fhir_clinical import map_condition, map_procedure
from .fhir_medication import map_medication_statement
from .fhir_observation import map_observation
from .locate import resource_name
from .reading import MAX_BUNDLE_ENTRIES

MAPPINGS = {
    "Observation": (PT.Observation, map_observation),
    "Condition": (PT.Condition, map_condition),
    "Procedure": (PT.Procedure, map_procedure),
    "MedicationStatement": (PT.MedicationStatement, map_medication_statement),
}
"""Resource type -> (class in the patient vocabulary, mapping). Other valid FHIR types
(Patient aside) are listed as ignored."""


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
        where = resource_name(resource)
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

    mapper = Mapper(knowledge, file)
    mapper.graph.add((patient_node, RDF.type, PT.Patient))
    mapper.graph.add((patient_node, PT.fhirId, Literal(patient_id)))
    seen: dict[tuple[str, str], int] = {}
    for _, resource in resources:
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
    if mapper.problems:
        raise InputRejected(mapper.problems)
    return mapper.graph, patient_node, patient_id, mapper.ignored

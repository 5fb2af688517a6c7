"""Naming the place of a problem as the user wrote it: the resource ('Observation/obs-2')
and the field (a FHIR path such as 'valueQuantity.code'). Used by loading and by
b12kg.validate, so every message speaks the same language."""

from __future__ import annotations

from typing import Any

import rdflib

from ..knowledge import Knowledge
from ..namespaces import PT
from .facts import Facts, P, lexical, truthy


def json_path(path: tuple) -> str:
    """A JSON location as FHIR writes it: code.coding[0].code."""
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
    return text.lstrip(".") or "(document)"


def json_place(doc: Any, path: tuple) -> dict[str, str | None]:
    """The resource ('Observation/obs-2') and field of a location in a FHIR Bundle."""
    if len(path) >= 3 and path[0] == "entry" and path[2] == "resource":
        resource = doc["entry"][path[1]]["resource"]
        if not isinstance(resource, dict):
            return {"resource": None, "field": json_path(path)}
        return {"resource": resource_name(resource), "field": json_path(path[3:])}
    return {"resource": None, "field": json_path(path)}


def resource_name(resource: dict) -> str:
    """'Observation/obs-2': how problems name a FHIR resource."""
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def describe(graph: Facts | rdflib.Graph, node) -> str:
    """'ResourceType/id' for a fact node (its statement, for a dosage), else the node."""
    if isinstance(graph, Facts):
        owner = graph.subject(P.dosage, node) or node
        rtype, fid = graph.value(owner, P.resourceType), graph.value(owner, P.fhirId)
        if rtype is not None and fid is not None:
            return f"{lexical(rtype)}/{lexical(fid)}"
        return lexical(fid) if truthy(fid) else lexical(owner)
    owner = graph.value(predicate=PT.dosage, object=node) or node
    rtype, fid = graph.value(owner, PT.resourceType), graph.value(owner, PT.fhirId)
    if rtype is not None and fid is not None:
        return f"{rtype}/{fid}"
    return str(fid or owner)


def field_name(knowledge: Knowledge, prop) -> str | None:
    """The FHIR path a property of the patient vocabulary stands for (pt:fhirPath), else its IRI."""
    if prop is None:
        return None
    if type(prop) is str:
        prop = rdflib.URIRef(prop)
    fhir_path = knowledge.graph.value(prop, PT.fhirPath)
    return str(fhir_path) if fhir_path is not None else str(prop)

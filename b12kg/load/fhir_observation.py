"""FHIR Observation -> pt:Observation (laboratory results and recorded findings)."""

from __future__ import annotations

from rdflib import Literal, URIRef

from ..namespaces import PT
from .fhir_base import Mapper


def map_observation(m: Mapper, node: URIRef, r: dict) -> None:
    m.add_codes(node, PT.code, r.get("code"))
    m.add_date(node, PT.effectiveDate, r, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant")
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict):
        m.add_number(node, PT.value, r, "valueQuantity.value", quantity.get("value"))
        unit = quantity.get("code") or quantity.get("unit")
        if unit:
            m.graph.add((node, PT.unit, Literal(str(unit))))
    if "valueCodeableConcept" in r:
        m.add_codes(node, PT.valueCode, r["valueCodeableConcept"])

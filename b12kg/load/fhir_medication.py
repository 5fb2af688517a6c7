"""FHIR medication resources -> pt:MedicationStatement (exposure to a drug, with its dosage)."""

from __future__ import annotations

from rdflib import RDF, Literal, URIRef

from ..namespaces import PT
from .fhir_base import Mapper


def map_medication_statement(m: Mapper, node: URIRef, r: dict) -> None:
    g = m.graph
    m.add_codes(node, PT.code, r.get("medicationCodeableConcept"))
    m.add_date(node, PT.startDate, r, "effectivePeriod.start", "effectiveDateTime")
    m.add_date(node, PT.endDate, r, "effectivePeriod.end")
    for index, dosage in enumerate(r.get("dosage") or []):
        m.add_codes(node, PT.route, dosage.get("route"))
        dose = next((d.get("doseQuantity") for d in dosage.get("doseAndRate") or [] if d.get("doseQuantity")), None)
        if not dose:
            continue
        dosage_node = URIRef(f"{node}/dosage/{index}")
        g.add((node, PT.dosage, dosage_node))
        g.add((dosage_node, RDF.type, PT.Dosage))
        m.add_number(dosage_node, PT.doseValue, r, f"dosage[{index}].doseAndRate.doseQuantity.value", dose.get("value"))
        unit = dose.get("code") or dose.get("unit")
        if unit:
            g.add((dosage_node, PT.doseUnit, Literal(str(unit))))
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        for key, prop in (("frequency", PT.frequency), ("period", PT.period)):
            m.add_number(dosage_node, prop, r, f"dosage[{index}].timing.repeat.{key}", repeat.get(key))
        if repeat.get("periodUnit"):
            g.add((dosage_node, PT.periodUnit, Literal(str(repeat["periodUnit"]))))

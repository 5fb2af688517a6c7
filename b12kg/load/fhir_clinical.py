"""FHIR Condition and Procedure -> pt:Condition and pt:Procedure (the patient's history)."""

from __future__ import annotations

from rdflib import Literal, URIRef

from ..namespaces import PT
from .fhir_base import Mapper


def map_condition(m: Mapper, node: URIRef, r: dict) -> None:
    m.add_codes(node, PT.code, r.get("code"))
    for coding in (r.get("clinicalStatus") or {}).get("coding") or []:
        if coding.get("code"):
            m.graph.add((node, PT.clinicalStatus, Literal(str(coding["code"]))))
    for coding in (r.get("verificationStatus") or {}).get("coding") or []:
        if coding.get("code"):
            m.graph.add((node, PT.verificationStatus, Literal(str(coding["code"]))))
    m.add_date(node, PT.effectiveDate, r, "onsetDateTime", "onsetPeriod.start", "recordedDate", partial_ok=True)


def map_procedure(m: Mapper, node: URIRef, r: dict) -> None:
    m.add_codes(node, PT.code, r.get("code"))
    m.add_date(node, PT.effectiveDate, r, "performedDateTime", "performedPeriod.start", partial_ok=True)

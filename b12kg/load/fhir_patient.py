"""FHIR Patient -> pt:PatientRecord: the demographics a guideline's population may read
(administrative gender, US Core birth sex, birth date), as a fact conclusions can name."""

from __future__ import annotations

from .facts import RDF_TYPE, XSD_DATE, P, plain, typed
from .fhir_base import Mapper

BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"


def map_demographics(m: Mapper, patient_node: str, r: dict) -> None:
    """The Patient's record node (only when it records a demographic a guideline reads)."""
    gender = r.get("gender")
    birth_sex = next((e.get("valueCode") for e in r.get("extension") or [] if isinstance(e, dict) and e.get("url") == BIRTH_SEX), None)
    birth_date = r.get("birthDate")
    if not (gender or birth_sex or birth_date):
        return
    g = m.graph
    node = f"{patient_node}/Patient/record"
    g.add(node, RDF_TYPE, P.PatientRecord)
    g.add(node, P.subject, patient_node)
    g.add(node, P.fhirId, plain(str(r["id"])))
    g.add(node, P.resourceType, plain("Patient"))
    if isinstance(gender, str):
        g.add(node, P.gender, plain(gender))
    if isinstance(birth_sex, str):
        g.add(node, P.birthSex, plain(birth_sex))
    if isinstance(birth_date, str) and len(birth_date) >= 4:
        # a partial birth date (1990, 1990-06) stands for the first day of its period: the age is never overstated by more than a year
        full = (birth_date + "-01-01")[:10] if len(birth_date) == 4 else (birth_date + "-01")[:10]
        g.add(node, P.birthDate, typed(full, XSD_DATE))

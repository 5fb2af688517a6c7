"""FHIR Patient, Condition and Procedure -> the patient, pt:Condition and pt:Procedure (the patient's history).

| FHIR                                   | patient vocabulary                |
|----------------------------------------|-----------------------------------|
| Patient.deceasedBoolean                | pt:deceased                       |
| Patient.deceasedDateTime               | pt:deceasedDate (date part)       |
| Condition.code                         | pt:code                           |
| Condition.clinicalStatus.coding.code   | pt:clinicalStatus                 |
| Condition.verificationStatus.coding.code | pt:verificationStatus           |
| Condition.onset[x] / recordedDate      | pt:effectiveDate (a partial date: its first day) |
| Procedure.code                         | pt:code                           |
| Procedure.performed[x]                 | pt:effectiveDate (a partial date: its first day) |
"""

from __future__ import annotations

from .facts import TRUE, XSD_DATE, P, plain, typed
from .fhir_base import Mapper


def map_patient(m: Mapper, node: str, r: dict) -> None:
    if r.get("deceasedBoolean") is True:
        m.graph.add(node, P.deceased, TRUE)
    died = r.get("deceasedDateTime")
    if isinstance(died, str) and len(died) >= 4:
        day = (died + "-01-01")[:10] if len(died) == 4 else (died + "-01")[:10] if len(died) == 7 else died[:10]
        m.graph.add(node, P.deceasedDate, typed(day, XSD_DATE))


def map_condition(m: Mapper, node: str, r: dict) -> None:
    m.add_codes(node, P.code, r.get("code"), with_text=True)  # text: a neuropathy named with an unknown code is reported
    for coding in (r.get("clinicalStatus") or {}).get("coding") or []:
        if coding.get("code"):
            m.graph.add(node, P.clinicalStatus, plain(str(coding["code"])))
    for coding in (r.get("verificationStatus") or {}).get("coding") or []:
        if coding.get("code"):
            m.graph.add(node, P.verificationStatus, plain(str(coding["code"])))
    m.add_date(node, P.effectiveDate, r, "onsetDateTime", "onsetPeriod.start", "recordedDate", partial_ok=True)


def map_procedure(m: Mapper, node: str, r: dict) -> None:
    m.add_codes(node, P.code, r.get("code"))
    m.add_date(node, P.effectiveDate, r, "performedDateTime", "performedPeriod.start", partial_ok=True)

"""FHIR Observation -> pt:Observation (laboratory results and recorded findings).

Values are read only for the analytes the guideline reads (serum B12, MMA,
homocysteine): the value of any other test never rejects a record. Results are read as
labs report them (contract section 6):

| FHIR                                  | read as                                              |
|---------------------------------------|------------------------------------------------------|
| valueQuantity.value / .code           | pt:value / pt:unit (UCUM; `unit` when no code: `unit-from-text`) |
| valueQuantity.comparator              | pt:comparator: the result is the interval it states |
| valueString "<150 pg/mL"              | the same quantity (`value-from-text`)                |
| valueString that is not a quantity    | set aside (`value-not-a-quantity`)                   |
| dataAbsentReason, or no value         | set aside (`value-absent`), never a result           |
| effective[x]; else issued             | pt:effectiveDate (`date-from-issued`); neither: set aside (`date-absent`) |
| status final, amended, corrected       | a result                                             |
| status preliminary                     | a result (`preliminary-result`)                      |
| any other status                       | set aside (`status-not-a-result`)                    |
"""

from __future__ import annotations

import re
from decimal import Decimal

from .facts import P, plain
from .fhir_base import Mapper

UCUM_SYSTEM = "http://unitsofmeasure.org"
COMPARATORS = ("<", "<=", ">", ">=")
EFFECTIVE = ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant")
RESULT_STATUSES = ("final", "amended", "corrected", "preliminary")
"""Observation.status values that are results (contract section 6, version 3); preliminary is
reported. Any other value (registered, cancelled, entered-in-error, unknown, or not a FHIR code)
is set aside."""

_QUANTITY_TEXT = re.compile(r"\s*(<=|>=|<|>)?\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(\S{1,60})?\s*")
"""A quantity written as text: an optional comparator, a decimal number and a unit."""


def map_observation(m: Mapper, node: str, r: dict) -> None:
    m.add_codes(node, P.code, r.get("code"))
    if "valueCodeableConcept" in r:
        m.add_codes(node, P.valueCode, r["valueCodeableConcept"])
    analyte = next((a for c in m.graph.objects(node, P.code) if (a := m.codes.analyte_for_code(c))), None)
    m.add_date(node, P.effectiveDate, r, *EFFECTIVE)
    if analyte is None:
        return
    status = r.get("status")
    if status not in RESULT_STATUSES:
        shown = repr(str(status)[:40]) if status is not None else "none"
        m.set_aside[node] = f"status {shown}: not a result"
        m.note(node, "status-not-a-result", f"{analyte.label}: status {shown} is not a result (final, amended, corrected or "
               "preliminary): set aside")
        return
    if status == "preliminary":
        m.note(node, "preliminary-result", f"{analyte.label}: a preliminary result, read as a result; the final one may differ")
    if not m.graph.has(node, P.effectiveDate) and not m.deferred.get(node):
        if isinstance(r.get("issued"), str):
            m.add_date(node, P.effectiveDate, r, "issued")
            m.note(node, "date-from-issued", f"{analyte.label}: no effective date; dated by its issued date {r['issued'][:10]}")
        else:
            m.set_aside[node] = "a result with no effective date and no issued date"
            m.note(node, "date-absent", f"{analyte.label}: no effective date and no issued date: set aside")
            return
    if r.get("dataAbsentReason") is not None:
        reason = _text_of(r["dataAbsentReason"]) or "a dataAbsentReason"
        m.set_aside[node] = f"no value: {reason}"
        m.note(node, "value-absent", f"{analyte.label}: no value ({reason}): set aside, not a result")
        return
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        _quantity(m, node, r, quantity, analyte.label)
    elif isinstance(r.get("valueString"), str):
        _from_text(m, node, r, r["valueString"], analyte.label)
    elif not any(key.startswith("value") for key in r):
        m.set_aside[node] = "a result with no value"
        m.note(node, "value-absent", f"{analyte.label}: no value recorded: set aside, not a result")


def _quantity(m: Mapper, node: str, r: dict, quantity: dict, label: str) -> None:
    m.add_number(node, P.value, r, "valueQuantity.value", quantity.get("value"))
    comparator = quantity.get("comparator")
    if comparator is not None:
        m.graph.add(node, P.comparator, plain(str(comparator)))
    system, code, unit = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    if code and system not in (None, UCUM_SYSTEM):
        m.problem(node, f"the unit code {code!r} is from {system!r}, not UCUM ({UCUM_SYSTEM})", r,
                  "valueQuantity.system", "UCUM")
    elif code:
        m.graph.add(node, P.unit, plain(str(code)))
    elif unit:
        m.graph.add(node, P.unit, plain(str(unit)))
        m.note(node, "unit-from-text", f"{label}: no unit code; the unit {str(unit)[:40]!r} was read from valueQuantity.unit")


def _from_text(m: Mapper, node: str, r: dict, text: str, label: str) -> None:
    match = _QUANTITY_TEXT.fullmatch(text[:200])
    if match is None or match.group(3) is None:
        m.set_aside[node] = f"the value {text[:60]!r} is not a quantity"
        m.note(node, "value-not-a-quantity", f"{label}: the value {text[:60]!r} is not a quantity with a unit: set aside")
        return
    comparator, number, unit = match.groups()
    m.add_number(node, P.value, r, "valueString", Decimal(number))
    if comparator:
        m.graph.add(node, P.comparator, plain(comparator))
    m.graph.add(node, P.unit, plain(unit))
    m.note(node, "value-from-text", f"{label}: the value was read from the text {text[:60]!r}")


def _text_of(codeable) -> str | None:
    if not isinstance(codeable, dict):
        return None
    codes = [c.get("code") or c.get("display") for c in codeable.get("coding") or [] if isinstance(c, dict)]
    return codeable.get("text") or next((c for c in codes if c), None)

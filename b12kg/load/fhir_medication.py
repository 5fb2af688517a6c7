"""FHIR medication resources -> pt:MedicationUse (exposure to a drug, with its dosage).

One table per resource type (contract section 6); which statuses and intents count, and
when a record is current, are data in ontology/model/patient.ttl (pt:countsWhenStatus,
pt:countsWhenIntent) read by the loader's scope; the period each record covers, and the
exposure episodes they form, are computed by queries/classify/exposure-*.rq (contract
section 6, version 3) from what is mapped here: start, explicit end, the last day of a
dispensed supply, a request's expected supply and repeats, a quantity, and the record's
latest date (pt:latestDate: how recently it was written or renewed).

- MedicationStatement: start effectivePeriod.start, else effectiveDateTime; end
  effectivePeriod.end; dosage[].
- MedicationRequest: start dosageInstruction[0].timing.repeat.boundsPeriod.start, else
  dispenseRequest.validityPeriod.start, else authoredOn; end boundsPeriod.end, else
  validityPeriod.end; expectedSupplyDuration, numberOfRepeatsAllowed, quantity;
  dosageInstruction[].
- MedicationAdministration: start effectiveDateTime, else effectivePeriod.start; end
  effectivePeriod.end; dosage (one dose).
- MedicationDispense: start whenHandedOver, else whenPrepared; daysSupply (the supply's
  last day: start + daysSupply - 1, days counted inclusively); quantity; dosageInstruction[].

The drug is medicationCodeableConcept, or medicationReference to a contained ('#id') or
in-bundle Medication: its code, and its ingredients' codes when its code is not one the
guideline reads; an ingredient's strength in mg per tablet, capsule or mL converts doses
given in those units (pt:strengthMg, pt:strengthUnit).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from .. import units
from .facts import RDF_TYPE, XSD_DATE, P, decimal, plain, typed
from .fhir_base import EARLIEST_DATE, Mapper, first, plain_reference
from .numbers import decimal_or_none, inexact

MEDICATIONS = {
    "MedicationStatement": {
        "class": P.MedicationStatement, "start": ("effectivePeriod.start", "effectiveDateTime"),
        "end": ("effectivePeriod.end",), "dosage": "dosage"},
    "MedicationRequest": {
        "class": P.MedicationRequest,
        "start": ("dosageInstruction.0.timing.repeat.boundsPeriod.start", "dispenseRequest.validityPeriod.start", "authoredOn"),
        "end": ("dosageInstruction.0.timing.repeat.boundsPeriod.end", "dispenseRequest.validityPeriod.end"),
        "dosage": "dosageInstruction"},
    "MedicationAdministration": {
        "class": P.MedicationAdministration, "start": ("effectiveDateTime", "effectivePeriod.start"),
        "end": ("effectivePeriod.end",), "dosage": None},
    "MedicationDispense": {
        "class": P.MedicationDispense, "start": ("whenHandedOver", "whenPrepared"), "end": (), "dosage": "dosageInstruction"},
}

RECORD_DATES = ("authoredOn", "dateAsserted", "effectiveDateTime", "whenHandedOver", "whenPrepared",
                "dosageInstruction.0.timing.repeat.boundsPeriod.start", "dispenseRequest.validityPeriod.start")
"""The dates a medication record carries of its writing or renewal: the latest is pt:latestDate
(an active record not renewed within the open-ended limit is stale, contract section 6). A
statement's effectivePeriod is not among them: a period with no end states use up to now (the
contract's own example ex4 reads an active statement started 21 months earlier as current); its
dateAsserted, where given, dates it."""


def map_medication(m: Mapper, node: str, r: dict) -> None:
    table = MEDICATIONS[r["resourceType"]]
    g = m.graph
    if r.get("intent"):
        g.add(node, P.intent, plain(str(r["intent"])))
    _drug(m, node, r)
    m.add_date(node, P.startDate, r, *table["start"])
    if table["end"]:
        m.add_date(node, P.endDate, r, *table["end"])
    if isinstance(r.get("daysSupply"), dict):
        _supply(m, node, r, r["daysSupply"])
    _latest_date(m, node, r)
    _dispense_request(m, node, r)
    if table["dosage"] is None:
        dosage = r.get("dosage")
        if isinstance(dosage, dict):
            m.add_codes(node, P.route, dosage.get("route"))
            _dose(m, node, r, 0, dosage.get("dose"), {}, "dosage.dose")
        return
    for index, dosage in enumerate(r.get(table["dosage"]) or []):
        if not isinstance(dosage, dict):
            continue
        m.add_codes(node, P.route, dosage.get("route"))
        dose = next((d.get("doseQuantity") for d in dosage.get("doseAndRate") or [] if isinstance(d, dict) and d.get("doseQuantity")),
                    None)
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        _dose(m, node, r, index, dose, repeat, f"{table['dosage']}[{index}].doseAndRate.doseQuantity")


def _dose(m: Mapper, node: str, r: dict, index: int, dose: Any, repeat: dict, field: str) -> None:
    if not isinstance(dose, dict):
        return
    g = m.graph
    dosage_node = f"{node}/dosage/{index}"
    g.add(node, P.dosage, dosage_node)
    g.add(dosage_node, RDF_TYPE, P.Dosage)
    m.add_number(dosage_node, P.doseValue, r, f"{field}.value", dose.get("value"), owner=node)
    unit = dose.get("code") or dose.get("unit")
    if unit:
        g.add(dosage_node, P.doseUnit, plain(str(unit)))
    for key, prop in (("frequency", P.frequency), ("period", P.period)):
        m.add_number(dosage_node, prop, r, f"{field.split('.')[0]}.timing.repeat.{key}", repeat.get(key), owner=node)
    if repeat.get("periodUnit"):
        g.add(dosage_node, P.periodUnit, plain(str(repeat["periodUnit"])))


def _supply(m: Mapper, node: str, r: dict, supply: dict) -> None:
    """daysSupply, and the last day of the supply (the date handed over + daysSupply, in days)."""
    m.add_number(node, P.daysSupply, r, "daysSupply.value", supply.get("value"))
    days, unit = decimal_or_none(supply.get("value")), supply.get("code") or supply.get("unit") or "d"
    start = m.graph.value(node, P.startDate)
    if days is None or start is None or days < 0 or days > 3660:
        return
    try:
        days = units.convert(days, str(unit), "d") if str(unit) not in ("d", "day", "days") else days
    except (units.UnitError, ArithmeticError):
        return
    covered = int(days.to_integral_value(rounding=ROUND_CEILING))
    end = date.fromisoformat(start[0]) + timedelta(days=max(covered - 1, 0))  # counted inclusively: 30 days from 1 January end on 30 January
    m.graph.add(node, P.supplyEndDate, typed(end.isoformat(), XSD_DATE))


def _latest_date(m: Mapper, node: str, r: dict) -> None:
    """pt:latestDate: the latest full date among the record's own dates (RECORD_DATES)."""
    dates = []
    for path in RECORD_DATES:
        _, value = first(r, (path,))
        if isinstance(value, str) and len(value) >= 10 and value[:10] >= EARLIEST_DATE:
            dates.append(value[:10])
    if dates:
        with suppress(ValueError):  # not a date: the start's own check reports it where the guideline reads the record
            m.graph.add(node, P.latestDate, typed(max(dates), XSD_DATE))


def _dispense_request(m: Mapper, node: str, r: dict) -> None:
    """A request's expected supply (in days) and repeats, and the quantity of a request or dispense."""
    request = r.get("dispenseRequest") if isinstance(r.get("dispenseRequest"), dict) else {}
    expected = request.get("expectedSupplyDuration")
    if isinstance(expected, dict):
        days, unit = decimal_or_none(expected.get("value")), expected.get("code") or expected.get("unit") or "d"
        try:
            days = days if days is None or str(unit) in ("d", "day", "days") else units.convert(days, str(unit), "d")
        except (units.UnitError, ArithmeticError):
            days = None
        if days is not None and 0 < days <= 3660 and not inexact(days):
            m.graph.add(node, P.expectedSupplyDays, decimal(Decimal(days)))
            repeats = decimal_or_none(request.get("numberOfRepeatsAllowed"))
            if repeats is not None and 0 <= repeats <= 1000:
                m.graph.add(node, P.repeatsAllowed, decimal(repeats))
    quantity = r.get("quantity") if isinstance(r.get("quantity"), dict) else request.get("quantity")
    if isinstance(quantity, dict):
        value = decimal_or_none(quantity.get("value"))
        unit = quantity.get("code") or quantity.get("unit")
        if value is not None and value > 0 and not inexact(value) and isinstance(unit, str):
            m.graph.add(node, P.quantityValue, decimal(value))
            m.graph.add(node, P.quantityUnit, plain(unit))


def _drug(m: Mapper, node: str, r: dict) -> None:
    """The codes (and text, and strength) of the drug a medication record is about."""
    if "medicationCodeableConcept" in r:
        m.add_codes(node, P.code, r.get("medicationCodeableConcept"), with_text=True)
        return
    reference = (r.get("medicationReference") or {}).get("reference")
    medication = _referenced(m, r, reference) if isinstance(reference, str) else None
    if medication is None:
        if isinstance((r.get("medicationReference") or {}).get("display"), str):
            m.graph.add(node, P.text, plain(r["medicationReference"]["display"][:300]))
        return
    m.add_codes(node, P.code, medication.get("code"), with_text=True)
    read = m.codes.reads_any(m.graph.objects(node, P.code))
    for ingredient in medication.get("ingredient") or []:
        if not isinstance(ingredient, dict):
            continue
        item = ingredient.get("itemCodeableConcept")
        if item is None and isinstance(ingredient.get("itemReference"), dict):
            item = (_referenced(m, r, ingredient["itemReference"].get("reference")) or {}).get("code")
        before = set(m.graph.objects(node, P.code))
        if not read:
            m.add_codes(node, P.code, item, with_text=True)
        added = set(m.graph.objects(node, P.code)) - before
        if (m.codes.reads_any(added) or read) and ingredient.get("strength"):
            _strength(m, node, ingredient["strength"])


def _referenced(m: Mapper, r: dict, reference: str | None) -> dict | None:
    """The Medication a reference names: contained ('#id') or in the Bundle."""
    if not isinstance(reference, str):
        return None
    if reference.startswith("#"):
        return next((c for c in r.get("contained") or [] if isinstance(c, dict) and c.get("id") == reference[1:]), None)
    return m.resources.get(reference) or m.resources.get(plain_reference(reference))


def _strength(m: Mapper, node: str, ratio: Any) -> None:
    """mg of the ingredient per dose unit (tablet, mL...), from a strength Ratio whose numerator is a mass."""
    if not isinstance(ratio, dict):
        return
    numerator, denominator = ratio.get("numerator") or {}, ratio.get("denominator") or {}
    amount, per = decimal_or_none(numerator.get("value")), decimal_or_none(denominator.get("value", 1))
    unit, per_unit = numerator.get("code") or numerator.get("unit"), denominator.get("code") or denominator.get("unit")
    if amount is None or per is None or per <= 0 or not unit or not per_unit:
        return
    try:
        mg = units.convert(amount, str(unit), "mg") / per
    except (units.UnitError, ArithmeticError):
        return
    if inexact(mg) or mg <= 0:
        return
    m.graph.add(node, P.strengthMg, decimal(Decimal(mg).normalize()))
    m.graph.add(node, P.strengthUnit, plain(str(per_unit)))

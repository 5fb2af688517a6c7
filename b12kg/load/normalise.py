"""Units use: lab results in each analyte's canonical unit, doses in mg, periods in days.

The accepted units, canonical units and plausible ranges are data in the ontology
(b12:Analyte); conversions are UCUM (b12kg.units) with exact Decimal arithmetic.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

from .. import units
from ..errors import InputRejected, Problem
from ..knowledge import Analyte, Knowledge
from .codes import tables
from .facts import Facts, P, decimal, lexical, plain
from .locate import describe
from .numbers import decimal_value, inexact
from .reading import MAX_RESULTS_PER_ANALYTE

UCUM_SHAPE = re.compile(r"[!-~]{1,60}")
"""What a UCUM code can look like (printable ASCII, no space): anything else is not UCUM
and is never handed to the UCUM parser (or its cache)."""


def _is_ucum(unit: str) -> bool:
    if not UCUM_SHAPE.fullmatch(unit):
        return False
    try:
        units.factor(unit, unit)
    except units.UnitError:
        return False
    return True


def accepted_spelling(unit: str, analyte: Analyte) -> str | None:
    """The accepted unit that `unit` is, if any: itself, or a UCUM synonym of it
    ('pg/ml' is 'pg/mL': UCUM writes the litre as l or L), else None."""
    if unit in analyte.accepted_units:
        return unit
    if not _is_ucum(unit):
        return None
    for accepted in sorted(analyte.accepted_units):
        try:
            if units.factor(unit, accepted) == 1:
                return accepted
        except units.UnitError:
            continue
    return None


def _unit_reason(unit: str, analyte: Analyte) -> str:
    """Why a unit is refused for an analyte: not UCUM, the wrong dimension, or not an accepted unit."""
    accepted = ", ".join(sorted(analyte.accepted_units))
    if not _is_ucum(unit):
        return f"unit {unit!r} is not a UCUM unit (accepted for {analyte.label}: {accepted})"
    try:
        units.factor(unit, analyte.canonical_unit, analyte.mass_per_substance)
    except units.UnitError:
        return (f"unit {unit!r} is a UCUM unit of the wrong dimension for {analyte.label}: it cannot be converted "
                f"to {analyte.canonical_unit} (accepted: {accepted})")
    return f"unit {unit!r} is not one of the units accepted for {analyte.label}: {accepted}"


def _canonical(value: Decimal, unit: str, analyte: Analyte) -> Decimal | None:
    """`value` in the analyte's canonical unit, or None when it is outside the plausible range."""
    try:
        canonical = units.convert(value, unit, analyte.canonical_unit, analyte.mass_per_substance)
    except ArithmeticError:  # beyond Decimal's exponent range: certainly implausible
        return None
    if inexact(canonical) or not analyte.plausible_min < canonical <= analyte.plausible_max:
        return None
    return canonical


COUNT_UNITS = {"tab": "tablet", "tabs": "tablet", "tablet": "tablet", "tablets": "tablet", "tbl": "tablet",
               "cap": "capsule", "caps": "capsule", "capsule": "capsule", "capsules": "capsule",
               "ml": "mL", "milliliter": "mL", "millilitre": "mL"}
"""Spellings of the dose units a Medication's strength may be given per (UCUM annotations
such as {tbl} are read without their braces)."""


def _dose_unit(unit: str) -> str:
    return COUNT_UNITS.get(unit.strip().strip("{}").lower(), unit.strip().strip("{}").lower())


def _read_drug(graph: Facts, dosage, knowledge: Knowledge) -> bool:
    owner = graph.subject(P.dosage, dosage)
    codes = graph.objects(owner, P.code) if owner is not None else graph.all_objects(P.code)
    return tables(knowledge).reads_any(codes)


def normalise(graph: Facts, knowledge: Knowledge, file: str) -> None:
    """Add canonical values: lab results in the analyte's unit, doses in mg, periods in days.

    Units that are not accepted and implausible values (against the analyte's plausible
    range in the ontology) are rejected here; a missing value or unit is left for SHACL.
    """
    problems: list[Problem] = []
    results: Counter[Analyte] = Counter()
    codes = tables(knowledge)
    for fact, concept in graph.subject_objects(P.code):
        analyte = codes.analyte_for_code(concept)
        if analyte is None:
            continue
        results[analyte] += 1
        graph.add(fact, P.measures, analyte.iri)
        value, unit = decimal_value(graph.value(fact, P.value)), graph.value(fact, P.unit)
        unit = lexical(unit) if unit is not None else None
        spelling = accepted_spelling(unit, analyte) if unit is not None else None
        if unit is not None and spelling is None:
            problems.append(Problem(file, _unit_reason(unit, analyte), describe(graph, fact), "valueQuantity.code", "UCUM"))
            continue
        if value is None or spelling is None:
            continue
        canonical = _canonical(value, spelling, analyte)
        if canonical is None:
            problems.append(Problem(file, f"{value} {unit} is not a plausible {analyte.label} "
                                    f"(plausible: more than {analyte.plausible_min} and at most {analyte.plausible_max} {analyte.canonical_unit})",
                                    describe(graph, fact), "valueQuantity.value", "plausible range"))
            continue
        graph.add(fact, P.canonicalValue, decimal(canonical))
        graph.add(fact, P.canonicalUnit, plain(analyte.canonical_unit))
    problems += [Problem(file, f"{count} results of {analyte.label}, over the limit of {MAX_RESULTS_PER_ANALYTE} per patient",
                         field="code", rule="limit")
                 for analyte, count in results.items() if count > MAX_RESULTS_PER_ANALYTE]

    dose = knowledge.dose_analyte()
    for dosage, value_literal in graph.subject_objects(P.doseValue):
        if not _read_drug(graph, dosage, knowledge):
            continue
        owner = graph.subject(P.dosage, dosage)
        value, unit = decimal_value(value_literal), graph.value(dosage, P.doseUnit)
        if value is None or unit is None:
            continue
        unit = lexical(unit)
        spelling = accepted_spelling(unit, dose)
        strength, per = graph.value(owner, P.strengthMg), graph.value(owner, P.strengthUnit)
        if spelling is not None:
            mg = _canonical(value, spelling, dose)
        elif strength is not None and per is not None and _dose_unit(unit) == _dose_unit(lexical(per)):
            mg = value * decimal_value(strength)
            mg = mg if not inexact(mg) and dose.plausible_min < mg <= dose.plausible_max else None
        else:
            continue  # tablets or mL with no strength, or not a mass: the daily dose is unknown (data quality)
        if mg is None:
            problems.append(Problem(file, f"a dose of {value} {unit} is not plausible", describe(graph, dosage),
                                    "dosage.doseAndRate.doseQuantity.value", "plausible range"))
            continue
        graph.add(dosage, P.doseMg, decimal(mg))
    for dosage, unit in graph.subject_objects(P.periodUnit):
        if not _read_drug(graph, dosage, knowledge):
            continue
        unit = lexical(unit)
        period = decimal_value(graph.value(dosage, P.period)) or Decimal(1)
        try:
            if not UCUM_SHAPE.fullmatch(unit):
                raise units.UnitError(unit)
            days = units.convert(period, unit, "d")
        except (units.UnitError, ArithmeticError):
            problems.append(Problem(file, f"period unit {unit!r} is not a UCUM unit of time", describe(graph, dosage),
                                    "dosage.timing.repeat.periodUnit", "UCUM"))
            continue
        if days <= 0 or inexact(days):
            problems.append(Problem(file, inexact(days) or "the dosing period must be positive", describe(graph, dosage),
                                    "dosage.timing.repeat.period", "plausible range"))
            continue
        graph.add(dosage, P.periodDays, decimal(days))
    if problems:
        raise InputRejected(problems)

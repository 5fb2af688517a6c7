"""UCUM unit conversion, with ucumvert (a maintained UCUM parser on top of pint).

Conversion factors are rounded to 12 significant digits and applied with Decimal
arithmetic, so that 400 nmol/L is exactly 0.4 umol/L at a threshold boundary.

Building pint's UCUM registry takes about half a second, so the factors of the units
the guideline accepts ship with the package (`ucum-factors.json`, written by
`tools/build_unit_factors.py` from the ontology and checked against ucumvert by
tests/test_units.py); any other unit is converted by the registry, in memory. Nothing
is cached on disk: a factor is never read from a file a user or another program can
write (issue 14: a tampered cache turned 140 pmol/L into "unlikely").

Unit strings are bounded before they reach the registry (length, digits in a number,
nesting): `10*999999999.ng/L` would otherwise make pint compute a billion-digit number.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources as package_resources

_SIGNIFICANT = 12
MAX_UNIT_CHARS = 64
MAX_NUMBER_DIGITS = 4
"""Longest run of digits in a unit (UCUM powers of ten such as 10*6, 10*-12 need two)."""
MAX_NESTING = 4
TABLE = "ucum-factors.json"


class UnitError(ValueError):
    """A unit that is not UCUM, or cannot be converted to the target."""


@cache
def _registry():
    from ucumvert import PintUcumRegistry  # imported lazily: it builds pint's registry

    return PintUcumRegistry()


def _bounded(unit: str) -> None:
    """Refuse a unit string whose parsing or conversion could take unbounded work."""
    if len(unit) > MAX_UNIT_CHARS:
        raise UnitError(f"a unit of {len(unit)} characters is longer than {MAX_UNIT_CHARS}")
    if any(len(run) > MAX_NUMBER_DIGITS for run in re.findall(r"[0-9]+", unit)):
        raise UnitError(f"{unit!r} holds a number of more than {MAX_NUMBER_DIGITS} digits")
    depth = 0
    for ch in unit:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth > MAX_NESTING:
            raise UnitError(f"{unit!r} nests parentheses deeper than {MAX_NESTING}")


def table_key(from_unit: str, to_unit: str, mass_per_substance: Decimal | None) -> str:
    return json.dumps([from_unit, to_unit, str(mass_per_substance) if mass_per_substance is not None else None])


def _valid_factor(text: object) -> Decimal:
    try:
        number = Decimal(str(text))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal") from None
    if not number.is_finite() or number <= 0 or len(number.as_tuple().digits) > _SIGNIFICANT:
        raise ValueError(f"{text!r} is not a positive factor of at most {_SIGNIFICANT} digits")
    return number


@cache
def shipped_factors() -> dict[str, Decimal]:
    """The factors shipped with the package, each checked as it is read."""
    entries = json.loads(package_resources.files("b12kg").joinpath(TABLE).read_text(encoding="utf-8"))
    if not isinstance(entries, dict):
        raise ValueError(f"{TABLE} must be an object")
    return {str(key): _valid_factor(value) for key, value in entries.items()}


def compute(from_unit: str, to_unit: str, mass_per_substance: Decimal | None) -> Decimal:
    """The factor by ucumvert itself (no table)."""
    _bounded(from_unit)
    _bounded(to_unit)
    registry = _registry()
    try:
        source = registry.from_ucum(from_unit)
        target = registry.from_ucum(to_unit)
    except Exception as exc:  # ucumvert raises its own parse errors
        raise UnitError(f"{from_unit!r} is not a valid UCUM unit") from exc
    try:
        # pint refuses arithmetic on offset units (Cel, [degF], [degRe]): they have no factor
        quantity = 1 * source
        if mass_per_substance is not None and quantity.dimensionality != target.dimensionality:
            quantity = quantity * float(mass_per_substance) * registry.from_ucum("g/mol")
        magnitude = quantity.to(target).magnitude
    except Exception as exc:  # pint's DimensionalityError, OffsetUnitCalculusError
        raise UnitError(f"{from_unit!r} cannot be converted to {to_unit!r}") from exc
    return Decimal(f"{magnitude:.{_SIGNIFICANT}g}")


@cache
def factor(from_unit: str, to_unit: str, mass_per_substance: Decimal | None = None) -> Decimal:
    """The number to multiply a value in `from_unit` by to express it in `to_unit`.

    With `mass_per_substance` (g/mol) a molar concentration converts to a mass one.
    """
    known = shipped_factors().get(table_key(from_unit, to_unit, mass_per_substance))
    return known if known is not None else compute(from_unit, to_unit, mass_per_substance)


def convert(value: Decimal, from_unit: str, to_unit: str, mass_per_substance: Decimal | None = None) -> Decimal:
    """`value` in `from_unit`, expressed in `to_unit` (exact decimal arithmetic)."""
    if from_unit == to_unit:
        return value
    return (value * factor(from_unit, to_unit, mass_per_substance)).normalize()


def prepare() -> None:
    """Build the UCUM registry now, for long-running processes (batch workers), so that
    the first unknown unit is not charged to a patient's time budget."""
    _registry()

"""UCUM unit conversion, with ucumvert (a maintained UCUM parser on top of pint).

Conversion factors are rounded to 12 significant digits and applied with Decimal
arithmetic, so that 400 nmol/L is exactly 0.4 umol/L at a threshold boundary.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

_SIGNIFICANT = 12


@cache
def _registry():
    from ucumvert import PintUcumRegistry  # imported lazily: it builds pint's registry

    return PintUcumRegistry()


class UnitError(ValueError):
    """A unit that is not UCUM, or cannot be converted to the target."""


@cache
def factor(from_unit: str, to_unit: str, mass_per_substance: Decimal | None = None) -> Decimal:
    """The number to multiply a value in `from_unit` by to express it in `to_unit`.

    With `mass_per_substance` (g/mol) a molar concentration converts to a mass one.
    """
    registry = _registry()
    try:
        source = registry.from_ucum(from_unit)
        target = registry.from_ucum(to_unit)
    except Exception as exc:  # ucumvert raises its own parse errors
        raise UnitError(f"{from_unit!r} is not a valid UCUM unit") from exc
    quantity = 1 * source
    if mass_per_substance is not None and quantity.dimensionality != target.dimensionality:
        quantity = quantity * float(mass_per_substance) * registry.from_ucum("g/mol")
    try:
        magnitude = quantity.to(target).magnitude
    except Exception as exc:  # pint's DimensionalityError
        raise UnitError(f"{from_unit!r} cannot be converted to {to_unit!r}") from exc
    return Decimal(f"{magnitude:.{_SIGNIFICANT}g}")


def convert(value: Decimal, from_unit: str, to_unit: str, mass_per_substance: Decimal | None = None) -> Decimal:
    """`value` in `from_unit`, expressed in `to_unit` (exact decimal arithmetic)."""
    if from_unit == to_unit:
        return value
    return (value * factor(from_unit, to_unit, mass_per_substance)).normalize()

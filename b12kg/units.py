"""UCUM unit conversion, with ucumvert (a maintained UCUM parser on top of pint).

Conversion factors are rounded to 12 significant digits and applied with Decimal
arithmetic, so that 400 nmol/L is exactly 0.4 umol/L at a threshold boundary.
Building pint's UCUM registry takes about half a second, so the factors found are
cached on disk ($XDG_CACHE_HOME/b12kg, keyed by the ucumvert version); a one-patient
run with known units then needs no registry at all.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from functools import cache
from importlib.metadata import version
from pathlib import Path

_SIGNIFICANT = 12
_MAX_CACHED = 1000
"""Most factors kept on disk; failures are never written, so hostile units cannot grow it."""


class UnitError(ValueError):
    """A unit that is not UCUM, or cannot be converted to the target."""


@cache
def _registry():
    from ucumvert import PintUcumRegistry  # imported lazily: it builds pint's registry

    return PintUcumRegistry()


def _cache_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "b12kg" / f"ucum-factors-{version('ucumvert')}.json"


@cache
def _disk_cache() -> dict[str, dict[str, str]]:
    try:
        return json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _remember(key: str, entry: dict[str, str]) -> None:
    entries = _disk_cache()
    if len(entries) >= _MAX_CACHED:
        return
    entries[key] = entry
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # a read-only home: the cache is only an optimisation


def _compute(from_unit: str, to_unit: str, mass_per_substance: Decimal | None) -> Decimal:
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


@cache
def factor(from_unit: str, to_unit: str, mass_per_substance: Decimal | None = None) -> Decimal:
    """The number to multiply a value in `from_unit` by to express it in `to_unit`.

    With `mass_per_substance` (g/mol) a molar concentration converts to a mass one.
    """
    key = json.dumps([from_unit, to_unit, str(mass_per_substance) if mass_per_substance is not None else None])
    known = _disk_cache().get(key)
    if known is not None and "factor" in known:
        return Decimal(known["factor"])
    result = _compute(from_unit, to_unit, mass_per_substance)
    _remember(key, {"factor": str(result)})
    return result


def convert(value: Decimal, from_unit: str, to_unit: str, mass_per_substance: Decimal | None = None) -> Decimal:
    """`value` in `from_unit`, expressed in `to_unit` (exact decimal arithmetic)."""
    if from_unit == to_unit:
        return value
    return (value * factor(from_unit, to_unit, mass_per_substance)).normalize()


def prepare() -> None:
    """Build the UCUM registry now, for long-running processes (batch workers), so that
    the first unknown unit is not charged to a patient's time budget."""
    _registry()

"""UCUM conversion: exact at the guideline's boundaries, refusing what is not convertible."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from b12kg import units


@pytest.mark.parametrize("value,unit,target,mass,expected", [
    ("132.8", "pmol/L", "ng/L", "1355", "179.944"),     # contract: pmol/L x 1.355
    ("258.3", "pmol/L", "ng/L", "1355", "349.9965"),
    ("180", "pg/mL", "ng/L", None, "180"),
    ("400", "nmol/L", "umol/L", None, "0.4"),           # exactly the MMA cut-off
    ("100", "ug", "mg", None, "0.1"),                   # exactly the folic acid cut-off
    ("1", "wk", "d", None, "7"),
])
def test_conversions_are_exact(value, unit, target, mass, expected):
    result = units.convert(Decimal(value), unit, target, Decimal(mass) if mass else None)
    assert result == Decimal(expected)


@pytest.mark.parametrize("unit", ["mg/h", "mcg", "kg"])
def test_unconvertible_units_are_refused(unit):
    with pytest.raises(units.UnitError):
        units.factor(unit, "ng/L", Decimal("1355"))


def test_factors_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    units._disk_cache.cache_clear()
    units.factor.cache_clear()
    try:
        assert units.factor("pg/mL", "ng/L") == Decimal("1")
        stored = json.loads(next((tmp_path / "b12kg").glob("ucum-factors-*.json")).read_text())
        assert Decimal(stored[json.dumps(["pg/mL", "ng/L", None])]["factor"]) == 1
    finally:
        units._disk_cache.cache_clear()
        units.factor.cache_clear()


def test_failures_are_not_written_to_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    units._disk_cache.cache_clear()
    units.factor.cache_clear()
    try:
        with pytest.raises(units.UnitError):
            units.factor("furlong/fortnight", "ng/L")
        assert not list(tmp_path.rglob("ucum-factors-*.json"))
    finally:
        units._disk_cache.cache_clear()
        units.factor.cache_clear()

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


@pytest.mark.parametrize("unit", ["mg/h", "mcg", "kg", "Cel", "[degF]", "[degRe]"])  # offset units: a 500 before (issue 18, 11)
def test_unconvertible_units_are_refused(unit):
    with pytest.raises(units.UnitError):
        units.factor(unit, "ng/L", Decimal("1355"))


def test_the_shipped_factors_are_what_ucumvert_computes_now():
    """b12kg/ucum-factors.json is tools/build_unit_factors.py's output, factor by factor."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "tools" / "build_unit_factors.py"
    spec = importlib.util.spec_from_file_location("build_unit_factors", script)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    expected = {key: Decimal(value) for key, value in build.table().items()}
    assert units.shipped_factors() == expected
    assert json.dumps(["pmol/L", "ng/L", "1355"]) in expected


def test_the_guideline_units_need_no_registry(monkeypatch):
    """A one-patient run with the accepted units never builds pint's registry (0.5 s)."""
    units.factor.cache_clear()

    def no_registry():
        raise AssertionError("the registry was built")

    monkeypatch.setattr(units, "_registry", no_registry)
    try:
        assert units.convert(Decimal("100"), "pmol/L", "ng/L", Decimal("1355")) == Decimal("135.5")
        assert units.convert(Decimal("2"), "wk", "d") == Decimal("14")
    finally:
        units.factor.cache_clear()


def test_nothing_is_read_from_or_written_to_a_cache(tmp_path, monkeypatch):
    """Issue 14: a factor never comes from a file a user can write; no cache is written."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    tampered = tmp_path / "b12kg"
    tampered.mkdir()
    for name in ("ucum-factors-0.3.2.json", "ucum-factors.json"):
        (tampered / name).write_text(json.dumps({json.dumps(["pmol/L", "ng/L", "1355"]): {"factor": "10"}}))
    units.factor.cache_clear()
    try:
        assert units.convert(Decimal("140"), "pmol/L", "ng/L", Decimal("1355")) == Decimal("189.7")
        assert units.factor("[IU]/L", "[IU]/L") == 1  # through the registry
        assert sorted(p.name for p in tmp_path.rglob("*")) == ["b12kg", "ucum-factors-0.3.2.json", "ucum-factors.json"]
    finally:
        units.factor.cache_clear()


@pytest.mark.parametrize("unit", ["10*999999999.ng/L", "10*-99999999.ng/L", "ng/L" + "/L" * 40,
                                  "((((((ng))))))/L", "1" * 10 + "ng/L"])
def test_pathological_units_are_refused_without_work(unit):
    """Bounded before the registry: these once hung (a billion-digit power of ten)."""
    import time

    started = time.monotonic()
    with pytest.raises(units.UnitError):
        units.factor(unit, "ng/L")
    assert time.monotonic() - started < 5  # a hang detector, not a performance assertion

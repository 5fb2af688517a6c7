"""Date arithmetic in the rules: how a date plus a duration is written, and why.

Oxigraph (0.4 and 0.5.13, checked here) leaves about half of `xsd:date + xsd:dayTimeDuration`
and `xsd:date + xsd:yearMonthDuration` sums unbound (e.g. + P30D, + P3M), while subtraction
is exact. The rules therefore write `date + d` as `date - (P0D - d)` (or P0M), and compare
`a <= b + d` as `a - d <= b`. These tests pin the idiom against Python's own calendar, and
check that no query adds a duration to a date directly.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pyoxigraph as ox
import pytest

from b12kg import resources

XSD = "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "


def _one(query: str) -> str | None:
    value = next(iter(ox.Store().query(XSD + query)))[0]
    return None if value is None else value.value


@pytest.mark.parametrize("days", [1, 2, 29, 30, 31, 89, 90, 91, 365, 366])
def test_date_minus_negated_day_duration_adds_the_days(days):
    start = date(2026, 1, 31)
    got = _one(f'SELECT ?x {{ BIND("{start}"^^xsd:date AS ?d) BIND("P{days}D"^^xsd:dayTimeDuration AS ?p) '
               f'BIND(?d - ("P0D"^^xsd:dayTimeDuration - ?p) AS ?x) }}')
    assert got == (start + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(("start", "months", "expected"), [
    ("2026-11-24", 3, "2027-02-24"), ("2026-11-30", 3, "2027-02-28"), ("2024-01-31", 1, "2024-02-29"),
    ("2008-02-29", 216, "2026-02-28"), ("2026-08-23", 3, "2026-11-23")])
def test_date_minus_negated_month_duration_adds_calendar_months(start, months, expected):
    got = _one(f'SELECT ?x {{ BIND("{start}"^^xsd:date AS ?d) BIND("P{months}M"^^xsd:yearMonthDuration AS ?p) '
               f'BIND(?d - ("P0M"^^xsd:yearMonthDuration - ?p) AS ?x) }}')
    assert got == expected


def test_the_engine_still_drops_some_direct_sums():
    """The reason for the idiom: if this fails, Oxigraph was fixed and the idiom may go."""
    got = _one('SELECT ?x { BIND("2026-01-01"^^xsd:date AS ?d) BIND(?d + "P30D"^^xsd:dayTimeDuration AS ?x) }')
    assert got is None


def test_no_query_adds_a_duration_to_a_date():
    """Every date sum in the shipped queries uses the subtraction idiom (a `+` before a duration
    variable or literal would be dropped silently by the engine)."""
    offenders = []
    for path in resources.data_dir("queries").rglob("*.rq"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r'\+\s*("P\d|\?(window|grace|default|limit|within|interval|duration|adult|youngest|oldest)\b)', code):
                offenders.append(f"{path}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)

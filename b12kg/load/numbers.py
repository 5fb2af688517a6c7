"""Exact numbers: one decimal reading for every input path (FHIR JSON, Turtle, JSON-LD).

Every number is read as the decimal its digits spell (never through a binary float) and
must be one the rules' SPARQL engine can compare exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DECIMAL_PLACES = 18
MAX_MAGNITUDE = Decimal(10) ** 12
"""Every number must be held exactly by the rules' SPARQL engine (pyoxigraph's xsd:decimal:
18 fractional digits, up to about 1.7e20), leaving room for products such as a daily dose."""

DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
"""The lexical space of xsd:decimal (rdflib also accepts exponents, NaN and Infinity)."""


def decimal_or_none(value: Any) -> Decimal | None:
    """A JSON number (or numeric string) as a finite Decimal; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def decimal_value(term: Any) -> Decimal | None:
    """A literal's (load.facts: a tuple) finite decimal value, else None."""
    return decimal_or_none(term[0]) if type(term) is tuple else None


def _decimal_places(number: Decimal) -> int:
    """Digits after the point, trailing zeros aside (exact: no rounding context)."""
    _, digits, exponent = number.as_tuple()
    significant = "".join(map(str, digits)).rstrip("0")
    return max(0, -(int(exponent) + len(digits) - len(significant))) if significant else 0


def inexact(number: Decimal) -> str | None:
    """Why the rules could not compare `number` exactly (see MAX_DECIMAL_PLACES), if so."""
    text = str(number)
    shown = text if len(text) <= 40 else f"{text[:24]}... (a number of {len(number.as_tuple().digits)} digits)"
    if number.copy_abs() >= MAX_MAGNITUDE:
        return f"{shown} is too large to compare exactly (limit {MAX_MAGNITUDE:.0e})"
    if _decimal_places(number) > MAX_DECIMAL_PLACES:
        return f"{shown} has more than {MAX_DECIMAL_PLACES} decimal places: it cannot be compared exactly"
    return None

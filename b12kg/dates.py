"""Calendar dates as users write them: the as-of date of the CLI and the Python API."""

from __future__ import annotations

import re
from datetime import date

_CALENDAR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def calendar_date(text: str) -> date:
    """A date written YYYY-MM-DD; ValueError otherwise (date.fromisoformat alone also takes
    2026W482 and 20261124)."""
    if not _CALENDAR_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    return date.fromisoformat(text)

"""What a batch assesses, one patient at a time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One patient to assess: a file, or a FHIR Bundle assembled in memory (JSON text)."""

    source: str
    path: str | None = None
    text: str | None = None
    problem: str | None = None
    """Set when the item cannot be read at all (e.g. a broken NDJSON line): reported as rejected."""
    size: int = 0
    """Bytes of input, so that large records get a chunk of their own."""

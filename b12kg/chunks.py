"""Chunks of patients: the one loop that cuts a stream of patients into the groups that share a
store and one run of the rules (pipeline), a local worker's task and a Dask partition (batch).

Two size settings: CHUNK_SIZE patients per chunk, CHUNK_BYTES of input held at once (a
larger record travels alone); a Dask partition uses a quarter of CHUNK_BYTES, so that
several partitions per worker are in flight."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

CHUNK_SIZE = 100
"""Patients per chunk: large enough to amortise a rule run, small enough that no query's
plan grows with the chunk (benchmarks/rules.py measures each query at two chunk sizes)."""
CHUNK_BYTES = 16 * 1024 * 1024
"""Input bytes one chunk may hold. Real records share chunks too: 21 Synthea bundles of
0.2-1.5 MB cost 103 ms of CPU each one per chunk and 34 ms in one chunk, because the
reasoner re-reads the ontology on every call. A record over this size has a chunk of its own."""


def chunked(items: Iterable[T], size: int = CHUNK_SIZE, *, weight: Callable[[T], int] | None = None,
            max_weight: int = CHUNK_BYTES, keys: Callable[[T], set[Hashable]] | None = None) -> Iterator[list[T]]:
    """Consecutive items in lists of at most `size`, at most `max_weight` in total (`weight`
    of each; an item heavier than that alone), and with no key (`keys` of each) shared by two
    items of one list: an item that shares one starts the next list."""
    chunk: list[T] = []
    held = 0
    seen: set[Hashable] = set()
    for item in items:
        heavy = weight(item) if weight else 0
        mine = keys(item) if keys else set()
        if chunk and (len(chunk) >= size or held + heavy > max_weight or not seen.isdisjoint(mine)):
            yield chunk
            chunk, held, seen = [], 0, set()
        chunk.append(item)
        held += heavy
        seen |= mine
    if chunk:
        yield chunk

"""A batch run: sources in, records out in input order, every patient counted.

count in = assessed + rejected + internal errors (+ skipped when resuming), always
reported; the exit code is 1 if any internal error, 2 if any rejection or when no
patient file was found, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..chunks import CHUNK_SIZE
from ..errors import EXIT_INTERNAL, EXIT_REJECTED
from .items import Item
from .sink import Sink


@dataclass
class Counts:
    """What became of every patient found."""

    found: int = 0
    skipped: int = 0
    unchanged: int = 0
    """Left out by an incremental run: the store holds the same input as of the same date."""
    assessed: int = 0
    rejected: int = 0
    internal: int = 0
    interrupted: bool = False

    def summary(self) -> str:
        done = f"{self.assessed} assessed, {self.rejected} rejected, {self.internal} internal errors"
        skipped = f", {self.skipped} skipped (already in the output)" if self.skipped else ""
        skipped += f", {self.unchanged} unchanged (already in the store)" if self.unchanged else ""
        if self.interrupted:
            left = self.found - self.skipped - self.unchanged - self.assessed - self.rejected - self.internal
            return f"interrupted: {self.found} in: {done}{skipped}, {left} not assessed (--resume goes on from here)"
        return f"{self.found} in: {done}{skipped}"

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.internal:
            return EXIT_INTERNAL
        return EXIT_REJECTED if self.rejected or not self.found else 0


@dataclass(frozen=True)
class Settings:
    """How to assess: the same for local workers and a cluster."""

    as_of: date
    reasoner: str
    input_format: str | None = None
    workers: int | None = None
    scheduler: str | None = None
    budget: float | None = None
    chunk_size: int | None = None
    in_population: bool = False
    datasets: bool = False
    """Keep each assessment's dataset with its record (a store sink reads it)."""

    def job(self):
        from .work import Job

        return Job(as_of=self.as_of, reasoner=self.reasoner, input_format=self.input_format, in_population=self.in_population,
                   budget=self.budget, datasets=self.datasets)


def chunk_size(total: int, workers: int, wanted: int | None) -> int:
    """Chunks large enough to share the fixed cost of a run, small enough that every
    worker gets several (so the work spreads and progress moves)."""

    return wanted or max(1, min(CHUNK_SIZE, math.ceil(total / (4 * max(1, workers)))))


def records(items: list[Item] | Iterator[Item], total: int, settings: Settings,
            on_progress: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Records of the items in input order, on local workers or on the Dask cluster."""
    job = settings.job()
    if settings.scheduler:
        from .cluster import ClusterRun

        size = settings.chunk_size or CHUNK_SIZE
        yield from ClusterRun(settings.scheduler, job, size, on_progress).run(items)
        return
    from .local import LocalPool, default_workers

    workers = settings.workers or default_workers()
    pool = LocalPool(workers, job, chunk_size(total, workers, settings.chunk_size), on_progress)
    yield from pool.run(items)


def classify(record: dict, counts: Counts) -> str:
    """Count a record; its kind: assessed, rejected or internal."""
    if "rejected" in record:
        counts.rejected += 1
        return "rejected"
    if "internal_error" in record:
        counts.internal += 1
        return "internal"
    counts.assessed += 1
    return "assessed"


def run(paths: list[Path], settings: Settings, sink: Sink, done: set[str] | None = None,
        progress=None, report: Callable[[dict, str], None] | None = None, incremental=None) -> Counts:
    """Assess everything under `paths` into `sink`; `done` are sources to skip (resume);
    `incremental` (cohort.incremental.Incremental) leaves out the inputs the store already holds."""
    from .sources import discover

    found = discover(paths)
    counts = Counts()
    finished = False
    try:
        if incremental is not None:
            items, counts.found = incremental.items(found)
        else:
            items, counts.found = found.items(), len(found)
        task = progress.add_task("assessing", total=counts.found) if progress else None

        def advance(n: int) -> None:
            if progress is not None:
                progress.advance(task, n)

        def wanted() -> Iterator[Item]:
            for item in items:
                if done and item.source in done:
                    counts.skipped += 1
                    advance(1)
                elif incremental is not None and not incremental.wanted(item):
                    counts.unchanged += 1
                    advance(1)
                else:
                    yield item

        for record in records(wanted(), counts.found, settings, advance):
            sink.write(record)  # written before counted: an interruption never counts a line not written
            kind = classify(record, counts)
            if report:
                report(record, kind)
        finished = True
    except KeyboardInterrupt:
        counts.interrupted = True
    finally:
        found.close()
        if finished:
            sink.close()
        else:  # failed or interrupted: a transactional sink (the cohort store) rolls back, JSON Lines keeps its whole lines
            getattr(sink, "abort", sink.close)()
    return counts

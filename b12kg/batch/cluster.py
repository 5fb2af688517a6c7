"""The batch on an existing Dask distributed cluster (`b12kg batch --scheduler ADDRESS`).

The knowledge is prepared once per worker process by a worker plugin (and cached in
the process, `work.assessor`), never sent with the tasks, so no "large object"
warnings. Items are sent in partitions of up to `partition_size` patients and
`PARTITION_BYTES` of input, a few partitions per worker in flight: large enough that
the scheduler's overhead (about a millisecond per task) stays small against about a
second of work, small enough to spread. Each partition runs the same function as a
local worker (`work.assess_chunk`), so rejections and internal errors come back as
the same records, and records are yielded in input order.

The workers read patient files by path: they must see the same file system (NDJSON
records travel as text). The time budget is checked between the steps of an
assessment (pipeline.py); stopping a step that does not return needs local workers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from distributed.diagnostics.plugin import WorkerPlugin

from ..errors import ClusterUnavailable
from . import work
from .items import Item

PARTITION_BYTES = 4 * 1024 * 1024
CONNECT_SECONDS = 20


class KnowledgePlugin(WorkerPlugin):
    """Prepares the Assessor when a worker starts."""

    name = "b12kg-knowledge"

    def __init__(self, job: work.Job):
        self.job = job

    def setup(self, worker=None) -> None:
        work.assessor(self.job.reasoner, self.job.in_population, self.job.budget)

    def teardown(self, worker=None) -> None:
        pass


def assess_partition(items: list[Item], job: work.Job) -> list[dict]:
    """A Dask task: the records of one partition."""
    try:
        return work.assess_chunk(items, job)
    except Exception as exc:  # a defect outside any one patient: every item reports it
        return [work.internal_error(item, exc) for item in items]


def partitions(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """Partitions of at most `size` patients and PARTITION_BYTES of input (they travel to the workers)."""
    for chunk in work.chunks(items, size, PARTITION_BYTES):
        yield [item for _, item in chunk]


class ClusterRun:
    """One batch on a Dask cluster."""

    def __init__(self, address: str, job: work.Job, partition_size: int, on_progress: Callable[[int], None] | None = None,
                 client=None):
        self.address, self.job, self.partition_size, self.on_progress, self._client = address, job, partition_size, on_progress, client

    def run(self, items: Iterable[Item]) -> Iterator[dict]:
        from distributed import Client

        try:
            client = self._client or Client(self.address, timeout=f"{CONNECT_SECONDS}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterUnavailable(f"cannot reach the Dask scheduler at {self.address} within {CONNECT_SECONDS} s "
                                     f"({type(exc).__name__}: {exc}); start one with 'dask scheduler' and "
                                     "'dask worker ADDRESS', or leave out --scheduler to use this machine's cores") from None
        try:
            client.register_plugin(KnowledgePlugin(self.job), name=KnowledgePlugin.name)
            workers = max(1, sum(client.ncores().values()))
            in_flight: deque = deque()
            for part in partitions(items, self.partition_size):
                in_flight.append((part, client.submit(assess_partition, part, self.job, pure=False)))
                while len(in_flight) > 3 * workers:
                    yield from self._collect(*in_flight.popleft())
            while in_flight:
                yield from self._collect(*in_flight.popleft())
        finally:
            if self._client is None:
                client.close()

    def _collect(self, part: list[Item], future) -> list[dict]:
        try:
            found = future.result()
        except Exception as exc:  # the task failed (e.g. its worker died): every item reports it
            found = [work.internal_error(item, exc) for item in part]
        if self.on_progress:
            self.on_progress(len(part))
        return found

"""The cohort store as a batch sink: `b12kg batch --store DIR` writes each assessment's dataset
(computed once, by the worker that assessed it) into the store as it arrives, in one
transactional load committed when the batch ends. Files and Bulk NDJSON exports alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pyoxigraph as ox

from .store import CohortStore


class StoreSink:
    """One transactional load into the cohort store at `directory`. Implements the batch Sink
    protocol (batch/sink.py) and asks for the records' datasets (under `dataset_key`, N-Quads);
    `add` takes an in-process assessment's quads directly."""

    wants_datasets = True

    def __init__(self, directory: Path, knowledge_quads: Iterable[ox.Quad], dataset_key: str = "_dataset"):
        self._stack = ExitStack()
        self.cohort = CohortStore(directory)
        self._stack.callback(self.cohort.close)
        try:
            self.loader = self._stack.enter_context(self.cohort.loading(knowledge_quads))
        except BaseException:
            self._stack.close()
            raise
        self._key = dataset_key

    def add(self, quads: Iterable[ox.Quad], source: str) -> None:
        self.loader.add_dataset(list(quads), source)

    def write(self, record: dict) -> None:
        """A batch record: stored when it carries a dataset (rejected inputs and errors do not)."""
        data = record.get(self._key)
        if data is not None:
            self.add(ox.parse(data, format=ox.RdfFormat.N_QUADS), record["source"])

    def close(self) -> None:
        """Commit the load."""
        self._stack.close()

    def abort(self) -> None:
        """Roll the load back (the batch failed or was interrupted)."""
        self._stack.__exit__(RuntimeError, RuntimeError("batch aborted"), None)


@contextmanager
def store_sink(directory: Path, knowledge_quads: Iterable[ox.Quad]) -> Iterator[StoreSink]:
    """In-process use: `with store_sink(dir, knowledge.quads) as sink: sink.add(view.quads, source)`;
    committed when the block ends, rolled back if it raises."""
    sink = StoreSink(directory, knowledge_quads)
    try:
        yield sink
    except BaseException:
        sink.abort()
        raise
    sink.close()

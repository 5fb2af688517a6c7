"""Worker processes on this machine, with the per-patient time budget enforced by a watchdog.

The parent hands chunks of items to worker processes (each prepares the knowledge
once) and writes their records in input order. Workers report the item they are on;
the parent stops (kills) a worker whose current item exceeds the time budget and
starts a fresh one:

- stopped while loading item i: item i is rejected with a time-budget message, and the
  other items of its chunk go back to the queue;
- stopped while assessing a chunk of several patients: each goes back to the queue
  in a chunk of its own (the shared step cannot tell which patient was slow; its
  limit grows with the chunk's size);
- stopped while assessing a chunk of one: that patient is rejected.

No item that was stopped is run again. A worker that dies (crash, out of memory) is
handled the same way, with an internal error instead of a rejection.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from . import work
from .items import Item
from .work import Chunk, chunks


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _worker_main(conn: Connection, job: work.Job) -> None:
    """A worker process: prepare once, then assess chunks until told to stop."""
    work.assessor(job.reasoner, job.in_population, job.budget)
    conn.send(("ready",))
    while True:
        message = conn.recv()
        if message is None:
            return
        tag, items = message
        try:
            records = work.assess_chunk(items, job, on_item=lambda index, phase, t=tag: conn.send(("at", t, index, phase)))
        except Exception as exc:  # a defect outside any one patient: every item of the chunk reports it
            records = [work.internal_error(item, exc) for item in items]
        conn.send(("done", tag, records))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    ready: bool = False
    chunk: Chunk | None = None
    tag: int = 0
    index: int = -1
    phase: str = ""
    since: float = 0.0


@dataclass
class Stats:
    """What the pool did. `starts` counts how often an item (by number) was started while
    it is in flight; a finished item started once is dropped, so what stays after a run
    are the items started more than once (memory stays flat over millions of items)."""

    starts: dict[int, int] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    worker_starts: int = 0


class LocalPool:
    """Assess items on `workers` processes; records come back in input order."""

    def __init__(self, workers: int, job: work.Job, chunk_size: int = 100, on_progress: Callable[[int], None] | None = None):
        from ..pipeline import MAX_SECONDS_PER_PATIENT

        self.workers, self.job, self.chunk_size, self.on_progress = workers, job, chunk_size, on_progress
        self.budget = MAX_SECONDS_PER_PATIENT if job.budget is None else job.budget
        self.stats = Stats()
        self._context = _context()

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, daemon=True, args=(child, self.job))
        process.start()
        child.close()
        self.stats.worker_starts += 1
        return _Worker(process, parent)

    def _stop(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join()
        worker.conn.close()

    def _limit(self, worker: _Worker) -> float:
        """Seconds the worker may spend on its current step."""
        if worker.phase == "assess":
            return self.budget + 0.1 * len(worker.chunk or [])
        return self.budget

    def run(self, items: Iterable[Item]) -> Iterator[dict]:
        """The records of all items, in input order."""
        source = chunks(items, self.chunk_size)
        queue: deque[Chunk] = deque()
        pending: dict[int, dict] = {}
        next_seq = 0
        exhausted = False
        pool: list[_Worker] = []
        tags = 0

        def refill() -> None:
            nonlocal exhausted
            while not exhausted and len(queue) < 2 * self.workers:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                else:
                    queue.append(chunk)

        def dispatch(worker: _Worker) -> None:
            nonlocal tags
            refill()
            if not queue:
                return
            tags += 1
            worker.chunk, worker.tag, worker.index, worker.phase, worker.since = queue.popleft(), tags, -1, "send", time.monotonic()
            worker.conn.send((tags, [item for _, item in worker.chunk]))

        def finish(seq: int, record: dict) -> None:
            pending[seq] = record
            if self.stats.starts.get(seq) == 1:
                del self.stats.starts[seq]

        def lost(worker: _Worker, reason: Callable[[Item], dict]) -> None:
            """The worker was stopped or died: settle its chunk as the module docstring says."""
            chunk = worker.chunk or []
            if worker.phase == "load" and 0 <= worker.index < len(chunk):
                seq, item = chunk[worker.index]
                finish(seq, reason(item))
                self.stats.stopped.append(item.source)
                rest = [entry for i, entry in enumerate(chunk) if i != worker.index]
                if rest:
                    queue.appendleft(rest)
            elif len(chunk) == 1:
                seq, item = chunk[0]
                finish(seq, reason(item))
                self.stats.stopped.append(item.source)
            else:
                queue.extendleft([entry] for entry in reversed(chunk))
            worker.chunk = None

        refill()
        if not queue:
            return
        try:
            for _ in range(min(self.workers, len(queue))):
                pool.append(self._start())
            while True:
                while next_seq in pending:
                    yield pending.pop(next_seq)
                    next_seq += 1
                busy = [w for w in pool if w.chunk is not None]
                refill()
                if not busy and not queue and exhausted:
                    break
                for worker in wait([w.conn for w in pool], timeout=0.2):
                    owner = next((w for w in pool if w.conn is worker), None)
                    if owner is None:  # replaced earlier in this round
                        continue
                    try:
                        message = owner.conn.recv()
                    except (EOFError, OSError):
                        self._replace(pool, owner, lost)
                        continue
                    if message[0] == "ready":
                        owner.ready = True
                        dispatch(owner)
                    elif message[0] == "at" and owner.chunk is not None and message[1] == owner.tag:
                        owner.index, owner.phase, owner.since = message[2], message[3], time.monotonic()
                        if owner.phase == "load":
                            seq = owner.chunk[owner.index][0]
                            self.stats.starts[seq] = self.stats.starts.get(seq, 0) + 1
                            if self.on_progress:
                                self.on_progress(1)
                    elif message[0] == "done" and owner.chunk is not None and message[1] == owner.tag:
                        for (seq, _), record in zip(owner.chunk, message[2], strict=True):
                            finish(seq, record)
                        owner.chunk = None
                        dispatch(owner)
                now = time.monotonic()
                for owner in list(pool):
                    if owner.chunk is not None and owner.phase in ("load", "assess") and now - owner.since > self._limit(owner):
                        self._replace(pool, owner, lost, budget=True)
                    elif not owner.process.is_alive() and (owner.chunk is not None or not owner.ready):
                        self._replace(pool, owner, lost)
                for owner in pool:
                    if owner.ready and owner.chunk is None:
                        dispatch(owner)
            while next_seq in pending:
                yield pending.pop(next_seq)
                next_seq += 1
        finally:
            for worker in pool:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            for worker in pool:
                worker.process.join(timeout=5)
                if worker.process.is_alive():
                    self._stop(worker)

    def _replace(self, pool: list[_Worker], worker: _Worker, lost, budget: bool = False) -> None:
        """Stop a worker (over budget) or bury a dead one, settle its chunk, start a fresh one."""
        code = worker.process.exitcode
        self._stop(worker)
        if not worker.ready and worker.chunk is None:
            raise RuntimeError(f"a worker process could not start (exit code {code})")
        if budget:
            lost(worker, lambda item: work.over_budget(item, self.budget))
        else:
            lost(worker, lambda item: work.internal_error(item, f"the worker process died (exit code {code})"))
        pool[pool.index(worker)] = self._start()


def _context():
    """forkserver where available (workers fork from a clean server, not from a process with
    threads such as the progress bar's), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["b12kg.pipeline", "b12kg.batch.work"])
        return context
    return multiprocessing.get_context("spawn")

"""A user query's answer: serialised in the sandbox under a byte cap and streamed (the
endpoint), or written whole (the command line)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from .prepare import QueryLimits, QueryRefused, UserQuery
from .sandbox import QuadsSource, StoreSource, _check, _Run


class Answer:
    """A user query's serialised answer: `size` bytes, read from the query process in chunks
    before `deadline` (time.monotonic()). Close it (or use `with`) to stop the process."""

    def __init__(self, run: _Run, size: int, deadline: float):
        self._run, self.size, self.deadline = run, size, deadline

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        while sent < self.size:
            if not self._run.receive.poll(max(0.0, self.deadline - time.monotonic())):
                raise self._run.timed_out()
            try:
                chunk = self._run.receive.recv_bytes()
            except EOFError:
                raise QueryRefused.one(self._run.query.file, "the query process ended before its answer was sent",
                                       rule="SPARQL 1.1") from None
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self._run.close()

    def __enter__(self) -> Answer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def answer_user_query(query: UserQuery, source: QuadsSource | StoreSource, fmt: str, limits: QueryLimits | None = None,
                      deadline: float | None = None) -> Answer:
    """Run a prepared user query in a sandboxed child that also serialises its answer in
    `fmt`, at most `limits.max_answer_bytes`; the answer is read in chunks, all before
    `deadline` (default: the time limit from now). Raises as run_user_query does, and
    QueryLimitExceeded (answer size limit) for an answer over the cap."""
    limits = limits or QueryLimits()
    deadline = time.monotonic() + limits.timeout if deadline is None else deadline
    run = _Run(query, source, limits, fmt)
    try:
        outcome = run.wait(deadline - time.monotonic())
        _check(query, outcome, limits)
    except BaseException:
        run.close()
        raise
    return Answer(run, outcome[1], deadline)

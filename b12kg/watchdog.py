"""A watchdog for one patient's assessment: the time budget holds even inside a step.

The pipeline checks its budget between steps; a step that does not return (a SPARQL
rule inside pyoxigraph, a pathological parse) is out of Python's reach. The watchdog
is a timer thread: when the budget runs out it reports the patient as rejected and
ends the process with exit code 2. It suits a process that assesses one patient (the
CLI's assess, explain and query); a batch stops its slow patients by stopping the
worker process that holds them (b12kg.batch).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import EXIT_REJECTED, Problem, rejection_report


@contextmanager
def time_budget(seconds: float, file: str) -> Iterator[None]:
    """Within the block, a run past `seconds` is reported as rejected input and the process exits 2."""

    def expire() -> None:
        problem = Problem(file=file, reason=f"the assessment took longer than its budget of {seconds:g} s per patient "
                                            "and was stopped", rule="time budget")
        sys.stderr.write(rejection_report([problem]))
        sys.stderr.flush()
        os._exit(EXIT_REJECTED)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()

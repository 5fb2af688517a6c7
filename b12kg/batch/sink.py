"""Where batch records go: a small pluggable sink (JSON Lines by default).

A sink receives one record per patient, in input order. The JSON Lines sink writes
each record as one line with a single write call on an unbuffered file and flushes,
so an interrupted run leaves whole lines only; a resume drops a torn last line (left
by a killed process or a full disk) before appending.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Protocol


class Sink(Protocol):
    """Receives the batch's records; `close` is called once at the end (`abort` instead, where a
    sink has one, when the batch fails)."""

    def write(self, record: dict) -> None: ...

    def close(self) -> None: ...


class Tee:
    """Every record to several sinks; a record's dataset (work.DATASET_KEY) only to those that ask for it."""

    def __init__(self, *sinks: Sink):
        self.sinks = sinks

    def write(self, record: dict) -> None:
        from .work import DATASET_KEY

        plain = {k: v for k, v in record.items() if k != DATASET_KEY} if DATASET_KEY in record else record
        for sink in self.sinks:
            sink.write(record if getattr(sink, "wants_datasets", False) else plain)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def abort(self) -> None:
        for sink in self.sinks:
            getattr(sink, "abort", sink.close)()


def encode(record: dict) -> bytes:
    """One record as one JSON line (UTF-8, no raw line breaks inside)."""
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


class JsonLinesSink:
    """JSON Lines to a file (appending when resuming) or to standard output."""

    def __init__(self, path: Path | None, append: bool = False):
        self.path = path
        self._stream = None
        if path is None:
            sys.stdout.flush()
            try:
                self._fd = sys.stdout.fileno()
            except (AttributeError, OSError, ValueError):  # a captured stream (tests, notebooks)
                self._stream = sys.stdout
        else:
            flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
            self._fd = os.open(path, flags, 0o644)

    def write(self, record: dict) -> None:
        if self._stream is not None:
            self._stream.write(encode(record).decode("utf-8"))
            self._stream.flush()
            return
        data = memoryview(encode(record))
        while data:  # os.write may write part of a large line to a pipe
            written = os.write(self._fd, data)
            data = data[written:]

    def close(self) -> None:
        if self.path is not None:
            os.close(self._fd)


def done_sources(path: Path) -> set[str]:
    """The sources already in an output file (for --resume); a torn last line is cut off first."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):  # a line cut short by an interruption: drop it, it is assessed again
        with path.open("r+b") as handle:
            handle.truncate(end)
    sources = set()
    for line in data[:end].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("source"), str):
            sources.add(record["source"])
    return sources

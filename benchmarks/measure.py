"""Measuring a process tree from /proc (Linux): wall time, CPU seconds and peak RSS.

A sampler thread walks the descendants of the given root processes every 0.1 s,
keeps the latest CPU time seen for each process (so the CPU of processes that end is
kept up to their last sample) and the peak of the summed resident memory.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, RSS bytes) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        with open(f"/proc/{pid}/statm", "rb") as handle:
            rss_pages = int(handle.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS, rss_pages * _PAGE


def descendants(roots: set[int]) -> dict[int, tuple[float, int]]:
    """CPU seconds and RSS of the roots and every process below them."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            found = _stat(int(name))
            if found:
                table[int(name)] = found
    members = {pid for pid in roots if pid in table}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _, _) in table.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return {pid: (table[pid][1], table[pid][2]) for pid in members}


@dataclass
class Usage:
    wall: float
    cpu: float
    peak_rss: int
    timeline: list[tuple[float, float, int, int]] = field(default_factory=list, repr=False)
    """(seconds, CPU seconds, RSS bytes, patients done) at each sample, when progress was followed."""


class LineCount:
    """Complete lines written so far to a growing file (a JSONL output: one patient each), read incrementally."""

    def __init__(self, path):
        self.path, self.offset, self.lines = path, 0, 0

    def __call__(self) -> int:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return self.lines
        complete = chunk.rfind(b"\n") + 1
        self.lines += chunk.count(b"\n", 0, complete)
        self.offset += complete
        return self.lines


def by_part(usage: Usage, total: int, parts: int = 10) -> list[tuple[int, float, float]]:
    """(patients done, CPU ms per patient within this part, peak RSS MiB within it) for each
    successive part of the patients: flat rows mean a flat cost and flat memory."""
    rows, last_cpu, last_done, peak = [], None, 0, 0
    marks = [round(total * (i + 1) / parts) for i in range(parts)]
    for _, cpu, rss, done in usage.timeline:
        if last_cpu is None and done > 0:
            last_cpu, last_done = cpu, done  # the first patients carry the start-up: the parts start after them
            continue
        if last_cpu is None:
            continue
        peak = max(peak, rss)
        if marks and done >= marks[0] and done > last_done:
            rows.append((done, 1000 * (cpu - last_cpu) / (done - last_done), peak / 2**20))
            last_cpu, last_done, peak = cpu, done, 0
            while marks and done >= marks[0]:
                marks.pop(0)
    return rows


class TreeSampler:
    """Samples a process tree until stopped; `exclude_cpu` is subtracted (CPU already spent)."""

    def __init__(self, roots: set[int], exclude: dict[int, float] | None = None, interval: float = 0.1,
                 progress: Callable[[], int] | None = None):
        self.roots, self.interval, self.progress = roots, interval, progress
        self.timeline: list[tuple[float, float, int, int]] = []
        self.base = exclude or {}
        self.cpu: dict[int, float] = {}
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.started = time.perf_counter()

    def __enter__(self) -> TreeSampler:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def _sample(self) -> None:
        tree = descendants(self.roots)
        for pid, (cpu, _) in tree.items():
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu)
        rss = sum(rss for _, rss in tree.values())
        self.peak = max(self.peak, rss)
        if self.progress is not None:
            cpu = sum(max(0.0, c - self.base.get(pid, 0.0)) for pid, c in self.cpu.items())
            self.timeline.append((time.perf_counter() - self.started, cpu, rss, self.progress()))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.started
        self._sample()
        self._stop.set()
        self._thread.join()

    def usage(self, extra_cpu: float = 0.0) -> Usage:
        cpu = sum(max(0.0, c - self.base.get(pid, 0.0)) for pid, c in self.cpu.items()) + extra_cpu
        return Usage(self.wall, cpu, self.peak, self.timeline)

"""Start-up benchmark: one patient, cold and warm (issue 21 item 4; not a timed test).

    python -m benchmarks.startup [--runs 7] [--calls 30] [--as-of 2026-11-24]

Prints the median wall seconds of --runs subprocesses of
`python -m b12kg.cli assess examples/ex1-confirmed-oral.json --as-of ...`:

- cold: no knowledge image (an empty cache folder each run: the packs' Turtle is parsed
  and the image written, as on a first run or after a pack changed);
- no cache: ``B12KG_NO_CACHE=1`` (parsed, nothing written);
- warm: the image of an earlier run read (b12kg/knowledge_image.py);

and the median latency of --calls warm `Api().assess` calls on the same record in one
process (result cache off: every call assessed). The outputs of all runs must be equal.
The machine's load average is printed with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ex1-confirmed-oral.json"


def _run(as_of: date, env: dict) -> tuple[float, bytes]:
    command = [sys.executable, "-m", "b12kg.cli", "assess", str(EXAMPLE), "--as-of", as_of.isoformat()]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=True, cwd=ROOT, env={**os.environ, **env})
    return time.perf_counter() - start, done.stdout


def one_patient(as_of: date, runs: int = 7) -> dict[str, float]:
    """Median wall seconds of `b12kg assess` one patient: cold, without cache, warm."""
    times: dict[str, list[float]] = {"cold": [], "no cache": [], "warm": []}
    outputs = set()
    with tempfile.TemporaryDirectory(prefix="b12kg-startup-") as tmp:
        warm = {"B12KG_CACHE_DIR": str(Path(tmp) / "warm"), "B12KG_NO_CACHE": ""}
        _run(as_of, warm)  # writes the image the warm runs read
        for i in range(runs):
            for kind, env in (("cold", {"B12KG_CACHE_DIR": str(Path(tmp) / f"cold-{i}"), "B12KG_NO_CACHE": ""}),
                              ("no cache", {"B12KG_NO_CACHE": "1"}), ("warm", warm)):
                seconds, output = _run(as_of, env)
                times[kind].append(seconds)
                outputs.add(output)
    if len(outputs) != 1:
        raise SystemExit("the cold, uncached and warm runs gave different outputs")
    return {kind: statistics.median(values) for kind, values in times.items()}


def api_latency(as_of: date, calls: int = 30) -> float:
    """Median seconds of a warm `Api().assess` (prepared once, then every call assessed)."""
    from b12kg.api import Api

    api = Api()
    document = EXAMPLE.read_text(encoding="utf-8")
    api.assess(document, as_of)  # the first call pays for lazy tables
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        api.assess(document, as_of)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def print_rows(as_of: date, runs: int, calls: int) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    medians = one_patient(as_of, runs)
    for kind, seconds in medians.items():
        print(f"one-patient b12kg assess, {kind} (wall, median of {runs}): {seconds:.2f} s")
    with tempfile.TemporaryDirectory(prefix="b12kg-startup-") as tmp:  # the benchmark's image, not the user's
        before = os.environ.get("B12KG_CACHE_DIR")
        os.environ["B12KG_CACHE_DIR"] = str(Path(tmp) / "knowledge")
        try:
            latency = api_latency(as_of, calls)
        finally:
            if before is None:
                del os.environ["B12KG_CACHE_DIR"]
            else:
                os.environ["B12KG_CACHE_DIR"] = before
    print(f"warm Api().assess (median of {calls} calls): {latency * 1000:.1f} ms")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--as-of", default="2026-11-24")
    args = parser.parse_args(argv)
    print_rows(date.fromisoformat(args.as_of), args.runs, args.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Incremental re-assessment: a cohort assessed into a store, then re-run with --incremental
unchanged, then with 1% of the records changed (python -m benchmarks.run, or alone:
python -m benchmarks.incremental [--patients 10000])."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.cohort import dumps, iter_cohort


def batch(folder: Path, store: Path, as_of: date, workers: int, *extra: str) -> tuple[float, str]:
    command = [sys.executable, "-m", "b12kg.cli", "batch", str(folder), "--as-of", as_of.isoformat(), "--store", str(store),
               "-o", "/dev/null", "--no-progress", "--workers", str(workers), *extra]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 2):
        raise RuntimeError(f"b12kg batch failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.monotonic() - started, done.stderr.strip().splitlines()[-1]


def measure(n: int, seed: int, as_of: date, work: Path, workers: int, changed_share: float = 0.01) -> list[tuple[str, float, str]]:
    """(step, wall seconds, what b12kg said) for: the first store load, an unchanged incremental run, and one
    with `changed_share` of the records changed (the patient's gender flipped: a new input, the same clinical facts)."""
    folder, store = work / f"incremental-{n}", work / f"incremental-{n}-store"
    folder.mkdir(parents=True)
    for bundle in iter_cohort(n, seed, as_of):
        (folder / f"{bundle['entry'][0]['resource']['id']}.json").write_text(dumps(bundle), encoding="utf-8")
    rows = [("first batch --store", *batch(folder, store, as_of, workers))]
    rows.append(("--incremental, nothing changed", *batch(folder, store, as_of, workers, "--incremental")))
    step = max(1, round(1 / changed_share))
    for path in sorted(folder.glob("*.json"))[::step]:
        bundle = json.loads(path.read_text())
        patient = bundle["entry"][0]["resource"]
        patient["gender"] = "male" if patient["gender"] == "female" else "female"
        path.write_text(dumps(bundle), encoding="utf-8")
    rows.append((f"--incremental, {changed_share:.0%} changed", *batch(folder, store, as_of, workers, "--incremental")))
    return rows


def print_rows(n: int, rows: list[tuple[str, float, str]]) -> None:
    print(f"\nincremental re-assessment: {n} patients")
    for name, seconds, said in rows:
        print(f"  {name:<34} {seconds:8.1f} s   {said}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.incremental", description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="b12kg-incremental-") as tmp:
        print_rows(args.patients, measure(args.patients, args.seed, date(2026, 11, 24), Path(tmp), args.workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

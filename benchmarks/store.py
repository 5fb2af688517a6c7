"""Cohort store benchmark: load rate and named-query latency.

    python -m benchmarks.store [--patients 10000] [--repeat 5] [--seed 42] [--as-of 2026-11-24]

Generates the seeded synthetic cohort (benchmarks/cohort.py), assesses it in batch with
the datasets kept (as `b12kg batch --store` does) and writes it into a fresh on-disk
cohort store, timing assessment and store writing apart; loads the same input again
(with --reload: everything is skipped); then runs every named query (queries/cohort/) `--repeat`
times and prints the median latency, and one user query through the sandboxed engine
(b12kg.query, as the endpoint runs it). Start-up is not counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.cohort import make_cohort

PARAMS = {"overdue-follow-ups": {"date": "2027-03-01"}, "follow-ups-by-month": {"date": "2027-03-01"}}
USER_QUERY = "PREFIX gm: <https://w3id.org/b12kg/model#> SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE { ?a a gm:Assessment }"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2026-11-24")
    parser.add_argument("--user-query-timeout", type=float, default=120.0)
    parser.add_argument("--reload", action="store_true", help="Also time assessing and loading the same input again.")
    parser.add_argument("--keep", type=Path, help="Also copy the store to this folder (for later runs).")
    args = parser.parse_args(argv)
    as_of = date.fromisoformat(args.as_of)

    import pyoxigraph as ox

    from b12kg.cohort import named
    from b12kg.cohort.sink import store_sink
    from b12kg.pipeline import Assessor
    from b12kg.query import QueryLimits, StoreSource, prepare_user_query, run_user_query

    assessor = Assessor()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs"
        inputs.mkdir()
        paths = []
        for bundle in make_cohort(args.patients, seed=args.seed, as_of=as_of):
            path = inputs / f"{bundle['entry'][0]['resource']['id']}.json"
            path.write_text(json.dumps(bundle))
            paths.append(path)
        directory = Path(tmp) / "store"

        writing = 0.0
        started = time.perf_counter()
        with store_sink(directory, assessor.knowledge.quads) as sink:
            for path, outcome in assessor.assess_many(paths, as_of):
                t = time.perf_counter()
                if not isinstance(outcome, Exception):
                    sink.add(outcome.quads, str(path))
                writing += time.perf_counter() - t
            t = time.perf_counter()
        commit = time.perf_counter() - t
        total = time.perf_counter() - started
        added = sink.loader.added
        writing += commit

        if args.reload:
            started = time.perf_counter()
            with store_sink(directory, assessor.knowledge.quads) as again:
                for path, outcome in assessor.assess_many(paths, as_of):
                    if not isinstance(outcome, Exception):
                        again.add(outcome.quads, str(path))
            reload_seconds = time.perf_counter() - started

        store = ox.Store.read_only(str(directory))
        quads = len(store)
        if args.keep:
            store.backup(str(args.keep))
        print(f"cohort store benchmark: {args.patients} synthetic patients, as of {as_of}, seed {args.seed}")
        print(f"store: {added} assessments, {quads} quads, {_size(directory) / 2**20:.1f} MiB on disk")
        print(f"batch --store (assess + store): {total:.1f} s, {added / total:.0f} assessments/s")
        print(f"store writing alone: {writing:.1f} s, {added / writing:.0f} assessments/s")
        if args.reload:
            print(f"re-load of the same input (all skipped, assessing included): {reload_seconds:.1f} s, "
                  f"{again.loader.skipped} skipped, {again.loader.added} added")
        print()
        print(f"| named query | rows | median ms (of {args.repeat}) |")
        print("|---|---|---|")
        for query in named.named_queries().values():
            times, rows = [], 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                rows = len(list(named.run(store, query, PARAMS.get(query.name))))
                times.append(time.perf_counter() - t)
            print(f"| {query.name} | {rows} | {statistics.median(times) * 1000:.0f} |")
        del store
        prepared = prepare_user_query(USER_QUERY, "<benchmark>")
        t = time.perf_counter()
        try:
            result = run_user_query(prepared, StoreSource(directory), QueryLimits(timeout=args.user_query_timeout))
            count = next(iter(result.bindings[0].values()))
            print(f"\nuser query through the sandboxed engine ({USER_QUERY.split('SELECT', 1)[1].strip()}): "
                  f"{(time.perf_counter() - t) * 1000:.0f} ms, n = {count}")
        except Exception as exc:
            print(f"\nuser query through the sandboxed engine: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

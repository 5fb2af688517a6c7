"""Which queries grow faster than the chunk: every rule and report query timed per patient at two chunk sizes.

    python -m benchmarks.rules [--patients 1000] [--chunks 100 1000] [--top 15]

b12kg runs each rule once per chunk of patients (100 by default), so a query should cost
the same per patient whatever the chunk. One whose joins are not anchored on the patient
costs more per patient as the chunk grows: the ratio column shows it (1.0 is linear). For
knowledge engineers writing packs; README: "Rules that stay linear in the chunk".
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path


def _label(query: str, names: dict[str, str]) -> str:
    if query in names:
        return names[query]
    first = next((line for line in query.splitlines() if line.strip()), "")
    return first.strip("# ")[:60]


def timings(paths: list[Path], chunk: int, as_of: date) -> dict[str, float]:
    """Seconds spent in each query over all the paths, assessed in chunks of `chunk`."""
    from b12kg import derive, integration, pipeline, sparql
    from b12kg.render import contract, guidelines

    spent: dict[str, float] = defaultdict(float)
    assessor = pipeline.Assessor()
    names = {text: name for name, text in assessor.knowledge.queries.items()}
    names.update({r.query: r.query_path for r in assessor.knowledge.rules})

    def timed(run):
        def run_timed(store, query):
            start = time.perf_counter()
            try:
                return run(store, query)
            finally:
                spent[_label(query, names)] += time.perf_counter() - start
        return run_timed

    replacement = {"construct": timed(sparql.construct), "select": timed(sparql.select)}
    patched = [(m, n) for m in (derive, pipeline, contract, guidelines, integration) for n in replacement if hasattr(m, n)]
    saved = {(m, n): getattr(m, n) for m, n in patched}
    try:
        for module, name in patched:
            setattr(module, name, replacement[name])
        loaded = [assessor.load(p, as_of) for p in paths]
        assessor.assess_loaded_many(loaded, as_of, chunk_size=chunk)
    finally:
        for (module, name), function in saved.items():
            setattr(module, name, function)
    return spent


def main(argv: list[str] | None = None) -> int:
    from benchmarks.run import write_cohort

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--chunks", type=int, nargs=2, default=(100, 1000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--top", type=int, default=15, help="show the queries that grow most (default 15)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2026-11-24")
    args = parser.parse_args(argv)
    as_of = date.fromisoformat(args.as_of)
    with tempfile.TemporaryDirectory(prefix="b12kg-rules-") as tmp:
        paths = write_cohort(args.patients, args.seed, as_of, Path(tmp))
        small, large = (timings(paths, size, as_of) for size in args.chunks)
    n = len(paths)
    rows = sorted(((name, 1000 * small.get(name, 0) / n, 1000 * large[name] / n) for name in large),
                  key=lambda r: -(r[2] - r[1]))
    print(f"{n} patients, seed {args.seed}: ms per patient in each query at chunks of {args.chunks[0]} and {args.chunks[1]}")
    print(f"{'query':62} {'chunk ' + str(args.chunks[0]):>10} {'chunk ' + str(args.chunks[1]):>11} {'ratio':>6}")
    for name, at_small, at_large in rows[: args.top]:
        ratio = at_large / at_small if at_small else float("inf")
        print(f"{name:62} {at_small:10.3f} {at_large:11.3f} {ratio:6.1f}")
    total_small, total_large = (1000 * sum(t.values()) / n for t in (small, large))
    print(f"{'all queries':62} {total_small:10.3f} {total_large:11.3f} {total_large / total_small:6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput benchmark: b12kg's pipeline against the straightforward build, one run.

    python -m benchmarks.run [--patients 300] [--baseline-patients 10] [--seed 42]
                             [--reasoners reasonable,owlrl] [--as-of 2026-11-24]

Generates a seeded synthetic cohort (benchmarks/cohort.py), assesses it with a warm
b12kg Assessor (prepared once, reused), then assesses the first patients with the
baseline (benchmarks/baseline.py: everything rebuilt per patient with rdflib, pySHACL,
owlrl and rdflib SPARQL), checks that both agree, and prints patients per second and
the ratio to the baseline. Start-up (imports, preparing the Assessor) is reported
separately and not counted in the throughput.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.baseline import assess_baseline
from benchmarks.cohort import make_cohort


def _outcome(document: dict) -> dict:
    return {"status": document["b12_status"]["value"],
            "risk_factors": {r["code"] for r in document["risk_factors"]},
            "actions": {r["action"] for r in document["recommendations"]}}


def _timed(function, paths: list[Path]) -> tuple[float, list]:
    start = time.perf_counter()
    results = [function(p) for p in paths]
    return time.perf_counter() - start, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--baseline-patients", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reasoners", default="reasonable", help="comma-separated reasoner backends to measure")
    parser.add_argument("--as-of", default="2026-11-24")
    args = parser.parse_args(argv)
    as_of = date.fromisoformat(args.as_of)

    from b12kg.pipeline import Assessor

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for bundle in make_cohort(args.patients, seed=args.seed, as_of=as_of):
            path = Path(tmp) / f"{bundle['entry'][0]['resource']['id']}.json"
            path.write_text(json.dumps(bundle))
            paths.append(path)
        base_paths = paths[: args.baseline_patients]

        rows = []
        base_seconds, base_results = _timed(lambda p: assess_baseline(p, as_of), base_paths)
        base_rate = len(base_paths) / base_seconds
        rows.append(("baseline: rdflib + pySHACL + owlrl + rdflib SPARQL, rebuilt per patient", len(base_paths), base_seconds, base_rate))

        ours = {}
        for name in args.reasoners.split(","):
            start = time.perf_counter()
            assessor = Assessor(reasoner=name)
            prepare = time.perf_counter() - start
            count = len(paths) if name == "reasonable" else len(base_paths)
            seconds, results = _timed(lambda p, a=assessor: a.assess(p, as_of).document, paths[:count])
            ours[name] = [_outcome(d) for d in results]
            rows.append((f"b12kg assess ({name}), one patient at a time [prepare {prepare:.2f} s]", count, seconds, count / seconds))
            start = time.perf_counter()
            batch = [outcome.document for _, outcome in assessor.assess_many(paths[:count], as_of)]
            seconds = time.perf_counter() - start
            ours[f"{name} batch"] = [_outcome(d) for d in batch]
            rows.append((f"b12kg batch ({name}), chunks of 100 patients", count, seconds, count / seconds))

    print(f"cohort: {args.patients} synthetic patients, seed {args.seed}, as of {as_of}\n")
    print(f"{'pipeline':78} {'patients':>8} {'seconds':>8} {'patients/s':>10} {'x baseline':>10}")
    for label, count, seconds, rate in rows:
        print(f"{label:78} {count:8d} {seconds:8.2f} {rate:10.1f} {rate / base_rate:10.1f}")
    disagreements = 0
    for name, outcomes in ours.items():
        for index, (mine, theirs) in enumerate(zip(outcomes, base_results, strict=False)):
            if mine != theirs:
                disagreements += 1
                print(f"disagreement ({name}) on {base_paths[index].name}: b12kg {mine} baseline {theirs}")
    print(f"\nagreement with the baseline on the first {len(base_results)} patients: "
          f"{'all agree' if not disagreements else f'{disagreements} disagreements'}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CPU milliseconds per patient by stage of the pipeline, in one process.

    python -m benchmarks.stages [--patients 1000] [--seed 42]

The seeded synthetic cohort (benchmarks/cohort.py) is assessed with Assessor.assess_many in
chunks of 100 after a warm-up; each stage's function is wrapped with time.process_time, so
the figures are CPU time (stable on a shared machine, unlike wall time). The JSON Lines output
and a worker's inter-process traffic are not included (b12kg batch adds them).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from benchmarks.cohort import dumps, iter_cohort

STAGES = {  # name in b12kg.pipeline -> what it does
    "load_patient": "loading: read, strict JSON, fast FHIR check and mapping, scope",
    "validate_chunk": "SHACL, once per chunk",
    "put_facts": "facts into the store",
    "assessment_quads": "assessment quads",
    "documents": "report: the contract JSON, once per chunk",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    from b12kg import pipeline

    spent: dict[str, float] = defaultdict(float)

    def timed(function, label):
        def wrapper(*positional, **named):
            started = time.process_time()
            try:
                return function(*positional, **named)
            finally:
                spent[label] += time.process_time() - started
        return wrapper

    for name, label in STAGES.items():
        setattr(pipeline, name, timed(getattr(pipeline, name), label))
    pipeline.reason.materialise = timed(pipeline.reason.materialise, "OWL 2 RL reasoner")
    assessor = pipeline.Assessor()
    run_rules = pipeline.run_rules

    def rules(store, chosen, graph, check):
        label = "classification rules" if chosen is assessor.classify_rules else "derive and interaction rules"
        return timed(run_rules, label)(store, chosen, graph, check)

    pipeline.run_rules = rules
    folder = Path(tempfile.mkdtemp(prefix="b12kg-stages-"))
    for bundle in iter_cohort(args.patients, args.seed):
        (folder / f"{bundle['entry'][0]['resource']['id']}.json").write_text(dumps(bundle))
    paths = sorted(folder.glob("*.json"))
    as_of = date(2026, 11, 24)
    list(assessor.assess_many(paths[:50], as_of))  # warm-up: the knowledge, the compiled reasoner
    spent.clear()
    started = time.process_time()
    list(assessor.assess_many(paths, as_of))
    total = time.process_time() - started
    n = len(paths)
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"{label:65s} {1000 * seconds / n:6.2f} ms")
    print(f"{'provenance links, cited knowledge, store, views (the rest)':65s} {1000 * (total - sum(spent.values())) / n:6.2f} ms")
    print(f"{'total, one process, chunks of 100':65s} {1000 * total / n:6.2f} ms per patient ({n} patients)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

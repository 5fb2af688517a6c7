"""The input side, stage by stage: CPU ms per record to read, parse, check, map and scope a
folder of FHIR bundles, check their input shapes (once per chunk of 100) and hand their facts
on (to a store as N-Triples, to the reasoner as rdflib triples).

    python -m benchmarks.input_side FOLDER [--records 1000] [--repeats 3]

Each stage is timed with time.process_time around the loader's own functions; the best of
the repeats is printed (the machine is shared: compare runs side by side). Issue 21.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

STAGES = ["load total", "  read", "  strict json", "  map (incl. model checks)", "    full model validation",
          "  check_terms", "  normalise", "  scope", "shacl (per chunk of 100)", "facts to the store",
          "rdflib triples for the reasoner", "INPUT SIDE TOTAL"]


def measure(paths: list[Path], repeats: int) -> dict[str, float]:
    """Seconds per stage for all the paths (best total of the repeats)."""
    import pyoxigraph as ox

    import b12kg.load as load
    from b12kg.knowledge import load_knowledge
    from b12kg.load import bundle
    from b12kg.load.convert import put_facts, rdflib_triples
    from b12kg.validate import validate_chunk

    knowledge, as_of = load_knowledge(), date(2026, 11, 24)
    spent: dict[str, float] = defaultdict(float)

    def timed(module, name: str, label: str) -> None:
        function = getattr(module, name)

        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - start

        setattr(module, name, wrapper)

    validate_chunk([load.load_patient(p, knowledge, as_of) for p in paths[:5]], knowledge)  # warm: models, shapes, tables
    for module, name, label in ((load, "read_text", "  read"), (load, "parse_json", "  strict json"),
                                (bundle, "_model_errors", "    full model validation"),
                                (load, "bundle_to_graph", "  map (incl. model checks)"), (load, "check_terms", "  check_terms"),
                                (load, "normalise", "  normalise"), (load, "scope", "  scope")):
        timed(module, name, label)
    graph = ox.NamedNode("https://w3id.org/b12kg/graph/asserted")
    best: dict[str, float] = {}
    for _ in range(repeats):
        spent.clear()
        start = time.process_time()
        loaded = [load.load_patient(p, knowledge, as_of) for p in paths]
        spent["load total"] = time.process_time() - start
        start = time.process_time()
        for i in range(0, len(loaded), 100):
            validate_chunk(loaded[i:i + 100], knowledge)
        spent["shacl (per chunk of 100)"] = time.process_time() - start
        start = time.process_time()
        for i in range(0, len(loaded), 100):
            put_facts(ox.Store(), [p.facts for p in loaded[i:i + 100]], graph)
            put_facts(ox.Store(), [p.ignored_facts for p in loaded[i:i + 100]], graph)
        spent["facts to the store"] = time.process_time() - start
        start = time.process_time()
        for patient in loaded:
            rdflib_triples(patient.facts)
        spent["rdflib triples for the reasoner"] = time.process_time() - start
        spent["INPUT SIDE TOTAL"] = sum(spent[k] for k in ("load total", "shacl (per chunk of 100)", "facts to the store",
                                                          "rdflib triples for the reasoner"))
        if not best or spent["INPUT SIDE TOTAL"] < best["INPUT SIDE TOTAL"]:
            best = dict(spent)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(p for p in args.folder.glob("*.json") if not p.name.startswith(("practitioner", "hospital")))[:args.records]
    best = measure(paths, args.repeats)
    print(f"{len(paths)} records of {args.folder}, best of {args.repeats}: CPU ms per record")
    for stage in STAGES:
        print(f"{stage:34} {1000 * best.get(stage, 0.0) / len(paths):7.3f}")


if __name__ == "__main__":
    main()

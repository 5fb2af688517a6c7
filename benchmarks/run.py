"""Population benchmark: b12kg batch against two baselines, in one run.

    python -m benchmarks.run [--patients 10000] [--large] [--baseline-patients 8]
                             [--peer-patients 2000] [--synthea DIR] [--no-dask] [--seed 42]
                             [--plots DIR] [--startup-only] [--startup-runs 5]

On the seeded synthetic cohort (benchmarks/cohort.py; 10k patients, and 100k with
--large) and on the Synthea sample (../shared/realworld/synthea), it measures:

- the straightforward baseline (benchmarks/baseline.py: rdflib + pySHACL + owlrl +
  rdflib SPARQL, everything rebuilt per patient), on the first --baseline-patients;
- the best peer stack of PERFORMANCE-NOTES.md rebuilt over the same knowledge
  (benchmarks/peer.py: N-Triples bulk-loaded into pyoxigraph, pySHACL-turbo on the
  store, reasonable, Oxigraph SPARQL rules and PROV links; facts pre-mapped, untimed),
  on the first --peer-patients;
- `b12kg batch --workers 1`, `b12kg batch` on every core, and `b12kg batch --scheduler`
  on a Dask LocalCluster with one single-threaded worker per core (cluster start-up
  excluded, the workers' preparation included);
- one-patient `b12kg assess` wall time, cold (no knowledge image), without cache and warm
  (the image read), median of --startup-runs, and warm `Api().assess` latency
  (benchmarks/startup.py; `--startup-only` runs this part alone);
- incremental re-assessment (benchmarks/incremental.py): the cohort of --patients into a
  store, then `--incremental` unchanged and with 1% of the records changed
  (`--incremental-only` runs this part alone).

Each batch run is also followed as it goes (patients written, CPU, RSS every 0.1 s) and
printed by tenth of the patients: CPU ms per patient and peak RSS in each tenth, so a
cost or memory that grows with the cohort shows; `--plots DIR` draws the same as SVG.

For each: patients/s (wall), CPU ms per patient (all processes of the run), peak RSS
(summed over the run's processes, sampled from /proc) and the ratios to both
baselines. The batch outputs must be identical to each other, and agree with both
baselines on every patient they share (status, risk factors, actions). The machine's
load average is printed: the machine is shared, read figures as orders of magnitude.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from benchmarks.measure import LineCount, TreeSampler, Usage, by_part, descendants

ROOT = Path(__file__).resolve().parent.parent
SYNTHEA = ROOT.parent / "shared" / "realworld" / "synthea"


def outcome(document: dict) -> dict:
    """Status, risk factors and actions: the primary guideline's and the companion guidelines' (the baselines read all packs)."""
    companion = [c for g in document.get("guidelines", []) for c in g.get("conclusions", [])]
    return {"status": document["b12_status"]["value"],
            "risk_factors": {r["code"] for r in document["risk_factors"]} | {c["code"] for c in companion if c["kind"] == "risk"},
            "actions": {r["action"] for r in document["recommendations"]} | {c["action"] for c in companion if c["kind"] == "action"}}


def write_cohort(n: int, seed: int, as_of: date, folder: Path) -> list[Path]:
    from benchmarks.cohort import iter_cohort

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for bundle in iter_cohort(n, seed=seed, as_of=as_of):
        path = folder / f"{bundle['entry'][0]['resource']['id']}.json"
        path.write_text(json.dumps(bundle))
        paths.append(path)
    return paths


@dataclass(frozen=True)
class Result:
    """What the comparisons need of one output line (100k whole records would not fit in memory thrice)."""

    source: str
    patient: str | None
    digest: str
    outcome: dict | None


def read_results(output: Path) -> list[Result]:
    """The output's lines, in order: each line's digest (for identity) and its outcome (for agreement)."""
    results = []
    with output.open("rb") as handle:
        for line in handle:
            record = json.loads(line)
            results.append(Result(record["source"], record.get("patient"), hashlib.sha256(line).hexdigest(),
                                  outcome(record) if "b12_status" in record else None))
    return results


def cli_batch(paths: list[Path], as_of: date, output: Path, *extra: str) -> tuple[Usage, list[Result]]:
    """Run `b12kg batch` as a user would; its usage and its records."""
    command = [sys.executable, "-m", "b12kg.cli", "batch", *map(str, paths), "--as-of", as_of.isoformat(),
               "-o", str(output), "--no-progress", *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with TreeSampler({process.pid}, progress=LineCount(output)) as sampler:
        _, stderr = process.communicate()
    if process.returncode not in (0, 2):
        raise RuntimeError(f"b12kg batch failed ({process.returncode}): {stderr[-2000:]}")
    return sampler.usage(), read_results(output)


def dask_batch(paths: list[Path], as_of: date, output: Path, workers: int) -> tuple[Usage, list[Result]]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        me = os.getpid()
        before = {pid: cpu for pid, (cpu, _) in descendants({me}).items() if pid != me}
        command = [sys.executable, "-m", "b12kg.cli", "batch", *map(str, paths), "--as-of", as_of.isoformat(),
                   "-o", str(output), "--no-progress", "--scheduler", cluster.scheduler_address]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        roots = {process.pid} | set(before)
        with TreeSampler(roots, exclude=before, progress=LineCount(output)) as sampler:
            _, stderr = process.communicate()
        if process.returncode not in (0, 2):
            raise RuntimeError(f"b12kg batch --scheduler failed ({process.returncode}): {stderr[-2000:]}")
    return sampler.usage(), read_results(output)


def in_process(function) -> tuple[Usage, object]:
    import resource

    start, cpu = time.perf_counter(), time.process_time()
    result = function()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return Usage(time.perf_counter() - start, time.process_time() - cpu, peak), result


def compare(name: str, results: list[Result], reference: dict[str, dict]) -> int:
    """Disagreements between batch results and baseline outcomes (by patient id)."""
    bad = 0
    for result in results:
        expected = reference.get(result.patient)
        if expected is not None and result.outcome is not None and result.outcome != expected:
            bad += 1
            if bad <= 3:
                print(f"  disagreement ({name}) on {result.source}: b12kg {result.outcome} baseline {expected}")
    return bad


def measure_cohort(label: str, paths: list[Path], as_of: date, args, work: Path, cores: int) -> list[tuple]:
    from b12kg.knowledge import load_knowledge
    from benchmarks.baseline import assess_baseline
    from benchmarks.peer import PeerStack, prepare

    rows: list[tuple] = []
    knowledge = load_knowledge()
    base = paths[: args.baseline_patients]
    usage, base_out = in_process(lambda: [assess_baseline(p, as_of) for p in base])
    rows.append(("straightforward baseline (rdflib, pySHACL, owlrl, per patient)", len(base), usage))
    base_by_id = {p.stem: o for p, o in zip(base, base_out, strict=True)}

    peer_paths = paths[: args.peer_patients]
    chunks = prepare(peer_paths, knowledge, as_of)
    stack = PeerStack(knowledge)
    usage, peer_out = in_process(lambda: stack.run(chunks, as_of))
    rows.append(("peer stack (pyoxigraph + pySHACL-turbo + reasonable + Oxigraph rules)", len(peer_paths), usage))
    peer_by_id = {iri.rsplit("/", 1)[-1]: o for iri, o in peer_out.items()}

    folder = paths[0].parent
    runs = {}
    for name, extra in (("b12kg batch --workers 1", ("--workers", "1")), (f"b12kg batch --workers {cores}", ("--workers", str(cores)))):
        usage, records = cli_batch([folder], as_of, work / f"{label}-{len(runs)}.jsonl", *extra)
        runs[name] = records
        rows.append((name, len(records), usage))
    if not args.no_dask:
        usage, records = dask_batch([folder], as_of, work / f"{label}-dask.jsonl", cores)
        runs[f"b12kg batch --scheduler (Dask LocalCluster, {cores} workers)"] = records
        rows.append((f"b12kg batch --scheduler (Dask LocalCluster, {cores} workers)", len(records), usage))

    first = next(iter(runs.values()))
    for name, records in runs.items():
        if [r.digest for r in records] != [r.digest for r in first]:
            print(f"  {label}: {name} differs from --workers 1")
        compare(name, records, base_by_id)
        compare(name, records, peer_by_id)
    identical = all([r.digest for r in records] == [r.digest for r in first] for records in runs.values())
    print(f"  {label}: batch runs identical to each other: {identical}; "
          f"agreement with the straightforward baseline on {len(base_by_id)} patients and the peer stack on "
          f"{len(peer_by_id)}: {compare('all', first, base_by_id) + compare('all', first, peer_by_id) == 0}")
    return rows


def print_table(title: str, rows: list[tuple]) -> None:
    base_rate = rows[0][1] / rows[0][2].wall
    peer_rate = rows[1][1] / rows[1][2].wall
    print(f"\n{title}")
    print(f"{'pipeline':72} {'patients':>8} {'wall s':>8} {'patients/s':>10} {'CPU ms/pt':>9} {'peak RSS MiB':>12} "
          f"{'x straightf.':>12} {'x peer':>7}")
    for name, count, usage in rows:
        rate = count / usage.wall
        print(f"{name:72} {count:8d} {usage.wall:8.1f} {rate:10.1f} {1000 * usage.cpu / count:9.2f} "
              f"{usage.peak_rss / 2**20:12.0f} {rate / base_rate:12.1f} {rate / peer_rate:7.2f}")


def print_parts(rows: list[tuple], plots: Path | None, label: str, title: str) -> None:
    """Cost and memory for each tenth of the patients of every batch run (flat rows: flat cost and memory)."""
    memory, cost = [], []
    for name, count, usage in rows:
        parts = by_part(usage, count)
        if len(parts) < 2:
            continue
        print(f"  {name}, by tenth of the patients:")
        print("    CPU ms/patient " + " ".join(f"{ms:6.2f}" for _, ms, _ in parts))
        print("    peak RSS MiB   " + " ".join(f"{mib:6.0f}" for _, _, mib in parts))
        short = name.replace("b12kg batch ", "")
        running = [sample for sample in usage.timeline if sample[2] > 0]  # not the samples after the processes ended
        step = max(1, len(running) // 1500)  # a point per ~1,500th of the run is enough to see
        memory.append((short, [(done, rss / 2**20) for _, _, rss, done in running[::step]]))
        cost.append((short, [(done, ms) for done, ms, _ in parts]))
    if plots is not None and memory:
        from benchmarks.plot import write_svg

        plots.mkdir(parents=True, exist_ok=True)
        write_svg(plots / f"{label}.svg", title, memory, cost)
        print(f"  plot: {plots / f'{label}.svg'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--large", action="store_true", help="also 100,000 patients (takes long)")
    parser.add_argument("--baseline-patients", type=int, default=8)
    parser.add_argument("--peer-patients", type=int, default=2000, help="patients for the peer stack (its untimed preparation is slow)")
    parser.add_argument("--synthea", type=Path, default=SYNTHEA)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2026-11-24")
    parser.add_argument("--plots", type=Path, help="write an SVG of memory and cost against patients done, per cohort, here")
    parser.add_argument("--incremental-only", action="store_true",
                        help="only the incremental re-assessment (1%% of --patients changed; benchmarks/incremental.py)")
    parser.add_argument("--startup-only", action="store_true",
                        help="only the one-patient cold/warm start-up and warm Api().assess (benchmarks/startup.py)")
    parser.add_argument("--startup-runs", type=int, default=5, help="subprocess runs per start-up figure (median)")
    args = parser.parse_args(argv)
    as_of = date.fromisoformat(args.as_of)
    from benchmarks import startup

    if args.startup_only:
        startup.print_rows(as_of, args.startup_runs, 30)
        return 0
    from b12kg.batch.local import default_workers

    cores = default_workers()
    from benchmarks import incremental

    if args.incremental_only:
        with tempfile.TemporaryDirectory(prefix="b12kg-bench-") as tmp:
            incremental.print_rows(args.patients, incremental.measure(args.patients, args.seed, as_of, Path(tmp), cores))
        return 0
    print(f"machine: {os.cpu_count()} cores ({cores} usable), load average at start {os.getloadavg()[0]:.2f}")
    startup.print_rows(as_of, args.startup_runs, 30)
    sizes = [args.patients] + ([100_000] if args.large else [])
    with tempfile.TemporaryDirectory(prefix="b12kg-bench-") as tmp:
        work = Path(tmp)
        for n in sizes:
            paths = write_cohort(n, args.seed, as_of, work / f"cohort-{n}")
            title = f"synthetic cohort: {n} patients, seed {args.seed}"
            rows = measure_cohort(f"cohort-{n}", paths, as_of, args, work, cores)
            print_table(f"{title} (load average {os.getloadavg()[0]:.2f})", rows)
            print_parts(rows, args.plots, f"cohort-{n}", title)
            shutil.rmtree(work / f"cohort-{n}")
        incremental.print_rows(args.patients, incremental.measure(args.patients, args.seed, as_of, work, cores))
        if args.synthea.is_dir():
            files = sorted(p for p in args.synthea.glob("*.json")
                           if not p.name.startswith("practitioner") and not p.name.endswith(".expected.json"))
            folder = work / "synthea"
            folder.mkdir()
            for path in files:
                shutil.copy(path, folder / path.name)
            args.peer_patients = args.baseline_patients = min(len(files), 3)
            rows = measure_cohort("synthea", sorted(folder.iterdir()), as_of, args, work, cores)
            from b12kg.batch.ndjson import write_export

            write_export([json.loads(p.read_text()) for p in files], work / "synthea-bulk", parts=2)
            usage, records = cli_batch([work / "synthea-bulk"], as_of, work / "synthea-bulk.jsonl", "--workers", str(cores))
            rows.append((f"b12kg batch --workers {cores}, the same records as a Bulk NDJSON export", len(records), usage))
            print_table(f"Synthea sample: {len(files)} bundles of 0.2-1.5 MB (load average {os.getloadavg()[0]:.2f})", rows)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Many patients: b12kg batch (files, folders, Bulk NDJSON; every core or a Dask cluster)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from ..errors import EXIT_INTERNAL, Problem
from .common import as_of_option, in_population_option, input_format_option, progress_bar, reasoner_option
from .group import main


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@as_of_option
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the JSON Lines to FILE instead of standard output.")
@input_format_option
@reasoner_option
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Worker processes (default: every core). Output stays in input order.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (e.g. tcp://127.0.0.1:8786); needs the 'dask' extra.")
@click.option("--resume", is_flag=True, help="Skip the sources already in the --output file and append the rest.")
@in_population_option
@click.option("--time-budget", type=click.FloatRange(min=0.01), metavar="SECONDS",
              help="Time allowed per patient (default: 30); a worker over it is stopped and the patient rejected.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when stderr is a terminal).")
@click.option("--store", "store_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Also write every assessment into the cohort store DIR (created if absent), as one transactional "
                   "load committed when the batch ends (each patient assessed once; files and NDJSON exports alike).")
@click.option("--incremental", is_flag=True,
              help="With --store: assess only the patients whose input changed (its SHA-256) or whose as-of date moved; "
                   "each new assessment is linked to the patient's previous one (prov:wasRevisionOf).")
@click.option("--partial", is_flag=True,
              help="With --incremental: the Bulk exports hold only the resources changed since the last export (_since); "
                   "they are merged into each patient's stored input, and the patients they do not name are kept.")
def batch(paths: tuple[Path, ...], as_of: date, output: Path | None, input_format: str | None, reasoner: str,
          workers: int | None, scheduler: str | None, resume: bool, in_population: bool, time_budget: float | None,
          progress: bool | None, store_dir: Path | None, incremental: bool, partial: bool) -> None:
    """Assess many patients and write JSON Lines: one line per patient, naming its
    "source", holding the assessment object, or "rejected" / "internal_error".

    PATHS are patient files and folders (walked recursively); a folder holding
    *.ndjson files is read as a FHIR Bulk Data export (<ResourceType>.ndjson or parts
    such as Observation.000.ndjson), one line per patient. A rejected patient is
    reported and the others are still assessed. The counts (in = assessed +
    rejected + internal errors) are printed at the end; the exit code is 1 if any
    internal error, 2 if any patient was rejected or no patient file was found,
    else 0.
    """
    from ..batch import run as batch_run
    from ..batch.sink import JsonLinesSink, done_sources
    from ..batch.sources import PATIENT_SUFFIXES

    if resume and output is None:
        raise click.UsageError("--resume needs --output FILE (the sources already there are skipped)")
    if scheduler and workers:
        raise click.UsageError("--workers sets local processes; with --scheduler the cluster's workers are used")
    if incremental and store_dir is None:
        raise click.UsageError("--incremental needs --store DIR (the store says which inputs were assessed)")
    if partial and not incremental:
        raise click.UsageError("--partial needs --incremental (a partial export is merged into the store's inputs)")
    done = done_sources(output) if resume else set()
    since = None
    if incremental:
        from ..cohort.incremental import Incremental

        since = Incremental(store_dir, as_of, partial)
    settings = batch_run.Settings(as_of=as_of, reasoner=reasoner, input_format=input_format, workers=workers,
                                  scheduler=scheduler, budget=time_budget, in_population=in_population,
                                  datasets=store_dir is not None)

    def report(record: dict, kind: str) -> None:
        if kind == "rejected":
            for problem in record["rejected"]:
                click.echo(f"b12kg: rejected: {Problem(**problem)}", err=True)
        elif kind == "internal":
            click.echo(f"b12kg: internal error on {record['source']}: {record['internal_error']}", err=True)

    show = sys.stderr.isatty() if progress is None else progress
    try:
        sink = JsonLinesSink(output, append=resume)
    except OSError as exc:
        raise click.FileError(str(output), exc.strerror) from None
    if store_dir is not None:
        from ..batch.sink import Tee
        from ..batch.work import DATASET_KEY
        from ..cohort.sink import StoreSink
        from ..knowledge import load_knowledge

        store = StoreSink(store_dir, load_knowledge().quads, DATASET_KEY)
        sink = Tee(sink, store)
    bar = progress_bar() if show else None
    try:
        if bar is not None:
            bar.start()
        counts = batch_run.run(list(paths), settings, sink, done, bar, report, since)
    except ImportError as exc:
        click.echo(f"b12kg: {exc.name or exc} is not installed: --scheduler needs the 'dask' extra "
                   "(pip install 'b12kg[dask]')", err=True)
        sys.exit(EXIT_INTERNAL)
    except OSError as exc:
        click.echo(f"b12kg: cannot write {output or 'standard output'}: {exc.strerror or exc}; completed lines are kept "
                   "(run again with --resume)", err=True)
        sys.exit(EXIT_INTERNAL)
    finally:
        if bar is not None:
            bar.stop()
    if not counts.found:
        click.echo(f"b12kg: warning: no patient file found under {', '.join(str(p) for p in paths)} "
                   f"(looked for {', '.join(sorted(PATIENT_SUFFIXES))} files and *.ndjson exports)", err=True)
    click.echo(f"b12kg: {counts.summary()}", err=True)
    if store_dir is not None:
        loader = store.loader
        state = "added" if counts.exit_code != 130 else "not added (interrupted: the load was rolled back)"
        click.echo(f"b12kg: store {store_dir}: {loader.added} assessments {state}, {loader.skipped} already there", err=True)
        if since is not None:
            click.echo(f"b12kg: incremental: {counts.unchanged} unchanged (not assessed), {loader.revised} re-assessed "
                       f"(linked to their previous assessment), {loader.added - loader.revised} new"
                       + (f"; {since.merged} partial records merged into their stored input" if partial else ""), err=True)
            if since.other_knowledge:
                click.echo(f"b12kg: warning: {since.other_knowledge} unchanged inputs were assessed with other knowledge than "
                           "this installation's: they are kept as they are (b12kg impact shows what the knowledge change "
                           "would change; a new as-of date or store assesses them again)", err=True)
    sys.exit(counts.exit_code)

"""The b12kg command line: a thin layer over pipeline.Assessor."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from . import __version__, reason
from .errors import InputRejected

EXIT_REJECTED = 2
EXIT_INTERNAL = 1


def _as_of(ctx, param, value: str | None) -> date:
    import re

    if value is None:
        return date.today()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # fromisoformat also takes 2026W482, 20261124...
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def _reject(exc: InputRejected) -> None:
    click.echo(f"b12kg: input rejected ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}):", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(EXIT_REJECTED)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")


as_of_option = click.option("--as-of", callback=_as_of, metavar="YYYY-MM-DD",
                            help="Date the assessment is made on (default: today). Durations are measured to it; later facts are ignored and listed.")
input_format_option = click.option("--input-format", type=click.Choice(["fhir", "turtle", "json-ld", "nt"]),
                                   help="Override the format taken from the file extension (.json FHIR R4 Bundle, .ttl, .jsonld, .nt).")
in_population_option = click.option(
    "--in-population", is_flag=True,
    help="Assert that the patient belongs to the guideline's population (peripheral neuropathy) when the record does "
         "not code it, for cohorts already selected (contract section 5). A deceased patient stays outside.")
reasoner_option = click.option("--reasoner", type=click.Choice(sorted(reason.BACKENDS)), default=reason.DEFAULT, show_default=True,
                               help="OWL reasoner backend.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="b12kg")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """b12kg: the guideline "Treatment of Peripheral Neuropathy with Mildly Low
    Vitamin B12" as an executable, explainable knowledge graph.

    Patient facts (a FHIR R4 Bundle or native RDF) are validated with SHACL,
    classified by an OWL reasoner against the guideline ontology, and assessed by
    SPARQL rules; every conclusion names the guideline statement, the patient facts
    and the rule it rests on.

    \b
    Exit codes: 0 assessed, 2 input rejected (the message names the file, the
    resource, the field and the reason), 1 internal error.

    \b
    Environment: B12KG_TIME_BUDGET, seconds one patient may take (default 30);
    a patient over it is rejected (exit 2), even inside a step that never returns.
    """
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["json", "turtle", "jsonld", "trig", "text"]), default="json", show_default=True,
              help="json: the contract's assessment object; turtle/jsonld/trig: conclusions as RDF with PROV-O provenance "
                   "(TriG keeps the named graphs); text: the explanation (as 'b12kg explain').")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE instead of standard output.")
@input_format_option
@reasoner_option
@in_population_option
@click.pass_context
def assess(ctx: click.Context, path: Path, as_of: date, fmt: str, output: Path | None, input_format: str | None, reasoner: str,
           in_population: bool) -> None:
    """Assess one patient file against the guideline.

    \b
    Example:
      b12kg assess examples/ex1-confirmed-oral.json --as-of 2026-11-24
    """
    from .pipeline import Assessor
    from .report import dumps, to_rdf

    assessor = Assessor(reasoner=reasoner, in_population=in_population)
    result = _assess_one(ctx, assessor, path, as_of, input_format)
    if fmt == "json":
        _write(dumps(result.document, indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "text":
        from .explain import render

        _write(render(result, assessor.knowledge, "text"), output)
    else:
        _write(to_rdf(result.quads, fmt), output)


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@input_format_option
@click.pass_context
def validate(ctx: click.Context, path: Path, as_of: date, input_format: str | None) -> None:
    """Check one patient file against the input shapes without assessing it."""
    from .pipeline import Assessor

    loaded = _run(ctx, lambda: Assessor().load(path, as_of, input_format))
    click.echo(f"{path}: valid ({len(loaded.graph)} triples about patient {loaded.patient_id}"
               f"{f', {len(loaded.ignored)} facts ignored' if loaded.ignored else ''})")


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "html"]), default="text", show_default=True,
              help="html is one self-contained page linking each conclusion to its rule, statements and facts.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE instead of standard output.")
@input_format_option
@in_population_option
@click.pass_context
def explain(ctx: click.Context, path: Path, as_of: date, fmt: str, output: Path | None, input_format: str | None,
            in_population: bool) -> None:
    """Explain every conclusion for one patient: the rule, the guideline statement
    quoted with its citation, the facts used, the thresholds compared, and what is
    missing (which fact would change the conclusion)."""
    from .explain import render
    from .pipeline import Assessor

    assessor = Assessor(in_population=in_population)
    result = _assess_one(ctx, assessor, path, as_of, input_format)
    _write(render(result, assessor.knowledge, fmt), output)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@as_of_option
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the JSON Lines to FILE instead of standard output.")
@input_format_option
@reasoner_option
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when stderr is a terminal).")
@click.option("--store", "store_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Also write every assessment into the cohort store DIR (created if absent), as one transactional load.")
def batch(paths: tuple[Path, ...], as_of: date, output: Path | None, input_format: str | None, reasoner: str,
          progress: bool | None, store_dir: Path | None) -> None:
    """Assess many patient files (files or folders) and write JSON Lines: one
    assessment object per patient, or {"file", "rejected"} for a rejected file.

    A rejected patient is reported and the others are still assessed; the exit code
    is 2 if any file was rejected, else 0. With --store, the assessments also go into
    a cohort store (b12kg cohort, serve, report, publish read it).
    """
    from contextlib import nullcontext

    from rich.progress import Progress

    from .pipeline import Assessor

    files = _patient_files(paths)
    assessor = Assessor(reasoner=reasoner)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    rejected = failed = 0
    show = sys.stderr.isatty() if progress is None else progress
    if store_dir is not None:
        from .cohort.store import store_sink

        sink = store_sink(store_dir, assessor.knowledge.quads)
    else:
        sink = nullcontext(None)
    with sink as store_write, Progress(disable=not show, transient=True, console=_stderr_console()) as bar:
        task = bar.add_task("assessing", total=len(files))
        for file, outcome in assessor.assess_many(files, as_of, input_format, keep_quads=store_write is not None):
            if store_write is not None:
                store_write(file, outcome)
            if isinstance(outcome, InputRejected):
                rejected += 1
                record = {"file": str(file), "rejected": [p.as_dict() for p in outcome.problems]}
                for problem in outcome.problems:
                    click.echo(f"b12kg: rejected: {problem}", err=True)
            elif isinstance(outcome, Exception):  # one patient's defect must not stop the batch
                failed += 1
                record = {"file": str(file), "internal_error": f"{type(outcome).__name__}: {outcome}"}
                click.echo(f"b12kg: internal error on {file}: {type(outcome).__name__}: {outcome}", err=True)
            else:
                record = outcome.document
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            bar.advance(task)
    if output:
        out.close()
    click.echo(f"b12kg: {len(files) - rejected - failed} assessed, {rejected} rejected, {failed} internal errors", err=True)
    if store_write is not None:
        click.echo(f"b12kg: store {store_dir}: {store_write.loader.added} assessments added, "
                   f"{store_write.loader.skipped} already there", err=True)
    sys.exit(EXIT_INTERNAL if failed else EXIT_REJECTED if rejected else 0)


@main.command()
@click.option("--cases", type=click.Path(path_type=Path, file_okay=False), default=Path("tests/cases"), show_default=True,
              help="Folder of clinical test cases (NAME.expected.json).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 when the matrix has a gap.")
def coverage(cases: Path, fmt: str, check: bool) -> None:
    """The coverage matrix generated from the ontology: guideline statement ->
    individual -> rule -> query -> test cases, with every gap listed."""
    from .coverage import build, to_markdown
    from .knowledge import load_knowledge

    matrix = build(load_knowledge(), cases)
    click.echo(to_markdown(matrix) if fmt == "markdown" else json.dumps(matrix.as_dict(), indent=2))
    if check and matrix.gaps:
        sys.exit(EXIT_INTERNAL)


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("query_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@as_of_option
@input_format_option
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "json", "xml", "table", "turtle", "nt", "jsonld", "trig"]),
              help="SELECT/ASK: SPARQL results as csv (default), tsv, json, xml or an aligned table; "
                   "CONSTRUCT/DESCRIBE: nt (default), turtle, jsonld or trig.")
@click.option("--timeout", type=click.FloatRange(0, 3600, min_open=True), default=30.0, show_default=True, help="Seconds the query may run.")
@click.option("--max-rows", type=click.IntRange(1, 10_000_000), default=10_000, show_default=True,
              help="Rows (or triples) the query may return.")
@click.pass_context
def query(ctx: click.Context, path: Path, query_file: Path, as_of: date, input_format: str | None, fmt: str | None,
          timeout: float, max_rows: int) -> None:
    """Run your own SPARQL query over one assessed patient.

    The default graph is the union of the patient's graphs and the guideline ontology,
    each triple once (a fact that is both asserted and inferred is not repeated); name
    a graph with GRAPH <https://w3id.org/b12kg/graph/asserted> (inferred, concluded,
    assessment, ignored, cited-guideline) to read one. Prefixes gm:, pt:, b12:, rule:,
    prov:, skos:, owl:, xsd:, dct: and graph: are predefined.

    The query is read-only and local: updates, SERVICE, LOAD and FROM are refused, and
    it runs in a process that cannot open a connection, within --timeout and --max-rows.

    \b
    Example:
      b12kg query examples/ex1-confirmed-oral.json queries/report/conclusions.rq --format table
    """
    from .pipeline import Assessor
    from .query import QuadsSource, QueryLimits, prepare_user_query, run_user_query, serialize_result

    limits = QueryLimits(timeout=timeout, max_rows=max_rows)
    data = query_file.read_bytes()[: limits.max_query_chars * 4 + 1]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        _reject(InputRejected.one(str(query_file), f"not UTF-8 text: byte {exc.start} (line {line}) is 0x{data[exc.start]:02x}",
                                  rule="SPARQL 1.1 grammar"))
    prepared = _run(ctx, lambda: prepare_user_query(text, str(query_file), limits))
    assessor = Assessor()
    assessment = _assess_one(ctx, assessor, path, as_of, input_format)
    result = _run(ctx, lambda: run_user_query(prepared, QuadsSource([*assessor.knowledge.quads, *assessment.quads]), limits))
    default = "nt" if result.type == "CONSTRUCT" else "csv"
    try:
        click.echo(serialize_result(result, fmt or default), nl=False)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


PATIENT_SUFFIXES = {".json", ".ttl", ".jsonld", ".nt"}


def _patient_files(paths: tuple[Path, ...]) -> list[Path]:
    """The patient files named, folders expanded (expected-result files left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in PATIENT_SUFFIXES and not p.name.endswith(".expected.json")))
        else:
            files.append(path)
    return files


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _assess_one(ctx: click.Context, assessor, path: Path, as_of: date, input_format: str | None):
    """Assess one patient within the per-patient time budget, enforced even inside a step."""
    from .pipeline import MAX_SECONDS_PER_PATIENT
    from .watchdog import time_budget

    with time_budget(MAX_SECONDS_PER_PATIENT, str(path)):
        return _run(ctx, lambda: assessor.assess(path, as_of, input_format))


def _run(ctx: click.Context, work):
    """Run `work`, turning rejections into exit 2 and defects into exit 1."""
    try:
        return work()
    except InputRejected as exc:
        _reject(exc)
    except Exception as exc:
        if ctx.obj["debug"]:
            raise
        click.echo(f"b12kg: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(EXIT_INTERNAL)


from .cohort.cli import register  # noqa: E402  (the cohort commands: load, cohort, serve, publish, report)

register(main)

if __name__ == "__main__":
    main()

"""The b12kg command line: a thin layer over pipeline.Assessor."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_REJECTED, EnvironmentProblem, InputRejected, rejection_report


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
    click.echo(rejection_report(exc.problems), err=True, nl=False)
    sys.exit(EXIT_REJECTED)


def _write(text: str, output: Path | None) -> None:
    from .output import write_text

    write_text(text if text.endswith("\n") else text + "\n", output)


class _Group(click.Group):
    """Environment problems (no Java, an unwritable output, a full disk) end any command
    with their message and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EnvironmentProblem as exc:
            click.echo(f"b12kg: {exc}", err=True)
            sys.exit(EXIT_INTERNAL)


as_of_option = click.option("--as-of", callback=_as_of, metavar="YYYY-MM-DD",
                            help="Date the assessment is made on (default: today). Durations are measured to it; later facts are ignored and listed.")
input_format_option = click.option("--input-format", type=click.Choice(["fhir", "turtle", "json-ld", "nt"]),
                                   help="Override the format taken from the file extension (.json FHIR R4 Bundle, .ttl, .jsonld, .nt).")
in_population_option = click.option(
    "--in-population", is_flag=True,
    help="Assert that the patient belongs to the guideline's population (peripheral neuropathy) when the record does "
         "not code it, for cohorts already selected (contract section 5). A deceased patient stays outside.")
REASONERS = ("hermit", "owlrl", "reasonable")
"""reason.BACKENDS, named here so that --help does not import rdflib (tests/test_batch.py checks they match)."""
reasoner_option = click.option("--reasoner", type=click.Choice(REASONERS), default="reasonable", show_default=True,
                               help="OWL reasoner backend.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="b12kg")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.option("--guideline", "guidelines", multiple=True, type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Also load the guideline pack in DIR (with ontology/, and optionally shapes/ and queries/, inside); repeatable. "
                   "Installed packs (entry points 'b12kg.guidelines') and B12KG_GUIDELINES are loaded too.")
@click.pass_context
def main(ctx: click.Context, debug: bool, guidelines: tuple[Path, ...]) -> None:
    """b12kg: the guideline "Treatment of Peripheral Neuropathy with Mildly Low
    Vitamin B12" as an executable, explainable knowledge graph.

    Patient facts (a FHIR R4 Bundle or native RDF) are validated with SHACL,
    classified by an OWL reasoner against the guideline ontology, and assessed by
    SPARQL rules; every conclusion names the guideline statement, the patient facts
    and the rule it rests on.

    \b
    Exit codes: 0 assessed, 2 input rejected (the message names the file, the
    resource, the field and the reason), 1 internal error or a machine that
    cannot do it (no Java for --reasoner hermit, an output that cannot be
    written: full disk, read-only file system; the message says what to do).

    \b
    Environment: B12KG_TIME_BUDGET, seconds one patient may take (default 30);
    a patient over it is rejected (exit 2), even inside a step that never returns.
    """
    ctx.obj = {"debug": debug}
    if guidelines:
        from . import resources

        resources.add_guideline_dirs(guidelines)
        _run(ctx, resources.packs)


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["json", "fhir", "turtle", "jsonld", "trig", "nt", "text"]), default="json",
              show_default=True,
              help="json: the contract's assessment object; fhir: an R4 Bundle (GuidanceResponse, RequestGroup of proposed "
                   "orders, DetectedIssue, Provenance); turtle/jsonld/trig/nt: conclusions as RDF with PROV-O provenance "
                   "(TriG keeps the named graphs; sorted, the same bytes for the same input but the start time); "
                   "text: the explanation (as 'b12kg explain').")
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
    from .api import Api, Result
    from .pipeline import Assessor
    from .report import dumps, to_rdf

    api = Api(Assessor(reasoner=reasoner, in_population=in_population))
    result = Result(_assess_one(ctx, api.assessor, path, as_of, input_format))
    if fmt == "json":
        _write(dumps(result.document, indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "fhir":
        _write(dumps(_run(ctx, lambda: api.to_fhir(result)), indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "text":
        from .explain import render

        _write(render(result.assessment, api.knowledge, "text"), output)
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
                   "load (assessed again in this process, datasets kept; NDJSON exports are not stored).")
def batch(paths: tuple[Path, ...], as_of: date, output: Path | None, input_format: str | None, reasoner: str,
          workers: int | None, scheduler: str | None, resume: bool, in_population: bool, time_budget: float | None,
          progress: bool | None, store_dir: Path | None) -> None:
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
    from .batch import run as batch_run
    from .batch.sink import JsonLinesSink, done_sources
    from .batch.sources import PATIENT_SUFFIXES

    if resume and output is None:
        raise click.UsageError("--resume needs --output FILE (the sources already there are skipped)")
    if scheduler and workers:
        raise click.UsageError("--workers sets local processes; with --scheduler the cluster's workers are used")
    done = done_sources(output) if resume else set()
    settings = batch_run.Settings(as_of=as_of, reasoner=reasoner, input_format=input_format, workers=workers,
                                  scheduler=scheduler, budget=time_budget, in_population=in_population)

    def report(record: dict, kind: str) -> None:
        if kind == "rejected":
            for problem in record["rejected"]:
                click.echo(f"b12kg: rejected: {_problem_text(problem)}", err=True)
        elif kind == "internal":
            click.echo(f"b12kg: internal error on {record['source']}: {record['internal_error']}", err=True)

    show = sys.stderr.isatty() if progress is None else progress
    try:
        sink = JsonLinesSink(output, append=resume)
    except OSError as exc:
        raise click.FileError(str(output), exc.strerror) from None
    bar = _progress_bar() if show else None
    try:
        if bar is not None:
            bar.start()
        counts = batch_run.run(list(paths), settings, sink, done, bar, report)
    except ImportError as exc:
        click.echo(f"b12kg: {exc.name or exc} is not installed: --scheduler needs the 'dask' extra "
                   "(pip install 'b12kg[dask]')", err=True)
        sys.exit(EXIT_INTERNAL)
    except batch_run.ClusterUnavailable as exc:
        click.echo(f"b12kg: {exc}", err=True)
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
        from .cohort.store import store_files

        loader = store_files(list(paths), store_dir, as_of, reasoner, input_format, in_population)
        click.echo(f"b12kg: store {store_dir}: {loader.added} assessments added, {loader.skipped} already there", err=True)
    sys.exit(counts.exit_code)


def _problem_text(problem: dict) -> str:
    from .errors import Problem

    return str(Problem(**problem))


@main.command()
@click.option("--cases", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Folder of clinical test cases (NAME.expected.json). Default: the cases installed with b12kg.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 when the matrix has a gap.")
def coverage(cases: Path | None, fmt: str, check: bool) -> None:
    """The coverage matrix generated from the ontology: guideline statement ->
    individual -> rule -> query -> test cases, with every gap listed. Works from
    any folder: the test cases travel with the package."""
    from . import resources
    from .coverage import build, to_markdown
    from .knowledge import load_knowledge

    cases = cases or resources.cases_dir()
    if cases is None:
        click.echo("b12kg: this installation carries no clinical test cases: the matrix leaves out the case columns "
                   "and --check their gaps (name a folder with --cases)", err=True)
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


@main.command()
@click.option("--cases", type=click.Path(path_type=Path, file_okay=False), default=Path("tests/cases"), show_default=True,
              help="Folder of clinical test cases for the coverage check (packs' cases in its subfolders).")
@click.option("--reasoner/--no-reasoner", default=True, show_default=True, help="Run the OWL 2 DL check with HermiT (needs Java).")
@click.option("--coverage/--no-coverage", "with_coverage", default=True, show_default=True, help="Run the coverage check.")
@click.pass_context
def check(ctx: click.Context, cases: Path, reasoner: bool, with_coverage: bool) -> None:
    """Ontology QC of the merged knowledge of every pack: OWL 2 DL consistency and
    unsatisfiable classes (HermiT), the QC queries (queries/qc/*-violation.rq), the
    guideline-integrity shapes and the coverage check. Exit 1 naming each entity at fault."""
    from .check import check as run_check
    from .knowledge import load_knowledge

    report = _run(ctx, lambda: run_check(load_knowledge(), cases, reasoner=reasoner, coverage=with_coverage))
    click.echo(report.text())
    sys.exit(0 if report.ok else EXIT_INTERNAL)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def interactions(ctx: click.Context, fmt: str) -> None:
    """List the interactions between the loaded guidelines that hold whatever the patient
    (contradictions, repetitions, alternative actions, repairable transitions, divergent
    thresholds), each with the two sides it brings together."""
    from .integration import knowledge_interactions
    from .knowledge import load_knowledge

    found = _run(ctx, lambda: knowledge_interactions(load_knowledge()))
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for item in found:
        one, other = item["between"]
        click.echo(f"{item['type']}: {item['detail']}\n  {one['guideline']}  {one['entity']}\n  {other['guideline']}  {other['entity']}")
    click.echo(f"{len(found)} knowledge-level interactions")


@main.command("export-plandefinition")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE instead of standard output.")
def export_plandefinition(output: Path | None) -> None:
    """Write the guideline as FHIR R4 knowledge artifacts (a Bundle): a CPG-style
    PlanDefinition (one action per recommendation, its condition, evidence and
    citations), ActivityDefinitions for the orders, and a Library of the SPARQL rules.
    Generated from the ontology."""
    from .knowledge import load_knowledge
    from .plandefinition import export

    _write(json.dumps(export(load_knowledge()), indent=2, ensure_ascii=False) + "\n", output)


@main.command("export-valuesets")
@click.option("--output", "-o", "target", type=click.Path(),
              help="A directory (existing, or ending in /): one JSON file per resource; else a FILE: one Bundle. Default: the Bundle on standard output.")
def export_valuesets(target: str | None) -> None:
    """Write every value set of the knowledge as a FHIR R4 ValueSet (compose and expansion,
    with version and sources) and the local fact codes as a CodeSystem."""
    from .knowledge import load_knowledge
    from .valuesets import export

    resources = export(load_knowledge())
    output = Path(target) if target else None
    if output is not None and (output.is_dir() or target.endswith("/")):
        output.mkdir(parents=True, exist_ok=True)
        for resource in resources:
            (output / f"{resource['resourceType']}-{resource['id']}.json").write_text(
                json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    _write(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", output)


@main.command("cds-hooks")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback by default; anything else is reachable from the network).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--fhir-server", metavar="URL", help="FHIR server to fetch missing prefetch from when a request names none; when set, "
                                                   "the only fhirServer the service fetches from.")
@click.option("--as-of", "as_of", callback=lambda c, p, v: None if v is None else _as_of(c, p, v), metavar="YYYY-MM-DD",
              help="Assess as of this date instead of today (demonstrations, tests).")
@click.option("--feedback-db", type=click.Path(path_type=Path, dir_okay=False),
              help="SQLite file for issued cards and feedback (default: $XDG_STATE_HOME/b12kg/cds-feedback.sqlite3).")
@click.option("--cache-size", default=256, show_default=True, type=click.IntRange(0, 100_000),
              help="Assessments kept by input hash (a chart opened again unchanged is not re-assessed); 0 disables.")
@click.option("--jwt-issuer", "jwt_issuers", multiple=True, metavar="ISS",
              help="Require a JWT bearer token from this issuer (repeat for several). Off by default: no authentication.")
@click.option("--jwks", "jwks_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="JWKS file with the issuers' public keys (needed with --jwt-issuer; never fetched).")
def cds_hooks(host: str, port: int, fhir_server: str | None, as_of: date | None, feedback_db: Path | None, cache_size: int,
              jwt_issuers: tuple[str, ...], jwks_file: Path | None) -> None:
    """Run the CDS Hooks 2.0 service: discovery at /cds-services, the services
    b12-patient-view and b12-order-sign, feedback at /cds-services/{id}/feedback, and
    the explanation pages the cards link to. Needs the 'serve' extra:
    pip install 'b12kg[serve]'."""
    try:
        from .serve.cds_hooks import Config, serve
    except ImportError as exc:
        raise click.ClickException(f"the CDS Hooks service needs the 'serve' extra (pip install 'b12kg[serve]'): {exc}") from None
    if jwt_issuers and not jwks_file:
        raise click.BadParameter("--jwt-issuer needs --jwks FILE", param_hint="--jwks")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"b12kg: warning: binding {host}: the service is reachable from the network"
                   f"{'' if jwt_issuers else ' and requires no authentication (see --jwt-issuer)'}", err=True)
    config = Config(host=host, port=port, fhir_server=fhir_server, as_of=as_of, jwt_issuers=list(jwt_issuers), jwks_file=jwks_file,
                    cache_size=cache_size)
    if feedback_db:
        config.feedback_db = feedback_db
    serve(config)


def _progress_bar():
    """A progress bar on standard error that moves patient by patient."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=True, console=Console(stderr=True))


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
    except EnvironmentProblem:
        raise
    except Exception as exc:
        if ctx.obj["debug"]:
            raise
        click.echo(f"b12kg: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(EXIT_INTERNAL)


from .cohort.cli import register  # noqa: E402  (the cohort commands: load, cohort, serve, publish, report)

register(main)

if __name__ == "__main__":
    main()

"""One patient: assess, validate, explain, and a user's own SPARQL query over it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from .common import (
    as_of_option,
    assess_one,
    in_population_option,
    input_format_option,
    output_option,
    reasoner_option,
    write,
)
from .group import main


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["json", "fhir", "turtle", "jsonld", "trig", "nt", "text"]), default="json",
              show_default=True,
              help="json: the contract's assessment object; fhir: an R4 Bundle (GuidanceResponse, RequestGroup of proposed "
                   "orders, DetectedIssue, Provenance); turtle/jsonld/trig/nt: conclusions as RDF with PROV-O provenance "
                   "(TriG keeps the named graphs; sorted, the same bytes for the same input but the start time); "
                   "text: the explanation (as 'b12kg explain').")
@output_option
@input_format_option
@reasoner_option
@in_population_option
def assess(path: Path, as_of: date, fmt: str, output: Path | None, input_format: str | None, reasoner: str,
           in_population: bool) -> None:
    """Assess one patient file against the guideline.

    \b
    Example:
      b12kg assess examples/ex1-confirmed-oral.json --as-of 2026-11-24
    """
    from ..api import Api, Result
    from ..pipeline import Assessor
    from ..render.contract import dumps

    api = Api(Assessor(reasoner=reasoner, in_population=in_population))
    result = Result(assess_one(api.assessor, path, as_of, input_format))
    if fmt == "json":
        write(dumps(result.document, indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "fhir":
        write(dumps(api.to_fhir(result), indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "text":
        from ..render.explain import render

        write(render(result.assessment, api.knowledge, "text"), output)
    else:
        from ..render.rdf import to_rdf

        write(to_rdf(result.quads, fmt, api.knowledge), output)


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@input_format_option
def validate(path: Path, as_of: date, input_format: str | None) -> None:
    """Check one patient file against the input shapes without assessing it."""
    from ..pipeline import Assessor

    loaded = Assessor().load(path, as_of, input_format)
    click.echo(f"{path}: valid ({len(loaded.facts)} triples about patient {loaded.patient_id}"
               f"{f', {len(loaded.ignored)} facts ignored' if loaded.ignored else ''})")


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "html"]), default="text", show_default=True,
              help="html is one self-contained page linking each conclusion to its rule, statements and facts.")
@output_option
@input_format_option
@in_population_option
def explain(path: Path, as_of: date, fmt: str, output: Path | None, input_format: str | None, in_population: bool) -> None:
    """Explain every conclusion for one patient: the rule, the guideline statement
    quoted with its citation, the facts used, the thresholds compared, and what is
    missing (which fact would change the conclusion)."""
    from ..pipeline import Assessor
    from ..render.explain import render

    assessor = Assessor(in_population=in_population)
    write(render(assess_one(assessor, path, as_of, input_format), assessor.knowledge, fmt), output)


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
def query(path: Path, query_file: Path, as_of: date, input_format: str | None, fmt: str | None, timeout: float,
          max_rows: int) -> None:
    """Run your own SPARQL query over one assessed patient.

    The default graph is the union of the patient's graphs and the guideline ontology,
    each triple once (a fact that is both asserted and inferred is not repeated); name
    a graph with GRAPH <https://w3id.org/b12kg/graph/asserted> (inferred, concluded,
    provenance, assessment, ignored, cited-guideline) to read one. Prefixes gm:, pt:,
    b12:, rule:, prov:, skos:, owl:, xsd:, dct: and graph: are predefined.

    The query is read-only and local: updates, SERVICE, LOAD and FROM are refused, and
    it runs in a process that cannot open a connection, within --timeout and --max-rows.

    \b
    Example:
      b12kg query examples/ex1-confirmed-oral.json queries/report/conclusions.rq --format table
    """
    from ..pipeline import Assessor
    from ..query import QuadsSource, QueryLimits, prepare_user_query, read_query_file, run_user_query, serialize_result

    limits = QueryLimits(timeout=timeout, max_rows=max_rows)
    prepared = prepare_user_query(read_query_file(query_file, limits), str(query_file), limits)
    assessor = Assessor()
    assessment = assess_one(assessor, path, as_of, input_format)
    result = run_user_query(prepared, QuadsSource([*assessor.knowledge.quads, *assessment.quads]), limits)
    default = "nt" if result.type == "CONSTRUCT" else "csv"
    try:
        click.echo(serialize_result(result, fmt or default), nl=False)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

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
    if value is None:
        return date.today()
    try:
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
    """
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["json", "turtle", "jsonld", "trig", "text"]), default="json", show_default=True,
              help="json: the contract's assessment object; turtle/jsonld/trig: conclusions as RDF with PROV-O provenance (TriG keeps the named graphs); text: a readable explanation.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE instead of standard output.")
@input_format_option
@reasoner_option
@click.pass_context
def assess(ctx: click.Context, path: Path, as_of: date, fmt: str, output: Path | None, input_format: str | None, reasoner: str) -> None:
    """Assess one patient file against the guideline.

    \b
    Example:
      b12kg assess examples/ex1-confirmed-oral.json --as-of 2026-11-24
    """
    from .pipeline import Assessor
    from .report import to_rdf, to_text

    try:
        result = Assessor(reasoner=reasoner).assess(path, as_of, input_format)
    except InputRejected as exc:
        _reject(exc)
    except Exception as exc:
        if ctx.obj["debug"]:
            raise
        click.echo(f"b12kg: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(EXIT_INTERNAL)
    if fmt == "json":
        _write(json.dumps(result.document, indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "text":
        _write(to_text(result.document), output)
    else:
        _write(to_rdf(result.quads, fmt), output)


@main.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@as_of_option
@input_format_option
def validate(path: Path, as_of: date, input_format: str | None) -> None:
    """Check one patient file against the input shapes without assessing it."""
    from .pipeline import Assessor

    try:
        loaded = Assessor().load(path, as_of, input_format)
    except InputRejected as exc:
        _reject(exc)
    click.echo(f"{path}: valid ({len(loaded.graph)} triples about patient {loaded.patient_id}"
               f"{f', {len(loaded.ignored)} facts ignored' if loaded.ignored else ''})")


if __name__ == "__main__":
    main()

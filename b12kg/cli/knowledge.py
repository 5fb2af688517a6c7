"""The knowledge itself: coverage, check, interactions, export-plandefinition, export-valuesets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import EXIT_INTERNAL
from .common import output_option, write
from .group import main


@main.command()
@click.option("--cases", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Folder of clinical test cases (NAME.expected.json). Default: the cases installed with b12kg.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 when the matrix has a gap.")
def coverage(cases: Path | None, fmt: str, check: bool) -> None:
    """The coverage matrix generated from the ontology: guideline statement ->
    individual -> rule -> query -> test cases, with every gap listed. Works from
    any folder: the test cases travel with the package."""
    from .. import resources
    from ..coverage import build, to_markdown
    from ..knowledge import load_knowledge

    cases = cases or resources.cases_dir()
    if cases is None:
        click.echo("b12kg: this installation carries no clinical test cases: the matrix leaves out the case columns "
                   "and --check their gaps (name a folder with --cases)", err=True)
    matrix = build(load_knowledge(), cases)
    click.echo(to_markdown(matrix) if fmt == "markdown" else json.dumps(matrix.as_dict(), indent=2))
    if check and matrix.gaps:
        sys.exit(EXIT_INTERNAL)


@main.command()
@click.option("--cases", type=click.Path(path_type=Path, file_okay=False), default=Path("tests/cases"), show_default=True,
              help="Folder of clinical test cases for the coverage check (packs' cases in its subfolders).")
@click.option("--reasoner/--no-reasoner", default=True, show_default=True, help="Run the OWL 2 DL check with HermiT (needs Java).")
@click.option("--coverage/--no-coverage", "with_coverage", default=True, show_default=True, help="Run the coverage check.")
def check(cases: Path, reasoner: bool, with_coverage: bool) -> None:
    """Ontology QC of the merged knowledge of every pack: OWL 2 DL consistency and
    unsatisfiable classes (HermiT), the QC queries (queries/qc/*-violation.rq), the
    guideline-integrity shapes and the coverage check. Exit 1 naming each entity at fault."""
    from ..check import check as run_check
    from ..knowledge import load_knowledge

    report = run_check(load_knowledge(), cases, reasoner=reasoner, coverage=with_coverage)
    click.echo(report.text())
    sys.exit(0 if report.ok else EXIT_INTERNAL)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def interactions(fmt: str) -> None:
    """List the interactions between the loaded guidelines that hold whatever the patient
    (contradictions, repetitions, alternative actions, repairable transitions, divergent
    thresholds), each with the two sides it brings together."""
    from ..integration import knowledge_interactions
    from ..knowledge import load_knowledge

    found = knowledge_interactions(load_knowledge())
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for item in found:
        one, other = item["between"]
        click.echo(f"{item['type']}: {item['detail']}\n  {one['guideline']}  {one['entity']}\n  {other['guideline']}  {other['entity']}")
    click.echo(f"{len(found)} knowledge-level interactions")


@main.command("export-plandefinition")
@output_option
def export_plandefinition(output: Path | None) -> None:
    """Write the guideline as FHIR R4 knowledge artifacts (a Bundle): a CPG-style
    PlanDefinition (one action per recommendation, its condition, evidence and
    citations), ActivityDefinitions for the orders, and a Library of the SPARQL rules.
    Generated from the ontology."""
    from ..knowledge import load_knowledge
    from ..render.plandefinition import export

    write(json.dumps(export(load_knowledge()), indent=2, ensure_ascii=False) + "\n", output)


@main.command("export-valuesets")
@click.option("--output", "-o", "target", type=click.Path(),
              help="A directory (existing, or ending in /): one JSON file per resource; else a FILE: one Bundle. "
                   "Default: the Bundle on standard output.")
def export_valuesets(target: str | None) -> None:
    """Write every value set of the knowledge as a FHIR R4 ValueSet (compose and expansion,
    with version and sources) and the local fact codes as a CodeSystem."""
    from ..knowledge import load_knowledge
    from ..render.valuesets import export

    resources = export(load_knowledge())
    output = Path(target) if target else None
    if output is not None and (output.is_dir() or target.endswith("/")):
        output.mkdir(parents=True, exist_ok=True)
        for resource in resources:
            (output / f"{resource['resourceType']}-{resource['id']}.json").write_text(
                json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    write(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", output)

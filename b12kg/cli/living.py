"""The living cohort's commands: history (a patient's assessments and what changed), impact
(what a knowledge change would change) and feedback (CDS Hooks feedback into the store)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .cohort import store_argument
from .common import write
from .group import main


@main.command("history")
@store_argument
@click.argument("patient")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE instead of standard output.")
def history_command(directory: Path, patient: str, fmt: str, output: Path | None) -> None:
    """A patient's assessments in the cohort store DIR in time order and, between each pair,
    the conclusions that appeared, disappeared or changed (status, actions, risk factors,
    follow-up) and the input facts that changed them. PATIENT is the patient's IRI or its
    FHIR id."""
    from ..cohort.history import history, text
    from ..cohort.store import CohortStore

    found = history(CohortStore(directory, read_only=True), patient)
    write(json.dumps(found, indent=2, ensure_ascii=False) if fmt == "json" else text(found), output)


@main.command("impact")
@store_argument
@click.option("--knowledge", "versions", multiple=True, required=True, metavar="OLD|NEW",
              help="A knowledge version, given twice (old, then new): 'installed', a pack folder (ontology/, shapes/, "
                   "queries/; it replaces the installed pack of its name) or a folder laid out like the repository root.")
@click.option("--json", "json_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the JSON report to FILE (default: standard output, unless --html is given).")
@click.option("--html", "html_file", type=click.Path(path_type=Path, dir_okay=False), help="Write the HTML page to FILE.")
def impact_command(directory: Path, versions: tuple[str, ...], json_file: Path | None, html_file: Path | None) -> None:
    """Assess the latest input of every patient in the cohort store DIR under two knowledge
    versions and list, per patient, the conclusions that appear, disappear or change value,
    each with the knowledge edit that explains it (a threshold, code, statement or rule that
    differs between the versions), and the counts per edit. The store is only read."""
    from ..cohort.impact import impact

    if len(versions) != 2:
        raise click.UsageError(f"--knowledge must be given twice (the old version, then the new one), not {len(versions)} times")
    report = impact(directory, versions[0], versions[1])
    if html_file is not None:
        from ..cohort.impact_page import render
        from ..output import write_text

        write_text(render(report), html_file)
    if json_file is not None or html_file is None:
        write(json.dumps(report, indent=2, ensure_ascii=False), json_file)
    counts = report["counts"]
    click.echo(f"b12kg: impact: {counts['patients_changed']} of {counts['assessed']} patients change "
               f"({counts['conclusions_changed']} conclusions; {counts['unexplained']} unexplained); "
               f"{len(report['edits'])} knowledge edits", err=True)


@main.command("feedback")
@store_argument
@click.option("--feedback-db", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True,
              help="The CDS Hooks service's SQLite file of issued cards and feedback (serve cds-hooks --feedback-db).")
def feedback_command(directory: Path, feedback_db: Path) -> None:
    """Copy the CDS Hooks feedback (accepted / overridden, the override reason) into the
    cohort store DIR as PROV-linked entities on the cards' conclusions, in one transactional
    load; feedback already there is not added again (named query: override-rate)."""
    from ..cohort.feedback import sync
    from ..serve.cds.feedback import FeedbackStore

    added, there = sync(FeedbackStore(feedback_db), directory)
    click.echo(f"b12kg: store {directory}: {added} feedback items added, {there} already there", err=True)

"""What the commands share: the common options, writing an output, assessing one file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from ..dates import calendar_date


def parse_as_of(ctx, param, value: str | None) -> date:
    """An --as-of value: a calendar date written YYYY-MM-DD (default: today)."""
    if value is None:
        return date.today()
    try:
        return calendar_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def write(text: str, output: Path | None) -> None:
    """Write a command's output to FILE (whole or not at all) or standard output."""
    from ..output import write_text

    write_text(text if text.endswith("\n") else text + "\n", output)


as_of_option = click.option("--as-of", callback=parse_as_of, metavar="YYYY-MM-DD",
                            help="Date the assessment is made on (default: today). Durations are measured to it; later facts are ignored and listed.")
input_format_option = click.option("--input-format", type=click.Choice(["fhir", "turtle", "json-ld", "nt"]),
                                   help="Override the format taken from the file extension (.json FHIR R4 Bundle, .ttl, .jsonld, .nt).")
in_population_option = click.option(
    "--in-population", is_flag=True,
    help="Assert that the patient belongs to the guideline's population when the record does not code it, for "
         "cohorts already selected (contract section 5). A deceased or underage patient stays outside.")
output_option = click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
                             help="Write to FILE instead of standard output.")
REASONERS = ("compiled", "hermit", "owlrl", "reasonable")
"""reason.BACKENDS, named here so that --help does not import rdflib (tests/test_batch.py checks they match)."""
reasoner_option = click.option("--reasoner", type=click.Choice(REASONERS), default="compiled", show_default=True,
                               help="OWL reasoner backend: compiled (OWL 2 RL compiled from the ontology, as reasonable "
                                    "computes it), or a reference: reasonable, owlrl, hermit.")


def assess_one(assessor, path: Path, as_of: date, input_format: str | None):
    """Assess one patient file within the per-patient time budget, enforced even inside a step."""
    from ..pipeline import MAX_SECONDS_PER_PATIENT
    from ..watchdog import time_budget

    with time_budget(MAX_SECONDS_PER_PATIENT, str(path)):
        return assessor.assess(path, as_of, input_format)


def progress_bar():
    """A progress bar on standard error that moves patient by patient."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=True, console=Console(stderr=True))

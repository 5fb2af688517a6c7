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

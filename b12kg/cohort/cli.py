"""The cohort commands (load, cohort, publish, report, serve), registered on b12kg's CLI group.

Heavy imports happen inside each command, so `b12kg --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

store_argument = click.argument("directory", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))


def _guard(work):
    """Run `work`, turning rejections into exit 2 with the problems listed."""
    from ..cli import _reject
    from ..errors import InputRejected

    try:
        return work()
    except InputRejected as exc:
        _reject(exc)


@click.command("load")
@store_argument
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
def load_command(directory: Path, files: tuple[Path, ...]) -> None:
    """Load assessments already written as RDF (b12kg assess --format trig, one
    assessment per file; folders are searched for .trig and .nq files) into the cohort
    store DIR, as one transactional load: any bad file leaves the store unchanged,
    and an assessment already in the store is not added twice."""
    from ..knowledge import load_knowledge
    from .store import RDF_SUFFIXES, CohortStore, read_dataset

    paths = []
    for path in files:
        paths += sorted(p for p in path.rglob("*") if p.suffix.lower() in RDF_SUFFIXES) if path.is_dir() else [path]

    def work():
        cohort = CohortStore(directory)
        try:
            with cohort.loading(load_knowledge().quads) as loader:
                for path in paths:
                    loader.add_dataset(read_dataset(path), source=str(path))
        finally:
            cohort.close()
        return loader

    loader = _guard(work)
    click.echo(f"b12kg: store {directory}: {loader.added} assessments added, {loader.skipped} already there", err=True)


COMMANDS = [load_command]


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the b12kg command")

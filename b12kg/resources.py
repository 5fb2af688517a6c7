"""Where b12kg's knowledge files live: the only module that knows.

An installed wheel carries ontology/, shapes/, queries/ and the clinical test cases
inside the package (b12kg/data/...); a source checkout has them at the repository
root (the cases in tests/cases).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_KINDS = ("ontology", "shapes", "queries")


@cache
def data_dir(kind: str) -> Path:
    """The folder holding one kind of knowledge file (ontology, shapes or queries)."""
    if kind not in _KINDS:
        raise ValueError(f"unknown resource kind {kind!r}")
    for candidate in (_PACKAGE / "data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"b12kg's {kind}/ folder is missing from the installation")


def cases_dir() -> Path | None:
    """The clinical test cases (NAME.expected.json beside each patient file), or None
    when this installation carries none."""
    for candidate in (_PACKAGE / "data" / "cases", _PACKAGE.parent / "tests" / "cases"):
        if candidate.is_dir():
            return candidate
    return None


def ontology_files() -> list[Path]:
    """The ontology modules, in a stable order."""
    return sorted(data_dir("ontology").glob("*.ttl"))


def shapes_file(name: str) -> Path:
    """One SHACL shapes file by name (without extension)."""
    return data_dir("shapes") / f"{name}.ttl"


def query_file(relative: str) -> Path:
    """A SPARQL file by its path relative to queries/ (e.g. 'derive/order-mma.rq')."""
    path = (data_dir("queries") / relative).resolve()
    if data_dir("queries").resolve() not in path.parents:
        raise ValueError(f"query path {relative!r} leaves the queries folder")
    return path


def query_text(relative: str) -> str:
    """The text of a SPARQL file under queries/."""
    return query_file(relative).read_text(encoding="utf-8")

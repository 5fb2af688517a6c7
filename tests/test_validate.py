"""The two SHACL engines report the same problems: pySHACL-turbo (default) and pySHACL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from b12kg.errors import InputRejected
from b12kg.knowledge import load_knowledge
from b12kg.load import load_patient
from b12kg.validate import ENGINES, conforms, engine, shapes_graph

TESTS = Path(__file__).resolve().parent
INPUTS = sorted(p for folder in ("cases", "bad_inputs") for p in (TESTS / folder).iterdir()
                if p.suffix in {".json", ".ttl", ".jsonld", ".nt"} and not p.name.endswith(".expected.json"))


def _loads(path: Path) -> bool:
    """Whether the file gets past the loader (SHACL runs only on what does)."""
    try:
        load_patient(path, load_knowledge(), date(2026, 11, 24))
    except InputRejected:
        return False
    return True


REACHING_SHACL = [p for p in INPUTS if _loads(p)]


@pytest.mark.parametrize("path", REACHING_SHACL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_engines_agree(path: Path, assessor):
    loaded = load_patient(path, assessor.knowledge, date(2026, 11, 24))
    shapes = shapes_graph("patient-input")
    results = {name: conforms(loaded.graph, shapes, assessor.knowledge, str(path), name) for name in ENGINES}
    assert results["pyshacl-turbo"] == results["pyshacl"]


def test_some_inputs_reach_shacl_and_break_it(assessor):
    """The comparison above is not vacuous: SHACL itself rejects some corpus files."""
    broken = 0
    for path in REACHING_SHACL:
        loaded = load_patient(path, assessor.knowledge, date(2026, 11, 24))
        broken += bool(conforms(loaded.graph, shapes_graph("patient-input"), assessor.knowledge, str(path)))
    assert broken >= 3


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown SHACL engine"):
        engine("jena")

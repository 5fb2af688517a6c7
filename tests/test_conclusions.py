"""Every clinical case's conclusions conform to shapes/conclusions.ttl: each one cites a
statement with its citation, names its rule and generating activity, and rests on
facts or names the absent fact."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyshacl
import pytest
import rdflib

from b12kg import resources
from b12kg.rdfterms import to_rdflib

CASES = Path(__file__).resolve().parent / "cases" / "b12"


def _assessable() -> list[tuple[Path, date]]:
    found = []
    for expected in sorted(CASES.glob("*.expected.json")):
        spec = json.loads(expected.read_text())
        if spec.get("exit_code", 0) == 0:
            stem = expected.name[: -len(".expected.json")]
            found.append((next(p for p in CASES.glob(stem + ".*") if p != expected), date.fromisoformat(spec["as_of"])))
    return found


@pytest.fixture(scope="module")
def shapes():
    return rdflib.Graph().parse(resources.shapes_file("conclusions"), format="turtle")


def _dataset(assessment, knowledge) -> rdflib.Graph:
    graph = rdflib.Graph()
    for triple in knowledge.graph:
        graph.add(triple)
    for quad in assessment.quads:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


@pytest.mark.parametrize("case,as_of", _assessable(), ids=lambda v: v.stem if isinstance(v, Path) else "")
def test_conclusions_conform(case: Path, as_of: date, assessor, shapes):
    data = _dataset(assessor.assess(case, as_of), assessor.knowledge)
    conforms, _, text = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    assert conforms, text


def test_the_shapes_catch_an_untraceable_conclusion(assessor, shapes):
    """A conclusion stripped of its evidence and facts must be reported."""
    case = CASES / "status-indeterminate-b12-exactly-180-ng-per-l.json"
    data = _dataset(assessor.assess(case, date(2026, 11, 24)), assessor.knowledge)
    gm = rdflib.Namespace("https://w3id.org/b12kg/model#")
    conclusion = next(c for c in data.subjects(gm.derivedBy, None) if str(c).endswith("/conclusion/order-mma"))
    for prop in (gm.evidence, gm.basedOn, gm.restsOnAbsenceOf):
        data.remove((conclusion, prop, None))
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    assert not conforms
    assert {conclusion} == set(report.objects(None, sh.focusNode))

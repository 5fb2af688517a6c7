"""Reproducible RDF: the same input gives the same bytes (apart from the start time),
and the inferred graph holds only what a reader can use."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
import rdflib

from b12kg.canonical import FORMATS
from b12kg.reason import INFERRED_LEAVES_OUT
from b12kg.render.rdf import to_rdf

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ex1-confirmed-oral.json"
AS_OF = date(2026, 11, 24)
STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.]\d+)?(?:Z|[+-]\d\d:\d\d)")
INFERRED = "https://w3id.org/b12kg/graph/inferred"


def _without_time(text: str) -> str:
    return STARTED.sub("TIME", text)


@pytest.fixture(scope="module")
def blank_node_patient(tmp_path_factory) -> Path:
    """The native example with its facts as blank nodes: the parser labels them at random."""
    text = (ROOT / "examples" / "ex1-confirmed-oral.ttl").read_text(encoding="utf-8")
    text = re.sub(r"^ex:(neuropathy|b12-2026-10-15) a ", "[] a ", text, flags=re.M)
    assert text.count("[] a ") == 2
    path = tmp_path_factory.mktemp("native") / "blank-facts.ttl"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_two_runs_give_the_same_bytes(assessor, fmt):
    first, second = (to_rdf(assessor.assess(EXAMPLE, AS_OF).quads, fmt) for _ in range(2))
    assert _without_time(first) == _without_time(second)
    assert "_:" not in first  # b12kg's own graphs carry no blank nodes


def test_blank_nodes_of_native_input_are_labelled_canonically(assessor, blank_node_patient):
    runs = [assessor.assess(blank_node_patient, AS_OF) for _ in range(2)]
    assert all(r.document["b12_status"]["value"] == "confirmed" for r in runs)  # classified through its blank nodes
    first, second = (_without_time(to_rdf(r.quads, "trig")) for r in runs)
    assert "_:c14n" in first and first == second


def test_inferred_graph_keeps_what_a_reader_can_use(assessor):
    quads = assessor.assess(EXAMPLE, AS_OF).quads
    dataset = rdflib.Dataset()
    dataset.parse(data=to_rdf(quads, "trig"), format="trig")
    inferred = dataset.graph(rdflib.URIRef(INFERRED))
    asserted = dataset.graph(rdflib.URIRef("https://w3id.org/b12kg/graph/asserted"))
    assert not [t for t in inferred if any(isinstance(x, rdflib.BNode) for x in t)]
    assert not [t for t in inferred if t[1] == rdflib.OWL.sameAs and t[0] == t[2]]
    assert not list(inferred.triples((None, rdflib.RDF.type, rdflib.OWL.Thing)))
    assert not set(inferred) & set(asserted)
    observation = rdflib.URIRef("https://w3id.org/b12kg/data/patient/ex1/Observation/obs-2")
    assert (observation, rdflib.RDF.type, rdflib.URIRef("https://w3id.org/b12kg/b12#LowSerumB12Result")) in inferred
    # what is left out is said in the data itself (every format) and as a comment
    assessment = dataset.graph(rdflib.URIRef("https://w3id.org/b12kg/graph/assessment"))
    assert (rdflib.URIRef(INFERRED), rdflib.RDFS.comment, rdflib.Literal(INFERRED_LEAVES_OUT)) in assessment
    assert to_rdf(quads, "turtle").startswith(f"# {INFERRED_LEAVES_OUT}\n")


def test_cli_runs_give_the_same_file(b12kg_command, tmp_path):
    outputs = []
    for name in ("first.ttl", "second.ttl"):
        output = tmp_path / name
        result = subprocess.run([*b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24", "--format", "turtle",
                                 "--output", str(output)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        outputs.append(_without_time(output.read_text(encoding="utf-8")))
    assert outputs[0] == outputs[1]
    rdflib.Graph().parse(data=outputs[0], format="turtle")

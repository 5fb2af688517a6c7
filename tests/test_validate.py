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
INPUTS = sorted(p for folder in ("cases/b12", "bad_inputs") for p in (TESTS / folder).iterdir()
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


def _loaded(paths, knowledge):
    return [load_patient(p, knowledge, date(2026, 11, 24)) for p in paths]


def _alone(loaded, knowledge) -> list[str | None]:
    """Each patient's problems validated on its own (the reference the chunk must match)."""
    found = []
    for patient in loaded:
        problems = conforms(patient.facts, shapes_graph("patient-input"), knowledge, patient.file)
        found.append(str(InputRejected(problems)) if problems else None)
    return found


def test_a_chunk_gets_each_patients_own_problems(assessor):
    """Validating a chunk at once gives every patient exactly the problems it has alone: the
    broken ones are rejected with their own messages, the others pass (issue 21)."""
    from b12kg.validate import validate_chunk

    knowledge = assessor.knowledge
    expected = _alone(_loaded(REACHING_SHACL, knowledge), knowledge)
    assert sum(e is not None for e in expected) >= 3
    loaded = _loaded(REACHING_SHACL, knowledge)
    found = validate_chunk(loaded, knowledge)  # ids repeat across the cases: DuplicateIdShape matches across patients
    assert [str(f) if f is not None else None for f in found] == expected
    assert all(p.validated == (e is None) for p, e in zip(loaded, expected, strict=True))


def test_a_reference_to_another_patient_of_the_chunk_is_still_refused(assessor, tmp_path):
    """A fact naming another patient of the chunk as its subject passes sh:class in the union of
    the chunk's facts: such a patient is validated alone, and refused as it is alone."""
    from b12kg.validate import validate_chunk

    pt = "https://w3id.org/b12kg/patient#"
    for name, subject in (("a", "https://example.org/p/b"), ("b", "https://example.org/p/b")):
        (tmp_path / f"{name}.ttl").write_text(
            f'@prefix pt: <{pt}> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
            f'<https://example.org/p/{name}> a pt:Patient ; pt:fhirId "{name}" .\n'
            f'<https://example.org/p/{name}/obs> a pt:Observation ; pt:fhirId "obs-{name}" ; pt:resourceType "Observation" ;\n'
            f'  pt:subject <{subject}> ; pt:effectiveDate "2025-01-01"^^xsd:date .\n')
    loaded = _loaded([tmp_path / "a.ttl", tmp_path / "b.ttl"], assessor.knowledge)
    expected = _alone(loaded, assessor.knowledge)
    assert expected[0] is not None and "not the patient of this file" in expected[0] and expected[1] is None
    found = validate_chunk(_loaded([tmp_path / "a.ttl", tmp_path / "b.ttl"], assessor.knowledge), assessor.knowledge)
    assert [str(f) if f is not None else None for f in found] == expected


def test_a_chunk_with_one_broken_patient_assesses_the_others(assessor):
    """The pipeline checks the chunk's input shapes once: the broken patient is its rejection, the rest are assessed."""
    broken = next(p for p, e in zip(REACHING_SHACL, _alone(_loaded(REACHING_SHACL, assessor.knowledge), assessor.knowledge),
                                    strict=True) if e is not None)
    good = TESTS.parent / "examples" / "ex1-confirmed-oral.json"
    results = [result for _, result in assessor.assess_many([good, broken, good], date(2026, 11, 24))]
    assert isinstance(results[1], InputRejected)
    assert results[0].document["b12_status"]["value"] == results[2].document["b12_status"]["value"] == "confirmed"


def test_the_shapes_read_few_predicates():
    """Chunks are validated on the facts whose predicates the shapes can read (validate.shape_predicates)."""
    from b12kg.validate import shape_predicates

    read = shape_predicates("patient-input")
    assert read is not None and "https://w3id.org/b12kg/patient#canonicalValue" in read  # named only in a SPARQL target
    assert "https://w3id.org/b12kg/patient#text" not in read

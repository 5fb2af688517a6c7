"""Fuzzing: random valid patients, mutated; b12kg assesses them or rejects them cleanly.

Hypothesis builds valid FHIR Bundles (codes and routes taken from the clinical cases)
and native RDF graphs, then breaks them: fields dropped, values swapped for other JSON
types, extreme numbers, odd Unicode (controls, bidi overrides, emoji, lone surrogates),
duplicated entries, random byte edits of the file. Each file goes through the real
command (click's runner, in-process), which must exit 0 with a JSON assessment or 2 with
a message naming the file, never 1 or a traceback, within a deadline.

CI runs a bounded number of examples per test (the whole module in well under a minute).
A longer run is one command:

    B12KG_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz.py

A failure prints the shrunk input and the seed to reproduce it (`--hypothesis-seed`).
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12kg.cli import main

EXAMPLES = int(os.environ.get("B12KG_FUZZ_EXAMPLES", "40"))
AS_OF = "2026-11-24"
ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases" / "b12"
PT = "https://w3id.org/b12kg/patient#"
XSD = "http://www.w3.org/2001/XMLSchema#"

FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=20), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _case_resources() -> list[dict]:
    resources = []
    for expected in sorted(CASES.glob("*.expected.json")):
        path = expected.with_name(expected.name.replace(".expected.json", ".json"))
        if path.exists() and json.loads(expected.read_text()).get("exit_code", 0) == 0:
            bundle = json.loads(path.read_text())
            resources += [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    return resources


RESOURCES = _case_resources()
"""Every fact of the clinical cases: realistic codes, units, doses and routes to start from."""


# --- valid inputs -----------------------------------------------------------------------------

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-.]{0,20}", fullmatch=True)
days = st.integers(min_value=0, max_value=3000).map(lambda n: (date(2026, 11, 24) - timedelta(days=n)).isoformat())


@st.composite
def facts(draw: st.DrawFn, patient_id: str) -> dict:
    """One fact of the clinical cases, with a new id, a new date and (for results) a new value."""
    resource = json.loads(json.dumps(draw(st.sampled_from(RESOURCES))))
    resource["id"] = draw(ids)
    if "subject" in resource:  # a Medication (referenced by medicationReference) has none
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
    for key in ("effectiveDateTime", "onsetDateTime", "performedDateTime"):
        if key in resource:
            resource[key] = draw(days)
    if "effectivePeriod" in resource:
        resource["effectivePeriod"]["start"] = draw(days)
    if "valueQuantity" in resource:
        resource["valueQuantity"]["value"] = draw(st.decimals(min_value="0.01", max_value=900, places=2).map(float))
    return resource


@st.composite
def bundles(draw: st.DrawFn) -> dict:
    """A valid patient: a Patient and up to 8 facts with distinct ids."""
    patient_id = draw(ids)
    resources = draw(st.lists(facts(patient_id), max_size=8, unique_by=lambda r: (r["resourceType"], r["id"])))
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "id": patient_id}}] + [{"resource": r} for r in resources]}


# --- mutations ----------------------------------------------------------------------------------

odd_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "\n", "\u202e", "\ud800", "😀", "NaN", "Infinity", "-0", "1e999", "2026-02-30",
                     "2026-13-01", "2026", "0000-01-01", "Patient/", '"} ; DROP ALL', "<!DOCTYPE x>", "\\u0000"]))
extreme_numbers = st.sampled_from([0, -1, -0.0, 1e308, 5e-324, 10**30, 2**63, 0.1 + 0.2, 1e-19, 999999999999])
any_json = st.recursive(st.none() | st.booleans() | extreme_numbers | st.integers() | odd_text,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
                        max_leaves=6)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every location in a JSON document."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _parent(doc: Any, path: tuple) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def mutate(draw: st.DrawFn, doc: dict) -> None:
    """Break one location of the document: drop it, replace it, or duplicate an entry."""
    path = draw(st.sampled_from([p for p in _paths(doc) if p]))
    parent, last = _parent(doc, path), path[-1]
    action = draw(st.sampled_from(["drop", "duplicate-entry", "replace", "extreme", "text"]))
    if action == "drop":
        del parent[last]
    elif action == "duplicate-entry" and isinstance(doc.get("entry"), list) and doc["entry"]:
        doc["entry"].append(json.loads(json.dumps(draw(st.sampled_from(doc["entry"])))))
    else:
        parent[last] = draw({"replace": any_json, "extreme": extreme_numbers, "text": odd_text}.get(action, any_json))


def assess_file(path: Path) -> None:
    """The command assesses the file (exit 0, JSON) or rejects it (exit 2, a located message)."""
    result = CliRunner().invoke(main, ["assess", str(path), "--as-of", AS_OF])
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        doc = json.loads(result.stdout)
        assert doc["b12_status"]["value"] in {"unknown", "confirmed", "indeterminate", "functional", "unlikely"}
        return
    assert result.stderr.startswith("b12kg: input rejected") and str(path) in result.stderr, result.stderr
    assert all(line.isprintable() for line in result.stderr.splitlines())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module", autouse=True)
def _private_unit_cache(tmp_path_factory):
    """Keep fuzzed units out of the user's UCUM factor cache (b12kg.units caches on disk)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@FUZZ
@given(bundles())
def test_valid_bundles_are_assessed(workdir: Path, bundle: dict):
    path = workdir / "valid.json"
    path.write_text(json.dumps(bundle))
    result = CliRunner().invoke(main, ["assess", str(path), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output


@FUZZ
@given(bundles(), st.data())
def test_mutated_bundles_are_assessed_or_rejected(workdir: Path, bundle: dict, data: st.DataObject):
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        mutate(data.draw, bundle)
    path = workdir / "mutated.json"
    path.write_text(json.dumps(bundle))  # ensure_ascii: a lone surrogate is written as \\udXXX
    assess_file(path)


@st.composite
def byte_edits(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few random cuts, insertions and overwrites."""
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        start = draw(st.integers(min_value=0, max_value=len(data)))
        end = draw(st.integers(min_value=start, max_value=min(len(data), start + 20)))
        data = data[:start] + draw(st.binary(max_size=8)) + data[end:]
    return data


@FUZZ
@given(bundles(), st.data())
def test_byte_edited_bundles_are_assessed_or_rejected(workdir: Path, bundle: dict, data: st.DataObject):
    path = workdir / "edited.json"
    path.write_bytes(data.draw(byte_edits(json.dumps(bundle, indent=1).encode())))
    assess_file(path)


# --- native RDF ---------------------------------------------------------------------------------

PREDICATES = ["fhirId", "subject", "code", "status", "effectiveDate", "startDate", "endDate", "value", "unit",
              "dosage", "doseValue", "doseUnit", "frequency", "period", "periodUnit", "route", "clinicalStatus",
              "verificationStatus", "valueCode", "resourceType", "canonicalValue", "measures"]
CLASSES = ["Patient", "Observation", "Condition", "Procedure", "MedicationStatement", "Dosage", "InactiveFact"]
DATATYPES = ["string", "decimal", "integer", "date", "double", "boolean", "dateTime"]
NODES = [ox.NamedNode(f"https://example.org/n{i}") for i in range(4)] + [ox.BlankNode("b0")]
unicode_text = odd_text.filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF for c in text))  # RDF text is Unicode
literals = st.builds(lambda text, dt: ox.Literal(text, datatype=ox.NamedNode(XSD + dt)),
                     st.one_of(unicode_text, st.sampled_from(["140.0", "0.4", "2026-10-15", "-3", "1E+999999999"])),
                     st.sampled_from(DATATYPES))
objects = st.one_of(st.sampled_from(NODES), literals, st.just(ox.Triple(NODES[1], ox.NamedNode(PT + "code"), NODES[2])),
                    st.sampled_from(["https://loinc.org/2132-9", "https://loinc.org/13964-2", "http://snomed.info/id/302226006"]
                                    ).map(ox.NamedNode))


@st.composite
def native_graphs(draw: st.DrawFn) -> str:
    """A patient node and random statements in (and around) the patient vocabulary, as Turtle."""
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    triples = [ox.Triple(NODES[0], rdf_type, ox.NamedNode(PT + "Patient"))]
    for _ in range(draw(st.integers(min_value=0, max_value=15))):
        subject = draw(st.sampled_from(NODES))
        if draw(st.booleans()):
            triples.append(ox.Triple(subject, rdf_type, ox.NamedNode(PT + draw(st.sampled_from(CLASSES)))))
        else:
            triples.append(ox.Triple(subject, ox.NamedNode(PT + draw(st.sampled_from(PREDICATES))), draw(objects)))
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE).decode("utf-8", errors="surrogatepass")


@FUZZ
@given(native_graphs(), st.data())
def test_random_native_graphs_are_assessed_or_rejected(workdir: Path, turtle: str, data: st.DataObject):
    path = workdir / "random.ttl"
    text = turtle.encode("utf-8", errors="surrogatepass")
    path.write_bytes(data.draw(byte_edits(text)) if data.draw(st.booleans()) else text)
    assess_file(path)

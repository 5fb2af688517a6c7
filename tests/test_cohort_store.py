"""The cohort store: per-assessment graphs, batch equal to one at a time, transactional loads."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest

from b12kg.cohort import store as cohort_store
from b12kg.cohort.graphs import CATALOG_GRAPH, ROLES, owners_in, placed
from b12kg.cohort.sink import store_sink
from b12kg.cohort.store import CohortStore
from b12kg.dataset import partition
from b12kg.render.rdf import to_rdf

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases" / "b12"
AS_OF = date(2026, 11, 24)
STARTED = "http://www.w3.org/ns/prov#startedAtTime"
INPUT_FILE = "https://w3id.org/b12kg/model#inputFile"
INPUT_SHA = "https://w3id.org/b12kg/model#inputSha256"
KEPT_INPUT = ("https://w3id.org/b12kg/model#inputDocument", "https://w3id.org/b12kg/model#inputFormat")
"""What batch --store adds to the activity: the input as read (for --incremental --partial and b12kg impact)."""
ASSESSED_PATIENT = "https://w3id.org/b12kg/model#assessedPatient"
SAMPLE = sorted(p for p in CASES.glob("*.json") if not p.name.endswith(".expected.json") and "rejected" not in p.name)[::4]


def _own(assessment_quads: list[ox.Quad]) -> set[ox.Quad]:
    """An assessment's quads as the store places them, without its wall-clock start time."""
    (owner,) = owners_in(assessment_quads)
    mine, _ = partition(assessment_quads, [owner])
    return {q for q in placed(owner.assessment, mine[owner.assessment]) if q.predicate.value != STARTED}


def _snapshot(path: Path) -> set[ox.Quad]:
    store = ox.Store.read_only(str(path))
    return {q for q in store if not (q.graph_name == CATALOG_GRAPH and q.predicate.value == STARTED)}


def test_batch_chunks_give_each_assessment_exactly_its_own_quads(assessor):
    """No quad of one patient lands in another's graphs when patients share a chunk."""
    chunked = {a.loaded.file: _own(a.quads) for _, a in assessor.assess_many(SAMPLE, AS_OF)}
    assert len(chunked) == len(SAMPLE)
    for path in SAMPLE:
        assert chunked[str(path)] == _own(assessor.assess(path, AS_OF).quads), path.name


def _fill(assessor, directory: Path, paths, as_of=AS_OF) -> tuple[int, int]:
    with store_sink(directory, assessor.knowledge.quads) as sink:
        for path, outcome in assessor.assess_many(paths, as_of):
            sink.add(outcome.quads, str(path))
    return sink.loader.added, sink.loader.skipped


def test_store_graphs_reload_and_two_dates(assessor, tmp_path):
    directory = tmp_path / "store"
    assert _fill(assessor, directory, SAMPLE[:6]) == (6, 0)
    before = _snapshot(directory)
    assert _fill(assessor, directory, SAMPLE[:6]) == (0, 6)  # the same input again: nothing duplicated
    assert _snapshot(directory) == before
    assert _fill(assessor, directory, SAMPLE[:1], date(2027, 6, 1)) == (1, 0)  # one patient, a second date
    cohort = CohortStore(directory, read_only=True)
    assessments = cohort.assessments()
    assert len(assessments) == 7
    first = assessor.load(SAMPLE[0], AS_OF)
    rows = list(cohort.store.query(
        "PREFIX gm: <https://w3id.org/b12kg/model#> SELECT ?p ?sha ?a ?asOf ?g WHERE { GRAPH ?g { ?a gm:assessedPatient ?p ; gm:asOf ?asOf ; "
        "gm:inputSha256 ?sha } } ORDER BY ?asOf",
        substitutions={ox.Variable("p"): ox.NamedNode(str(first.patient)), ox.Variable("sha"): ox.Literal(first.source_sha256)}))
    assert [r["asOf"].value for r in rows] == ["2026-11-24", "2027-06-01"]  # one activity per date, each in its own graph
    assert rows[0]["a"] != rows[1]["a"] and rows[0]["g"] != rows[1]["g"]
    for assessment in assessments:
        for role in ("asserted", "inferred", "concluded", "activity"):
            assert cohort.store.contains_named_graph(ox.NamedNode(f"{assessment}/graph/{role}")), (assessment, role)
    assert cohort.store.contains_named_graph(ox.NamedNode("https://w3id.org/b12kg/graph/ontology"))


def test_failed_load_leaves_store_as_before(assessor, tmp_path, monkeypatch):
    directory = tmp_path / "store"
    _fill(assessor, directory, SAMPLE[:3])
    before = _snapshot(directory)
    monkeypatch.setattr(cohort_store, "FLUSH_EVERY", 2)  # several atomic writes before the failure
    with pytest.raises(KeyboardInterrupt), store_sink(directory, assessor.knowledge.quads) as sink:
        for number, (path, outcome) in enumerate(assessor.assess_many(SAMPLE[3:12], AS_OF)):
            sink.add(outcome.quads, str(path))
            if number == 6:
                assert sink.loader.added == 7
                raise KeyboardInterrupt
    assert _snapshot(directory) == before


def _killed_load(assessor, tmp_path: Path) -> tuple[Path, set[ox.Quad]]:
    """A store of two assessments, then a load of four more killed before its commit:
    the store folder and its quads before the killed load."""
    directory = tmp_path / "store"
    _fill(assessor, directory, SAMPLE[:2])
    before = _snapshot(directory)
    files = []
    for number, path in enumerate(SAMPLE[2:6]):
        trig = tmp_path / f"a{number}.trig"
        trig.write_text(to_rdf(assessor.assess(path, AS_OF).quads, "trig"), encoding="utf-8")
        files.append(str(trig))
    script = f"""
import os
from pathlib import Path
from b12kg.cohort import store as s
s.FLUSH_EVERY = 1
cohort = s.CohortStore(Path({str(directory)!r}))
context = cohort.loading()
loader = context.__enter__()
for f in {files!r}:
    loader.add_dataset(s.read_dataset(Path(f)), source=f)
cohort.store.flush()
os._exit(9)  # killed: no rollback, no commit
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    return directory, before


def test_killed_load_is_rolled_back_on_next_open(assessor, tmp_path):
    """A process killed in the middle of a load (no chance to clean up) leaves a pending
    load; the next writer rolls it back before anything else."""
    directory, before = _killed_load(assessor, tmp_path)
    interrupted = ox.Store.read_only(str(directory))
    assert len(list(interrupted.quads_for_pattern(None, None, ox.Literal("pending"), CATALOG_GRAPH))) == 1
    assert len(_snapshot(directory)) > len(before)
    del interrupted
    CohortStore(directory).close()  # opening for writing recovers
    assert _snapshot(directory) == before


def test_readers_see_only_committed_loads(assessor, tmp_path, start_server):
    """Issue 18, defect 6: after a loader was killed, the cohort commands and /sparql counted
    its half-loaded assessments until the next write rolled them back. Every reader (the
    catalogue, the named queries, user SPARQL, both routes of the endpoint) now sees the
    committed loads only, and the store is left as the loader left it."""
    import httpx

    from b12kg.cohort import named
    from b12kg.cohort.dataset import SelectedStoreSource
    from b12kg.query import prepare_user_query, run_user_query

    directory, before = _killed_load(assessor, tmp_path)
    count = ("SELECT (COUNT(DISTINCT ?a) AS ?n) (COUNT(DISTINCT ?g) AS ?graphs) "
             "WHERE { GRAPH ?g { ?a a <https://w3id.org/b12kg/model#Assessment> } }")
    reader = CohortStore(directory, read_only=True)
    assert len(reader.assessments()) == 2 and reader.pending_loads()
    statuses = named.rows(reader.store, "counts-by-status")
    assert sum(int(r["patients"]) for r in statuses) == 2
    (row,) = run_user_query(prepare_user_query(count), SelectedStoreSource(directory)).bindings
    assert int(row[next(v for v in row if str(v) == "n")]) == 2
    del reader
    url = start_server(directory)
    with httpx.Client(base_url=url, timeout=60) as client:
        sparql = client.get("/sparql", params={"query": count}).json()["results"]["bindings"][0]
        assert sparql["n"]["value"] == "2" and sparql["graphs"]["value"] == "3"  # two activity graphs and the catalogue
        listed = client.get("/sparql", params={"query": "SELECT DISTINCT ?g { GRAPH ?g { } }"}).json()["results"]["bindings"]
        assert {b["g"]["value"] for b in listed} == {q.graph_name.value for q in before if isinstance(q.graph_name, ox.NamedNode)}
        named_route = client.get("/queries/counts-by-status", headers={"Accept": "application/sparql-results+json"}).json()
        assert sum(int(b["patients"]["value"]) for b in named_route["results"]["bindings"]) == 2
    assert len(_snapshot(directory)) > len(before)  # reading changed nothing: the next writer rolls back


def test_load_command_reads_trig_and_refuses_bad_files(assessor, tmp_path, b12kg_command):
    trig = []
    for as_of in (AS_OF, date(2027, 6, 1)):
        path = tmp_path / f"ex1-{as_of}.trig"
        path.write_text(to_rdf(assessor.assess(ROOT / "examples" / "ex1-confirmed-oral.json", as_of).quads, "trig"), encoding="utf-8")
        trig.append(str(path))
    directory = tmp_path / "store"
    done = subprocess.run([*b12kg_command, "load", str(directory), *trig], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 assessments added" in done.stderr
    bad = tmp_path / "bad.trig"
    bad.write_text("<urn:a> <urn:b> <urn:c> <urn:g> .\n<urn:x> <urn:y> \"unterminated .\n", encoding="utf-8")
    before = _snapshot(directory)
    done = subprocess.run([*b12kg_command, "load", str(directory), trig[0], str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "bad.trig" in done.stderr, done.stderr
    assert _snapshot(directory) == before
    store = ox.Store.read_only(str(directory))
    activities = list(store.query("PREFIX gm: <https://w3id.org/b12kg/model#> SELECT ?a ?d WHERE { GRAPH ?g { ?a a gm:Assessment ; gm:asOf ?d } }"))
    assert sorted(r["d"].value for r in activities) == ["2026-11-24", "2027-06-01"]


def test_no_fact_is_both_asserted_and_inferred_in_the_store(cohort):
    store = ox.Store.read_only(str(cohort[0]))
    duplicated = list(store.query(
        "SELECT ?i ?s ?p ?o WHERE { GRAPH ?i { ?s ?p ?o } FILTER(STRENDS(STR(?i), '/graph/inferred')) "
        "BIND(IRI(CONCAT(SUBSTR(STR(?i), 1, STRLEN(STR(?i)) - 8), 'asserted')) AS ?a) GRAPH ?a { ?s ?p ?o } } LIMIT 5"))
    assert duplicated == []


def _stored_own(directory: Path, assessment: str) -> set[ox.Quad]:
    store = ox.Store.read_only(str(directory))
    return {q for role in ROLES for q in store.quads_for_pattern(None, None, None, ox.NamedNode(f"{assessment}/graph/{role}"))
            if q.predicate.value != STARTED}


def test_batch_store_writes_each_assessment_once_files_and_ndjson(assessor, tmp_path):
    """`b12kg batch --store`: every assessed patient (files and a Bulk NDJSON export alike) lands
    in the store exactly as assessing it alone places it; rejected inputs do not; the JSON
    Lines carry no dataset."""
    import json

    from click.testing import CliRunner

    from b12kg.batch.ndjson import write_export
    from b12kg.cli import main

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    files = SAMPLE[:3]
    for path in files:
        (inputs / path.name).write_bytes(path.read_bytes())
    shutil.copy(CASES / "rejected-malformed-json.json", inputs / "rejected-malformed-json.json")
    exported = SAMPLE[3:5]
    write_export([json.loads(p.read_text()) for p in exported], inputs / "export")
    directory, out = tmp_path / "store", tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["batch", str(inputs), "--as-of", AS_OF.isoformat(), "-o", str(out), "--workers", "2",
                                       "--no-progress", "--store", str(directory)])
    assert result.exit_code == 2, result.output  # one rejected file
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 6 and not any(key.startswith("_") for r in records for key in r)
    assert "store" in result.output and "5 assessments added" in result.output
    cohort = CohortStore(directory, read_only=True)
    stored = cohort.assessments()
    del cohort
    assert len(stored) == 5
    for path in [*files, *exported]:
        own = {q for q in _own(assessor.assess(path, AS_OF).quads) if q.predicate.value not in (INPUT_FILE, INPUT_SHA)}
        (assessment,) = {q.subject.value for q in own if q.predicate.value == ASSESSED_PATIENT}
        if path in exported:  # grouped from NDJSON: other input bytes, so another assessment IRI, the same patient
            (patient,) = {q.object.value for q in own if q.predicate.value == ASSESSED_PATIENT}
            (assessment,) = [a for a in stored if a.startswith(f"{patient}/assessment/")]
            own = {_renamed(q, own_iri, assessment) for q in own
                   for own_iri in {q.subject.value for q in own if q.predicate.value == ASSESSED_PATIENT}}
        assert assessment in stored
        assert {q for q in _stored_own(directory, assessment)
                if q.predicate.value not in (INPUT_FILE, INPUT_SHA, *KEPT_INPUT)} == own, path.name


def _renamed(quad: ox.Quad, old: str, new: str) -> ox.Quad:
    """The quad with every IRI under `old` moved under `new`."""
    def move(term):
        if isinstance(term, ox.NamedNode) and term.value.startswith(old):
            return ox.NamedNode(new + term.value[len(old):])
        return term
    return ox.Quad(move(quad.subject), move(quad.predicate), move(quad.object), move(quad.graph_name))


def test_a_failed_batch_rolls_the_store_load_back(assessor, tmp_path):
    """A batch that fails half-way (here its JSON Lines sink breaks) commits nothing to the store."""
    from b12kg.batch import run as batch_run
    from b12kg.batch.sink import Tee
    from b12kg.batch.work import DATASET_KEY
    from b12kg.cohort.sink import StoreSink

    directory = tmp_path / "store"
    _fill(assessor, directory, SAMPLE[:2])
    before = _snapshot(directory)

    class Breaks:
        written = 0

        def write(self, record):
            Breaks.written += 1
            if Breaks.written == 3:
                raise OSError("disk full")

        def close(self):
            pass

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for path in SAMPLE[2:8]:
        (inputs / path.name).write_bytes(path.read_bytes())
    store = StoreSink(directory, assessor.knowledge.quads, DATASET_KEY)
    settings = batch_run.Settings(as_of=AS_OF, reasoner="compiled", workers=1, datasets=True)
    with pytest.raises(OSError, match="disk full"):
        batch_run.run([inputs], settings, Tee(Breaks(), store))
    assert store.loader.added == 2  # two were written before the failure ...
    assert _snapshot(directory) == before  # ... and rolled back

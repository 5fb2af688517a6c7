"""b12kg batch: worker processes, input order, sources, resume, time budget, NDJSON, Dask.

Every test compares with the serial, one-at-a-time answers of the shared assessor."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from records import slow_record

from b12kg.batch import run as batch_run
from b12kg.batch.ndjson import BulkExport, read_types, write_export
from b12kg.batch.sink import JsonLinesSink, done_sources
from b12kg.batch.sources import discover
from b12kg.cli import main
from b12kg.errors import InputRejected

CASES = Path(__file__).resolve().parent / "cases" / "b12"
AS_OF = date(2026, 11, 24)
SETTINGS = batch_run.Settings(as_of=AS_OF, reasoner="compiled", workers=2)
PICKED = ["status-confirmed-b12-179_9-ng-per-l.json", "rejected-malformed-json.json", "rejected-unknown-unit-mg-per-h.json",
          "risk-metformin-fires-atc-a10ba02.json", "combo-untreated-since-june-vegan-metformin.json"]


def serial(assessor, path: Path) -> dict:
    """The one-at-a-time answer: the document, or the rejection problems."""
    try:
        return assessor.assess(path, AS_OF).document
    except InputRejected as exc:
        return {"rejected": [p.as_dict() for p in exc.problems]}


def answer(record: dict) -> dict:
    """A batch record without its source (and the file name the rejection repeats)."""
    if "rejected" in record:
        return {"rejected": record["rejected"]}
    return {k: v for k, v in record.items() if k != "source"}


class ListSink:
    def __init__(self):
        self.records: list[dict] = []

    def write(self, record: dict) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A folder of subfolders (no patient file at its top) with some cases."""
    root = tmp_path_factory.mktemp("tree")
    for index, name in enumerate(PICKED):
        folder = root / f"site-{index % 2}" / "ward"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(CASES / name, folder / name)
    (root / "site-0" / "notes.txt").write_text("not a patient")
    return root


def test_workers_keep_input_order_and_agree_with_serial(assessor, tree):
    sink = ListSink()
    counts = batch_run.run([tree], batch_run.Settings(as_of=AS_OF, reasoner="compiled", workers=2, chunk_size=2), sink)
    files = discover([tree]).files
    assert [r["source"] for r in sink.records] == [str(f) for f in files] and len(files) == len(PICKED)
    for record, path in zip(sink.records, files, strict=True):
        assert answer(record) == serial(assessor, path), path.name
    assert (counts.found, counts.assessed, counts.rejected, counts.internal) == (5, 3, 2, 0)
    assert counts.exit_code == 2


def test_cli_walks_subfolders_names_sources_and_counts(tree, tmp_path):
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["batch", str(tree), "--as-of", "2026-11-24", "-o", str(out), "--workers", "1", "--no-progress"])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5 and all(Path(r["source"]).is_file() for r in records)
    assert result.exit_code == 2 and "5 in: 3 assessed, 2 rejected, 0 internal errors" in result.output


def test_no_patient_file_is_a_warning_and_exit_2(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "readme.txt").write_text("x")
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "--as-of", "2026-11-24", "--no-progress"])
    assert result.exit_code == 2
    assert "no patient file found" in result.output and "0 in: 0 assessed" in result.output


def test_resume_skips_done_sources_and_drops_a_torn_line(tree, tmp_path):
    out = tmp_path / "out.jsonl"
    args = ["batch", str(tree), "--as-of", "2026-11-24", "-o", str(out), "--workers", "1", "--no-progress"]
    CliRunner().invoke(main, args)
    full = out.read_text().splitlines()
    out.write_text("\n".join(full[:2]) + "\n" + full[2][: len(full[2]) // 2])  # interrupted mid-line
    assert len(done_sources(out)) == 2 and out.read_text().endswith("\n")
    result = CliRunner().invoke(main, [*args, "--resume"])
    again = out.read_text().splitlines()
    assert sorted(again) == sorted(full) and again[:2] == full[:2]
    assert "5 in: 2 assessed, 1 rejected, 0 internal errors, 2 skipped" in result.output


def test_sink_writes_whole_lines(tmp_path):
    out = tmp_path / "o.jsonl"
    sink = JsonLinesSink(out)
    sink.write({"source": "a", "text": "line\nbreak"})
    sink.close()
    assert out.read_text().count("\n") == 1 and json.loads(out.read_text())["text"] == "line\nbreak"


def test_a_patient_over_the_time_budget_is_stopped_once_and_the_rest_assessed(assessor, tmp_path):
    """A slow valid record against a 1.5 s budget; the others take milliseconds."""
    slow = slow_record(CASES / "status-confirmed-b12-179_9-ng-per-l.json")
    (tmp_path / "b-slow.json").write_text(json.dumps(slow))
    for name in PICKED[:3]:
        shutil.copy(CASES / name, tmp_path / f"a-{name}")
        shutil.copy(CASES / name, tmp_path / f"c-{name}")
    from b12kg.batch.local import LocalPool
    from b12kg.batch.work import Job

    items = list(discover([tmp_path]).items())
    pool = LocalPool(1, Job(as_of=AS_OF, budget=1.5), chunk_size=100)
    records = list(pool.run(items))
    by_source = {r["source"]: r for r in records}
    assert [r["source"] for r in records] == [i.source for i in items]
    stopped = by_source[str(tmp_path / "b-slow.json")]
    assert "budget" in stopped["rejected"][0]["reason"] and stopped["rejected"][0]["rule"] == "time budget"
    slow_seq = next(i for i, item in enumerate(items) if item.source.endswith("b-slow.json"))
    # Stopped by the watchdog while its chunk was assessed, or refused by the loader's own check of
    # the budget (its 990 x 4 resources can take the whole budget to load on a slow machine):
    assert pool.stats.stopped in ([], [str(tmp_path / "b-slow.json")])
    # Stopped once, never run after that: while loading (the loader's share of the record's time
    # over the budget), or while its chunk was assessed and then once more alone (local.py).
    assert pool.stats.starts.get(slow_seq, 1) <= 2, "a stopped patient never runs again"
    for item, record in zip(items, records, strict=True):
        if not item.source.endswith("b-slow.json"):
            assert answer(record) == serial(assessor, Path(item.path)), item.source


def _export(tmp_path: Path, parts: int) -> Path:
    bundles = [json.loads((CASES / name).read_text()) for name in PICKED if "malformed" not in name]
    folder = tmp_path / "export"
    write_export(bundles, folder, parts=parts)
    with (folder / f"Observation{'.000' if parts > 1 else ''}.ndjson").open("a") as handle:
        handle.write('{"resourceType": "Observation", "id": "broken"\n')
        handle.write(json.dumps({"resourceType": "Observation", "id": "orphan", "status": "final",
                                 "subject": {"reference": "Patient/nobody"}}) + "\n")
    return folder


@pytest.mark.parametrize("parts", [1, 3])
def test_ndjson_export_is_grouped_by_patient(assessor, tmp_path, parts):
    folder = _export(tmp_path, parts)
    export = BulkExport(sorted(folder.iterdir()), index_dir=tmp_path)
    try:
        items = list(export.items())
        assert len(export) == len(items) == 6  # 4 patients, 1 without a Patient resource, 1 broken line
        patients = [i for i in items if i.text and "no Patient" not in i.source]
        originals = {b["entry"][0]["resource"]["id"]: b for b in (json.loads((CASES / n).read_text()) for n in PICKED
                                                                   if "malformed" not in n)}
        assert len(patients) == len(originals)
        for item in patients:
            bundle = json.loads(item.text)
            assert bundle["entry"][0]["resource"]["resourceType"] == "Patient", "the Patient comes first"
            original = originals[bundle["entry"][0]["resource"]["id"]]
            assert item.source.startswith(str(folder / "Patient."))
            assert sorted(json.dumps(e["resource"], sort_keys=True) for e in bundle["entry"]) == \
                sorted(json.dumps(e["resource"], sort_keys=True) for e in original["entry"])
        assert items[-1].problem and "not valid JSON" in items[-1].problem
    finally:
        export.close()
    assert not list(tmp_path.glob("b12kg-ndjson-*")), "the index is removed"


def test_ndjson_export_assessed_like_the_bundles(assessor, tmp_path):
    folder = _export(tmp_path, parts=2)
    sink = ListSink()
    counts = batch_run.run([tmp_path], SETTINGS, sink)
    expected = {}
    for name in PICKED:
        if "malformed" not in name:
            expected[json.loads((CASES / name).read_text())["entry"][0]["resource"]["id"]] = serial(assessor, CASES / name)
    patients = [r for r in sink.records if "patient" in r]
    rejected = [r for r in sink.records if "rejected" in r]
    assert {r["patient"]: answer(r) for r in patients} == {k: v for k, v in expected.items() if "rejected" not in v}
    assert all(r["source"].startswith(str(folder)) and ".ndjson:" in r["source"] for r in sink.records)
    assert (counts.found, counts.assessed + counts.rejected + counts.internal) == (6, 6)
    reasons = " ".join(p["reason"] for r in rejected for p in r["rejected"])
    assert "not valid JSON" in reasons and "mg/h" in reasons
    assert any("no Patient resource" in r["source"] for r in rejected)


def test_dask_cluster_output_equals_the_local_run(tree, tmp_path):
    """A real LocalCluster (worker processes): same records, in the same order, no large-object warning."""
    distributed = pytest.importorskip("distributed")
    import warnings

    local = ListSink()
    batch_run.run([tree], SETTINGS, local)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  scheduler_port=0) as cluster, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        remote = ListSink()
        counts = batch_run.run([tree], batch_run.Settings(as_of=AS_OF, reasoner="reasonable", scheduler=cluster.scheduler_address,
                                                          chunk_size=2), remote)
    assert remote.records == local.records
    assert (counts.assessed, counts.rejected, counts.internal) == (3, 2, 0)
    assert not [w for w in caught if "large" in str(w.message).lower()]


def test_cli_reasoner_choices_match_the_backends():
    from b12kg import cli, reason

    assert sorted(cli.REASONERS) == sorted(reason.BACKENDS)


def test_help_imports_no_rdf_library():
    import subprocess
    import sys

    code = "import sys; import b12kg.cli; print(sorted(m for m in ('rdflib', 'pyoxigraph', 'pyshacl_turbo') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


class Bar:
    """Records how a progress bar is moved."""

    def __init__(self):
        self.total, self.steps = None, []

    def add_task(self, name, total):
        self.total = total
        return 0

    def advance(self, task, n):
        self.steps.append(n)


def test_progress_moves_patient_by_patient(tree):
    bar = Bar()
    batch_run.run([tree], batch_run.Settings(as_of=AS_OF, reasoner="compiled", workers=1, chunk_size=100), ListSink(), progress=bar)
    assert bar.total == len(PICKED) and bar.steps == [1] * len(PICKED)


def test_an_interruption_is_counted_and_leaves_whole_lines(tree, tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    sink = JsonLinesSink(out)
    written = []
    original = sink.write

    def write(record):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(record)
        original(record)

    monkeypatch.setattr(sink, "write", write)
    counts = batch_run.run([tree], SETTINGS, sink)
    assert counts.interrupted and counts.exit_code == 130
    assert counts.assessed + counts.rejected == 2 == len(out.read_text().splitlines())
    assert "3 not assessed" in counts.summary()


def test_synthea_bundles_as_a_bulk_export_give_the_bundle_answers(assessor, tmp_path):
    """Real records: two Synthea transaction bundles (urn:uuid references) split into NDJSON."""
    folder = Path(__file__).resolve().parent / "realworld" / "synthea"
    picked = [folder / "Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json",
              folder / "Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json"]
    write_export([json.loads(p.read_text()) for p in picked], tmp_path / "bulk")
    sink = ListSink()
    batch_run.run([tmp_path / "bulk"], batch_run.Settings(as_of=AS_OF, reasoner="compiled", workers=1), sink)
    expected = {doc["patient"]: doc for doc in (serial(assessor, p) for p in picked)}
    got = {r["patient"]: answer(r) for r in sink.records}
    assert got.keys() == expected.keys()
    reads = read_types()
    for patient, document in got.items():
        # Set-aside resources come in file order; the files of types the guideline does not
        # read (Encounter.ndjson, Claim.ndjson ...) are skipped, so only the set-aside
        # resources of the types it reads are listed.
        ignored = {f["id"] for f in document.pop("ignored_facts")}
        serial_ignored = {f["id"] for f in expected[patient].pop("ignored_facts") if f["resourceType"] in reads}
        assert document == expected[patient]
        assert ignored == serial_ignored and ignored


def test_an_unreachable_scheduler_is_a_clear_message(tree, monkeypatch):
    pytest.importorskip("distributed")
    from b12kg.batch import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    result = CliRunner().invoke(main, ["batch", str(tree), "--as-of", "2026-11-24", "--scheduler", "tcp://127.0.0.1:9", "--no-progress"])
    assert result.exit_code == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output

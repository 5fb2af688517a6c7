"""Bulk Data folders as a real export client leaves them (issue 18, defects 8 and 19, and
contract v3's Bulk item): a client's log.ndjson and files of types the guideline does not
read are skipped with one warning and count no patient; one malformed, deeply nested or
oversized line is one located rejection; a FIFO is never waited on. Every patient found
is counted: in = assessed + rejected + internal errors."""

from __future__ import annotations

import json
import logging
import os
import threading
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from b12kg.batch import run as batch_run
from b12kg.batch.ndjson import BulkExport, write_export

CASES = Path(__file__).resolve().parent / "cases"
SETTINGS = batch_run.Settings(as_of=date(2026, 11, 24), reasoner="compiled", workers=1)
LOG = [{"eventId": "kickoff", "eventDetail": {"exportUrl": "https://bulk-data.smarthealthit.org/fhir/$export", "status": 202}},
       {"eventId": "status_complete", "eventDetail": {"transactionTime": "2026-11-24T10:00:00Z"}},
       {"eventId": "download_complete", "eventDetail": {"fileUrl": "https://bulk-data.smarthealthit.org/1.Patient.ndjson"}},
       {"eventId": "export_complete", "eventDetail": {"files": 3, "resources": 12}}]


class Records:
    def __init__(self):
        self.records = []

    def write(self, record: dict) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


def _export(folder: Path) -> Path:
    bundle = json.loads((CASES.parent.parent / "examples" / "ex1-confirmed-oral.json").read_text())
    write_export([bundle], folder)
    (folder / "log.ndjson").write_text("".join(json.dumps(event) + "\n" for event in LOG))
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished", "subject": {"reference": "Patient/somebody-else"}}
    (folder / "Encounter.ndjson").write_text(json.dumps(encounter) + "\n")
    return folder


def _run(folder: Path) -> tuple[batch_run.Counts, Records]:
    sink = Records()
    counts = batch_run.run([folder], SETTINGS, sink)
    assert counts.found == counts.assessed + counts.rejected + counts.internal == len(sink.records)
    return counts, sink


def test_a_client_log_and_unread_types_are_skipped_with_one_warning_each(tmp_path, caplog):
    folder = _export(tmp_path / "export")
    with caplog.at_level(logging.WARNING, logger="b12kg.batch"):
        counts, _ = _run(folder)
    assert (counts.found, counts.assessed, counts.rejected, counts.exit_code) == (1, 1, 0, 0)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert any("log.ndjson" in w and "not FHIR resources" in w for w in warnings)
    assert any("Encounter.ndjson" in w and "does not read" in w for w in warnings)


def test_a_deeply_nested_line_is_one_located_rejection(tmp_path):
    """A RecursionError traceback ended the whole batch with exit 1 before."""
    folder = _export(tmp_path / "export")
    with (folder / "Observation.ndjson").open("a") as handle:
        handle.write('{"resourceType": "Observation", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    counts, sink = _run(folder)
    assert (counts.assessed, counts.rejected, counts.internal) == (1, 1, 0)
    (rejected,) = [r for r in sink.records if "rejected" in r]
    assert rejected["source"].endswith("Observation.ndjson:2") and "nested" in json.dumps(rejected)


def test_an_oversized_line_is_refused_without_being_read_whole(tmp_path):
    folder = _export(tmp_path / "export")
    with (folder / "Observation.ndjson").open("ab") as handle:
        handle.write(b'{"resourceType": "Observation", "note": "' + b"x" * (40 * 1024 * 1024) + b'"}\n')
    export = BulkExport(sorted(folder.iterdir()), index_dir=tmp_path)
    tracemalloc.start()
    try:
        items = list(export.items())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        export.close()
    assert peak < 25 * 1024 * 1024, peak  # one 10 MiB read at most, not the 40 MiB line
    (problem,) = [i for i in items if i.problem]
    assert problem.source.endswith("Observation.ndjson:2") and "over the limit" in problem.problem
    assert len([i for i in items if i.text]) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_named_patient_ndjson_is_refused_not_waited_on(tmp_path):
    folder = _export(tmp_path / "export")
    os.mkfifo(folder / "Patient.000.ndjson")
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_run(folder)), daemon=True)
    worker.start()
    worker.join(120)
    assert outcome, "the batch waited on the FIFO"
    counts, sink = outcome[0]
    assert (counts.assessed, counts.rejected) == (1, 1)
    (rejected,) = [r for r in sink.records if "rejected" in r]
    assert rejected["source"].endswith("Patient.000.ndjson") and "regular file" in json.dumps(rejected)

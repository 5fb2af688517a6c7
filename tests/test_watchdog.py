"""The per-patient time budget holds inside a step that never returns to Python (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from records import slow_record

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ex1-confirmed-oral.json"

RUST_LOOP = """
import pyoxigraph as ox
from b12kg.watchdog import time_budget
store = ox.Store()
store.extend([ox.Quad(ox.NamedNode(f"urn:s{i}"), ox.NamedNode("urn:p"), ox.Literal(str(i))) for i in range(400)])
with time_budget(1.0, "slow.json"):
    print(list(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")))
print("not stopped")
"""


def test_the_watchdog_stops_a_step_inside_pyoxigraph():
    """One aggregate over a 64-million-row join never returns to Python before its end."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", RUST_LOOP], capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert "slow.json: the assessment took longer than its budget of 1 s per patient and was stopped [time budget]" in done.stderr
    assert "not stopped" not in done.stdout
    assert elapsed < 30


def _many_results(path: Path, count: int) -> None:
    """The example patient with `count` more serum B12 results, one a day from 2020-01-01."""
    from datetime import date, timedelta

    doc = json.loads(EXAMPLE.read_text())
    template = next(e for e in doc["entry"] if e["resource"]["resourceType"] == "Observation")
    for i in range(count):
        entry = json.loads(json.dumps(template))
        entry["fullUrl"] = f"urn:uuid:00000000-0000-0000-0000-{i:012d}"
        entry["resource"]["id"] = f"many-{i}"
        entry["resource"]["effectiveDateTime"] = (date(2020, 1, 1) + timedelta(days=i)).isoformat()
        doc["entry"].append(entry)
    path.write_text(json.dumps(doc))


def test_a_patient_over_budget_is_rejected_with_exit_2(tmp_path: Path, b12kg_command):
    path = tmp_path / "many.json"
    path.write_text(json.dumps(slow_record(EXAMPLE)))  # seconds to assess, within every input limit
    env = {**os.environ, "B12KG_TIME_BUDGET": "0.5"}
    done = subprocess.run([*b12kg_command, "assess", str(path), "--as-of", "2026-11-24"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 2, done.stderr
    assert "budget of 0.5 s per patient" in done.stderr and done.stdout == ""


def test_a_bad_budget_setting_is_refused(b12kg_command):
    env = {**os.environ, "B12KG_TIME_BUDGET": "soon"}
    done = subprocess.run([*b12kg_command, "assess", str(EXAMPLE)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode != 0 and "B12KG_TIME_BUDGET" in done.stderr


def test_a_thousand_results_are_assessed_and_the_earliest_deficiency_decides(tmp_path: Path, assessor):
    """urgent-untreated-deficiency finds the earliest result by aggregate: 1,000 results once ran
    past the budget (164 s in that rule alone) and are now assessed."""
    from datetime import date

    path = tmp_path / "many.json"
    _many_results(path, 999)  # with the example's own result: 1,000, the per-test limit
    doc = assessor.assess(path, date(2026, 11, 24)).document
    urgent = next(r for r in doc["recommendations"] if r["action"] == "urgent-untreated-deficiency")
    assert "many-0" in urgent["based_on"]  # dated 2020-01-01, the earliest
    assert not {f"many-{i}" for i in range(1, 999)} & set(urgent["based_on"])  # the example's own 2026 result decides the status

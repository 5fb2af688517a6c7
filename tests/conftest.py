"""Shared fixtures: one prepared Assessor per test session (as in a real process)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# The per-patient time budget ends the whole process when it runs out (b12kg.watchdog),
# which in-process CLI tests share with pytest: on a loaded CI machine a slow case must
# fail as a test, not end the run. The budget itself is tested in child processes that
# set their own (tests/test_watchdog.py, tests/test_batch.py).
os.environ.setdefault("B12KG_TIME_BUDGET", "600")

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
B12_CASES = CASES / "b12"
"""The primary pack's cases (each pack's cases in tests/cases/<pack>/)."""
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def assessor():
    from b12kg.pipeline import Assessor

    return Assessor()


@pytest.fixture(scope="session")
def b12kg_command() -> list[str]:
    """How to run the CLI: the installed script beside this Python, else the module."""
    script = Path(sys.executable).with_name("b12kg")
    if script.exists():
        return [str(script)]
    found = shutil.which("b12kg")
    return [found] if found else [sys.executable, "-m", "b12kg.cli"]


@pytest.fixture(scope="session", autouse=True)
def _private_knowledge_image(tmp_path_factory):
    """The knowledge image (b12kg/knowledge_image.py) of this test session, out of the user's
    cache folder; shared by the session's commands (tests naming their own cache set it empty)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("B12KG_CACHE_DIR", str(tmp_path_factory.mktemp("cache") / "knowledge"))
        yield


# --- headless Chromium for the HTML pages (review page, cohort page) ---------------------------

CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900")


def _executable(*candidates: str) -> str | None:
    for candidate in candidates:
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium with a fresh profile, or a skip saying what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        reason = "selenium is not installed (pip install '.[test]')"
        print(f"browser tests: skipped: {reason}")
        pytest.skip(reason)
    chromium = _executable("/usr/bin/chromium", "chromium", "chromium-browser")
    driver_path = _executable("/usr/bin/chromedriver", "chromedriver")
    if chromium is None or driver_path is None:
        reason = f"headless browser not available (chromium: {chromium}, chromedriver: {driver_path}); apt-get install chromium chromium-driver"
        print(f"browser tests: skipped: {reason}")
        pytest.skip(reason)
    profile = tempfile.mkdtemp(prefix="b12kg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (*CHROMIUM_ARGS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(2)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def pytest_report_header(config):
    return f"b12kg cases: {CASES}; shared contract: {'found' if SHARED.is_dir() else 'absent'}; CI={os.environ.get('CI', '')}"


# --- a small cohort store from the case files (cohort queries, endpoint, page) ----------------

@pytest.fixture(scope="session")
def cohort(assessor, tmp_path_factory):
    """A cohort store holding every assessable case at its own as-of date, the bundled
    example at two dates, and a metformin patient with no serum B12 in 17 months (the
    cases include data_quality entries). Returns (store folder, the JSON documents
    the batch produced, keyed by (patient id, as-of))."""
    import json as _json
    from datetime import date as _date

    from b12kg.cohort.sink import store_sink

    folder = tmp_path_factory.mktemp("cohort")
    extra = folder / "inputs"
    extra.mkdir()
    base = (B12_CASES / "combo-untreated-since-june-vegan-metformin.json").read_text(encoding="utf-8")
    bundle = _json.loads(base.replace("combo-untreated-since-june-vegan-metformin", "metformin-no-recent-b12"))
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Observation":
            entry["resource"]["effectiveDateTime"] = "2025-06-01"
    (extra / "metformin-no-recent-b12.json").write_text(_json.dumps(bundle), encoding="utf-8")
    by_date: dict[str, list[Path]] = {}
    for expected in sorted(B12_CASES.glob("*.expected.json")):
        source = expected.with_name(expected.name.replace(".expected.json", ".json"))
        if not source.exists():
            source = next((expected.with_name(expected.name.replace(".expected.json", s)) for s in (".ttl", ".jsonld", ".nt")
                           if expected.with_name(expected.name.replace(".expected.json", s)).exists()), None)
        if source is not None and "rejected" not in expected.name:
            by_date.setdefault(_json.loads(expected.read_text())["as_of"], []).append(source)
    by_date.setdefault("2026-11-24", []).append(extra / "metformin-no-recent-b12.json")
    example = ROOT / "examples" / "ex1-confirmed-oral.json"
    by_date["2026-11-24"].append(example)
    by_date.setdefault("2027-06-01", []).append(example)
    documents: dict[tuple[str, str], dict] = {}
    store = folder / "store"
    for as_of, paths in sorted(by_date.items()):
        with store_sink(store, assessor.knowledge.quads) as sink:
            for path, outcome in assessor.assess_many(paths, _date.fromisoformat(as_of)):
                if isinstance(outcome, Exception):
                    raise outcome
                sink.add(outcome.quads, str(path))
                documents[(outcome.document["patient"], as_of)] = outcome.document
    return store, documents


@pytest.fixture(scope="session")
def start_server(b12kg_command):
    """Start `b12kg serve DIR ARGS...` on a free loopback port; returns its base URL
    (`start_server.processes[url]` is its process). Every server started is stopped at
    the end of the session."""
    import subprocess
    import time

    started = []

    def start(directory: Path, *args: str) -> str:
        process = subprocess.Popen([*b12kg_command, "serve", str(directory), "--port", "0", *args],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started.append(process)
        deadline = time.monotonic() + 60
        line = ""
        while "serving" not in line:
            line = process.stderr.readline()
            if not line and (process.poll() is not None or time.monotonic() > deadline):
                raise RuntimeError(f"b12kg serve did not start (exit {process.poll()})")
        url = line.split(" at ", 1)[1].split("/sparql", 1)[0]
        start.processes[url] = process
        return url

    start.processes = {}
    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

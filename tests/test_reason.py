"""Reasoner backends agree: the fast default against the reference implementations."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from b12kg.pipeline import Assessor

CASES = Path(__file__).resolve().parent / "cases"


def _assessable_cases() -> list[Path]:
    cases = []
    for expected in sorted(CASES.glob("*.expected.json")):
        if json.loads(expected.read_text()).get("exit_code", 0) == 0:
            stem = expected.name[: -len(".expected.json")]
            cases.append(next(p for p in CASES.glob(stem + ".*") if p != expected))
    return cases


CASE_FILES = _assessable_cases()


def _comparable(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "ignored_facts"}


OWLRL_CASES = CASE_FILES[::3]


def _as_of(case: Path) -> date:
    return date.fromisoformat(json.loads(case.with_name(case.stem + ".expected.json").read_text())["as_of"])


@pytest.fixture(scope="module")
def owlrl_documents() -> dict[Path, dict]:
    """owlrl's conclusions on a third of the cases, assessed in batches (one owlrl run per
    as-of date: ~1 s per patient alone, a few seconds for all; test_pipeline shows batch
    and one-at-a-time conclude the same)."""
    owlrl = Assessor(reasoner="owlrl")
    documents = {}
    for as_of in sorted({_as_of(case) for case in OWLRL_CASES}):
        for path, outcome in owlrl.assess_many([c for c in OWLRL_CASES if _as_of(c) == as_of], as_of):
            documents[path] = outcome if isinstance(outcome, Exception) else outcome.document
    return documents


@pytest.mark.parametrize("case", OWLRL_CASES, ids=lambda p: p.stem)
def test_reasonable_and_owlrl_conclude_the_same(case: Path, assessor, owlrl_documents):
    """owlrl is the pure-Python OWL 2 RL reference; reasonable must match it exactly."""
    owlrl = owlrl_documents[case]
    assert not isinstance(owlrl, Exception), owlrl
    assert _comparable(assessor.assess(case, _as_of(case)).document) == _comparable(owlrl)


@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java, which is not installed")
@pytest.mark.parametrize("name", ["combo-functional-ataxia-crohns-ppi-folic-acid-neuralgia",
                                  "combo-vegan-metformin-pernicious-anaemia-confirmed",
                                  "status-unlikely-b12-350_5-ng-per-l"])
def test_hermit_concludes_the_same(name: str, assessor):
    """HermiT (OWL 2 DL) classifies the same facts into the same classes as OWL 2 RL."""
    case = CASES / f"{name}.json"
    as_of = date.fromisoformat(json.loads((CASES / f"{name}.expected.json").read_text())["as_of"])
    hermit = Assessor(reasoner="hermit")
    assert _comparable(hermit.assess(case, as_of).document) == _comparable(assessor.assess(case, as_of).document)


def test_unknown_reasoner_is_refused():
    with pytest.raises(ValueError, match="unknown reasoner"):
        Assessor(reasoner="magic")


def test_the_reasoner_ontology_file_is_private_and_removed_with_its_process(tmp_path):
    """reasonable reads the TBox from a file: only its user may read it, and it goes with the process."""
    import os
    import subprocess
    import sys

    script = ("import os, stat; from b12kg.knowledge import load_knowledge; from b12kg import reason\n"
              "r = reason.make_reasoner('reasonable', load_knowledge().graph)\n"
              "folder = os.path.dirname(r._tbox_file)\n"
              "print(folder, oct(stat.S_IMODE(os.stat(folder).st_mode)), os.path.getsize(r._tbox_file) > 0)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True).stdout.split()
    folder, mode, written = out
    assert folder.startswith(str(tmp_path)) and mode == "0o700" and written == "True"
    assert not Path(folder).exists()


def test_a_killed_process_ontology_file_is_removed_by_the_next(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    import tempfile

    from b12kg import reason

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    orphan = tmp_path / f"{reason.TBOX_FOLDER_PREFIX}{gone}-abc"
    alive = tmp_path / f"{reason.TBOX_FOLDER_PREFIX}{os.getpid()}-def"
    older = tmp_path / f"{reason.TBOX_FOLDER_PREFIX}xyz"  # not named by a process: left alone
    for folder in (orphan, alive, older):
        folder.mkdir()
        (folder / "tbox.ttl").write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    reason._remove_orphans()
    assert not orphan.exists() and alive.exists() and older.exists()

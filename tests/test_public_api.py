"""The public entry point: `import b12kg` names its API (lazily: no RDF library on import), and
the package says it is typed."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import b12kg

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_resolves_and_importing_loads_no_rdf_library():
    code = "import sys, b12kg; print(sorted(m for m in ('rdflib', 'pyoxigraph', 'owlready2') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    assert set(b12kg.__all__) == {"__version__", *b12kg._EXPORTS}
    for name in b12kg.__all__:
        assert getattr(b12kg, name) is not None, name
    assert {"Api", "Assessor", "PatientView", "InputRejected", "load_knowledge"} <= set(b12kg.__all__)
    with pytest.raises(AttributeError):
        b12kg.no_such_name  # noqa: B018
    assert (Path(b12kg.__file__).parent / "py.typed").is_file()


def test_a_view_binds_its_patient_and_says_when_it_cannot():
    view = b12kg.Assessor().assess(ROOT / "examples" / "ex1-confirmed-oral.json", date(2026, 11, 24))
    assert view.document["b12_status"]["value"] == "confirmed"
    mine = view.select("SELECT * WHERE { ?c gm:aboutPatient ?patient }")
    assert mine and all(row["patient"] == view.patient for row in mine)
    with pytest.raises(ValueError, match="project"):
        view.select("SELECT ?c WHERE { ?c gm:aboutPatient ?patient }")

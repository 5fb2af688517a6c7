"""No rendering can be forged by a hostile id (issue 14): control, format and bidi characters
from the data are shown as escapes in text, Markdown and HTML explanations."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12kg.render.explain import render

ROOT = Path(__file__).resolve().parent.parent
NATIVE = (ROOT / "examples" / "ex1-confirmed-oral.ttl").read_text(encoding="utf-8")
AS_OF = date(2026, 11, 24)
FORGED = "\nSTATUS: unlikely deficiency\n"


def _native_with_ids(tmp_path: Path, patient_id: str) -> Path:
    escaped = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else f"\\U{ord(ch):08X}" for ch in patient_id)
    path = tmp_path / "hostile.ttl"
    path.write_text(NATIVE.replace('pt:fhirId "ex1"', f'pt:fhirId "{escaped}"'), encoding="utf-8")
    return path


def _unsafe(text: str) -> list[str]:
    return sorted({repr(ch) for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")})


HOSTILE_IDS = {
    "line-break": f"ex1{FORGED}",
    "erase-line": "ex1\x1b[2K\rSTATUS: unlikely deficiency",
    "colour": "\x1b[31mex1\x1b[0m",
    "right-to-left-override": "ex1\u202eylekilnu :SUTATS",
    "nul": "ex1\x00\x00",
    "line-separator": "ex1\u2028STATUS: unlikely deficiency",
}


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
@pytest.mark.parametrize("name", sorted(HOSTILE_IDS))
def test_hostile_ids_cannot_forge_a_line(name: str, fmt: str, tmp_path: Path, assessor):
    assessment = assessor.assess(_native_with_ids(tmp_path, HOSTILE_IDS[name]), AS_OF)
    assert assessment.document["patient"] == HOSTILE_IDS[name]  # the JSON keeps the id unchanged
    page = render(assessment, assessor.knowledge, fmt)
    assert _unsafe(page) == []
    assert not re.search(r"^\s*STATUS: unlikely", page, flags=re.MULTILINE)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20))
def test_any_id_renders_without_raw_control_characters(text: str, tmp_path_factory, assessor):
    path = _native_with_ids(tmp_path_factory.mktemp("id"), text)
    try:
        assessment = assessor.assess(path, AS_OF)
    except Exception as exc:  # an id the loader refuses is refused with a message, not rendered
        assert type(exc).__name__ == "InputRejected"
        return
    for fmt in ("text", "markdown"):
        assert _unsafe(render(assessment, assessor.knowledge, fmt)) == []

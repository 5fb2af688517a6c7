"""Shared fixtures: one prepared Assessor per test session (as in a real process)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
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


def pytest_report_header(config):
    return f"b12kg cases: {CASES}; shared contract: {'found' if SHARED.is_dir() else 'absent'}; CI={os.environ.get('CI', '')}"

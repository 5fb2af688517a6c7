"""A machine that cannot do what was asked: no Java, a cache or home that cannot be
used, a read-only or full disk. Each ends with a message naming what is missing and
what to do (exit 1), or works without the optional part; never a traceback, never
half a file."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from b12kg import output
from b12kg.errors import EnvironmentProblem

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ex1-confirmed-oral.json"
FULL = Path("/dev/full")


def run(command: list[str], *args: str, env: dict | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([*command, *args], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def assert_clean_failure(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_hermit_without_java_names_java_and_the_default(b12kg_command, tmp_path):
    result = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24", "--reasoner", "hermit",
                 env={"PATH": str(tmp_path)})  # an empty folder: no java
    assert_clean_failure(result, "java", "Java", "--reasoner", "compiled")
    assert result.stdout == ""


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("command", ["assess", "batch"])
def test_full_disk_is_a_message(b12kg_command, command):
    extra = ["--no-progress"] if command == "batch" else []
    # batch keeps its completed lines for --resume (b12kg/batch.py); assess writes whole files (b12kg/output.py)
    named = ["No space left on device", "--resume"] if command == "batch" else ["cannot write /dev/full", "disk is full"]
    to_file = run(b12kg_command, command, str(EXAMPLE), "--as-of", "2026-11-24", "--output", str(FULL), *extra)
    assert_clean_failure(to_file, *named)
    with FULL.open("w") as full:  # standard output on a full disk
        to_stdout = run(b12kg_command, command, str(EXAMPLE), "--as-of", "2026-11-24", *extra, stdout=full)
    named = ["No space left on device"] if command == "batch" else ["cannot write standard output", "disk is full"]
    assert_clean_failure(to_stdout, *named)
    assert "Exception ignored" not in to_stdout.stderr


def test_output_where_files_cannot_be_created(b12kg_command, tmp_path):
    missing = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24", "--output", str(tmp_path / "no" / "x.json"))
    assert_clean_failure(missing, "folder does not exist")
    refused = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24", "--output", "/proc/b12kg-output.json")
    assert_clean_failure(refused, "cannot write /proc/b12kg-output.json")


@pytest.mark.parametrize("failing,code,advice", [("fsync", errno.ENOSPC, "disk is full"),
                                                 ("replace", errno.EROFS, "read-only")])
def test_a_failed_write_leaves_the_old_file_and_no_part(monkeypatch, tmp_path, failing, code, advice):
    target = tmp_path / "out.json"
    target.write_text("previous\n")

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(output.os, failing, refuse)
    with pytest.raises(EnvironmentProblem, match=advice):
        output.write_text("new contents\n", target)
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_written_file_appears_whole_with_ordinary_permissions(tmp_path):
    target = tmp_path / "out.jsonl"
    out = output.open_output(target)
    out.write("one\n")
    assert not target.exists()  # nothing under the name until it is complete
    out.commit()
    assert target.read_text() == "one\n"
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@pytest.mark.parametrize("home", ["missing", "a-file", "read-only"])
def test_an_unusable_home_or_cache_changes_nothing(b12kg_command, tmp_path, home):
    """b12kg keeps only an optional knowledge image in the cache folder (knowledge_image.py;
    unit factors ship with the package): a home that does not exist, is a file, or lies where
    no file can be created (/proc) changes nothing, and none is created."""
    location = {"missing": tmp_path / "no-home", "a-file": tmp_path / "home-file", "read-only": Path("/proc/b12kg-home")}[home]
    if home == "a-file":
        location.write_text("")
    result = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24",
                 env={"HOME": str(location), "XDG_CACHE_HOME": str(location / ".cache"), "B12KG_CACHE_DIR": ""})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["b12_status"]["value"] == "confirmed"
    assert not (tmp_path / "no-home").exists()


def test_an_ordinary_home_holds_only_the_knowledge_image(b12kg_command, tmp_path):
    """The one thing b12kg writes in a home: the knowledge image and the FHIR check tables, private
    to the user (a 0700 folder, 0600 files) under the cache folder; with B12KG_NO_CACHE=1, nothing."""
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / ".cache"), "B12KG_CACHE_DIR": ""}
    result = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24", env=env)
    assert result.returncode == 0, result.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert written[:3] == [".cache", ".cache/b12kg", ".cache/b12kg/knowledge"] and len(written) == 5, written
    assert written[3].endswith(".image") and written[4].startswith(".cache/b12kg/knowledge/fhir-check-"), written
    assert {oct((tmp_path / w).stat().st_mode & 0o777) for w in written[3:]} == {oct(0o600)}
    assert oct((tmp_path / written[2]).stat().st_mode & 0o777) == oct(0o700)
    home = tmp_path / "off"
    home.mkdir()
    result = run(b12kg_command, "assess", str(EXAMPLE), "--as-of", "2026-11-24",
                 env={**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "B12KG_NO_CACHE": "1"})
    assert result.returncode == 0, result.stderr
    assert list(home.iterdir()) == []

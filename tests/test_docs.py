"""The README and docs/ say only what the repository holds.

- README.md is a front door: under 250 lines, and its first two fenced code blocks are the
  two commands CI runs (.ci/run): install and assess the example, then the tests.
- Every repository path named in README.md and docs/ (in backticks or in code blocks) exists,
  from the repository root; a glob must match something; placeholders (`queries/<pack>/`,
  `tests/cases/NAME.json`, `{assessment}/graph/...`) are not paths and are skipped.
- Every relative Markdown link (and image) resolves from its page, and an anchor names a
  heading of its target (GitHub's slugs).
- Nothing points at ../shared: a user of the package does not have the project's shared folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [README, *DOCS]

pytestmark = pytest.mark.skipif(not (ROOT / "docs").is_dir() or not (ROOT / ".ci" / "run").is_file(),
                                reason="not a source checkout: the sdist ships neither docs/ nor .ci/")

INSTALL = ("python3 -m venv .venv && .venv/bin/pip install . && "
           ".venv/bin/b12kg assess examples/ex1-confirmed-oral.json --as-of 2026-11-24")
TESTS = ".venv/bin/pip install '.[all]' && .venv/bin/python -m pytest"

INCOMING = {"docs/cds-developers.md", "docs/sparql-users.md"}
"""Written on another branch and merged before this one: linked from the README already."""

NOT_IN_CHECKOUT = {"b12kg/data/": "the wheel's copy of ontology/, shapes/, queries/ and tests/cases/ (pyproject.toml)"}
"""Paths the docs name that only an installed wheel holds."""

PREFIXES = ("b12kg/", "queries/", "ontology/", "shapes/", "tests/", "benchmarks/", "examples/", "docs/", "tools/",
            ".ci/")
TOP_LEVEL = ("README.md", "pyproject.toml")

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_SEPARATORS = re.compile(r"<br\s*/?>|[\s\"'`()\[\],|=]+")  # a path ends at a space, quote, bracket, comma, '=' or <br/>
_TRAIL = ";:.!?"


def fenced_blocks(text: str) -> list[str]:
    return [block.strip() for block in _FENCE.findall(text)]


def _placeholder(path: str) -> bool:
    """A path written as a pattern for the reader to fill in: <pack>, {assessment}, NAME, DIR."""
    if any(c in path for c in "<>{}$"):
        return True
    for segment in path.strip("/").split("/"):
        stem = segment.split(".")[0]
        if stem != "README" and re.fullmatch(r"[A-Z][A-Z0-9_-]*", stem):
            return True
    return False


def candidates(text: str) -> set[str]:
    """The repository paths a page names in code spans and code blocks (links: broken_links)."""
    pieces = _CODE_SPAN.findall(_FENCE.sub("", text)) + _FENCE.findall(text)
    found = set()
    for piece in pieces:
        for token in _SEPARATORS.split(piece):
            token = token.split("::")[0].rstrip(_TRAIL).removeprefix("./")
            if token.startswith(PREFIXES) or token in TOP_LEVEL:
                found.add(token)
    return found


def _exists(path: str) -> bool:
    if path in INCOMING or any(path.startswith(p) for p in NOT_IN_CHECKOUT):
        return True
    if "*" in path:
        return any(ROOT.glob(path.rstrip("/")))
    return (ROOT / path).exists()


def missing_paths(text: str) -> list[str]:
    return sorted(p for p in candidates(text) if not _placeholder(p) and not _exists(p))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def broken_links(text: str, page: Path) -> list[str]:
    """The relative link targets of `text`, written in `page`, that lead nowhere."""
    broken = []
    for target in _LINK.findall(_FENCE.sub("", text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        relative = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else None
        if relative in INCOMING:
            continue
        missing_anchor = bool(anchor) and resolved.suffix == ".md" and resolved.exists() and anchor not in anchors(resolved)
        if relative is None or not resolved.exists() or missing_anchor:
            broken.append(target)
    return broken


def test_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines: move detail to docs/"


def test_readme_opens_with_the_two_commands_ci_runs():
    blocks = fenced_blocks(README.read_text(encoding="utf-8"))
    assert blocks[:2] == [INSTALL, TESTS]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/pip install --quiet '.[all]' && .venv/bin/python -m pytest" in ci


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_repository_path_named_exists(page):
    assert missing_paths(page.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert broken_links(page.read_text(encoding="utf-8"), page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_nothing_points_at_the_shared_folder(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"\.\./shared|/work/shared|\bshared/(bin|contract|realworld|guideline)", text)


def test_the_checks_catch_what_they_should():
    """The checks themselves: a missing path, a glob matching nothing, a placeholder, a broken link."""
    assert missing_paths("see `queries/derive/population.rq` (moved to queries/b12/derive/)") == [
        "queries/derive/population.rq"]
    assert missing_paths("`queries/qc/*-violation.rq`, `queries/b12/derive/*.rq`") == []
    assert missing_paths("`queries/qc/*-nothing.rq`") == ["queries/qc/*-nothing.rq"]
    assert missing_paths("`queries/<pack>/derive/`, `tests/cases/NAME.json`, `ontology/PACK/`") == []
    assert missing_paths("```\nb12kg assess examples/no-such-patient.json\n```\n") == ["examples/no-such-patient.json"]
    assert candidates("`tests/test_cli.py::test_x`, (`docs/security.md`).") == {"tests/test_cli.py", "docs/security.md"}
    page = ROOT / "docs" / "page.md"
    assert broken_links("[a](security.md) [b](../README.md#python-versions) [c](https://example.org/x)", page) == []
    assert broken_links("[a](nowhere.md) [b](../README.md#no-such-heading) [c](../../outside.md)", page) == [
        "nowhere.md", "../README.md#no-such-heading", "../../outside.md"]
    assert broken_links("[a](sparql-users.md)", page) == []  # incoming from another branch
    assert _slug("Python versions") == "python-versions"
    assert _slug("RDF output: graph names") == "rdf-output-graph-names"
    assert _slug("`--store`: a store, data_quality") == "--store-a-store-data_quality"

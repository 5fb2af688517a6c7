"""The knowledge image (b12kg/knowledge_image.py): used when valid, rebuilt when a pack file
changes, ignored when it cannot be trusted, read or written; the answers never change."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from b12kg import knowledge_image, resources
from b12kg.knowledge import _load, _parsed
from b12kg.knowledge_version import knowledge_packs
from b12kg.pipeline import Assessor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ex1-confirmed-oral.json"
AS_OF = date(2026, 11, 24)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "knowledge"  # its holder exists: b12kg creates the folder, never its holder
    monkeypatch.setenv("B12KG_CACHE_DIR", str(folder))
    monkeypatch.delenv("B12KG_NO_CACHE", raising=False)
    return folder


def fresh(packs):
    """load_knowledge without its per-process memo: image if valid, else parse (and write)."""
    return _load.__wrapped__(tuple(packs))


def from_image(knowledge) -> bool:
    return "_image_tables" in knowledge.__dict__


def document(knowledge) -> dict:
    return Assessor(knowledge=knowledge).assess(EXAMPLE, AS_OF).document


def copied_packs(tmp_path: Path) -> tuple:
    """The installed packs, each b12 pack file copied to a folder of the test's own."""
    folder = tmp_path / "b12"
    b12 = next(p for p in resources.packs() if p.name == "b12")
    shutil.copytree(b12.ontology_root, folder / "ontology", ignore=shutil.ignore_patterns("source"))
    if b12.queries is not None:
        shutil.copytree(b12.queries, folder / "queries")
    if b12.shapes:
        (folder / "shapes").mkdir()
        for path in b12.shapes:
            shutil.copy(path, folder / "shapes" / path.name)
    return knowledge_packs(folder)  # the copy replaces the installed b12 pack


def test_the_image_is_written_then_used_with_the_same_knowledge(cache):
    packs = resources.packs()
    parsed = fresh(packs)
    assert not from_image(parsed)
    images = list(cache.glob("*.image"))
    assert [p.name for p in images] == [f"{knowledge_image.key(packs)}.image"]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700 and stat.S_IMODE(images[0].stat().st_mode) == 0o600

    read = fresh(packs)
    assert from_image(read)
    assert read.__dict__.get("_graph") is None  # nothing parsed
    assert list(read.quads) == list(parsed.quads)
    for name in knowledge_image.KNOWLEDGE_FIELDS:
        assert getattr(read, name) == getattr(parsed, name), name
    for name in knowledge_image.IMAGE_TABLES:  # the tables kept equal a fresh computation, types included
        compute = knowledge_image.table_function(name)
        kept, computed = read.derived(compute), compute(parsed)
        assert kept == computed and knowledge_image.encode(kept) == knowledge_image.encode(computed), name
    assert document(read) == document(parsed)
    assert read.__dict__.get("_graph") is None  # an assessment never needed the rdflib graph
    graph = read.graph  # asked for: built from the quads, the same triples and prefixes
    assert set(graph) == set(parsed.graph) and sorted(graph.namespaces()) == sorted(parsed.graph.namespaces())


def test_an_edited_pack_file_names_another_image(cache, tmp_path):
    packs = copied_packs(tmp_path)
    before = fresh(packs)
    assert not from_image(before) and fresh(packs).__dict__.get("_image_tables") is not None
    b12 = next(p for p in packs if p.name == "b12")
    thresholds = b12.ontology[0]
    old_key = knowledge_image.key(packs)
    thresholds.write_text(thresholds.read_text(encoding="utf-8") + "\n<urn:x:edited> a <urn:x:Thing> .\n", encoding="utf-8")
    assert knowledge_image.key(packs) != old_key
    after = fresh(packs)
    assert not from_image(after)  # parsed again, not the stale image
    assert len(after.quads) == len(before.quads) + 1
    assert len(list(cache.glob("*.image"))) == 2
    again = fresh(packs)
    assert from_image(again) and list(again.quads) == list(after.quads)
    for n in range(knowledge_image.KEEP + 2):  # old images do not pile up
        knowledge_image.write_private(f"{n:064x}.image", b"x")
    assert len(list(cache.glob("*.image"))) == knowledge_image.KEEP


def _corrupt(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b"true", b"fals", 1))


@pytest.mark.parametrize("harm", ["corrupt", "truncated", "group-writable", "folder-world-writable", "not-json", "symlink"])
def test_an_image_that_cannot_be_trusted_is_not_believed(cache, harm, tmp_path):
    packs = resources.packs()
    parsed = fresh(packs)
    image = cache / f"{knowledge_image.key(packs)}.image"
    if harm == "corrupt":
        _corrupt(image)
    elif harm == "truncated":
        image.write_bytes(image.read_bytes()[:-1000])
    elif harm == "group-writable":
        image.chmod(0o660)
    elif harm == "folder-world-writable":
        cache.chmod(0o777)
    elif harm == "not-json":
        image.write_bytes(b"b12kg-knowledge-image 0\n{\n")
    elif harm == "symlink":
        moved = tmp_path / "elsewhere.image"
        image.rename(moved)
        image.symlink_to(moved)
    assert knowledge_image.read(packs) is None
    again = fresh(packs)
    if harm in ("corrupt", "truncated", "not-json", "symlink"):  # rebuilt in place, then believed
        assert not from_image(again)
        assert from_image(fresh(packs))
    assert document(again) == document(parsed)


def test_unwritable_or_disabled_cache_changes_nothing(tmp_path, monkeypatch):
    packs = resources.packs()
    expected = document(_parsed(packs))
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    for env in ({"B12KG_CACHE_DIR": str(read_only / "knowledge")}, {"B12KG_CACHE_DIR": "/proc/b12kg"},
                {"B12KG_CACHE_DIR": str(tmp_path / "missing" / "deeper" / "knowledge")},
                {"B12KG_CACHE_DIR": str(tmp_path / "off"), "B12KG_NO_CACHE": "1"}):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        knowledge = fresh(packs)
        assert not from_image(knowledge)
        assert document(knowledge) == expected
        monkeypatch.delenv("B12KG_NO_CACHE", raising=False)
    assert not (tmp_path / "missing").exists() and not (tmp_path / "off").exists()
    if os.geteuid() != 0:  # root writes anywhere
        assert list(read_only.iterdir()) == []


def test_the_command_line_is_the_same_cold_and_warm(tmp_path):
    env = {**os.environ, "B12KG_CACHE_DIR": "", "XDG_CACHE_HOME": str(tmp_path / ".cache"), "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "b12kg.cli", "assess", str(EXAMPLE), "--as-of", AS_OF.isoformat()]
    outputs = [subprocess.run(command, capture_output=True, env=env, cwd=ROOT, timeout=300, check=True).stdout for _ in range(2)]
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["b12_status"]["value"] == "confirmed"
    assert len(list((tmp_path / ".cache" / "b12kg" / "knowledge").glob("*.image"))) == 1


def test_the_fhir_check_tables_kept_equal_the_models(cache):
    """load/fhir_check.py keeps what it reads of fhir.resources' models beside the image: kept,
    they are the models' own tables, and they answer as the models' do."""
    from b12kg.load import bundle, fhir_check

    assert set(fhir_check.KEPT_TYPES) == bundle.VALIDATED
    for cached in (fhir_check._kept, fhir_check.keep_tables, fhir_check._model, fhir_check._resource_key, fhir_check._primitives):
        cached.cache_clear()
    try:
        assert fhir_check._kept() is None
        fhir_check._kept.cache_clear()
        fhir_check.keep_tables()
        fhir_check._kept.cache_clear()
        fhir_check._model.cache_clear()
        fhir_check._resource_key.cache_clear()
        kept = fhir_check._kept()
        assert kept is not None and (cache / fhir_check._kept_name()).is_file()
        for name in fhir_check.KEPT_TYPES:
            key = kept["resources"][name]
            assert key == fhir_check._key_of(fhir_check._resource_class(name))
        for key, description in kept["models"].items():
            assert description == json.loads(json.dumps(fhir_check.describe(fhir_check._class_of(key)))), key
        assert kept["patterns"] == {n: getattr(__import__("fhir_core.types").types, n).pattern.pattern for n in fhir_check.PATTERNS}
        resources = [e["resource"] for e in json.loads(EXAMPLE.read_text())["entry"]]
        broken = [{**r, "status": 3} for r in resources] + [{**r, "unknownElement": "x"} for r in resources]
        answers = [fhir_check.certainly_valid(r) for r in resources + broken]
        assert answers == [True] * len(resources) + [False] * len(broken)
    finally:
        for cached in (fhir_check._kept, fhir_check.keep_tables, fhir_check._model, fhir_check._resource_key,
                       fhir_check._primitives):
            cached.cache_clear()

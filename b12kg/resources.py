"""Where b12kg's knowledge files live: the only module that knows.

An installed wheel carries ontology/, shapes/, queries/ and the clinical test cases
inside the package (b12kg/data/...); a source checkout has them at the repository
root (the cases in tests/cases).

Knowledge comes in packs. The generic model (ontology/model/, with the shapes and the
provenance, report, interaction and QC queries) is always loaded. A guideline pack is a
folder name NAME with its ontology module in ontology/NAME/ (statements, thresholds,
value sets, defined classes, rules; its source text in ontology/NAME/source/), its
queries in queries/NAME/ (classify/, derive/: a rule's gm:implementedBy is relative to
it), its shapes in shapes/NAME/ and its clinical cases in tests/cases/NAME/. Packs are
found in three places, in this order:

1. built in: every such subfolder of ontology/ (model/ and source/ aside);
2. installed: the entry points of the group ``b12kg.guidelines``, each naming a folder
   (a path, or a callable returning one) laid out like ``--guideline DIR`` below;
3. named on the command line: ``--guideline DIR`` (repeatable), where DIR holds
   ontology/, and optionally shapes/ and queries/, with the pack's files directly inside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import InputRejected

_PACKAGE = Path(__file__).resolve().parent
_KINDS = ("ontology", "shapes", "queries")
MODEL = "model"
ENTRY_POINT_GROUP = "b12kg.guidelines"
ENV_GUIDELINES = "B12KG_GUIDELINES"
"""Extra pack folders, separated by os.pathsep (as --guideline DIR, for servers and batch workers)."""
_NOT_PACKS = {MODEL, "source"}


@cache
def data_dir(kind: str) -> Path:
    """The folder holding one kind of knowledge file (ontology, shapes or queries)."""
    if kind not in _KINDS:
        raise ValueError(f"unknown resource kind {kind!r}")
    for candidate in (_PACKAGE / "data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"b12kg's {kind}/ folder is missing from the installation")


def _inside(root: Path, relative: str, what: str) -> Path:
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"{what} path {relative!r} leaves the folder {root}")
    return path


@dataclass(frozen=True)
class Pack:
    """One unit of knowledge: the generic model, or a guideline pack."""

    name: str
    origin: str
    ontology: tuple[Path, ...]
    queries: Path | None
    shapes: tuple[Path, ...]
    cases: Path | None = None
    ontology_root: Path | None = None

    def query_file(self, relative: str) -> Path:
        """A query file of this pack by its path relative to the pack's queries folder."""
        if self.queries is None:
            raise FileNotFoundError(f"pack {self.name} ({self.origin}) has no queries folder for {relative!r}")
        return _inside(self.queries, relative, "query")

    def source_file(self, relative: str) -> Path:
        """A file of the pack's ontology folder (e.g. its source text)."""
        if self.ontology_root is None:
            raise FileNotFoundError(f"pack {self.name} ({self.origin}) has no ontology folder")
        return _inside(self.ontology_root, relative, "source")


def _ttl(folder: Path, recursive: bool = True) -> tuple[Path, ...]:
    if not folder.is_dir():
        return ()
    found = folder.rglob("*.ttl") if recursive else folder.glob("*.ttl")
    return tuple(sorted(p for p in found if "source" not in p.relative_to(folder).parts[:-1]))


def cases_dir() -> Path | None:
    """The clinical test cases (NAME.expected.json beside each patient file), or None
    when this installation carries none."""
    for candidate in (_PACKAGE / "data" / "cases", _PACKAGE.parent / "tests" / "cases"):
        if candidate.is_dir():
            return candidate
    return None


def _cases_root() -> Path | None:
    return cases_dir()


def model_pack() -> Pack:
    """The generic model: guideline and patient vocabularies, integration vocabulary.

    Top-level *.ttl files of ontology/ belong here too (an older layout), and the
    top-level queries folder is the model's: gm:implementedBy of a model rule is
    relative to queries/.
    """
    ontology = data_dir("ontology")
    return Pack(MODEL, "built in", _ttl(ontology / MODEL) + _ttl(ontology, recursive=False), data_dir("queries"),
                _ttl(data_dir("shapes"), recursive=False), _cases_root(), ontology)


def _builtin_packs() -> list[Pack]:
    ontology, queries, shapes = data_dir("ontology"), data_dir("queries"), data_dir("shapes")
    cases = _cases_root()
    packs = []
    for folder in sorted(p for p in ontology.iterdir() if p.is_dir() and p.name not in _NOT_PACKS):
        packs.append(Pack(folder.name, "built in", _ttl(folder), queries / folder.name, _ttl(shapes / folder.name),
                          cases / folder.name if cases else None, folder))
    return packs


def pack_from_dir(folder: Path, origin: str) -> Pack:
    """A pack laid out as DIR/ontology, DIR/shapes, DIR/queries (the last two optional)."""
    folder = Path(folder)
    ontology = folder / "ontology"
    files = _ttl(ontology)
    if not folder.is_dir() or not files:
        raise InputRejected.one(str(folder), "a guideline pack folder must hold ontology/ with at least one Turtle (.ttl) file",
                                field="ontology/", rule="guideline pack layout")
    queries = folder / "queries"
    cases = folder / "tests" / "cases"
    return Pack(folder.resolve().name, origin, files, queries if queries.is_dir() else None, _ttl(folder / "shapes"),
                cases if cases.is_dir() else None, ontology)


def pack_from_dir_tree(root: Path, name: str) -> Pack:
    """Pack NAME of a folder laid out like the repository root (ontology/NAME, queries/NAME,
    shapes/NAME; the model: ontology/model, the top-level queries/ and shapes/)."""
    root = Path(root)
    origin = f"--knowledge {root}"
    if name == MODEL:
        return Pack(MODEL, origin, _ttl(root / "ontology" / MODEL) + _ttl(root / "ontology", recursive=False),
                    root / "queries", _ttl(root / "shapes", recursive=False), None, root / "ontology")
    folder = root / "ontology" / name
    queries = root / "queries" / name
    return Pack(name, origin, _ttl(folder), queries if queries.is_dir() else None, _ttl(root / "shapes" / name), None, folder)


def _entry_point_packs() -> list[Pack]:
    from importlib.metadata import entry_points

    packs = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        target = entry.load()
        folder = target() if callable(target) else target
        packs.append(pack_from_dir(Path(folder), f"entry point {entry.name} ({entry.value})"))
    return packs


_extra: list[Path] = []


def add_guideline_dirs(folders) -> None:
    """Packs named on the command line (--guideline DIR), loaded after the others."""
    for folder in folders:
        path = Path(folder)
        if path not in _extra:
            _extra.append(path)


def extra_guideline_dirs() -> tuple[Path, ...]:
    from_env = tuple(Path(p) for p in os.environ.get(ENV_GUIDELINES, "").split(os.pathsep) if p)
    return tuple(dict.fromkeys([*from_env, *_extra]))


def packs(extra: tuple[Path, ...] | None = None) -> tuple[Pack, ...]:
    """Every pack, model first: built in, installed, then the extra folders."""
    extra = extra_guideline_dirs() if extra is None else extra
    found = [model_pack(), *_builtin_packs(), *_entry_point_packs()]
    found += [pack_from_dir(folder, f"--guideline {folder}") for folder in extra]
    names = [p.name for p in found]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        origins = ", ".join(p.origin for p in found if p.name == duplicate)
        raise InputRejected.one(duplicate, f"two guideline packs are named {duplicate!r} ({origins})", rule="guideline pack names")
    return tuple(found)


def ontology_files() -> list[Path]:
    """The ontology modules of every pack, in a stable order."""
    return [path for pack in packs() for path in pack.ontology]


def shapes_file(name: str) -> Path:
    """One SHACL shapes file of the model by name (without extension)."""
    return data_dir("shapes") / f"{name}.ttl"


def query_file(relative: str) -> Path:
    """A SPARQL file by its path relative to queries/ (e.g. 'report/conclusions.rq')."""
    return _inside(data_dir("queries"), relative, "query")


def query_text(relative: str) -> str:
    """The text of a SPARQL file under queries/."""
    return query_file(relative).read_text(encoding="utf-8")

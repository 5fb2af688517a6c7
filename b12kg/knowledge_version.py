"""Knowledge versions: what an assessment was made with, and knowledge named by a folder.

A knowledge version is the set of packs the pipeline merged, each with its name, its
guideline's version and a SHA-256 of the pack's own files (ontology and shapes Turtle, and
its SPARQL), and one SHA-256 over them all. It is recorded on every assessment
(`gm:knowledgeVersion`), so a cohort store can say which knowledge made which conclusion,
and `b12kg impact` can compare two versions.

`--knowledge` names a version: `installed` (the packs this installation loads), a pack
folder laid out as for `--guideline DIR` (ontology/, shapes/, queries/), which replaces the
installed pack of the same name (the folder's name) or is added, or a folder laid out like
the repository root (ontology/model/ inside), whose packs replace the installed ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import resources
from .errors import InputRejected
from .namespaces import GM

KNOWLEDGE_NS = "https://w3id.org/b12kg/knowledge/"
INSTALLED = "installed"
NOT_ASSESSMENT = frozenset({"cohort", "living", "impact", "qc"})
"""Query folders that never shape an assessment (population, history, impact and QC queries): left out of the hash."""
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@dataclass(frozen=True)
class PackVersion:
    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class KnowledgeVersion:
    sha256: str
    packs: tuple[PackVersion, ...]

    @property
    def iri(self) -> str:
        return f"{KNOWLEDGE_NS}{self.sha256}"

    def describe(self, graph: ox.NamedNode | ox.DefaultGraph) -> list[ox.Quad]:
        """The version as RDF: the version node, its hash and its packs."""
        node = ox.NamedNode(self.iri)
        quads = [ox.Quad(node, RDF_TYPE, ox.NamedNode(str(GM.KnowledgeVersion)), graph),
                 ox.Quad(node, ox.NamedNode(str(GM.knowledgeSha256)), ox.Literal(self.sha256), graph)]
        for pack in self.packs:
            pack_node = ox.NamedNode(f"{self.iri}/pack/{pack.name}")
            quads += [ox.Quad(node, ox.NamedNode(str(GM.usesPack)), pack_node, graph),
                      ox.Quad(pack_node, ox.NamedNode(str(GM.packName)), ox.Literal(pack.name), graph),
                      ox.Quad(pack_node, ox.NamedNode(str(GM.packVersion)), ox.Literal(pack.version), graph),
                      ox.Quad(pack_node, ox.NamedNode(str(GM.packSha256)), ox.Literal(pack.sha256), graph)]
        return quads


def _pack_files(pack, pack_names: set[str]) -> list[tuple[str, Path]]:
    """(relative name, path) of every file of a pack: its ontology and shapes Turtle, its SPARQL.
    The model's queries folder is the top-level one: the packs' own subfolders are theirs."""
    files = [(f"ontology/{p.name}", p) for p in pack.ontology] + [(f"shapes/{p.name}", p) for p in pack.shapes]
    if pack.queries is not None and pack.queries.is_dir():
        for path in sorted(pack.queries.rglob("*.rq")):
            relative = path.relative_to(pack.queries)
            if (pack.name == resources.MODEL and relative.parts[0] in pack_names) or relative.parts[0] in NOT_ASSESSMENT:
                continue
            files.append((f"queries/{relative.as_posix()}", path))
    return sorted(files)


def _sha_of_files(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in files:
        entry = name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest()
        digest.update(entry)
    return digest.hexdigest()


def compute(knowledge) -> KnowledgeVersion:
    """The knowledge version of a Knowledge (computed once per Knowledge)."""
    names = {p.name for p in knowledge.packs}
    versions = {g.pack: g.version for g in knowledge.guidelines}
    packs = tuple(PackVersion(p.name, versions.get(p.name, ""), _sha_of_files(_pack_files(p, names))) for p in knowledge.packs)
    digest = hashlib.sha256("\n".join(f"{p.name} {p.sha256}" for p in packs).encode("utf-8")).hexdigest()
    return KnowledgeVersion(digest, packs)


def version_of(knowledge) -> KnowledgeVersion:
    return knowledge.derived(compute)


def knowledge_packs(spec: str | Path) -> tuple:
    """The packs a --knowledge value names (module docstring); InputRejected when it names none."""
    installed = resources.packs()
    if str(spec) == INSTALLED:
        return installed
    folder = Path(spec)
    if not folder.is_dir():
        raise InputRejected.one(str(spec), f"not a folder (a knowledge version is a pack folder, a folder laid out like the "
                                           f"repository root, or {INSTALLED!r})", field="--knowledge")
    if (folder / "ontology" / resources.MODEL).is_dir():
        replacing = [resources.pack_from_dir_tree(folder, child.name) for child in sorted((folder / "ontology").iterdir())
                     if child.is_dir() and child.name not in ("source",)]
    else:
        replacing = [resources.pack_from_dir(folder, f"--knowledge {folder}")]
    by_name = {p.name: p for p in replacing}
    kept = [by_name.pop(p.name, p) for p in installed]
    return (*kept, *by_name.values())


def load_version(spec: str | Path):
    """The Knowledge a --knowledge value names (cached per set of packs, as load_knowledge is)."""
    from .knowledge import load_packs

    return load_packs(knowledge_packs(spec))

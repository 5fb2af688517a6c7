"""A pre-parsed knowledge image: what load_knowledge reads from the packs, kept between runs.

Parsing the packs' Turtle with rdflib is most of a one-patient `assess` (about 1.5 s of
2). The image holds what the pipeline reads from that parse: the knowledge's quads (N-Quads,
parsed by pyoxigraph in about 30 ms), the tables load_knowledge reads from them, the derived
tables an assessment reads from the rdflib graph (IMAGE_TABLES).
The rdflib graph itself is not kept: a Knowledge from an image builds it from its quads and
prefixes the first time something asks for `knowledge.graph` (QC, coverage, the reference
reasoners; not `assess` with the default reasoner). load/fhir_check.py keeps the tables it
reads from the FHIR models in the same folder, in the same way (read_private/write_private).
At most KEEP images are kept, the newest.

The image is named by a SHA-256 of every file that makes the knowledge (the packs' ontology,
shapes and SPARQL, as knowledge_version hashes them), the b12kg, Python, pyoxigraph and
rdflib versions, the image format and the source of the modules computing its tables: an
edited pack file (or such module) names another image. It lives in
``$XDG_CACHE_HOME/b12kg/knowledge`` (``~/.cache/b12kg/knowledge``), or the folder named by
``B12KG_CACHE_DIR``; ``B12KG_NO_CACHE=1`` turns it off.

It is an optimisation only, and data only (JSON and N-Quads, no pickle: reading it runs no
code). Any failure to find, read, trust or write it falls back silently to parsing the packs,
and the answers are the same. It is read only when the file and its folder belong to the
user running b12kg and nobody else may write them (the folder is made 0700, the file 0600,
written to a temporary file and renamed into place), and only when its body matches the
SHA-256 in its header (a truncated or corrupt image is rebuilt, never believed). The checksum
catches damage, not a deliberate edit: whoever can write as the user can rewrite an image and
its checksum, as they could edit a pack installed for that user; the image is trusted as far
as the user's own files are (issue 14 removed the UCUM cache for this reason; the image is
kept because it makes a warm start about three times faster).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

FORMAT = 1
KEEP = 8
"""Images (and FHIR check tables) kept in the folder, the newest."""
MAGIC = b"b12kg-knowledge-image"
IMAGE_TABLES = (
    "b12kg.knowledge:Knowledge.value_set_members",
    "b12kg.knowledge:Knowledge._hierarchies",
    "b12kg.knowledge:Knowledge.dose_quantities",
    "b12kg.knowledge:Knowledge.contract_fields",
    "b12kg.knowledge:Knowledge.comparator_fields",
    "b12kg.knowledge:Knowledge.measure_order",
    "b12kg.knowledge:Knowledge.condition_text_labels",
    "b12kg.load.vocabulary:input_terms",
    "b12kg.load.scope:_counting_table",
    "b12kg.integration:_cited_guidelines",
)
"""The derived tables (Knowledge.derived) an assessment reads from the rdflib graph, kept in the
image so that `assess` never builds the graph (tests/test_knowledge_image.py: equal to a fresh
computation)."""


def enabled() -> bool:
    return os.environ.get("B12KG_NO_CACHE", "") in ("", "0")


def cache_dir() -> Path:
    named = os.environ.get("B12KG_CACHE_DIR")
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "b12kg" / "knowledge"


def key(packs: tuple) -> str:
    """The SHA-256 naming the image of these packs (module docstring)."""
    import pyoxigraph
    import rdflib

    from .knowledge_version import _pack_files, _sha_of_files
    from .version import __version__

    names = {p.name for p in packs}
    code = hashlib.sha256()  # the code that computes what the image holds: an edit names another image
    for module in sorted({name.split(":")[0] for name in IMAGE_TABLES} | {__name__, "b12kg.namespaces"}):
        code.update(Path(__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py").read_bytes())
    digest = hashlib.sha256(f"{code.hexdigest()}\n".encode())
    digest.update(f"{MAGIC.decode()} {FORMAT} {__version__} {sys.version} {pyoxigraph.__version__} {rdflib.__version__}\n"
                  .encode())
    for pack in packs:
        digest.update(f"{pack.name} {_sha_of_files(_pack_files(pack, names))}\n".encode())
        if pack.queries is not None and pack.queries.is_dir():  # every query file a rule may name, hashed or not above
            queries = sorted((p.relative_to(pack.queries).as_posix(), p) for p in pack.queries.rglob("*.rq"))
            digest.update(f"queries {_sha_of_files(queries)}\n".encode())
    return digest.hexdigest()


# --- a tagged JSON encoding of the tables (no pickle) ---------------------------------------------

def _classes() -> dict:
    from .knowledge import Analyte, CodeSystem, Guideline, Rule

    return {c.__name__: c for c in (Analyte, CodeSystem, Guideline, Rule)}


def encode(value):
    """`value` as JSON data; TypeError for a type the image does not hold."""
    import rdflib

    if value is None or type(value) in (str, int, bool):
        return value
    if type(value) is tuple:
        return {"t": [encode(v) for v in value]}
    if type(value) is list:
        return {"l": [encode(v) for v in value]}
    if type(value) in (set, frozenset):
        return {"s" if type(value) is set else "f": sorted((encode(v) for v in value), key=json.dumps)}
    if type(value) is dict:
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    if type(value) is rdflib.URIRef:
        return {"u": str(value)}
    if type(value) is Decimal:
        return {"n": str(value)}
    if type(value).__name__ in _classes() and type(value) is _classes()[type(value).__name__]:
        return {"c": type(value).__name__, "v": {f.name: encode(getattr(value, f.name)) for f in fields(value)}}
    raise TypeError(f"the knowledge image does not hold a {type(value).__name__}")


def decode(data, classes: dict | None = None):
    if not isinstance(data, dict):
        return data
    classes = classes if classes is not None else _classes()
    if "c" in data:
        return classes[data["c"]](**{k: decode(v, classes) for k, v in data["v"].items()})
    ((tag, body),) = data.items()
    if tag in ("t", "l", "s", "f"):
        items = [decode(v, classes) for v in body]
        return {"t": tuple, "l": list, "s": set, "f": frozenset}[tag](items)
    if tag == "d":
        return {decode(k, classes): decode(v, classes) for k, v in body}
    if tag == "u":
        import rdflib

        return rdflib.URIRef(body)
    if tag == "n":
        return Decimal(body)
    raise ValueError(f"unknown tag {tag!r} in the knowledge image")


def table_function(name: str):
    """The function computing a derived table, by its IMAGE_TABLES name."""
    from .knowledge import DERIVED_TABLES

    module, qualname = name.split(":")
    found = importlib.import_module(module)
    if name in DERIVED_TABLES:
        return DERIVED_TABLES[name]
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


# --- reading and writing ---------------------------------------------------------------------------

def _trusted_folder(folder: Path) -> bool:
    info = os.stat(folder, follow_symlinks=False)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


def read_private(name: str) -> bytes | None:
    """The body of the cache file `name`, or None: disabled, missing, not the user's own and
    private (file and folder), not a regular file, or not matching its SHA-256 line."""
    if not enabled():
        return None
    try:
        folder = cache_dir()
        if not _trusted_folder(folder):
            return None
        fd = os.open(folder / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
            first, body = stream.readline(), stream.read()
        if first.split() != [MAGIC, hashlib.sha256(body).hexdigest().encode()]:
            return None  # not an image, or truncated or altered since it was written
        return body
    except Exception:  # any failure: as if there were none
        return None


def writable() -> Path | None:
    """The cache folder, made when missing (0700), if it can hold files: enabled, its holder
    exists (no home is created for it), the user's own and private, writable."""
    if not enabled():
        return None
    try:
        folder = cache_dir()
        holder = folder.parent if os.environ.get("B12KG_CACHE_DIR") else folder.parent.parent.parent
        if not holder.is_dir():
            return None  # no home (or no folder holding the one named) to keep a cache in: none is created
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder if _trusted_folder(folder) and os.access(folder, os.W_OK) else None
    except Exception:
        return None


def write_private(name: str, body: bytes) -> None:
    """Keep `body` as the cache file `name` (private, written whole or not at all); failures are ignored."""
    try:
        folder = writable()
        if folder is None:
            return
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".image-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(MAGIC + b" " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            os.replace(temporary, folder / name)
        except BaseException:
            os.unlink(temporary)
            raise
        suffix = Path(name).suffix  # keep the newest KEEP of a kind: an edited pack leaves its old image behind
        kept = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except Exception:  # a cache that cannot be written changes nothing
        return


def read(packs: tuple):
    """The Knowledge of these packs from their image, or None (no image, not trusted, corrupt)."""
    try:
        body = read_private(f"{key(packs)}.image")
        if body is None:
            return None
        header, nquads = body.split(b"\n", 1)
        return _knowledge(packs, json.loads(header), nquads)
    except Exception:  # any failure: parse the packs instead
        return None


def _knowledge(packs: tuple, header: dict, nquads: bytes):
    import pyoxigraph as ox

    from .knowledge import Knowledge

    classes = _classes()
    quads = tuple(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    if len(quads) != header["quads"]:
        raise ValueError("the image's quads are incomplete")
    tables = {k: decode(v, classes) for k, v in header["knowledge"].items()}
    knowledge = Knowledge(graph=None, quads=quads, packs=packs, **tables)
    knowledge.__dict__["_image_tables"] = {name: decode(v, classes) for name, v in header["derived"].items()}
    bindings = [(str(prefix), str(namespace)) for prefix, namespace in header["bindings"]]
    knowledge.__dict__["_graph_from_image"] = lambda: graph_of(quads, bindings)
    return knowledge


def graph_of(quads: tuple, bindings: list[tuple[str, str]]):
    """The rdflib graph the quads were made from (load_knowledge): the same triples in the same
    order, with the same blank nodes as the quads, and the same prefixes."""
    import pyoxigraph as ox
    import rdflib

    xsd_string = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")
    terms: dict = {}

    def term(node):
        found = terms.get(node)
        if found is None:
            if type(node) is ox.NamedNode:
                found = rdflib.URIRef(node.value)
            elif type(node) is ox.BlankNode:
                found = rdflib.BNode(node.value)
            elif node.language:
                found = rdflib.Literal(node.value, lang=node.language)
            elif node.datatype == xsd_string:
                found = rdflib.Literal(node.value)  # a plain literal of the Turtle, as rdflib parsed it
            else:
                found = rdflib.Literal(node.value, datatype=rdflib.URIRef(node.datatype.value))
            terms[node] = found
        return found

    graph = rdflib.Graph()
    for prefix, namespace in bindings:
        graph.bind(prefix, namespace, override=False)
    graph.addN((term(q.subject), term(q.predicate), term(q.object), graph) for q in quads)
    return graph


KNOWLEDGE_FIELDS = ("analytes", "code_systems", "rules", "guideline_iri", "guideline_version", "version_iris", "guidelines",
                    "defined_in", "prefixes")


def write(knowledge, packs: tuple) -> None:
    """Keep the image of this Knowledge (built from the packs' Turtle); any failure is ignored."""
    if not enabled():
        return
    try:
        import pyoxigraph as ox

        derived = {}
        for name in IMAGE_TABLES:
            derived[name] = encode(knowledge.derived(table_function(name)))
        header = json.dumps({
            "knowledge": {name: encode(getattr(knowledge, name)) for name in KNOWLEDGE_FIELDS},
            "derived": derived,
            "quads": len(knowledge.quads),
            "bindings": [[prefix, str(namespace)] for prefix, namespace in knowledge.graph.namespaces()],
        }, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        body = header + b"\n" + ox.serialize(knowledge.quads, format=ox.RdfFormat.N_QUADS)
        write_private(f"{key(packs)}.image", body)
    except Exception:  # a cache that cannot be written changes nothing
        return

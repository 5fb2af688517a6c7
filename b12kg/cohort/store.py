"""The cohort store: assessments in an on-disk pyoxigraph (RocksDB) store, loaded transactionally.

Readers (named queries, the SPARQL endpoint, the cohort page) see committed loads only:
what a pending load wrote is hidden from them (`uncommitted`) until it is committed or
rolled back.

Each load (one `b12kg batch --store` or `b12kg load` run) is journalled in the catalogue
graph: it is marked pending; each group of assessments is first entered in the journal
(one atomic `extend`), then its graphs are written (the bulk loader); the load is marked
committed at the end. A load that
fails or is interrupted (an exception, Ctrl-C, a killed process) is rolled back, at once
or the next time the store is opened for writing: the graphs of the assessments it added
are dropped, so the store is as it was before. An assessment already in the store (same
patient, as-of date and input SHA-256, hence the same IRI) is skipped, so loading the same
input twice duplicates nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox

from ..dataset import partition
from ..errors import InputRejected
from ..namespaces import GM, ONTOLOGY_GRAPH
from .graphs import CATALOG_GRAPH, RDF_TYPE, ROLES, graph_of, owners_in, placed, shared_triples

XSD = "http://www.w3.org/2001/XMLSchema#"
LOAD_NS = "https://w3id.org/b12kg/load/"
FLUSH_EVERY = 200
"""Assessments written per atomic extend (bounds the memory of a load)."""
MAX_RDF_FILE_BYTES = 64 * 1024 * 1024
"""Largest assessment RDF file `b12kg load` reads."""
RDF_SUFFIXES = {".trig": ox.RdfFormat.TRIG, ".nq": ox.RdfFormat.N_QUADS}

_ONTOLOGY = ox.NamedNode(str(ONTOLOGY_GRAPH))
_P = {name: ox.NamedNode(str(GM[name])) for name in
      ("loadState", "loadedAssessment", "assessmentGraph", "Assessment", "CohortLoad", "assessedPatient", "asOf")}
_ADDED_KNOWLEDGE = ox.NamedNode(str(GM.addedKnowledge))
_LOADED_GRAPH = ox.NamedNode(str(GM.loadedGraph))
_STARTED = ox.NamedNode("http://www.w3.org/ns/prov#startedAtTime")
_REVISION_OF = ox.NamedNode("http://www.w3.org/ns/prov#wasRevisionOf")


def _now() -> ox.Literal:
    return ox.Literal(datetime.now(UTC).isoformat(timespec="seconds"), datatype=ox.NamedNode(XSD + "dateTime"))


class Uncommitted:
    """What the loads still pending in a store (a load under way, or one killed before it
    was rolled back) have written: readers must not see it (issue 18)."""

    def __init__(self, store: ox.Store, loads: list[ox.NamedNode]):
        self.subjects: set = set(loads)
        self.graphs: set = set()
        for load in loads:
            for quad in store.quads_for_pattern(load, _P["loadedAssessment"], None, CATALOG_GRAPH):
                self.subjects.add(quad.object)
                self.graphs.update(graph_of(quad.object.value, role) for role in ROLES)
            self.graphs.update(q.object for q in store.quads_for_pattern(load, _LOADED_GRAPH, None, CATALOG_GRAPH))
            self.graphs.add(ox.NamedNode(f"{load.value}/derived-knowledge"))
            if any(store.quads_for_pattern(load, _ADDED_KNOWLEDGE, None, CATALOG_GRAPH)):
                self.graphs.add(_ONTOLOGY)

    def visible(self, quad: ox.Quad) -> bool:
        if quad.graph_name in self.graphs:
            return False
        return not (quad.graph_name == CATALOG_GRAPH and quad.subject in self.subjects)

    def named_graphs(self, store: ox.Store) -> list[ox.NamedNode]:
        """The graphs a pyoxigraph query may read: all but the uncommitted ones and the
        catalogue (which holds entries of both; no named query reads it)."""
        return [g for g in store.named_graphs() if g not in self.graphs and g != CATALOG_GRAPH]


def uncommitted(store: ox.Store) -> Uncommitted | None:
    """What pending loads wrote, or None when every load in the store is committed."""
    loads = [q.subject for q in store.quads_for_pattern(None, _P["loadState"], ox.Literal("pending"), CATALOG_GRAPH)]
    return Uncommitted(store, loads) if loads else None


class CohortStore:
    """A cohort store on disk. Opened for writing by one process at a time (RocksDB's lock)."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path = Path(path)
        if read_only:
            if not (self.path / "CURRENT").exists():
                raise InputRejected.one(str(self.path), "not a b12kg cohort store (create one with b12kg batch --store or b12kg load)")
            self.store = ox.Store.read_only(str(self.path))
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self.store = ox.Store(str(self.path))
            self.recover()

    def close(self) -> None:
        """Flush and release the store (RocksDB files and lock) now rather than at garbage collection."""
        if self.store is not None:
            self.store.flush()
            self.store = None

    # --- reading -------------------------------------------------------------------

    def assessments(self) -> list[str]:
        """The IRIs of the committed assessments in the store."""
        hidden = uncommitted(self.store)
        return sorted(q.subject.value for q in self.store.quads_for_pattern(None, RDF_TYPE, _P["Assessment"], CATALOG_GRAPH)
                      if hidden is None or hidden.visible(q))

    def has(self, assessment: str) -> bool:
        return self.store.contains_named_graph(graph_of(assessment, "activity"))

    def select(self, query: str, bindings: dict[str, ox.NamedNode | ox.Literal] | None = None) -> list[dict]:
        """The rows of one of b12kg's own queries (trusted text) over the committed loads, as dicts of terms."""
        hidden = uncommitted(self.store)
        options = {"substitutions": {ox.Variable(k): v for k, v in (bindings or {}).items()}}
        if hidden is not None:
            options["named_graphs"] = hidden.named_graphs(self.store)
        solutions = self.store.query(query, **options)
        names = [v.value for v in solutions.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in solutions]

    def history(self) -> dict[str, list[tuple[str, str, str]]]:
        """(as-of, started, assessment) of every committed assessment, by patient IRI, in time order."""
        from ..resources import query_text

        found: dict[str, list[tuple[str, str, str]]] = {}
        for row in self.select(query_text("living/assessments.rq")):
            started = row["started"].value if "started" in row else ""
            found.setdefault(row["patient"].value, []).append((row["asOf"].value, started, row["assessment"].value))
        return found

    def pending_loads(self) -> list[ox.NamedNode]:
        return [q.subject for q in self.store.quads_for_pattern(None, _P["loadState"], ox.Literal("pending"), CATALOG_GRAPH)]

    # --- writing -------------------------------------------------------------------

    def recover(self) -> int:
        """Roll back every load left pending (an interrupted run); returns how many."""
        pending = self.pending_loads()
        for load in pending:
            self._rollback(load)
        return len(pending)

    def _rollback(self, load: ox.NamedNode) -> None:
        """Drop what `load` added. Idempotent: a rollback cut short is finished by the next one."""
        store = self.store
        for quad in list(store.quads_for_pattern(load, _P["loadedAssessment"], None, CATALOG_GRAPH)):
            assessment = quad.object
            for role in ROLES:
                graph = graph_of(assessment.value, role)
                if store.contains_named_graph(graph):
                    store.remove_graph(graph)
            for catalogued in list(store.quads_for_pattern(assessment, None, None, CATALOG_GRAPH)):
                store.remove(catalogued)
            store.remove(quad)
        for quad in list(store.quads_for_pattern(load, _LOADED_GRAPH, None, CATALOG_GRAPH)):
            if store.contains_named_graph(quad.object):
                store.remove_graph(quad.object)
            store.remove(quad)
        if any(store.quads_for_pattern(load, _ADDED_KNOWLEDGE, None, CATALOG_GRAPH)) and store.contains_named_graph(_ONTOLOGY):
            store.remove_graph(_ONTOLOGY)
        shared = ox.NamedNode(f"{load.value}/derived-knowledge")
        if store.contains_named_graph(shared):
            store.remove_graph(shared)
        for quad in list(store.quads_for_pattern(load, None, None, CATALOG_GRAPH)):
            store.remove(quad)
        store.flush()

    @contextmanager
    def loading(self, knowledge_quads: Iterable[ox.Quad] | None = None):
        """A transactional load: yields a Loader; commits on success, rolls back on any exception."""
        load = ox.NamedNode(f"{LOAD_NS}{uuid.uuid4()}")
        history = self.history()  # before the load is journalled: a query over a store with a pending load
        # must list every graph it may read, which Oxigraph evaluates graph by graph (1.4 s at 2,000 patients)
        journal = [ox.Quad(load, RDF_TYPE, _P["CohortLoad"], CATALOG_GRAPH),
                   ox.Quad(load, _P["loadState"], ox.Literal("pending"), CATALOG_GRAPH),
                   ox.Quad(load, _STARTED, _now(), CATALOG_GRAPH)]
        self.store.extend(journal)
        loader = Loader(self, load, history)
        try:
            if knowledge_quads is not None and not self.store.contains_named_graph(_ONTOLOGY):
                self.store.extend([*knowledge_quads, ox.Quad(load, _ADDED_KNOWLEDGE, ox.Literal(True), CATALOG_GRAPH)])
            yield loader
            loader.flush()
            if loader.added == 0 and loader.graphs_added == 0 and not any(self.store.quads_for_pattern(load, _ADDED_KNOWLEDGE, None, CATALOG_GRAPH)):
                self._rollback(load)  # nothing new: leave no trace of the load
                return
            self.store.extend([ox.Quad(load, _P["loadState"], ox.Literal("committed"), CATALOG_GRAPH)])
            self.store.remove(ox.Quad(load, _P["loadState"], ox.Literal("pending"), CATALOG_GRAPH))
            self.store.flush()
        except BaseException:
            self._rollback(load)
            raise


class Loader:
    """Adds assessments within one load, in atomic groups of FLUSH_EVERY."""

    def __init__(self, cohort: CohortStore, load: ox.NamedNode, history: dict[str, list[tuple[str, str, str]]]):
        self.cohort, self.load = cohort, load
        self.shared_graph = ox.NamedNode(f"{load.value}/derived-knowledge")
        self.added = self.skipped = self.revised = self.graphs_added = 0
        self._history = history
        self._buffer: list[ox.Quad] = []
        self._catalog: list[ox.Quad] = []
        self._pending: set[str] = set()
        self._shared: set[ox.Triple] = set()

    def add_dataset(self, quads: list[ox.Quad], source: str = "<dataset>") -> bool:
        """Add one assessment's dataset (pipeline graphs); False when it is already in the store."""
        owners = owners_in(quads)
        if len(owners) != 1:
            raise InputRejected.one(source, f"holds {len(owners)} assessments; a b12kg assessment dataset holds exactly one "
                                            "(write one file per assessment with b12kg assess --format trig)")
        owner = owners[0]
        _check_identity(owner.assessment, owner.patient, source)
        if owner.assessment in self._pending or self.cohort.has(owner.assessment):
            self.skipped += 1
            return False
        mine, shared = partition(quads, owners)
        own = placed(owner.assessment, mine[owner.assessment])
        catalog = [ox.Quad(self.load, _P["loadedAssessment"], ox.NamedNode(owner.assessment), CATALOG_GRAPH),
                   ox.Quad(ox.NamedNode(owner.assessment), RDF_TYPE, _P["Assessment"], CATALOG_GRAPH),
                   ox.Quad(ox.NamedNode(owner.assessment), _P["assessedPatient"], ox.NamedNode(owner.patient), CATALOG_GRAPH)]
        own += self._revision(owner.assessment, owner.patient, own)
        catalog += [ox.Quad(ox.NamedNode(owner.assessment), _P["assessmentGraph"], g, CATALOG_GRAPH) for g in {q.graph_name for q in own}]
        self._buffer += own
        self._catalog += catalog
        self._shared |= shared_triples(shared)
        self._pending.add(owner.assessment)
        self.added += 1
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()
        return True

    def history(self) -> dict[str, list[tuple[str, str, str]]]:
        """(as-of, started, assessment) of every committed assessment when the load began, by
        patient IRI, in time order; kept up to date as this load adds assessments."""
        return self._history

    def _revision(self, assessment: str, patient: str, own: list[ox.Quad]) -> list[ox.Quad]:
        """`assessment prov:wasRevisionOf previous`, previous being the patient's latest assessment
        (by as-of date, then start time) at or before this one, in the activity graph."""
        node, activity = ox.NamedNode(assessment), graph_of(assessment, "activity")
        as_of = next((q.object.value for q in own if q.subject == node and q.predicate == _P["asOf"]), "")
        started = next((q.object.value for q in own if q.subject == node and q.predicate == _STARTED), "")
        earlier = self.history().setdefault(patient, [])
        before = [entry for entry in earlier if (entry[0], entry[1]) <= (as_of, started)]
        self.revised += bool(earlier)  # the patient was assessed before (a revision), else new
        earlier.append((as_of, started, assessment))
        earlier.sort()
        if not before:  # back-filled: every assessment of the patient is later than this one
            return []
        return [ox.Quad(node, _REVISION_OF, ox.NamedNode(max(before)[2]), activity)]

    def add_graph(self, graph: ox.NamedNode, quads: list[ox.Quad]) -> bool:
        """Add one named graph that belongs to no assessment (e.g. a clinician's feedback on a card),
        journalled with the load; False when the store already holds it."""
        store = self.cohort.store
        if store.contains_named_graph(graph):
            self.skipped += 1
            return False
        if any(q.graph_name != graph for q in quads):
            raise ValueError(f"every quad of graph {graph.value} must be in it")
        store.extend([ox.Quad(self.load, _LOADED_GRAPH, graph, CATALOG_GRAPH)])
        store.extend(quads)
        self.graphs_added += 1
        return True

    def flush(self) -> None:
        """Write the buffered assessments: first their journal and catalogue entries (one
        atomic extend), then their graphs with the bulk loader (fast, not atomic: if it is
        cut short, the journal already names every graph the rollback must drop)."""
        store = self.cohort.store
        new_shared = [ox.Quad(t.subject, t.predicate, t.object, self.shared_graph) for t in self._shared
                      if not any(isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.endswith("/derived-knowledge")
                                 for q in store.quads_for_pattern(t.subject, t.predicate, t.object, None))]
        if self._catalog:
            store.extend(self._catalog)
        if self._buffer or new_shared:
            store.bulk_extend(self._buffer + new_shared)
        self._buffer, self._catalog, self._pending, self._shared = [], [], set(), set()


def _check_identity(assessment: str, patient: str, source: str) -> None:
    """The assessment IRI is {patient}/assessment/{as-of}/{sha256} (contract section 7)."""
    prefix = f"{patient}/assessment/"
    rest = assessment[len(prefix):] if assessment.startswith(prefix) else ""
    day, _, digest = rest.partition("/")
    if len(day) != 10 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InputRejected.one(source, f"assessment {assessment} is not named by patient, as-of date and input SHA-256 "
                                        "(written by an older b12kg?): assess the patient again", field="gm:Assessment")


def read_dataset(path: Path) -> list[ox.Quad]:
    """The quads of one assessment file (`b12kg assess --format trig`, or N-Quads). Nothing is fetched."""
    fmt = RDF_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputRejected.one(str(path), f"not an assessment dataset: expected {' or '.join(RDF_SUFFIXES)} "
                                           "(b12kg assess --format trig)")
    if not path.is_file():
        raise InputRejected.one(str(path), "not a regular file")
    with path.open("rb") as handle:
        data = handle.read(MAX_RDF_FILE_BYTES + 1)
    if len(data) > MAX_RDF_FILE_BYTES:
        raise InputRejected.one(str(path), f"larger than the limit of {MAX_RDF_FILE_BYTES // (1024 * 1024)} MiB", rule="limit")
    try:
        return list(ox.parse(data, format=fmt))
    except SyntaxError as exc:
        raise InputRejected.one(str(path), f"not valid {path.suffix[1:].upper()}: {exc}") from None

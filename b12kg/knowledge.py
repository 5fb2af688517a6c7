"""The knowledge of every pack, merged and read once per process.

Each pack's ontology files are parsed and merged into one graph; Python reads the
tables it needs to orchestrate (analytes and their units, code systems, the guidelines,
the ordered rules) from it with SPARQL; it holds no clinical value of its own. Rule
order is data: each rule's gm:phase (classification before the reasoner, derivation
after it, interaction last), then gm:dependsOn and gm:stage within a phase.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TypeVar

import pyoxigraph as ox
import rdflib
from rdflib import OWL, RDF, RDFS, SKOS

from . import resources
from .namespaces import GM, ONTOLOGY_GRAPH, PREFIXES
from .rdfterms import to_ox
from .sparql import select

T = TypeVar("T")


DERIVED_TABLES: dict[str, Callable] = {}
"""'module:qualname' -> the function of each derived_table (the knowledge image names them so)."""


def derived_table(compute: Callable[[Knowledge], T]) -> property:
    """A Knowledge attribute computed from the knowledge once, through Knowledge.derived: the
    one caching mechanism for what is read from a Knowledge (here and in other modules alike)."""
    DERIVED_TABLES[f"{compute.__module__}:{compute.__qualname__}"] = compute
    return property(lambda knowledge: knowledge.derived(compute), doc=compute.__doc__)


_GRAPH_LOCK = threading.Lock()


class _LazyGraph:
    """Knowledge.graph: the rdflib graph given, or, for a Knowledge read from a knowledge image
    (knowledge_image.py), built from its quads (the same triples, blank nodes included, and
    prefixes) the first time it is asked for."""

    def __get__(self, knowledge, owner=None):
        if knowledge is None:
            raise AttributeError("graph")  # a field without a default
        graph = knowledge.__dict__.get("_graph")
        if graph is None:
            with _GRAPH_LOCK:
                graph = knowledge.__dict__.get("_graph")
                if graph is None:
                    rebuild = knowledge.__dict__.get("_graph_from_image")
                    graph = rebuild() if rebuild is not None else _merged(knowledge.packs)[0]
                    knowledge.__dict__["_graph"] = graph
        return graph

    def __set__(self, knowledge, graph) -> None:
        knowledge.__dict__["_graph"] = graph


@dataclass(frozen=True)
class Analyte:
    """A laboratory quantity the guideline reads, with its unit rules."""

    iri: str
    label: str
    codes: frozenset[str]
    accepted_units: frozenset[str]
    canonical_unit: str
    mass_per_substance: Decimal | None
    plausible_min: Decimal | None
    plausible_max: Decimal | None


@dataclass(frozen=True)
class CodeSystem:
    """A terminology: its FHIR system URI and the namespace of its concept IRIs."""

    iri: str
    system_uri: str
    namespace: str


@dataclass(frozen=True)
class Rule:
    """A rule of a pack, implemented by a SPARQL file of that pack."""

    iri: str
    stage: int
    query_path: str
    query: str
    phase: str = ""
    phase_order: int = 0
    before_reasoning: bool = False
    pack: str = ""


@dataclass(frozen=True)
class Guideline:
    """A guideline that was loaded, from its gm:Guideline individual."""

    iri: str
    version: str
    title: str
    pack: str
    primary: bool


def _decimal(term: ox.Literal | None) -> Decimal | None:
    return Decimal(term.value) if term is not None else None


@dataclass(frozen=True)
class Knowledge:
    """Everything b12kg knows about the guideline, prepared once."""

    graph: rdflib.Graph = _LazyGraph()  # type: ignore[assignment]
    """The merged ontology as an rdflib graph (parsed on first use when the knowledge came from an image)."""
    quads: tuple[ox.Quad, ...]
    analytes: tuple[Analyte, ...]
    code_systems: tuple[CodeSystem, ...]
    rules: tuple[Rule, ...]
    guideline_iri: str
    guideline_version: str
    version_iris: tuple[str, ...]
    guidelines: tuple[Guideline, ...] = ()
    packs: tuple = ()
    defined_in: tuple[tuple[str, str], ...] = ()
    """(subject IRI, pack name) for every subject typed in a pack: QC finds IRIs defined twice."""
    prefixes: tuple[tuple[str, str], ...] = ()
    """The model's prefixes and those the packs' files declare (first declaration wins), for user queries and RDF output."""

    @derived_table
    def value_set_members(self) -> frozenset[rdflib.URIRef]:
        """Every coded concept in one of the guideline's value sets (the codes it reads), and
        every group a value set names whole (a restriction on skos:broader, e.g. ATC A02BC)."""
        value_sets = set(self.graph.subjects(RDF.type, GM.ValueSet))
        members = {c for c, cls in self.graph.subject_objects(RDF.type) if cls in value_sets}
        for restriction in self.graph.subjects(OWL.onProperty, SKOS.broader):
            if any(parent in value_sets for parent in self.graph.objects(restriction, RDFS.subClassOf)):
                members.update(self.graph.objects(restriction, OWL.hasValue))
        return frozenset(members)

    @derived_table
    def _hierarchies(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """(concept namespace, prefix lengths) of each code system whose groups are code prefixes."""
        found = []
        for system in self.code_systems:
            lengths = sorted(int(n) for n in self.graph.objects(rdflib.URIRef(system.iri), GM.hierarchicalByPrefix))
            if lengths:
                found.append((system.namespace, tuple(lengths)))
        return tuple(found)

    def reads_code(self, concept: str) -> bool:
        """Whether a guideline reads this coded concept: a value set holds it, or one of its
        groups (a prefix of a code in a hierarchical code system such as ATC or ICD-10)."""
        if rdflib.URIRef(concept) in self.value_set_members:
            return True
        for namespace, lengths in self._hierarchies:
            if concept.startswith(namespace):
                notation = concept[len(namespace):]
                return any(rdflib.URIRef(namespace + notation[:n]) in self.value_set_members for n in lengths if len(notation) > n)
        return False

    def reads_any(self, concepts) -> bool:
        return any(self.reads_code(str(c)) for c in concepts)

    @derived_table
    def condition_text_labels(self) -> tuple[str, ...]:
        """Lower-case words that name a condition a guideline reads in free text (skos:hiddenLabel
        of a value set): a Condition whose code is not read but whose text holds one is reported."""
        value_sets = set(self.graph.subjects(RDF.type, GM.ValueSet))
        return tuple(sorted({str(label).lower() for vs in value_sets for label in self.graph.objects(vs, SKOS.hiddenLabel)}))

    def names_condition_read(self, texts: list[str]) -> bool:
        return any(label in text.lower() for text in texts for label in self.condition_text_labels)

    @property
    def queries(self) -> NamedQueries:
        """Every SPARQL file of every pack, read once, by name: its path under the queries folder
        without '.rq' ('report/conclusions', 'b12/derive/baseline'); an added pack's under its name."""
        return self.derived(NamedQueries.of)

    @property
    def store(self) -> ox.Store:
        """The knowledge in a pyoxigraph store of its own (ontology graph), built once: for queries
        over the knowledge alone (listings, exports). Read it, never write to it."""
        return self.derived(_knowledge_store)

    def derived(self, compute: Callable[[Knowledge], T]) -> T:
        """`compute(self)`, computed once per Knowledge: the tables other stages read from
        the knowledge (patient vocabulary, medication statuses, FHIR output vocabulary)."""
        table = self.__dict__.setdefault("_derived", {})  # a frozen dataclass: its own dict
        if compute not in table:
            kept = self.__dict__.get("_image_tables", {})  # a Knowledge read from a knowledge image
            name = f"{getattr(compute, '__module__', '')}:{getattr(compute, '__qualname__', '')}"
            table[compute] = kept[name] if name in kept else compute(self)
        return table[compute]

    def analyte_for_code(self, concept_iri: str) -> Analyte | None:
        for analyte in self.analytes:
            if concept_iri in analyte.codes:
                return analyte
        return None

    def analyte(self, iri: str) -> Analyte:
        return next(a for a in self.analytes if a.iri == iri)

    def dose_analyte(self) -> Analyte:
        """The quantity medication doses are normalised to (the pack's gm:DoseQuantity)."""
        found = [a for a in self.analytes if a.iri in self.dose_quantities]
        if len(found) != 1:
            raise ValueError(f"exactly one gm:DoseQuantity analyte is needed, the packs define {len(found)}")
        return found[0]

    @derived_table
    def dose_quantities(self) -> frozenset[str]:
        return frozenset(str(a) for a in self.graph.subjects(RDF.type, GM.DoseQuantity))

    @derived_table
    def contract_fields(self) -> tuple[str, ...]:
        """The keys under which conclusions report values (gm:contractField on a property), in a stable order."""
        return tuple(sorted({str(f) for f in self.graph.objects(None, GM.contractField)}))

    @derived_table
    def comparator_fields(self) -> frozenset[str]:
        """Contract keys of comparators of censored values (gm:comparatorOf): reported only when set."""
        return frozenset(str(f) for p in self.graph.subjects(GM.comparatorOf, None) for f in self.graph.objects(p, GM.contractField))

    @derived_table
    def measure_order(self) -> dict[str, int]:
        """Follow-up measure code -> its position in the report (gm:FollowUpMeasure, gm:reportOrder)."""
        order = {}
        for measure in self.graph.subjects(RDF.type, GM.FollowUpMeasure):
            code, position = self.graph.value(measure, GM.code), self.graph.value(measure, GM.reportOrder)
            if code is not None and position is not None:
                order[str(code)] = int(position)
        return order

    def reported_values(self) -> tuple[tuple[str, str, str], ...]:
        """(contract key, label, unit) of each value a conclusion reports (gm:contractField on a property)."""
        found = []
        for prop, key in self.graph.subject_objects(GM.contractField):
            if (prop, GM.comparatorOf, None) in self.graph:
                continue  # shown with its value, not as a value of its own
            label = self.graph.value(prop, rdflib.RDFS.label)
            unit = self.graph.value(prop, GM.unit)
            found.append((str(key), str(label) if label is not None else str(key), str(unit) if unit is not None else ""))
        return tuple(sorted(found))

    def guideline_value(self, prop, default: str = "") -> str:
        """A literal of the primary guideline (its short title, status label ...)."""
        value = self.graph.value(rdflib.URIRef(self.guideline_iri), prop)
        return str(value) if value is not None else default

    def code_system(self, system_uri: str) -> CodeSystem | None:
        return next((cs for cs in self.code_systems if cs.system_uri == system_uri), None)


class NamedQueries(dict):
    """Query name -> text, for every .rq file of the loaded packs (read once, Knowledge.queries)."""

    @classmethod
    def of(cls, knowledge: Knowledge) -> NamedQueries:
        found = cls()
        roots = []
        for pack in knowledge.packs:
            if pack.queries is None or not pack.queries.is_dir():
                continue
            under_model = pack.name == resources.MODEL or _inside(pack.queries, resources.data_dir("queries"))
            prefix = "" if under_model else f"{pack.name}/"
            root = resources.data_dir("queries") if under_model else pack.queries
            if root not in roots:
                roots.append(root)
                for path in sorted(root.rglob("*.rq")):
                    found[prefix + path.relative_to(root).with_suffix("").as_posix()] = path.read_text(encoding="utf-8")
        return found

    def __missing__(self, name: str) -> str:
        raise KeyError(f"no query named {name!r} in the loaded packs (queries/{name}.rq)")


def _inside(path, root) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _knowledge_store(knowledge: Knowledge) -> ox.Store:
    store = ox.Store()
    store.extend(knowledge.quads)
    return store


DEFINING_NAMESPACES = (str(GM), "http://www.w3.org/2002/07/owl#")
"""A pack defines an IRI when it types it with a model or OWL class (a value-set membership
of a shared code, typed with a pack's own class, defines nothing)."""


def load_knowledge(extra: tuple | None = None) -> Knowledge:
    """The merged knowledge of every pack (cached per process and per set of packs)."""
    return _load(resources.packs(None if extra is None else tuple(extra)))


def load_packs(packs: tuple) -> Knowledge:
    """The merged knowledge of the given packs (model first; cached per set of packs)."""
    return _load(tuple(packs))


RULES_QUERY = """
SELECT ?rule ?path ?stage ?phase ?order ?before WHERE {
  { ?rule a gm:Rule } UNION { ?rule a gm:InteractionRule }
  ?rule gm:implementedBy ?path .
  OPTIONAL { ?rule gm:stage ?stage }
  OPTIONAL { ?rule gm:phase ?phase . ?phase gm:phaseOrder ?order ; gm:beforeReasoning ?before }
}"""


def _ordered(rules: list[Rule], depends: dict[str, set[str]]) -> tuple[Rule, ...]:
    """Phase first; within a phase a rule runs after the rules it depends on, then by stage and path."""
    pending = sorted(rules, key=lambda r: (r.phase_order, r.stage, r.query_path))
    done: list[Rule] = []
    names = {r.iri for r in rules}
    while pending:
        ready = next((r for r in pending if not (depends.get(r.iri, set()) & names) - {d.iri for d in done}), None)
        if ready is None:
            cycle = ", ".join(r.iri for r in pending)
            raise ValueError(f"the rules' gm:dependsOn form a cycle among: {cycle}")
        done.append(ready)
        pending.remove(ready)
    return tuple(done)


def _parse(pack) -> rdflib.Graph:
    graph = rdflib.Graph(bind_namespaces="none")
    for path in pack.ontology:
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # a pack's file is input like any other
            from .errors import InputRejected

            raise InputRejected.one(str(path), f"not valid Turtle: {exc}", rule=f"guideline pack {pack.name}") from None
    return graph


@cache
def _load(packs: tuple) -> Knowledge:
    """The knowledge of the packs: from its image when one is kept for these very files
    (knowledge_image.py), otherwise parsed (and its image written)."""
    from . import knowledge_image

    knowledge = knowledge_image.read(packs)
    if knowledge is None:
        knowledge = _parsed(packs)
        knowledge_image.write(knowledge, packs)
    return knowledge


def _merged(packs: tuple) -> tuple[rdflib.Graph, set[tuple[str, str]], dict[str, str], dict[str, str]]:
    """Every pack's ontology parsed and merged: the graph, (subject, pack) definitions,
    the prefixes, and the pack that first defines each subject."""
    graph = rdflib.Graph()
    defined_in: set[tuple[str, str]] = set()
    prefixes = dict(PREFIXES)
    pack_of_subject: dict[str, str] = {}
    for pack in packs:
        part = _parse(pack)
        for subject, kind in part.subject_objects(RDF.type):
            if isinstance(subject, rdflib.URIRef) and str(kind).startswith(DEFINING_NAMESPACES):
                defined_in.add((str(subject), pack.name))
                pack_of_subject.setdefault(str(subject), pack.name)
        graph += part
        for prefix, namespace in part.namespaces():
            graph.bind(prefix, namespace, override=False)
            if prefix and prefix not in prefixes and str(namespace) not in prefixes.values():
                prefixes[prefix] = str(namespace)
    return graph, defined_in, prefixes, pack_of_subject


def _parsed(packs: tuple) -> Knowledge:
    """Parse every pack's ontology and read the tables the pipeline needs."""
    graph, defined_in, prefixes, pack_of_subject = _merged(packs)
    by_name = {pack.name: pack for pack in packs}
    store = ox.Store()
    quads = tuple(ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(str(ONTOLOGY_GRAPH))) for s, p, o in graph)
    store.extend(quads)

    analytes = []
    measured_as = select(store, "SELECT ?a ?c WHERE { ?a gm:measuredAs ?c }")
    accepted = select(store, "SELECT ?a ?u WHERE { ?a gm:acceptedUnit ?u }")
    for row in select(store, """
        SELECT ?a ?label ?canonical ?mass ?min ?max WHERE {
          ?a a gm:Analyte ; skos:prefLabel ?label ; gm:canonicalUnit ?canonical .
          OPTIONAL { ?a gm:massPerSubstance ?mass } OPTIONAL { ?a gm:plausibleMin ?min }
          OPTIONAL { ?a gm:plausibleMax ?max } }"""):
        iri = row["a"].value
        codes = {r["c"].value for r in measured_as if r["a"].value == iri}
        units = {r["u"].value for r in accepted if r["a"].value == iri}
        analytes.append(Analyte(
            iri=iri, label=row["label"].value, codes=frozenset(codes), accepted_units=frozenset(units),
            canonical_unit=row["canonical"].value, mass_per_substance=_decimal(row.get("mass")),
            plausible_min=_decimal(row.get("min")), plausible_max=_decimal(row.get("max"))))

    code_systems = tuple(
        CodeSystem(iri=r["cs"].value, system_uri=r["uri"].value, namespace=r["ns"].value)
        for r in select(store, "SELECT ?cs ?uri ?ns WHERE { ?cs a gm:CodeSystem ; gm:systemUri ?uri ; gm:conceptNamespace ?ns }"))

    rules = []
    for r in select(store, RULES_QUERY):
        iri = r["rule"].value
        pack = by_name[pack_of_subject.get(iri, packs[0].name)]
        phase = r.get("phase")
        query_file = pack.query_file(r["path"].value)
        rules.append(Rule(iri=iri, stage=int(r["stage"].value) if "stage" in r else 0, query_path=r["path"].value,
                          query=query_file.read_text(encoding="utf-8") if query_file.is_file() else "",
                          phase=phase.value if phase is not None else "", pack=pack.name,
                          phase_order=int(r["order"].value) if phase is not None else 2,
                          before_reasoning=phase is not None and r["before"].value == "true"))
    depends: dict[str, set[str]] = {}
    for r in select(store, "SELECT ?rule ?other WHERE { ?rule gm:dependsOn ?other }"):
        depends.setdefault(r["rule"].value, set()).add(r["other"].value)

    guidelines = tuple(sorted((
        Guideline(iri=r["guideline"].value, version=r["v"].value, title=r["t"].value,
                  pack=pack_of_subject.get(r["guideline"].value, ""), primary="p" in r and r["p"].value == "true")
        for r in select(store, """SELECT ?guideline ?v ?t ?p WHERE { ?guideline a gm:Guideline ; owl:versionInfo ?v ; dct:title ?t .
                                  OPTIONAL { ?guideline gm:primary ?p } }""")), key=lambda g: (not g.primary, g.iri)))
    primary = [g for g in guidelines if g.primary]
    if len(primary) != 1:
        raise ValueError(f"exactly one guideline must be marked gm:primary true, found {len(primary)}: "
                         f"{', '.join(g.iri for g in primary) or 'none'}")
    version_iris = tuple(sorted(r["v"].value for r in select(store, "SELECT ?v WHERE { ?o a owl:Ontology ; owl:versionIRI ?v }")))
    return Knowledge(graph=graph, quads=quads, analytes=tuple(analytes), code_systems=code_systems,
                     rules=_ordered(rules, depends), guideline_iri=primary[0].iri, guideline_version=primary[0].version,
                     version_iris=version_iris, guidelines=guidelines, packs=packs, defined_in=tuple(sorted(defined_in)),
                     prefixes=tuple(prefixes.items()))

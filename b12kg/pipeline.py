"""The pipeline: load -> validate -> classify -> reason -> derive -> provenance, one chunk at a time.

An Assessor prepares the ontology, shapes, rules and reasoner once and is reused for
every patient of a process (CLI call, batch or server). Each chunk of patients is assessed
in one store, returned as an AssessmentSet (dataset.py): the store with its named graphs,
its patients and their contract JSON (rendered once for the chunk, render/contract.py).
Everything else (RDF, FHIR, explanations, cards, the cohort store) reads that set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import pyoxigraph as ox

from . import reason
from .chunks import CHUNK_SIZE, chunked
from .dataset import AssessmentSet, PatientView
from .derive import run_rules
from .errors import InputRejected
from .knowledge import Knowledge, load_knowledge
from .load import LoadedPatient, load_patient
from .load.convert import put_facts, rdflib_triples
from .load.convert import to_ox as fact_term
from .namespaces import (
    ASSERTED_GRAPH,
    ASSESSMENT_GRAPH,
    CITED_GRAPH,
    CONCLUDED_GRAPH,
    GM,
    IGNORED_GRAPH,
    INFERRED_GRAPH,
    PROVENANCE_GRAPH,
)
from .provenance import CITED_KNOWLEDGE_QUERIES, assessment_node, assessment_quads, provenance_queries
from .render.contract import documents
from .sparql import add, construct
from .validate import validate_chunk, validate_input


def _time_budget() -> float:
    text = os.environ.get("B12KG_TIME_BUDGET", "30")
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise SystemExit(f"b12kg: B12KG_TIME_BUDGET must be a number of seconds between 0 and 3600, not {text!r}")
    return seconds


MAX_SECONDS_PER_PATIENT = _time_budget()
"""Time budget for one patient (B12KG_TIME_BUDGET, default 30 s). The pipeline checks it
between steps (each rule, the reasoner); inside a step it is enforced from outside: by
the watchdog (b12kg.watchdog) for one patient, by stopping the worker in a batch."""


def population_asserted(loaded: LoadedPatient, as_of: date, graph: ox.NamedNode) -> list[ox.Quad]:
    """The caller's assertion that the patient belongs to the guideline's population, on the
    assessment (read by queries/b12/derive/population.rq)."""
    node = assessment_node(loaded.node, as_of, loaded.source_sha256)
    return [ox.Quad(node, ox.NamedNode(str(GM.populationAsserted)), ox.Literal(True), graph)]

Assessment = PatientView
"""One patient's assessment: its contract JSON (`.document`), its dataset (`.quads`) and its place in the
chunk's store (dataset.PatientView)."""


class Assessor:
    """Prepared once, assesses many patients."""

    def __init__(self, reasoner: str = reason.DEFAULT, knowledge: Knowledge | None = None, in_population: bool = False,
                 budget: float | None = None):
        self.knowledge = knowledge or load_knowledge()
        self.budget = MAX_SECONDS_PER_PATIENT if budget is None else budget
        """Seconds one patient may take (checked between steps; the watchdog or the batch worker enforces it inside one)."""
        self.in_population = in_population
        """The caller asserts every patient belongs to the guideline's population (--in-population, contract section 5)."""
        # the compiled reasoner reads the knowledge's quads: no rdflib graph for it (knowledge_image.py)
        self.reasoner = reason.make_reasoner(reasoner, self.knowledge if reasoner == "compiled" else self.knowledge.graph)
        missing = [f"{r.iri} ({r.pack}: {r.query_path})" for r in self.knowledge.rules if not r.query]
        if missing:
            raise FileNotFoundError(f"rules whose query file is missing: {', '.join(missing)}")
        self.classify_rules = [r for r in self.knowledge.rules if r.before_reasoning]
        later = [r for r in self.knowledge.rules if not r.before_reasoning]
        self.later_phases = [[r for r in later if r.phase_order == order] for order in sorted({r.phase_order for r in later})]
        """The rules after the reasoner, phase by phase (derivation, then interactions between guidelines): data, not code."""
        self.provenance = provenance_queries(self.knowledge)
        self.cited_knowledge = [self.knowledge.queries[q] for q in CITED_KNOWLEDGE_QUERIES]
        self._store: ox.Store | None = None

    @property
    def store(self) -> ox.Store:
        """The store of the latest run (each run gets a fresh one: a store cleared and refilled
        gets slower and keeps its memory, PERFORMANCE-NOTES.md); before any run, one holding the
        ontology, made when first asked for (not at start-up: a run makes its own)."""
        if self._store is None:
            self._store = self.new_store()
        return self._store

    @store.setter
    def store(self, store: ox.Store) -> None:
        self._store = store

    def new_store(self) -> ox.Store:
        """A fresh in-memory store holding the ontology (about 2.5 ms)."""
        store = ox.Store()
        store.extend(self.knowledge.quads)
        return store

    def load(self, path: Path, as_of: date, input_format: str | None = None, validate: bool = True) -> LoadedPatient:
        """Load and validate one patient file (raises InputRejected). Without `validate`, its input
        shapes are checked with its chunk's (assess_loaded_many: one SHACL run per chunk)."""
        loaded = load_patient(Path(path), self.knowledge, as_of, input_format)
        if validate:
            validate_input(loaded, self.knowledge)
        return loaded

    def assess(self, path: Path, as_of: date, input_format: str | None = None) -> Assessment:
        """Assess one patient file as of a date."""
        return self.assess_loaded(self.load(path, as_of, input_format), as_of)

    def assess_loaded(self, loaded: LoadedPatient, as_of: date) -> Assessment:
        """Assess one loaded patient."""
        return self.assess_set([loaded], as_of).views()[0]

    def assess_set(self, patients: list[LoadedPatient], as_of: date) -> AssessmentSet:
        """Assess loaded patients in one store (their nodes must not overlap: assess_loaded_many
        chunks them so): the set, with each patient's contract JSON."""
        store = self._run(patients, as_of)
        assessments = [assessment_node(p.node, as_of, p.source_sha256) for p in patients]
        found = AssessmentSet(store=store, as_of=as_of, patients=list(patients), assessments=assessments)
        found.documents = documents(found, self.knowledge)
        return found

    def assess_many(self, paths: Iterable[Path], as_of: date, input_format: str | None = None,
                    chunk_size: int = CHUNK_SIZE) -> Iterator[tuple[Path, Assessment | InputRejected | Exception]]:
        """Assess many files, in input order, with one reasoning and rule run per chunk.

        A rejected file is yielded as its InputRejected, a defect as its exception; an
        assessment is a view of its chunk's set (its document, and its dataset on demand).
        """
        for part in chunked((Path(p) for p in paths), chunk_size):
            loaded: list[LoadedPatient | Exception] = []
            for path in part:
                try:
                    loaded.append(self.load(path, as_of, input_format, validate=False))
                except Exception as exc:  # InputRejected, or a loader defect on one file
                    loaded.append(exc)
            found = iter(self.assess_loaded_many([x for x in loaded if isinstance(x, LoadedPatient)], as_of, chunk_size))
            for path, item in zip(part, loaded, strict=True):
                yield path, item if isinstance(item, Exception) else next(found)

    def assess_loaded_many(self, patients: list[LoadedPatient], as_of: date,
                           chunk_size: int = CHUNK_SIZE) -> list[Assessment | Exception]:
        """The assessments of loaded patients (or the exception of each that failed), in order.

        Patients share a store, one reasoner call and one run of each rule per chunk
        (every rule joins on the patient); patients whose nodes overlap go to separate
        chunks, and a chunk that fails is re-run patient by patient so one defect stops
        no one else. The input shapes of patients not yet validated are checked once per
        chunk: one that breaks them is its InputRejected.
        """
        results: list[Assessment | Exception] = []
        for chunk in chunked(patients, chunk_size, keys=lambda loaded: set(loaded.facts.subjects())):
            rejected = validate_chunk(chunk, self.knowledge)
            valid = [p for p, problem in zip(chunk, rejected, strict=True) if problem is None]
            assessed = iter(self._assess_chunk(valid, as_of) if valid else [])
            results += [problem if problem is not None else next(assessed) for problem in rejected]
        return results

    def _assess_chunk(self, patients: list[LoadedPatient], as_of: date) -> list[Assessment | Exception]:
        try:
            return self.assess_set(patients, as_of).views()
        except Exception as exc:
            if len(patients) == 1:
                return [exc]
        results: list[Assessment | Exception] = []
        for loaded in patients:  # isolate the defect: one patient at a time
            try:
                results.append(self.assess_loaded(loaded, as_of))
            except Exception as exc:
                results.append(exc)
        return results

    def _run(self, patients: list[LoadedPatient], as_of: date) -> ox.Store:
        """Classify, reason, derive and link provenance for the patients, in a fresh store (returned)."""
        deadline = time.monotonic() + self.budget * len(patients)

        def check(step: str) -> None:
            if time.monotonic() > deadline:
                raise InputRejected.one(patients[0].file if len(patients) == 1 else f"{len(patients)} files",
                                        f"the assessment took longer than its budget of {self.budget:g} s "
                                        f"per patient (stopped after {step})", rule="time budget")

        store = self.store = self.new_store()
        inferred, concluded = (ox.NamedNode(str(g)) for g in (INFERRED_GRAPH, CONCLUDED_GRAPH))
        asserted, ignored = (fact_term(str(g)) for g in (ASSERTED_GRAPH, IGNORED_GRAPH))
        put_facts(store, [p.facts for p in patients], asserted)
        put_facts(store, [p.ignored_facts for p in patients], ignored)
        for loaded in patients:
            store.extend(assessment_quads(loaded.node, as_of, self.knowledge, self.reasoner.name,
                                          loaded.file, loaded.source_sha256, ox.NamedNode(str(ASSESSMENT_GRAPH))))
            if self.in_population:
                store.extend(population_asserted(loaded, as_of, ox.NamedNode(str(ASSESSMENT_GRAPH))))

        run_rules(store, self.classify_rules, inferred, check)
        reason.materialise(self.reasoner, store, lambda: [t for p in patients for t in rdflib_triples(p.facts)],
                           [ox.NamedNode(str(ASSERTED_GRAPH)), inferred], inferred)
        check(f"the {self.reasoner.name} reasoner")

        provenance = ox.NamedNode(str(PROVENANCE_GRAPH))
        for phase in self.later_phases:  # derivation, then interactions between guidelines
            run_rules(store, phase, concluded, check)
            for query, graph in self.provenance:
                add(store, construct(store, query), provenance if graph == "provenance" else concluded)
        for query in self.cited_knowledge:
            add(store, construct(store, query), ox.NamedNode(str(CITED_GRAPH)))
        return store

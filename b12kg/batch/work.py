"""One worker's job: a chunk of items in, one output record per item out (in order).

Used alike by the local worker processes and by Dask tasks. Each process prepares
one Assessor (ontology, shapes, rules, reasoner) the first time it is asked and keeps
it: the knowledge is never shipped with the work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from ..chunks import CHUNK_BYTES, chunked
from ..errors import InputRejected, Problem
from .items import Item


@dataclass(frozen=True)
class Job:
    """What every worker of a batch needs to know (shipped once to each worker, local or Dask)."""

    as_of: date
    reasoner: str = "compiled"
    input_format: str | None = None
    in_population: bool = False
    budget: float | None = None
    """Seconds per patient (None: the pipeline's default, B12KG_TIME_BUDGET)."""
    datasets: bool = False
    """Return each assessment's dataset with its record (N-Quads, under DATASET_KEY), for the cohort store."""


DATASET_KEY = "_dataset"
"""The key of a record's dataset (bytes of N-Quads) on its way from a worker to the store sink; never written out."""


@cache
def assessor(reasoner: str, in_population: bool = False, budget: float | None = None):
    """The process's prepared Assessor (one per reasoner, population setting and budget), with the UCUM registry built."""
    from .. import units
    from ..pipeline import Assessor

    prepared = Assessor(reasoner=reasoner, in_population=in_population, budget=budget)
    units.prepare()
    _warm_up(prepared)
    return prepared


def warm_up_bundle(knowledge) -> dict:
    """A one-result record of the first laboratory quantity the packs read (its code and
    canonical unit from the ontology), assessed once when a worker starts."""
    entry = [{"resource": {"resourceType": "Patient", "id": "warm-up"}}]
    for analyte in knowledge.analytes:
        system = next((cs for code in sorted(analyte.codes) for cs in knowledge.code_systems if code.startswith(cs.namespace)), None)
        if system is None or analyte.plausible_max is None:
            continue
        code = next(c for c in sorted(analyte.codes) if c.startswith(system.namespace))[len(system.namespace):]
        value = float((analyte.plausible_min or 0) + 1)
        entry.append({"resource": {"resourceType": "Observation", "id": "warm-up-result", "status": "final",
                                   "code": {"coding": [{"system": system.system_uri, "code": code}]},
                                   "subject": {"reference": "Patient/warm-up"}, "effectiveDateTime": "2000-01-01",
                                   "valueQuantity": {"value": value, "unit": analyte.canonical_unit, "system": "http://unitsofmeasure.org",
                                                     "code": analyte.canonical_unit}}})
        break
    return {"resourceType": "Bundle", "type": "collection", "entry": entry}


def _warm_up(prepared) -> None:
    from datetime import date

    from ..load import load_document
    from ..validate import validate_input

    try:
        loaded = load_document(warm_up_bundle(prepared.knowledge), "warm-up", prepared.knowledge, date(2001, 1, 1))
        validate_input(loaded, prepared.knowledge)
        prepared.assess_loaded_many([loaded], date(2001, 1, 1))
    except Exception:  # warming up is an optimisation; the real patients report any defect
        pass


Chunk = list[tuple[int, Item]]
"""Items numbered by their place in the input."""


def chunks(items: Iterable[Item], size: int, max_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """Numbered items in chunks of at most `size` items and `max_bytes` of input (a
    record larger than that alone): local workers' chunks and Dask partitions alike."""
    return chunked(enumerate(items), size, weight=lambda numbered: numbered[1].size, max_weight=max_bytes)


def assessed(item: Item, document: dict) -> dict:
    return {"source": item.source, **document}


def dataset_bytes(quads) -> bytes:
    """An assessment's dataset as N-Quads, to travel with its record (the store sink reads it back)."""
    import pyoxigraph as ox

    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS)


def input_quads(item: Item, assessment, input_format: str | None) -> list:
    """The input as read, kept on the assessment in a cohort store (gm:inputDocument, gm:inputFormat): what an
    incremental run merges a partial export into, and what b12kg impact assesses again."""
    import pyoxigraph as ox

    from ..load import input_format as format_of
    from ..load import read_text
    from ..namespaces import ASSESSMENT_GRAPH, GM

    if item.text is not None:
        text, fmt = item.text, "fhir"
    else:
        try:
            text, fmt = read_text(Path(item.path))[0], format_of(Path(item.path), input_format)
        except (OSError, InputRejected):
            return []
    graph = ox.NamedNode(str(ASSESSMENT_GRAPH))
    return [ox.Quad(assessment, ox.NamedNode(str(GM.inputDocument)), ox.Literal(text), graph),
            ox.Quad(assessment, ox.NamedNode(str(GM.inputFormat)), ox.Literal(fmt), graph)]


def rejected(item: Item, problems: list[Problem]) -> dict:
    return {"source": item.source, "file": item.source, "rejected": [p.as_dict() for p in problems]}


def internal_error(item: Item, exc: BaseException | str) -> dict:
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return {"source": item.source, "file": item.source, "internal_error": text}


def over_budget(item: Item, seconds: float) -> dict:
    """The record of a patient whose assessment was stopped at the time budget."""
    return rejected(item, [Problem(file=item.source, reason=f"the assessment took longer than its budget of {seconds:g} s per "
                                   "patient and was stopped", rule="time budget")])


def load(item: Item, prepared, as_of: date, input_format: str | None):
    """The item's LoadedPatient, or raise InputRejected (its input shapes are checked with its
    chunk's, by the pipeline's assess_loaded_many)."""
    from ..load import load_document

    if item.problem is not None:
        raise InputRejected.one(item.source, item.problem)
    if item.path is not None:
        return prepared.load(Path(item.path), as_of, input_format, validate=False)
    return load_document(item.text, item.source, prepared.knowledge, as_of, fmt="fhir")


def assess_chunk(items: list[Item], job: Job, on_item: Callable[[int, str], None] | None = None) -> list[dict]:
    """Records for the items, in order. `on_item(i, phase)` is called as item i starts
    loading ("load") and before the shared assessment of the loaded ones ("assess", -1)."""
    from ..pipeline import LoadedPatient

    prepared = assessor(job.reasoner, job.in_population, job.budget)
    as_of, input_format = job.as_of, job.input_format
    records: list[dict | None] = [None] * len(items)
    loaded: list[tuple[int, LoadedPatient]] = []
    for index, item in enumerate(items):
        if on_item:
            on_item(index, "load")
        try:
            loaded.append((index, load(item, prepared, as_of, input_format)))
        except InputRejected as exc:
            records[index] = rejected(item, exc.problems)
        except Exception as exc:  # a loader defect on one record
            records[index] = internal_error(item, exc)
    if on_item:
        on_item(-1, "assess")
    outcomes = prepared.assess_loaded_many([patient for _, patient in loaded], as_of) if loaded else []
    for (index, _), outcome in zip(loaded, outcomes, strict=True):
        item = items[index]
        if isinstance(outcome, InputRejected):
            records[index] = rejected(item, outcome.problems)
        elif isinstance(outcome, Exception):
            records[index] = internal_error(item, outcome)
        else:
            records[index] = assessed(item, outcome.document)
            if job.datasets:
                records[index][DATASET_KEY] = dataset_bytes(outcome.quads + input_quads(item, outcome.assessment, input_format))
    return [r for r in records if r is not None]

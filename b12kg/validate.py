"""SHACL validation of patient facts with pySHACL, turned into located problems.

Nothing here opens a connection: pySHACL does not follow owl:imports and rdflib's SPARQL
engine, which runs the shapes' queries, never loads FROM graphs (SPARQL_LOAD_GRAPHS is
off). User queries are checked by b12kg.query.
"""

from __future__ import annotations

from functools import cache

import rdflib
from rdflib import Namespace

from . import resources
from .errors import InputRejected, Problem
from .knowledge import Knowledge
from .load import LoadedPatient
from .load.convert import from_rdflib
from .load.facts import Facts
from .load.locate import describe, field_name

SH = Namespace("http://www.w3.org/ns/shacl#")


def _no_graph_loading() -> None:
    """rdflib's SPARQL engine (pySHACL's) treats FROM <iri> as a graph name, never fetched.
    Set when that engine is chosen: importing it costs 0.18 s a one-patient call need not pay."""
    import rdflib.plugins.sparql

    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False


@cache
def shapes_graph(name: str) -> rdflib.Graph:
    """A shapes file, parsed once per process."""
    graph = rdflib.Graph()
    graph.parse(resources.shapes_file(name), format="turtle")
    return graph


def _rule(shape, report: rdflib.Graph) -> str:
    """A readable name of the shape broken (named node shape for anonymous ones)."""
    if isinstance(shape, rdflib.URIRef):
        return f"shape {shape.rsplit('#', 1)[-1]}"
    parent = report.value(predicate=SH.property, object=shape) or report.value(predicate=SH.sparql, object=shape)
    return f"shape {parent.rsplit('#', 1)[-1]}" if isinstance(parent, rdflib.URIRef) else "shape"


ENGINES = ("pyshacl-turbo", "pyshacl")
"""SHACL engines, fastest first: pySHACL-turbo (Rust, pySHACL's API; ~1 ms per patient)
and pySHACL (the reference, ~50 ms per patient). tests/test_validate.py requires both
to report the same problems on every clinical case and bad input."""


@cache
def engine(name: str | None = None):
    """The validate() function of a SHACL engine: by name, else $B12KG_SHACL_ENGINE, else the fastest installed."""
    import importlib
    import os

    wanted = name or os.environ.get("B12KG_SHACL_ENGINE")
    for candidate in [wanted] if wanted else ENGINES:
        if candidate not in ENGINES:
            raise ValueError(f"unknown SHACL engine {candidate!r}; choose from {', '.join(ENGINES)}")
        try:
            if candidate == "pyshacl":
                _no_graph_loading()
            return importlib.import_module(candidate.replace("-", "_")).validate
        except ImportError:
            if wanted:
                raise
    raise ImportError("no SHACL engine is installed (pyshacl-turbo or pyshacl)")


_compiled: dict[int, tuple[rdflib.Graph, object]] = {}


def _compiled_validate(shapes: rdflib.Graph):
    """pySHACL-turbo's shapes compiled once per process and shapes graph (compiling
    costs more than validating one patient); None when another engine is selected."""
    validate = engine(None)
    if getattr(validate, "__module__", "").split(".")[0] != "pyshacl_turbo":
        return None
    held = _compiled.get(id(shapes))
    if held is None or held[0] is not shapes:
        import pyshacl_turbo

        held = _compiled[id(shapes)] = (shapes, pyshacl_turbo.compile_shapes(shapes, advanced=True))
    return held[1].validate


def conforms(data: Facts | rdflib.Graph, shapes: rdflib.Graph, knowledge: Knowledge, file: str,
             engine_name: str | None = None) -> list[Problem]:
    """Problems found by validating `data` (one patient's facts, or an rdflib graph) against `shapes` (empty when it conforms)."""
    compiled = None if engine_name else _compiled_validate(shapes)
    if compiled is not None:
        ok, report, _ = compiled(_engine_input(data), inference="none", allow_warnings=True)
    else:
        graph = data.rdflib_graph() if isinstance(data, Facts) else data
        ok, report, _ = engine(engine_name)(graph, shacl_graph=shapes, inference="none", advanced=True,
                                            allow_warnings=True, meta_shacl=False, do_owl_imports=False)
    if ok:
        return []
    return _problems(report, data, shapes, knowledge, file)


def _engine_input(data: Facts | rdflib.Graph):
    """What pySHACL-turbo validates: facts as N-Triples (parsed in Rust), an rdflib graph as it is."""
    if not isinstance(data, Facts):
        return data
    if data.has_blank_nodes():  # blank nodes keep their labels in the report only through rdflib's transfer
        return data.rdflib_graph()
    from pyshacl_turbo.rdf import Input

    return Input(data.ntriples(), "nt", None, {})


def _problems(report: rdflib.Graph, data: Facts | rdflib.Graph, shapes: rdflib.Graph, knowledge: Knowledge,
              file: str) -> list[Problem]:
    """The violations of a validation report, located in `data`."""
    shapes_and_report = report + shapes
    problems = []
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        if report.value(result, SH.resultSeverity) != SH.Violation:
            continue
        focus = report.value(result, SH.focusNode)
        if isinstance(data, Facts):
            focus = from_rdflib(focus)
        problems.append(Problem(
            file=file,
            reason=str(report.value(result, SH.resultMessage) or "violates a shape"),
            resource=describe(data, focus),
            field=field_name(knowledge, report.value(result, SH.resultPath)),
            rule=_rule(report.value(result, SH.sourceShape), shapes_and_report)))
    return sorted(set(problems), key=lambda p: (p.resource or "", p.field or "", p.reason))


def validate_input(loaded: LoadedPatient, knowledge: Knowledge) -> None:
    """Raise InputRejected when the patient's facts break an input shape."""
    problems = conforms(loaded.facts, shapes_graph("patient-input"), knowledge, loaded.file)
    if problems:
        raise InputRejected(problems)
    loaded.validated = True


@cache
def shape_predicates(name: str) -> frozenset[str] | None:
    """The predicates a shapes file can read: every IRI it names (paths, targets, classes), every
    IRI of its SPARQL queries, rdf:type and rdfs:subClassOf. A fact with another predicate cannot
    change what the shapes find, so a chunk is validated without them (less for the engine to read).
    None when that cannot be told: a closed shape, a query with a variable predicate or one that
    does not parse."""
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.term import Variable

    graph = shapes_graph(name)
    if (None, SH.closed, None) in graph:
        return None
    found = {str(t) for triple in graph for t in triple if isinstance(t, rdflib.URIRef)}
    found |= {str(rdflib.RDF.type), str(rdflib.RDFS.subClassOf)}
    prefixes = {str(p): str(n) for d in graph.objects(None, SH.declare)
                for p in graph.objects(d, SH.prefix) for n in graph.objects(d, SH.namespace)}
    for query in [*graph.objects(None, SH.select), *graph.objects(None, SH.ask), *graph.objects(None, SH.construct)]:
        try:
            algebra = prepareQuery(str(query), initNs=prefixes).algebra
        except Exception:
            return None
        stack, variable_predicate = [algebra], False
        while stack:
            node = stack.pop()
            if isinstance(node, rdflib.URIRef):
                found.add(str(node))
            elif isinstance(node, dict):
                if isinstance(node.get("triples"), list):
                    variable_predicate |= any(isinstance(t[1], Variable) for t in node["triples"] if len(t) == 3)
                stack.extend(node.values())
            elif isinstance(node, list | tuple | set | frozenset):
                stack.extend(node)
            elif hasattr(node, "__dict__") and not isinstance(node, rdflib.term.Node):  # property paths
                stack.extend(vars(node).values())
        if variable_predicate:
            return None
    return frozenset(found)


def validate_chunk(patients: list[LoadedPatient], knowledge: Knowledge) -> list[Exception | None]:
    """Check the input shapes of the patients not yet checked, all in one validation: for each
    patient, its rejection (the problems it has validated alone, or an engine failure) or None.

    The chunk's facts are validated together (one engine call instead of one per patient).
    A patient with a violation there, or whose facts name a node another patient's facts
    describe (the one way a shape could pass in the union and fail alone: a reference to
    another patient, checked by sh:class), is validated alone, so that every patient gets
    exactly the problems it has on its own. Patients' subjects never overlap in a chunk
    (pipeline.assess_loaded_many chunks them apart)."""
    pending = [i for i, p in enumerate(patients) if not p.validated]
    found: list[Exception | None] = [None] * len(patients)
    if not pending:
        return found
    owner = {s: i for i in pending for s in patients[i].facts.subjects()}
    alone = {i for i in pending if any(owner.get(o, i) != i for o in patients[i].facts.nodes())}
    shapes = shapes_graph("patient-input")
    compiled = _compiled_validate(shapes)
    together = [i for i in pending if i not in alone]
    if compiled is None or len(together) < 2 or any(patients[i].facts.has_blank_nodes() for i in together):
        alone.update(together)
    else:
        from pyshacl_turbo.rdf import Input

        try:
            read = shape_predicates("patient-input")
            ok, report, _ = compiled(Input("".join(patients[i].facts.ntriples(read) for i in together), "nt", None, {}),
                                     inference="none", allow_warnings=True)
        except Exception:  # an engine failure: each patient alone says whose
            ok, report = False, None
        if not ok:
            focus = [owner.get(from_rdflib(f)) for f in report.objects(None, SH.focusNode)] if report is not None else [None]
            alone.update(together if None in focus else focus)
    for i in sorted(alone):
        try:
            validate_input(patients[i], knowledge)
        except Exception as exc:  # InputRejected, or an engine failure on this patient alone
            found[i] = exc
    for i in pending:
        patients[i].validated = found[i] is None
    return found

"""Validation of what users hand b12kg: patient facts (SHACL, with pySHACL, turned into
located problems) and SPARQL queries (refused when they could reach the network or write).

Nothing here opens a connection: pySHACL does not follow owl:imports, rdflib's SPARQL
engine does not load FROM graphs (SPARQL_LOAD_GRAPHS is off), and a user query naming a
SERVICE, FROM graph or update operation (LOAD, INSERT, DROP...) is refused before it runs.
"""

from __future__ import annotations

import re
from functools import cache

import rdflib
import rdflib.plugins.sparql
from rdflib import Namespace

from . import resources
from .errors import InputRejected, Problem
from .knowledge import Knowledge
from .load import LoadedPatient, describe, field_name

SH = Namespace("http://www.w3.org/ns/shacl#")

rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False  # FROM <iri> names a graph in the dataset; it is never fetched


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


def conforms(data: rdflib.Graph, shapes: rdflib.Graph, knowledge: Knowledge, file: str) -> list[Problem]:
    """Problems found by validating `data` against `shapes` (empty when it conforms)."""
    import pyshacl

    ok, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                     allow_warnings=True, meta_shacl=False, do_owl_imports=False)
    if ok:
        return []
    shapes_and_report = report + shapes
    problems = []
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        if report.value(result, SH.resultSeverity) != SH.Violation:
            continue
        focus = report.value(result, SH.focusNode)
        problems.append(Problem(
            file=file,
            reason=str(report.value(result, SH.resultMessage) or "violates a shape"),
            resource=describe(data, focus),
            field=field_name(knowledge, report.value(result, SH.resultPath)),
            rule=_rule(report.value(result, SH.sourceShape), shapes_and_report)))
    return sorted(set(problems), key=lambda p: (p.resource or "", p.field or "", p.reason))


def validate_input(loaded: LoadedPatient, knowledge: Knowledge) -> None:
    """Raise InputRejected when the patient's facts break an input shape."""
    problems = conforms(loaded.graph, shapes_graph("patient-input"), knowledge, loaded.file)
    if problems:
        raise InputRejected(problems)


REFUSED_KEYWORDS = {
    "SERVICE": "SERVICE calls a remote endpoint",
    "FROM": "FROM / FROM NAMED may name a remote graph to load",
    **{word: f"{word} is an update: queries only read" for word in
       ("LOAD", "INSERT", "DELETE", "DROP", "CLEAR", "CREATE", "ADD", "MOVE", "COPY", "WITH", "USING")},
}
"""Keywords refused in a user's SPARQL query, with the reason."""

_INERT = re.compile(r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>|\#[^\n]*""",
                    re.DOTALL)
"""Strings, IRIs and comments: text where a keyword is not a keyword."""

_BARE_WORD = re.compile(r"(?<![\w:?$])[A-Za-z]+(?![\w:])")
"""A word that is not part of a variable or a prefixed name."""

_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _codepoint(match: re.Match) -> str:
    value = int(match.group(1) or match.group(2), 16)
    return chr(value) if value < 0x110000 else ""


def _unescaped(text: str) -> str:
    """The query with its \\u and \\U escapes applied: SPARQL applies them anywhere, before parsing."""
    return _CODEPOINT_ESCAPE.sub(_codepoint, text)


def _refused(text: str) -> list[tuple[int, str]]:
    """(line, keyword) of every refused keyword outside strings, IRIs and comments."""
    found = []
    blanked = _INERT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    for match in _BARE_WORD.finditer(blanked):
        word = match.group().upper()
        if word in REFUSED_KEYWORDS:
            found.append((blanked.count("\n", 0, match.start()) + 1, word))
    return found


def check_user_query(text: str, source: str) -> str:
    """A user's SPARQL query, returned unchanged when it only reads the local dataset.

    Raises InputRejected when it names a SERVICE, a FROM graph or an update operation,
    whether written plainly or with \\u escapes. Run the query against a local store only.
    """
    found = sorted(set(_refused(text)) | set(_refused(_unescaped(text))))
    if found:
        raise InputRejected([Problem(source, f"{REFUSED_KEYWORDS[word]}: b12kg queries never reach the network or change data",
                                     field=f"line {line}", rule="read-only local query") for line, word in found])
    return text

"""A user query read, parsed once by rdflib's SPARQL 1.1 parser, and checked on that algebra
(no update, SERVICE, FROM / FROM NAMED, LOAD); the limits a query runs under."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib.paths import NegatedPath
from rdflib.paths import Path as RdflibPath
from rdflib.plugins.sparql.parserutils import CompValue

from ..errors import InputRejected, printable


def _prefixes() -> dict[str, str]:
    """The prefixes a user query may use without declaring them: the model's and the packs'."""
    from ..knowledge import load_knowledge

    return dict(load_knowledge().prefixes)


NETWORK_EVENTS = frozenset({
    "socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
    "socket.bind", "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
})
"""Audit events refused inside the query process: no connection, lookup or new program."""

RESULT_FORMATS = {"json": "json", "xml": "xml", "csv": "csv"}
GRAPH_FORMATS = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "trig": "trig", "rdfxml": "xml", "nq": "nt"}
"""RDF formats of a graph answer; N-Quads is the sorted N-Triples (a CONSTRUCT or DESCRIBE graph is a default graph)."""


@dataclass(frozen=True)
class QueryLimits:
    """What one user query may use."""

    timeout: float = 30.0
    """Wall-clock seconds for parsing the data and evaluating the query."""
    max_rows: int = 10_000
    """Solutions (SELECT) or triples (CONSTRUCT, DESCRIBE) returned at most."""
    max_query_chars: int = 100_000
    """Length of the query text at most."""
    max_memory_bytes: int = 4 * 1024**3
    """Address space of the query process at most (a backstop for huge intermediate results)."""
    max_answer_bytes: int = 64 * 1024**2
    """Bytes of the serialised answer at most (answer_user_query: the endpoint)."""


@dataclass(frozen=True)
class UserQuery:
    """A parsed and checked user query: its text (for messages) and the algebra that runs."""

    text: str
    file: str
    form: str
    """SELECT, ASK, CONSTRUCT or DESCRIBE."""
    algebra: Any = None


class QueryRefused(InputRejected):
    """A user query that b12kg will not run (syntax, update, SERVICE, FROM, LOAD, size)."""


class QueryLimitExceeded(InputRejected):
    """A user query stopped at one of its limits (time, rows, memory)."""


def read_query_file(path: Path, limits: QueryLimits | None = None) -> str:
    """A query file's text: a regular file only (a FIFO is never waited on), read up to the
    query size limit, UTF-8; QueryRefused otherwise."""
    import stat

    limits = limits or QueryLimits()
    file = str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise QueryRefused.one(file, f"cannot read the query file: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise QueryRefused.one(file, "not a regular file (a FIFO, device or socket): a query is read from a file",
                                   rule="regular file")
        data = handle.read(limits.max_query_chars * 4 + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise QueryRefused.one(file, f"not UTF-8 text: byte {exc.start} (line {line}) is 0x{data[exc.start]:02x}",
                               rule="SPARQL 1.1 grammar") from None


def _position(text: str, exc: Exception) -> str:
    line, col = getattr(exc, "lineno", None), getattr(exc, "col", None)
    if line is None:
        loc = getattr(exc, "loc", None)
        if isinstance(loc, int):
            line, col = text.count("\n", 0, loc) + 1, loc - (text.rfind("\n", 0, loc) + 1) + 1
    return f"line {line}, column {col}" if line is not None else "unknown position"


def _is_update(text: str) -> bool:
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parseUpdate(text)
    except Exception:
        return False
    return True


def _walk(node: Any) -> Iterator[Any]:
    stack, seen = [node], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, dict):  # CompValue is an OrderedDict
            stack.extend(item.values())
        elif isinstance(item, RdflibPath):  # property paths nest (MulPath, InvPath, sequences, negations)
            stack.extend(vars(item).values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)


def prepare_user_query(text: str, file: str = "<query>", limits: QueryLimits | None = None,
                       protocol_dataset: bool = False) -> UserQuery:
    """Parse and check one user query; raise QueryRefused with the reason and position.

    `protocol_dataset`: the SPARQL Protocol request names its own dataset
    (default-graph-uri / named-graph-uri, graphs of the local store). The protocol then
    overrides the query's FROM / FROM NAMED (SPARQL 1.1 Protocol, 2.1.4), so they are
    dropped from the parse, never read, rather than refused."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    limits = limits or QueryLimits()
    if len(text) > limits.max_query_chars:
        raise QueryRefused.one(file, f"the query has {len(text)} characters, over the limit of {limits.max_query_chars}",
                               rule="query size limit")
    if "\x00" in text:
        raise QueryRefused.one(file, "the query holds a NUL character", rule="SPARQL 1.1 grammar")
    try:
        parsed = parseQuery(text)
    except Exception as exc:  # pyparsing's ParseException and friends
        if _is_update(text):
            raise QueryRefused.one(file, "updates (INSERT, DELETE, LOAD, CLEAR, DROP, CREATE ...) are not accepted: "
                                         "b12kg's data is read-only", field="update", rule="read-only") from None
        message = " ".join(str(exc).split())[:200]
        raise QueryRefused.one(file, f"SPARQL syntax error at {_position(text, exc)}: {message}",
                               rule="SPARQL 1.1 grammar") from None
    body = parsed[1]
    if "datasetClause" in body and body["datasetClause"] and protocol_dataset:
        del body["datasetClause"]
    if "datasetClause" in body and body["datasetClause"]:  # noqa: RUF019 (CompValue.get returns the key when absent)
        raise QueryRefused.one(file, "FROM / FROM NAMED would load graphs from elsewhere: address the dataset's own "
                                     "graphs with GRAPH instead", field="FROM", rule="no network")
    try:
        query = translateQuery(parsed, initNs=_prefixes())
    except Exception as exc:
        raise QueryRefused.one(file, f"the query is not valid SPARQL 1.1: {printable(str(exc), 200)}",
                               rule="SPARQL 1.1 grammar") from None
    for node in _walk(query.algebra):
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            raise QueryRefused.one(file, "SERVICE would call a remote endpoint: b12kg never goes on the network",
                                   field="SERVICE", rule="no network")
        if isinstance(node, NegatedPath) and any(isinstance(a, CompValue) for a in node.args):
            raise QueryRefused.one(file, "an inverse IRI in a negated property set (!^p) is not supported by the query engine "
                                         "(rdflib drops the IRI); write the inverse as a path from ?o to ?s instead",
                                   field="property path", rule="SPARQL 1.1 grammar")
        if isinstance(node, CompValue) and node.name == "Load":
            raise QueryRefused.one(file, "LOAD would fetch data: b12kg never goes on the network", field="LOAD", rule="no network")
    if query.algebra.get("datasetClause"):
        raise QueryRefused.one(file, "FROM / FROM NAMED would load graphs from elsewhere", field="FROM", rule="no network")
    if query.algebra.name == "ConstructQuery" and not query.algebra.get("template"):
        # CONSTRUCT WHERE { triples }: the template is the pattern; rdflib finds it only when no
        # solution modifier (LIMIT, ORDER BY ...) wraps the pattern, so it is set here
        query.algebra["template"] = next(n["triples"] for n in _walk(query.algebra) if isinstance(n, CompValue) and n.name == "BGP")
    form = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
    return UserQuery(text=text, file=file, form=form.get(query.algebra.name, query.algebra.name), algebra=query)


# ---------------------------------------------------------------- data sources

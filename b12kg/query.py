"""User SPARQL: parsed, checked and run by one engine that cannot reach the network.

A user query (``b12kg query``, the SPARQL endpoint) is untrusted text. It is parsed once
by rdflib's SPARQL 1.1 parser into an algebra; the checks (no update, no SERVICE, no
FROM / FROM NAMED, no LOAD) read that algebra, and the *same* algebra object is what
runs. There is no second parser whose reading of escapes, comments or strings could
differ from the check's (issue 14: ``"x\\u0022 # "`` hid a SERVICE from a text check
that pyoxigraph then ran).

The evaluation itself is made incapable of reaching out, whatever the algebra holds:

- it runs in a forked child process, stopped when it passes its time limit;
- in that child an audit hook refuses every socket connect, name lookup, urllib
  request and subprocess (audit hooks cannot be removed once set);
- rdflib's SERVICE evaluation is replaced by a refusal (a custom evaluation hook), and
  rdflib never loads FROM graphs (``SPARQL_LOAD_GRAPHS`` is off);
- the child's CPU time and address space are capped by setrlimit as a backstop.

pyoxigraph, which *does* run SERVICE over the network and has no switch to turn it
off, never sees user text: it only runs b12kg's own packaged queries.

Limits (``QueryLimits``): query size, wall time, rows (or triples) returned, bytes of
the answer. Each exceeded limit is reported as rejected input (exit 2) with a message.

For a server (``answer_user_query``) the answer is serialised in the same sandboxed
child, into a buffer capped at ``max_answer_bytes`` (refused at once when the literals
alone would pass it), and streamed back in chunks under one deadline: rows sharing one
large literal cannot make the server write more than the cap, and the server holds one
chunk at a time, whatever the query.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rdflib
from rdflib.paths import NegatedPath
from rdflib.paths import Path as RdflibPath
from rdflib.plugins.sparql import CUSTOM_EVALS
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.query import Result

from .errors import InputRejected, printable


def _prefixes() -> dict[str, str]:
    """The prefixes a user query may use without declaring them: the model's and the packs'."""
    from .knowledge import load_knowledge

    return dict(load_knowledge().prefixes)


NETWORK_EVENTS = frozenset({
    "socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
    "socket.bind", "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
})
"""Audit events refused inside the query process: no connection, lookup or new program."""

RESULT_FORMATS = {"json": "json", "xml": "xml", "csv": "csv"}
GRAPH_FORMATS = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "trig": "trig"}


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

class QuadsSource:
    """One assessment's quads (and the ontology's), queried as a dataset whose default
    graph is the union of its named graphs: a fact stored in two graphs is seen once."""

    def __init__(self, quads: Iterable):
        self.quads = list(quads)

    def open(self) -> rdflib.Dataset:
        from .rdfterms import to_rdflib

        dataset = rdflib.Dataset(default_union=True)
        graphs: dict[str, rdflib.Graph] = {}
        for q in self.quads:
            name = q.graph_name.value if hasattr(q.graph_name, "value") else None
            graph = graphs.get(name) if name else dataset.default_context
            if graph is None:
                graph = graphs[name] = dataset.graph(rdflib.URIRef(name))
            graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        return dataset


class StoreSource:
    """An on-disk pyoxigraph (RocksDB) store, opened read-only inside the query process and
    read through rdflib's store interface, the default graph being the union of graphs."""

    def __init__(self, path: str | Path):
        self.path = str(path)

    def open(self) -> rdflib.Dataset:
        from ._oxstore import ReadOnlyOxigraphStore

        return rdflib.Dataset(store=ReadOnlyOxigraphStore(self.path), default_union=True)


# ---------------------------------------------------------------- the sandboxed run

def _refuse_network(event: str, args: tuple) -> None:
    if event in NETWORK_EVENTS or event.startswith("os.exec") or event.startswith("os.spawn"):
        raise PermissionError(f"b12kg user queries never reach out ({event} refused)")


def _refuse_service(ctx, part):
    if part.name == "ServiceGraphPattern":
        raise PermissionError("SERVICE is not evaluated by b12kg")
    raise NotImplementedError  # every other part: rdflib's own evaluation


def _sandbox(limits: QueryLimits) -> None:
    """Make this (child) process unable to reach the network, bounded in CPU and memory."""
    import resource

    import rdflib.plugins.sparql as sparql

    sys.addaudithook(_refuse_network)
    sparql.SPARQL_LOAD_GRAPHS = False
    CUSTOM_EVALS.clear()  # no plugin evaluation: only rdflib's, less SERVICE
    CUSTOM_EVALS["b12kg-no-service"] = _refuse_service
    seconds = int(limits.timeout) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limits.max_memory_bytes if hard == resource.RLIM_INFINITY else min(limits.max_memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _evaluate(query: UserQuery, source, limits: QueryLimits) -> tuple:
    from rdflib.plugins.sparql.evaluate import evalQuery

    dataset = source.open()
    raw = evalQuery(dataset, query.algebra)
    kind = raw["type_"]
    if kind == "ASK":
        return ("ASK", bool(raw["askAnswer"]))
    if kind == "SELECT":
        variables = list(raw.get("_vars") or [])
        rows = []
        for solution in raw["bindings"]:
            if len(rows) >= limits.max_rows:
                return ("LIMIT", len(rows))
            rows.append(dict(solution))
        if not variables:
            variables = sorted({v for row in rows for v in row}, key=str)
        return ("SELECT", variables, rows)
    triples = []
    for triple in raw["graph"]:
        if len(triples) >= limits.max_rows:
            return ("LIMIT", len(triples))
        triples.append(triple)
    return (kind, triples)


ANSWER_CHUNK = 1024 * 1024
"""Bytes per message from the query process to the server."""


class AnswerTooLarge(Exception):
    """The serialised answer passed QueryLimits.max_answer_bytes."""


class _Capped:
    """A binary stream that refuses to grow past `cap` bytes."""

    def __init__(self, cap: int):
        self.cap, self.data = cap, bytearray()

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(self.data) + len(data) > self.cap:
            raise AnswerTooLarge
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass

    def getvalue(self) -> bytes:
        return bytes(self.data)


def _literal_chars(outcome: tuple) -> int:
    """Characters of the literals an answer writes, each time it writes them: a lower bound of its size."""
    if outcome[0] == "SELECT":
        values = (v for row in outcome[2] for v in row.values())
    elif outcome[0] in ("CONSTRUCT", "DESCRIBE"):
        values = (triple[2] for triple in outcome[1])
    else:
        return 0
    return sum(len(v) for v in values if isinstance(v, rdflib.Literal))


def _child(conn, query: UserQuery, source, limits: QueryLimits, fmt: str | None = None) -> None:
    """The query process: evaluate, then send the outcome; with `fmt`, serialise the answer
    here (capped) and send ("ANSWER", size) followed by the bytes in chunks."""
    body = b""
    try:
        _sandbox(limits)
        outcome = _evaluate(query, source, limits)
        if fmt is not None and outcome[0] in ("ASK", "SELECT", "CONSTRUCT", "DESCRIBE"):
            if _literal_chars(outcome) > limits.max_answer_bytes:
                raise AnswerTooLarge
            stream = _Capped(limits.max_answer_bytes)
            write_result(_result(query, outcome), fmt, stream)
            body = stream.getvalue()
            outcome = ("ANSWER", len(body))
    except AnswerTooLarge:
        outcome = ("TOO_LARGE",)
    except MemoryError:
        outcome = ("MEMORY",)
    except PermissionError as exc:
        outcome = ("REFUSED", str(exc))
    except BaseException as exc:
        outcome = ("ERROR", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(outcome)
        for start in range(0, len(body), ANSWER_CHUNK):
            conn.send_bytes(body, start, min(ANSWER_CHUNK, len(body) - start))
    except Exception as exc:  # e.g. a result too large to send back
        conn.send(("ERROR", f"the result could not be returned: {type(exc).__name__}"))
    finally:
        conn.close()
        os._exit(0)


def _result(query: UserQuery, outcome: tuple) -> Result:
    kind = outcome[0]
    result = Result("CONSTRUCT" if kind == "DESCRIBE" else kind)
    if kind == "ASK":
        result.askAnswer = outcome[1]
    elif kind == "SELECT":
        result.vars = outcome[1]
        result.bindings = outcome[2]
    else:
        graph = rdflib.Graph()
        for prefix, iri in _prefixes().items():
            graph.bind(prefix, iri)
        for triple in outcome[1]:
            graph.add(triple)
        result.graph = graph
    return result


class _Run:
    """A query process started, and its pipe."""

    def __init__(self, query: UserQuery, source, limits: QueryLimits, fmt: str | None = None):
        context = multiprocessing.get_context("fork")
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_child, args=(send, query, source, limits, fmt), daemon=True)
        self.process.start()
        send.close()
        self.query, self.limits = query, limits

    def wait(self, seconds: float):
        """The first message, or QueryLimitExceeded when the time is up."""
        if seconds <= 0 or not self.receive.poll(seconds):
            raise self.timed_out()
        try:
            return self.receive.recv()
        except EOFError:
            return ("MEMORY",) if self.process.exitcode not in (0, None) else ("ERROR", "the query process ended without an answer")

    def timed_out(self) -> QueryLimitExceeded:
        return QueryLimitExceeded.one(self.query.file, f"the query ran longer than its limit of {self.limits.timeout:g} s "
                                                       "and was stopped", rule="query time limit")

    def close(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.receive.close()


def _check(query: UserQuery, outcome: tuple, limits: QueryLimits) -> None:
    """Raise the rejection an outcome stands for, if it stands for one."""
    kind = outcome[0]
    if kind == "LIMIT":
        raise QueryLimitExceeded.one(query.file, f"the query returns more than {limits.max_rows} rows; add a LIMIT or narrow it",
                                     rule="query row limit")
    if kind == "TOO_LARGE":
        raise QueryLimitExceeded.one(query.file, f"the answer would be over the limit of {limits.max_answer_bytes} bytes; "
                                                 "add a LIMIT or select fewer or shorter values", rule="answer size limit")
    if kind == "MEMORY":
        raise QueryLimitExceeded.one(query.file, "the query needed more memory than its limit and was stopped", rule="query memory limit")
    if kind == "REFUSED":
        raise QueryRefused.one(query.file, outcome[1], rule="no network")
    if kind == "ERROR":
        raise QueryRefused.one(query.file, f"the query could not be evaluated: {printable(outcome[1], 200)}", rule="SPARQL 1.1")


def run_user_query(query: UserQuery, source: QuadsSource | StoreSource, limits: QueryLimits | None = None) -> Result:
    """Run a prepared user query over a source in a sandboxed child process.

    Returns an rdflib Result (serialize it as SPARQL JSON/XML/CSV/TSV or RDF). Raises
    QueryLimitExceeded past a limit, QueryRefused when the engine refused an operation.
    """
    limits = limits or QueryLimits()
    run = _Run(query, source, limits)
    try:
        outcome = run.wait(limits.timeout)
    finally:
        run.close()
    _check(query, outcome, limits)
    return _result(query, outcome)


class Answer:
    """A user query's serialised answer: `size` bytes, read from the query process in chunks
    before `deadline` (time.monotonic()). Close it (or use `with`) to stop the process."""

    def __init__(self, run: _Run, size: int, deadline: float):
        self._run, self.size, self.deadline = run, size, deadline

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        while sent < self.size:
            if not self._run.receive.poll(max(0.0, self.deadline - time.monotonic())):
                raise self._run.timed_out()
            try:
                chunk = self._run.receive.recv_bytes()
            except EOFError:
                raise QueryRefused.one(self._run.query.file, "the query process ended before its answer was sent",
                                       rule="SPARQL 1.1") from None
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self._run.close()

    def __enter__(self) -> Answer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def answer_user_query(query: UserQuery, source: QuadsSource | StoreSource, fmt: str, limits: QueryLimits | None = None,
                      deadline: float | None = None) -> Answer:
    """Run a prepared user query in a sandboxed child that also serialises its answer in
    `fmt`, at most `limits.max_answer_bytes`; the answer is read in chunks, all before
    `deadline` (default: the time limit from now). Raises as run_user_query does, and
    QueryLimitExceeded (answer size limit) for an answer over the cap."""
    limits = limits or QueryLimits()
    deadline = time.monotonic() + limits.timeout if deadline is None else deadline
    run = _Run(query, source, limits, fmt)
    try:
        outcome = run.wait(deadline - time.monotonic())
        _check(query, outcome, limits)
    except BaseException:
        run.close()
        raise
    return Answer(run, outcome[1], deadline)


def write_result(result: Result, fmt: str, stream) -> None:
    """Write a result to a binary stream: SPARQL JSON/XML/CSV/TSV (SELECT, ASK) or an RDF
    format (CONSTRUCT, DESCRIBE); `table` is an aligned plain-text table for reading."""
    if result.type in ("SELECT", "ASK") and fmt == "table":
        stream.write(_table(result).encode("utf-8"))
    elif result.type == "ASK" and fmt in ("csv", "tsv"):
        stream.write(b"true\n" if result.askAnswer else b"false\n")
    elif result.type == "SELECT" and fmt == "tsv":
        _tsv(result, stream)
    elif result.type in ("SELECT", "ASK"):
        if fmt not in RESULT_FORMATS:
            raise ValueError(f"a {result.type} result is written as one of {', '.join([*RESULT_FORMATS, 'table'])}, not {fmt}")
        result.serialize(destination=stream, format=RESULT_FORMATS[fmt], encoding="utf-8")
    elif fmt not in GRAPH_FORMATS:
        raise ValueError(f"a {result.type} result is written as one of {', '.join(GRAPH_FORMATS)}, not {fmt}")
    elif fmt == "nt":  # sorted, so that the same graph gives the same text
        unsorted = _Capped(stream.cap) if isinstance(stream, _Capped) else io.BytesIO()
        result.graph.serialize(destination=unsorted, format="nt", encoding="utf-8")
        stream.write(b"".join(sorted(unsorted.getvalue().splitlines(keepends=True))))
    else:
        result.graph.serialize(destination=stream, format=GRAPH_FORMATS[fmt], encoding="utf-8")


def serialize_result(result: Result, fmt: str) -> str:
    """A result as text (see write_result)."""
    out = io.BytesIO()
    write_result(result, fmt, out)
    return out.getvalue().decode("utf-8")


def _tsv(result: Result, stream) -> None:
    """SPARQL 1.1 TSV: a header of ?names, then each term in its Turtle form (rdflib has no TSV writer)."""
    stream.write(("\t".join(f"?{v}" for v in result.vars) + "\n").encode("utf-8"))
    for row in result.bindings:
        stream.write(("\t".join(row[v].n3() if row.get(v) is not None else "" for v in result.vars) + "\n").encode("utf-8"))


def _table(result: Result) -> str:
    if result.type == "ASK":
        return f"{str(bool(result.askAnswer)).lower()}\n"
    names = [str(v) for v in result.vars]
    rows = [[printable(str(row.get(rdflib.Variable(n), "") if isinstance(row, dict) else ""), 80) for n in names]
            for row in result.bindings]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(names), line(["-" * w for w in widths]), *(line(r) for r in rows), f"({len(rows)} row{'s' if len(rows) != 1 else ''})"]
    return "\n".join(out) + "\n"


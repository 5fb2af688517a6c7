"""Where a user query runs: the data sources (one assessment's quads, an on-disk store) and the
forked child that cannot reach the network, stopped at its limits."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import rdflib
from rdflib.plugins.sparql import CUSTOM_EVALS
from rdflib.query import Result

from ..errors import printable
from .prepare import NETWORK_EVENTS, QueryLimitExceeded, QueryLimits, QueryRefused, UserQuery, _prefixes
from .results import AnswerTooLarge, _Capped, write_result


class QuadsSource:
    """One assessment's quads (and the ontology's), queried as a dataset whose default
    graph is the union of its named graphs: a fact stored in two graphs is seen once."""

    def __init__(self, quads: Iterable):
        self.quads = list(quads)

    def open(self) -> rdflib.Dataset:
        from ..rdfterms import to_rdflib

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
        from .._oxstore import ReadOnlyOxigraphStore

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

"""The read-only SPARQL 1.1 Protocol endpoint over a cohort store (`b12kg serve`).

Routes:
    GET  /                 a small page: the named queries and a query form (no scripts)
    GET  /sparql           ?query=... [&default-graph-uri=...][&named-graph-uri=...]
    POST /sparql           application/x-www-form-urlencoded (query=...) or
                           application/sparql-query (the query as the body, UTF-8)
    GET  /queries          the named queries (JSON)
    GET  /queries/NAME     a named query, its parameters from the query string

User SPARQL (/sparql) runs only through b12kg.query: parsed and checked once, evaluated
in a sandboxed child process that cannot reach the network, stopped at its time limit
(the server keeps serving). Updates, SERVICE, LOAD and FROM are refused with 400. The
packaged named queries are b12kg's own text and run on pyoxigraph, their parameters
bound as RDF terms. Results are negotiated from Accept (or a `format` parameter).

The server is the standard library's ThreadingHTTPServer, bounded: request bodies,
header sizes (http.server's own), connections and concurrent queries are capped, and
idle connections time out. It binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox

from ..errors import InputRejected
from ..query import QueryLimitExceeded, QueryLimits, answer_user_query, prepare_user_query
from . import named
from .dataset import MAX_DATASET_GRAPHS, SelectedStoreSource

MAX_BODY_BYTES = 1024 * 1024
MAX_CONNECTIONS = 32
MAX_CONCURRENT_QUERIES = 4
IDLE_SECONDS = 30.0

TABULAR = {"application/sparql-results+json": "json", "application/json": "json", "application/sparql-results+xml": "xml",
           "application/xml": "xml", "text/csv": "csv", "text/tab-separated-values": "tsv"}
GRAPH = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "jsonld", "text/plain": "nt"}
MEDIA_OF = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml", "csv": "text/csv",
            "tsv": "text/tab-separated-values", "turtle": "text/turtle", "nt": "application/n-triples", "jsonld": "application/ld+json"}
OX_RESULTS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML, "csv": ox.QueryResultsFormat.CSV,
              "tsv": ox.QueryResultsFormat.TSV}


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Endpoint:
    """What the server serves and its limits."""

    store_path: Path
    limits: QueryLimits
    max_body_bytes: int = MAX_BODY_BYTES


def _accepted(accept: str | None) -> list[str]:
    """Media types of an Accept header, best first (q=0 left out)."""
    ranked = []
    for position, part in enumerate((accept or "*/*").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranked.append((-q, position, media.lower()))
    return [m for _, _, m in sorted(ranked)]


def negotiate(accept: str | None, kind: str, explicit: str | None = None) -> str:
    """The output format for a result kind ('tabular' for SELECT/ASK, 'graph' for CONSTRUCT/DESCRIBE)."""
    table = TABULAR if kind == "tabular" else GRAPH
    if explicit:
        if explicit not in table.values():
            raise HttpError(HTTPStatus.BAD_REQUEST, f"format {explicit!r} is not one of {', '.join(sorted(set(table.values())))}")
        return explicit
    for media in _accepted(accept):
        if media in table:
            return table[media]
        if media in ("*/*", "application/*", "text/*", "text/html"):
            return "json" if kind == "tabular" else "turtle"
    raise HttpError(HTTPStatus.NOT_ACCEPTABLE, f"no acceptable format; offered: {', '.join(table)}")


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"{len(values)} '{name}' parameters: send exactly one")
    return values[0] if values else None


def _media_type(header: str | None) -> tuple[str, dict[str, str]]:
    if not header:
        return "", {}
    media, *params = [p.strip() for p in header.split(";")]
    options = {}
    for param in params:
        key, _, value = param.partition("=")
        options[key.strip().lower()] = value.strip().strip('"').lower()
    return media.lower(), options


class Handler(BaseHTTPRequestHandler):
    server_version = "b12kg-sparql"
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    # --- plumbing ------------------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        return self.server.endpoint

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: HTTPStatus, body: bytes, media: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, error: HttpError) -> None:
        """An error answer; the connection is closed after it, as a refused request's body may be unread."""
        self.close_connection = True
        self._send(error.status, (error.message + "\n").encode("utf-8"), "text/plain; charset=utf-8",
                   {**error.headers, "Connection": "close"})

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length (chunked bodies are not accepted)")
        length = self.headers.get("Content-Length")
        if length is None:
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length")
        try:
            size = int(length)
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if size < 0 or size > self.endpoint.max_body_bytes:
            self.close_connection = True
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is limited to {self.endpoint.max_body_bytes} bytes")
        return self.rfile.read(size)

    def _dispatch(self, work) -> None:
        try:
            work()
        except HttpError as error:
            self._error(error)
        except Exception as exc:  # a defect: answer, keep serving
            self._error(HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}"))

    # --- methods ---------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch(self._get)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def _not_allowed(self) -> None:
        self._dispatch(self._refuse_method)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _refuse_method(self) -> None:
        allow = "GET, HEAD, POST" if self._path() in ("/sparql", "/sparql/") else "GET, HEAD"
        raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not accepted: the endpoint is read-only", {"Allow": allow})

    def _path(self) -> str:
        return urlsplit(self.path).path

    def _get(self) -> None:
        parts = urlsplit(self.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        if parts.path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8",
                       {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"})
        elif parts.path in ("/sparql", "/sparql/"):
            if "update" in params:
                raise HttpError(HTTPStatus.BAD_REQUEST, "updates are not accepted: this endpoint is read-only")
            query = _single(params, "query")
            if query is None:
                self.send_response(HTTPStatus.SEE_OTHER)
                self.send_header("Location", "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._sparql(query, params)
        elif parts.path == "/queries":
            listing = [{"name": q.name, "answers": " ".join(q.answers.split()), "url": f"/queries/{q.name}",
                        "params": [{"name": p.name, "datatype": f"xsd:{p.datatype}", "default": p.default} for p in q.params]}
                       for q in named.named_queries().values()]
            self._send(HTTPStatus.OK, json.dumps(listing, indent=1).encode(), "application/json")
        elif parts.path.startswith("/queries/"):
            self._named(parts.path[len("/queries/"):], params)
        else:
            raise HttpError(HTTPStatus.NOT_FOUND, f"no such resource {parts.path!r}: see / for what is here")

    def _post(self) -> None:
        parts = urlsplit(self.path)
        if parts.path not in ("/sparql", "/sparql/"):
            raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "POST is accepted at /sparql only", {"Allow": "GET, HEAD"})
        params = parse_qs(parts.query, keep_blank_values=True)
        media, options = _media_type(self.headers.get("Content-Type"))
        body = self._body()
        if media == "":
            raise HttpError(HTTPStatus.BAD_REQUEST, "a POST needs a Content-Type: application/x-www-form-urlencoded or "
                                                    "application/sparql-query")
        if media == "application/sparql-update" or ("update" in params):
            raise HttpError(HTTPStatus.BAD_REQUEST, "updates are not accepted: this endpoint is read-only")
        if options.get("charset", "utf-8") not in ("utf-8", "utf8"):
            raise HttpError(HTTPStatus.BAD_REQUEST, f"charset {options['charset']!r}: the query must be UTF-8")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "the body is not UTF-8") from None
        if media == "application/x-www-form-urlencoded":
            form = parse_qs(text, keep_blank_values=True)
            if "update" in form:
                raise HttpError(HTTPStatus.BAD_REQUEST, "updates are not accepted: this endpoint is read-only")
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
            query = _single(params, "query")
            if query is None:
                raise HttpError(HTTPStatus.BAD_REQUEST, "the form has no 'query'")
        elif media == "application/sparql-query":
            if "query" in params:
                raise HttpError(HTTPStatus.BAD_REQUEST, "a 'query' parameter beside a query body: send one query")
            query = text
        else:
            raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type {media!r} is not accepted: use "
                                                               "application/x-www-form-urlencoded or application/sparql-query")
        self._sparql(query, params)

    # --- the work ----------------------------------------------------------------------

    def _sparql(self, text: str, params: dict[str, list[str]]) -> None:
        default, named_graphs = params.get("default-graph-uri"), params.get("named-graph-uri")
        if len(default or []) + len(named_graphs or []) > MAX_DATASET_GRAPHS:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"at most {MAX_DATASET_GRAPHS} graphs may be named")
        explicit = _single(params, "format")
        limits = self.endpoint.limits
        try:
            query = prepare_user_query(text, "<request>", limits, protocol_dataset=bool(default or named_graphs))
        except InputRejected as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        fmt = negotiate(self.headers.get("Accept"), "tabular" if query.form in ("SELECT", "ASK") else "graph", explicit)
        deadline = time.monotonic() + limits.timeout  # the whole request, writing the answer included
        if not self.server.queries.acquire(timeout=1.0):
            raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, "too many queries at once: try again", {"Retry-After": "1"})
        try:  # the slot is held until the answer is written
            try:
                answer = answer_user_query(query, SelectedStoreSource(self.endpoint.store_path, default, named_graphs), fmt,
                                           limits, deadline)
            except QueryLimitExceeded as exc:
                timed_out = any(p.rule == "query time limit" for p in exc.problems)
                raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE if timed_out else HTTPStatus.BAD_REQUEST, str(exc)) from None
            except InputRejected as exc:
                raise HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from None
            with answer:
                self._stream(answer, f"{MEDIA_OF[fmt]}; charset=utf-8", deadline)
        finally:
            self.server.queries.release()

    def _stream(self, answer, media: str, deadline: float) -> None:
        """Write an answer chunk by chunk, each write bounded by the deadline; past it, the
        connection is closed mid-answer (its Content-Length tells the client it was cut)."""
        self.send_response(HTTPStatus.OK)
        for key, value in (("Content-Type", media), ("Content-Length", str(answer.size)), ("Cache-Control", "no-store"),
                           ("X-Content-Type-Options", "nosniff")):
            self.send_header(key, value)
        self.end_headers()
        try:
            for chunk in answer:
                self.connection.settimeout(max(0.01, deadline - time.monotonic()))
                if self.command != "HEAD":
                    self.wfile.write(chunk)
        except (OSError, InputRejected):  # the deadline passed while writing or reading the answer
            self.close_connection = True
        finally:
            self.connection.settimeout(self.timeout)

    def _named(self, name: str, params: dict[str, list[str]]) -> None:
        explicit = _single(params, "format")
        given = {}
        for key, values in params.items():
            if key == "format":
                continue
            if len(values) != 1:
                raise HttpError(HTTPStatus.BAD_REQUEST, f"{len(values)} values for parameter {key!r}")
            given[key] = values[0]
        try:
            query = named.get(name)
            fmt = negotiate(self.headers.get("Accept"), "tabular", explicit)
            if not self.server.queries.acquire(timeout=1.0):
                raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, "too many queries at once: try again", {"Retry-After": "1"})
            try:
                solutions = named.run(self.server.store, query, given)
                body = solutions.serialize(format=OX_RESULTS[fmt])
            finally:
                self.server.queries.release()
        except InputRejected as exc:
            status = HTTPStatus.NOT_FOUND if name not in named.named_queries() else HTTPStatus.BAD_REQUEST
            raise HttpError(status, str(exc)) from None
        self._send(HTTPStatus.OK, body, f"{MEDIA_OF[fmt]}; charset=utf-8")


def index_page() -> bytes:
    """The page at /: the named queries (what each answers, parameters, text) and a query form."""
    items = []
    for query in named.named_queries().values():
        params = "".join(f"<li><code>{escape(p.name)}</code> (xsd:{escape(p.datatype)}"
                         f"{', default ' + escape(p.default) if p.default else ''}): {escape(p.description)}</li>" for p in query.params)
        items.append(f'<section id="{escape(query.name)}"><h3><a href="/queries/{escape(query.name)}?format=csv">{escape(query.name)}</a>'
                     f"</h3><p>{escape(' '.join(query.answers.split()))}</p>"
                     f"{'<ul>' + params + '</ul>' if params else ''}"
                     f"<details><summary>SPARQL</summary><pre>{escape(query.text)}</pre></details></section>")
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>b12kg cohort SPARQL endpoint</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;"
            "padding:.5rem;overflow:auto}textarea{width:100%;height:10rem;font-family:monospace}</style></head><body>"
            "<h1>b12kg cohort: SPARQL 1.1 endpoint (read-only)</h1>"
            "<p>Query the cohort at <code>/sparql</code> (GET or POST). Each assessment's graphs are named "
            "<code>{assessment}/graph/{asserted,inferred,concluded,activity,ignored,data-quality}</code>; the guideline is "
            "<code>https://w3id.org/b12kg/graph/ontology</code>; the default graph is the union of all graphs. Updates, "
            "SERVICE, LOAD and FROM are refused.</p>"
            '<form method="post" action="/sparql"><textarea name="query" aria-label="SPARQL query">'
            "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10</textarea>"
            '<label>Format <select name="format"><option>json</option><option>xml</option><option>csv</option>'
            '<option>tsv</option></select></label> <button type="submit">Run</button></form>'
            f"<h2>Named queries</h2>{''.join(items)}</body></html>").encode()


class CohortServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on connections and concurrent queries."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, endpoint: Endpoint, verbose: bool = False, max_connections: int = MAX_CONNECTIONS,
                 max_queries: int = MAX_CONCURRENT_QUERIES):
        from .store import CohortStore

        self.endpoint, self.verbose = endpoint, verbose
        self.store = CohortStore(endpoint.store_path, read_only=True).store
        self.page = index_page()
        self.connections = threading.BoundedSemaphore(max_connections)
        self.queries = threading.BoundedSemaphore(max_queries)
        super().__init__(address, Handler)

    def process_request(self, request, client_address):
        if not self.connections.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            finally:
                self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

"""The read-only SPARQL 1.1 Protocol endpoint over a cohort store (`b12kg serve`), on
Starlette served by uvicorn (runner.py), like the CDS Hooks service.

Routes:
    GET  /                 a small page: the named queries and a query form (no scripts)
    GET  /sparql           ?query=... [&default-graph-uri=...][&named-graph-uri=...]; with no query,
                           the SPARQL 1.1 Service Description (a browser is sent to /)
    POST /sparql           application/x-www-form-urlencoded (query=...) or
                           application/sparql-query (the query as the body, UTF-8)
    GET  /queries          the named queries (JSON)
    GET  /queries/NAME     a named query, its parameters from the query string (an HTML table for a browser)
         /fhir/...         quality measures over the cohort: Measure, $evaluate-measure, $care-gaps (serve/fhir/measures.py)

User SPARQL (/sparql) runs only through b12kg.query: parsed and checked once, evaluated
and serialised in a sandboxed child process that cannot reach the network, its answer
capped in bytes and streamed back; the time limit covers the whole request, writing
included. Updates, SERVICE, LOAD and FROM are refused with 400. The packaged named
queries are b12kg's own text, run on pyoxigraph with their parameters bound as RDF
terms, in slots of their own (slow user queries cannot starve them). Both routes open the
store for each request and read the committed loads only (a load under way, or killed,
is hidden: cohort.store.uncommitted), so they always agree. Results are
negotiated from Accept (or a `format` parameter, formats.py); a browser gets HTML tables (pages.py).

Bounded: Host names and origins (web.py), request heads (runner.py), bodies, connections,
concurrent queries and answer bytes. Binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs

import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ...cohort import named
from ...cohort.dataset import MAX_DATASET_GRAPHS, SelectedStoreSource
from ...errors import InputRejected
from ...namespaces import ONTOLOGY_GRAPH
from ...query import Answer, QueryLimitExceeded, QueryLimits, answer_user_query, prepare_user_query
from ..web import Guard, HttpError, Site, host_names, read_body
from .formats import FORMAT_PARAMETERS, MEDIA_OF, accepted, negotiate
from .pages import answer_table, index_page, named_query_page, results_page, service_description

MAX_BODY_BYTES = 1024 * 1024
MAX_CONNECTIONS = 32
MAX_CONCURRENT_QUERIES = 4
NAMED_QUERY_SLOTS = 2
SLOT_WAIT_SECONDS = 1.0

OX_RESULTS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML, "csv": ox.QueryResultsFormat.CSV,
              "tsv": ox.QueryResultsFormat.TSV}
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
SAFE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
HTML_ANSWER_BYTES = 4 * 1024 * 1024
"""Largest answer read whole to be shown as an HTML table (the machine formats are streamed)."""


@dataclass(frozen=True)
class Endpoint:
    """What the server serves, to whom, and its limits."""

    store_path: Path
    limits: QueryLimits = field(default_factory=QueryLimits)
    max_body_bytes: int = MAX_BODY_BYTES
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_queries: int = MAX_CONCURRENT_QUERIES
    named_slots: int = NAMED_QUERY_SLOTS


def _formats(params: dict[str, list[str]]) -> list[str]:
    """The format names a request gives (format, output, results: SPARQLWrapper sends all three)."""
    return [v for name in FORMAT_PARAMETERS for v in params.get(name, []) if v]


def _html(response_body: bytes) -> Response:
    return Response(response_body, media_type="text/html; charset=utf-8", headers={**SAFE_HEADERS, "Content-Security-Policy": PAGE_POLICY})


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


def error_response(error: HttpError) -> Response:
    """A refusal as text; the connection is closed after it, as the request's body may be unread."""
    return PlainTextResponse(error.message + "\n", status_code=error.status,
                             headers={**SAFE_HEADERS, **error.headers, "Connection": "close"})


class AnswerResponse:
    """A user query's answer streamed from its query process, all before `deadline`; past
    it the connection is closed mid-answer (the Content-Length shows the cut). The query
    slot is released when the answer is written or cut."""

    def __init__(self, answer: Answer, media: str, slot: asyncio.Semaphore):
        self.answer, self.media, self.slot = answer, media, slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.wait_for(self._send(scope, send), max(0.01, self.answer.deadline - time.monotonic()))
        except (TimeoutError, InputRejected):
            pass  # uvicorn closes a connection whose response is incomplete
        finally:
            await run_in_threadpool(self.answer.close)
            self.slot.release()

    async def _send(self, scope: Scope, send: Send) -> None:
        headers = [(b"content-type", self.media.encode()), (b"content-length", str(self.answer.size).encode()),
                   *((k.lower().encode(), v.encode()) for k, v in SAFE_HEADERS.items())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if scope["method"] != "HEAD":
            chunks = iter(self.answer)
            while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _take(slot: asyncio.Semaphore, what: str) -> None:
    try:
        await asyncio.wait_for(slot.acquire(), SLOT_WAIT_SECONDS)
    except TimeoutError:
        raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, f"too many {what} at once: try again", {"Retry-After": "1"}) from None


def create_app(endpoint: Endpoint) -> Starlette:
    """The ASGI application over one cohort store, opened read-only."""
    from ...cohort.store import CohortStore

    CohortStore(endpoint.store_path, read_only=True)  # a cohort store, or InputRejected now
    store_path = str(endpoint.store_path)
    page = index_page()
    site = Site(hosts=host_names(endpoint.host, endpoint.allowed_hosts), origins=endpoint.allowed_origins,
                methods=("GET", "HEAD", "POST"), request_headers=("accept", "content-type", "x-requested-with"),
                expose_headers=("Content-Type", "Content-Length"))  # read-only CORS: a hosted YASGUI may query
    queries = asyncio.Semaphore(endpoint.max_queries)
    named_slots = asyncio.Semaphore(endpoint.named_slots)
    limits = endpoint.limits

    async def sparql(request: Request) -> Response:
        if request.method not in ("GET", "HEAD", "POST"):
            raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{request.method} is not accepted: the endpoint is read-only",
                            {"Allow": "GET, HEAD, POST"})
        params = parse_qs(request.url.query, keep_blank_values=True)
        if "update" in params:
            raise HttpError(HTTPStatus.BAD_REQUEST, "updates are not accepted: this endpoint is read-only")
        if request.method != "POST":
            query = _single(params, "query")
            if query is None:
                return description(request, params)
            return await _sparql(request, query, params)
        media, options = _media_type(request.headers.get("content-type"))
        body = await read_body(request, endpoint.max_body_bytes)
        if media == "":
            raise HttpError(HTTPStatus.BAD_REQUEST, "a POST needs a Content-Type: application/x-www-form-urlencoded or "
                                                    "application/sparql-query")
        if media == "application/sparql-update":
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
        return await _sparql(request, query, params)

    def description(request: Request, params: dict[str, list[str]]) -> Response:
        """The SPARQL 1.1 Service Description (a browser asking for HTML is sent to the page at /)."""
        explicit = _formats(params)
        if not explicit and accepted(request.headers.get("accept"))[:1] == ["text/html"]:
            return RedirectResponse("/", status_code=HTTPStatus.SEE_OTHER)
        fmt = negotiate(request.headers.get("accept"), "graph", explicit)
        fmt = "turtle" if fmt == "html" else fmt
        url = f"{request.url.scheme}://{request.headers.get('host', 'localhost')}/sparql"
        body = service_description(url, fmt, str(ONTOLOGY_GRAPH))
        return Response(body, media_type=f"{MEDIA_OF[fmt]}; charset=utf-8", headers=SAFE_HEADERS)

    async def _sparql(request: Request, text: str, params: dict[str, list[str]]) -> Response:
        deadline = time.monotonic() + limits.timeout  # the whole query: evaluation and writing the answer
        default, named_graphs = params.get("default-graph-uri"), params.get("named-graph-uri")
        if len(default or []) + len(named_graphs or []) > MAX_DATASET_GRAPHS:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"at most {MAX_DATASET_GRAPHS} graphs may be named")
        explicit = _formats(params)
        try:
            query = prepare_user_query(text, "<request>", limits, protocol_dataset=bool(default or named_graphs))
        except InputRejected as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        fmt = negotiate(request.headers.get("accept"), "tabular" if query.form in ("SELECT", "ASK") else "graph", explicit)
        shown = fmt == "html"
        if shown:  # read whole (bounded), then shown as a table
            fmt = "json" if query.form in ("SELECT", "ASK") else "nt"
        await _take(queries, "queries")
        try:
            source = SelectedStoreSource(endpoint.store_path, default, named_graphs)
            capped = replace(limits, max_answer_bytes=min(limits.max_answer_bytes, HTML_ANSWER_BYTES)) if shown else limits
            answer = await run_in_threadpool(answer_user_query, query, source, fmt, capped, deadline)
        except QueryLimitExceeded as exc:
            queries.release()
            timed_out = any(p.rule == "query time limit" for p in exc.problems)
            raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE if timed_out else HTTPStatus.BAD_REQUEST, str(exc)) from None
        except InputRejected as exc:
            queries.release()
            raise HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        except BaseException:
            queries.release()
            raise
        if not shown:
            return AnswerResponse(answer, f"{MEDIA_OF[fmt]}; charset=utf-8", queries)
        try:
            body = await run_in_threadpool(lambda: b"".join(answer))
        except InputRejected as exc:
            raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from None
        finally:
            await run_in_threadpool(answer.close)
            queries.release()
        return _html(results_page(text, answer_table(body, fmt)))

    def _read_only(request: Request) -> None:
        if request.method not in ("GET", "HEAD"):
            raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{request.method} is not accepted here: the endpoint is read-only",
                            {"Allow": "GET, HEAD"})

    async def index(request: Request) -> Response:
        _read_only(request)
        return _html(page)

    async def listing(request: Request) -> Response:
        _read_only(request)
        found = [{"name": q.name, "answers": " ".join(q.answers.split()), "url": f"/queries/{q.name}",
                  "params": [{"name": p.name, "datatype": f"xsd:{p.datatype}", "default": p.default} for p in q.params]}
                 for q in named.named_queries().values()]
        return Response(json.dumps(found, indent=1), media_type="application/json", headers=SAFE_HEADERS)

    async def named_query(request: Request) -> Response:
        _read_only(request)
        name = request.path_params["name"]
        params = parse_qs(request.url.query, keep_blank_values=True)
        explicit = _formats(params)
        given = {}
        for key, values in params.items():
            if key in FORMAT_PARAMETERS or values == [""]:  # an empty form field: the default
                continue
            if len(values) != 1:
                raise HttpError(HTTPStatus.BAD_REQUEST, f"{len(values)} values for parameter {key!r}")
            given[key] = values[0]
        try:
            query = named.get(name)
            fmt = negotiate(request.headers.get("accept"), "tabular", explicit)
            await _take(named_slots, "named queries")
            try:
                # opened per request, as /sparql does: both routes read the same committed loads
                body = await run_in_threadpool(
                    lambda: named.run(ox.Store.read_only(store_path), query, given).serialize(
                        format=OX_RESULTS["json" if fmt == "html" else fmt]))
            finally:
                named_slots.release()
        except InputRejected as exc:
            status = HTTPStatus.NOT_FOUND if name not in named.named_queries() else HTTPStatus.BAD_REQUEST
            raise HttpError(status, str(exc)) from None
        if fmt == "html":
            return _html(named_query_page(query, given, body))
        return Response(body, media_type=f"{MEDIA_OF[fmt]}; charset=utf-8", headers=SAFE_HEADERS)

    async def not_found(request: Request) -> Response:
        raise HttpError(HTTPStatus.NOT_FOUND, f"no such resource {request.url.path[:200]!r}: see / for what is here")

    async def http_error(request: Request, exc: HttpError) -> Response:
        return error_response(exc)

    async def internal_error(request: Request, exc: Exception) -> Response:
        return error_response(HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}"))

    from ..fhir.measures import routes as measure_routes

    routes = [Route("/", index, methods=ALL_METHODS), Route("/index.html", index, methods=ALL_METHODS),
              Route("/sparql", sparql, methods=ALL_METHODS), Route("/sparql/", sparql, methods=ALL_METHODS),
              Route("/queries", listing, methods=ALL_METHODS), Route("/queries/{name}", named_query, methods=ALL_METHODS),
              *measure_routes(endpoint.store_path, named_slots), Route("/{path:path}", not_found, methods=ALL_METHODS)]
    return Starlette(routes=routes, middleware=[Middleware(Guard, site=site, error=error_response)],
                     exception_handlers={HttpError: http_error, Exception: internal_error})


def serve(app: Starlette, host: str, port: int, *, max_connections: int = MAX_CONNECTIONS, head_seconds: float | None = None,
          verbose: bool = False, on_listening=None) -> None:
    """Serve the endpoint's app with uvicorn until SIGINT or SIGTERM."""
    from ..runner import HEAD_SECONDS, run

    with contextlib.suppress(KeyboardInterrupt):
        run(app, host, port, max_connections=max_connections, head_seconds=HEAD_SECONDS if head_seconds is None else head_seconds,
            verbose=verbose, on_listening=on_listening)

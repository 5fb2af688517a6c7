"""The CDS Hooks 2.0 service (`b12kg cds-hooks`), on Starlette (ASGI) served by uvicorn.

    GET  /cds-services                       discovery: b12-patient-view, b12-order-sign
    POST /cds-services/{id}                  call a service: {"cards": [...]}
    POST /cds-services/{id}/feedback         store accepted / overridden outcomes
    GET  /cds-services/{id}/feedback         read them back
    GET  /explanations/{token}               the b12kg explanation page a card links to

Prefetch is read from the request; a missing key is fetched from the request's
fhirServer with its access token only when the operator allow-lists that server
(fhir_client.py: without one, prefetch-only); a key present as null means no data; with
neither, 412. Bad requests get a 4xx with a message. The service binds to 127.0.0.1 by
default, serves only its host names, answers cross-origin calls only from allow-listed
origins (web.py), bounds request size and time, and verifies JWT bearer tokens when
issuers are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..api import Api
from ..errors import InputRejected
from ..fhir_output import facts, vocabulary
from .cds_auth import JwtVerifier, Unauthorized
from .cds_cards import issue_cards, public, recommendation_cards, rejection_card
from .cds_feedback import MAX_PAGE, PAGE, FeedbackError, FeedbackStore, default_path
from .cds_orders import BadDraftOrders, as_if_signed, draft_medications, issues
from .cds_prefetch import BadPrefetch, PrefetchMissing, Source, assemble, templates
from .fhir_client import FetchRefused, FhirClient
from .runner import HEAD_SECONDS
from .web import Guard, HttpError, Rate, Site, host_names, read_body

MAX_REQUEST_BYTES = 12 * 1024 * 1024
"""Largest request body (a patient's prefetch is read up to the loader's 10 MiB)."""

MAX_CONNECTIONS = 64
"""Connections served at once (more get 503)."""

MAX_CONCURRENT_CALLS = 4
CALL_WAIT_SECONDS = 10.0
"""Service calls handled at once (request, prefetch read, assessment); others wait this long, then 503."""

MAX_FEEDBACK_BYTES = 64 * 1024
FEEDBACK_PER_SECOND, FEEDBACK_BURST = 5.0, 20
"""Feedback requests: body size, and rate (more get 429)."""

REQUEST_TIMEOUT_SECONDS = 60.0
"""Longest a service call may take, fetching included (the assessment itself has its own 30 s budget)."""

ASSESSMENTS_CACHED = 256
"""Assessments kept by input hash: a chart opened again with an unchanged record is not re-assessed."""

EXPLANATIONS_KEPT = 256
EXPLANATION_SECONDS = 3600
"""Explanation pages are kept in memory for the cards' links: the latest 256, for one hour."""

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""FHIR's id pattern; '.' and '..' are refused besides (they would be dot-segments in a URL)."""

SERVICES = {
    "b12-patient-view": {
        "hook": "patient-view", "title": "Vitamin B12 in peripheral neuropathy",
        "description": "Assesses the patient against the guideline 'Treatment of Peripheral Neuropathy with Mildly Low Vitamin "
                       "B12': B12 status, risk factors and the recommended tests, treatment and follow-up, each citing the "
                       "guideline statement it rests on."},
    "b12-order-sign": {
        "hook": "order-sign", "title": "Vitamin B12 checks on orders being signed",
        "description": "Checks draft medication orders against the B12 guideline: folic acid above 0.1 mg daily without B12 "
                       "therapy; metformin or a proton pump inhibitor for a patient with confirmed or functional B12 "
                       "deficiency; oral B12 where intramuscular loading is indicated. Draft orders count as proposed, not active."},
}


@dataclass
class Config:
    """How the service runs. Defaults: loopback, prefetch-only (no FHIR server read), no
    cross-origin callers, no JWT, feedback in the user's state folder."""

    host: str = "127.0.0.1"
    port: int = 8080
    fhir_servers: list[str] = field(default_factory=list)
    """FHIR servers missing prefetch may be read from (base URLs); none: prefetch-only."""
    allow_private_fhir: bool = False
    """Tests (or an intranet FHIR server): read FHIR servers at loopback and private addresses, http on loopback."""
    allowed_origins: list[str] = field(default_factory=list)
    """Origins of browser-based CDS clients allowed to call cross-origin; '*' only with JWT."""
    allowed_hosts: list[str] = field(default_factory=list)
    """Host names served besides the loopback names and the bound address."""
    public_url: str | None = None
    """The service's URL as its clients call it (JWT audience, card links); default http://host:port."""
    max_calls: int = MAX_CONCURRENT_CALLS
    call_wait: float = CALL_WAIT_SECONDS
    as_of: date | None = None
    feedback_db: Path = field(default_factory=default_path)
    jwt_issuers: list[str] = field(default_factory=list)
    jwks_file: Path | None = None
    cache_size: int = ASSESSMENTS_CACHED
    max_request_bytes: int = MAX_REQUEST_BYTES
    request_timeout: float = REQUEST_TIMEOUT_SECONDS
    head_seconds: float = HEAD_SECONDS
    """Longest a client may take to send a request head (slowloris)."""


class Explanations:
    """The assessments behind recent cards, by unguessable token, bounded in number and age."""

    def __init__(self, capacity: int = EXPLANATIONS_KEPT, seconds: float = EXPLANATION_SECONDS):
        self.capacity, self.seconds = capacity, seconds
        self._items: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, assessment) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._items[token] = (time.monotonic() + self.seconds, assessment)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return token

    def get(self, token: str):
        with self._lock:
            found = self._items.get(token)
            if found is None or found[0] < time.monotonic():
                self._items.pop(token, None)
                return None
            return found[1]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


async def _read_json(request: Request, limit: int):
    """The request body as JSON, refusing wrong media types, oversized or slow bodies and bad JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/fhir+json"):
        raise HttpError(415, f"expected Content-Type application/json, found {media or 'none'!r}")
    body = await read_body(request, limit)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise HttpError(400, f"the request body is not JSON: {str(exc)[:200]}") from None


@dataclass
class Call:
    """A validated service call."""

    service: str
    hook_instance: str
    patient_id: str
    prefetch: dict | None
    source: Source
    draft_orders: list[dict]


def _parse_call(body, service: str, fhir: FhirClient) -> Call:
    hook = SERVICES[service]["hook"]
    if not isinstance(body, dict):
        raise HttpError(400, "expected a CDS Hooks request object")
    if body.get("hook") != hook:
        raise HttpError(400, f"hook: the service {service} answers the {hook} hook, not {str(body.get('hook'))[:60]!r}")
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise HttpError(400, "hookInstance: required (a UUID string)")
    context = body.get("context")
    if not isinstance(context, dict):
        raise HttpError(400, "context: required (an object)")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not _FHIR_ID.fullmatch(patient_id) or patient_id in (".", ".."):
        raise HttpError(400, "context.patientId: required, a FHIR id (letters, digits, '-' and '.', at most 64)")
    drafts = []
    if hook == "order-sign":
        if "draftOrders" not in context:
            raise HttpError(400, "context.draftOrders: required for order-sign (a Bundle of the orders being signed)")
        try:
            drafts = draft_medications(context["draftOrders"])
        except BadDraftOrders as exc:
            raise HttpError(400, str(exc)) from None
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise HttpError(400, "prefetch: expected an object")
    server = body.get("fhirServer")
    if server is not None and not isinstance(server, str):
        raise HttpError(400, "fhirServer: expected an http(s) URL")
    try:
        base = fhir.base_for(server)
    except ValueError as exc:
        raise HttpError(400, f"fhirServer: {exc}") from None
    except FetchRefused as exc:
        raise HttpError(403, str(exc)) from None
    token = None
    authorization = body.get("fhirAuthorization")
    if authorization is not None:
        if not isinstance(authorization, dict) or not isinstance(authorization.get("access_token"), str):
            raise HttpError(400, "fhirAuthorization.access_token: expected a string")
        token = authorization["access_token"]
    return Call(service, body["hookInstance"], patient_id, prefetch, Source(base, token), drafts)


def _public_url(config: Config) -> str:
    """The service's base URL as clients call it, from configuration only (never a request header)."""
    if config.public_url is None:
        host = f"[{config.host}]" if ":" in config.host else config.host
        return f"http://{host}:{config.port}"
    parts = urlsplit(config.public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query or parts.fragment:
        raise ValueError(f"--public-url {config.public_url!r}: expected http(s)://host[:port][/path]")
    return config.public_url.rstrip("/")


def create_app(config: Config | None = None, api: Api | None = None, fhir: FhirClient | None = None) -> Starlette:
    """The ASGI application (one prepared Api, one feedback database, one FHIR client).
    `fhir` replaces the client built from the configuration (tests: a mock transport and resolver)."""
    config = config or Config()
    if config.jwt_issuers and not config.jwks_file:
        raise ValueError("JWT verification needs a JWKS file (--jwks)")
    site = Site(hosts=host_names(config.host, config.allowed_hosts), origins=tuple(config.allowed_origins),
                authenticated=bool(config.jwt_issuers), methods=("GET", "POST", "OPTIONS"),
                expose_headers=("Origin", "Accept", "Content-Location", "Location", "X-Requested-With"))
    base_url = _public_url(config)
    fhir = fhir or FhirClient.from_urls(config.fhir_servers, allow_private=config.allow_private_fhir)
    calls = asyncio.Semaphore(config.max_calls)
    feedback_rate = Rate(FEEDBACK_PER_SECOND, FEEDBACK_BURST)
    api = api or Api(cache_size=config.cache_size)
    vocab = vocabulary(api.knowledge)
    store = FeedbackStore(config.feedback_db)
    verifier = JwtVerifier.from_files(config.jwt_issuers, config.jwks_file) if config.jwt_issuers else None
    explanations = Explanations()

    def authorize(request: Request) -> None:
        if verifier is None:
            return
        try:
            verifier.verify(request.headers.get("authorization"), base_url + request.url.path)  # the audience: configuration
        except Unauthorized as exc:
            raise HttpError(401, str(exc)) from None

    def service_of(request: Request) -> str:
        service = request.path_params["service"]
        if service not in SERVICES:
            raise HttpError(404, f"no CDS service {service[:60]!r}; GET /cds-services lists them")
        return service

    usage = ("Prefetch every key." if not fhir.servers else
             f"Prefetch every key, or give fhirServer ({', '.join(map(str, fhir.servers))}) and fhirAuthorization "
             "so that missing keys can be fetched.")

    async def discovery(request: Request) -> Response:
        prefetch = templates(api.knowledge)
        return JSONResponse({"services": [{"hook": s["hook"], "title": s["title"], "description": s["description"], "id": sid,
                                           "prefetch": prefetch,
                                           "usageRequirements": usage}
                                          for sid, s in SERVICES.items()]})

    def link(request: Request, assessment) -> str:
        return f"{base_url}/explanations/{explanations.put(assessment)}"

    def patient_view(request: Request, call: Call, bundle: dict, as_of: date) -> list[dict]:
        try:
            result = api.assess(bundle, as_of, f"{call.service} request for Patient/{call.patient_id}")
        except InputRejected as exc:
            return [rejection_card(exc, vocab)]
        if not result.document["recommendations"]:
            return []
        return recommendation_cards(result.document, facts(result.quads), vocab, link(request, result.assessment))

    def order_sign(request: Request, call: Call, bundle: dict, as_of: date) -> list[dict]:
        name = f"{call.service} request for Patient/{call.patient_id}"
        try:
            before = api.assess(bundle, as_of, name)
        except InputRejected as exc:
            return [rejection_card(exc, vocab)]
        if not any(d["resourceType"] == "MedicationRequest" for d in call.draft_orders):
            return []
        taken = {e["resource"].get("id") for e in bundle["entry"]}
        statements, names = as_if_signed(call.draft_orders, call.patient_id, as_of.isoformat(), taken)
        try:
            after = api.assess({**bundle, "entry": [*bundle["entry"], *({"resource": s} for s in statements)]}, as_of,
                               f"{name} (draft orders as if signed)")
        except InputRejected as exc:
            return [rejection_card(exc, vocab)]
        found = issues(after.quads, api.knowledge, vocab, names, [r["action"] for r in before.document["recommendations"]])
        if not found:
            return []
        known = facts(after.quads)
        for sid in names:
            if sid in known:
                known[sid]["resourceType"] = "draft order"
                known[sid]["status"] = "proposed, counted as if signed"
        return issue_cards(found, names, before.document, known, vocab, link(request, before.assessment))

    async def call_service(request: Request) -> Response:
        service = service_of(request)
        authorize(request)
        try:
            await asyncio.wait_for(calls.acquire(), config.call_wait)
        except TimeoutError:
            raise HttpError(503, "too many calls at once: try again", {"Retry-After": "2"}) from None
        try:
            return await _call(request, service)
        finally:
            calls.release()

    async def _call(request: Request, service: str) -> Response:
        call = _parse_call(await _read_json(request, config.max_request_bytes), service, fhir)

        async def work() -> list[dict]:
            try:
                bundle = await assemble(call.prefetch, call.patient_id, api.knowledge, call.source, fhir)
            except PrefetchMissing as exc:
                raise HttpError(412, str(exc)) from None
            except BadPrefetch as exc:
                raise HttpError(400, str(exc)) from None
            as_of = config.as_of or date.today()
            run = patient_view if SERVICES[service]["hook"] == "patient-view" else order_sign
            return await run_in_threadpool(run, request, call, bundle, as_of)

        try:
            cards = await asyncio.wait_for(work(), config.request_timeout)
        except TimeoutError:
            raise HttpError(503, f"the assessment took longer than {config.request_timeout:g} s") from None
        store.issued(service, call.hook_instance, call.patient_id, cards)
        return JSONResponse({"cards": public(cards)})

    async def post_feedback(request: Request) -> Response:
        service = service_of(request)
        authorize(request)
        if not feedback_rate.take():
            raise HttpError(429, "too much feedback at once: try again shortly", {"Retry-After": "1"})
        body = await _read_json(request, MAX_FEEDBACK_BYTES)
        try:
            stored = await run_in_threadpool(store.record, service, body)
        except FeedbackError as exc:
            raise HttpError(exc.status, str(exc)) from None
        return JSONResponse({"stored": stored})

    async def get_feedback(request: Request) -> Response:
        """Newest first, a page at a time: ?limit=N (at most 500) and ?before=ID (the page's `next`)."""
        service = service_of(request)
        authorize(request)
        try:
            limit = int(request.query_params.get("limit", PAGE))
            before = int(request.query_params["before"]) if "before" in request.query_params else None
        except ValueError:
            raise HttpError(400, "limit and before are integers") from None
        items = await run_in_threadpool(store.read, service, limit, before)
        page = {"feedback": items}
        if items and len(items) == max(1, min(limit, MAX_PAGE)):
            page["next"] = f"{request.url.path}?limit={limit}&before={items[-1]['id']}"
        return JSONResponse(page)

    async def explanation(request: Request) -> Response:
        assessment = explanations.get(request.path_params["token"])
        if assessment is None:
            raise HttpError(404, "no such explanation (they are kept for one hour)")
        from ..render.explain import render

        page = await run_in_threadpool(render, assessment, api.knowledge, "html")
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    async def http_error(request: Request, exc: HttpError) -> Response:
        return _error(exc.status, exc.message, exc.headers)

    async def internal_error(request: Request, exc: Exception) -> Response:
        return _error(500, f"internal error: {type(exc).__name__}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await fhir.aclose()
        store.close()

    routes = [
        Route("/cds-services", discovery, methods=["GET"]),
        Route("/cds-services/{service}", call_service, methods=["POST"]),
        Route("/cds-services/{service}/feedback", post_feedback, methods=["POST"]),
        Route("/cds-services/{service}/feedback", get_feedback, methods=["GET"]),
        Route("/explanations/{token}", explanation, methods=["GET"]),
    ]
    middleware = [Middleware(Guard, site=site, error=lambda e: _error(e.status, e.message, e.headers))]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HttpError: http_error, Exception: internal_error})
    app.state.api, app.state.feedback = api, store
    return app


def serve(config: Config) -> None:
    """Run the service with uvicorn (runner.py: request-head deadline) until interrupted."""
    from .runner import run

    app = create_app(config)
    run(app, config.host, config.port, max_connections=MAX_CONNECTIONS, head_seconds=config.head_seconds, verbose=True)

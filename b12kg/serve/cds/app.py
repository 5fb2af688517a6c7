"""The CDS Hooks 2.0 service (`b12kg cds-hooks`), on Starlette (ASGI) served by uvicorn.

    GET  /cds-services                       discovery: the services the packs define (patient-view,
                                             order-select, order-sign)
    POST /cds-services/{id}                  call a service: {"cards": [...], "systemActions": [...]}
    POST /cds-services/{id}/feedback         store accepted / overridden outcomes
    GET  /cds-services/{id}/feedback         read them back
    GET  /explanations/{token}               the b12kg explanation page a card links to
    GET  /smart/launch, /smart/callback      the same page through a SMART app launch (smart.py; with a client id)
         /fhir/...                           FHIR Clinical Reasoning: PlanDefinition, $apply (serve/fhir/)

Prefetch is read from the request; a missing key is fetched from the request's fhirServer
with its access token only when the operator allow-lists that server (fhir_client.py:
without one, prefetch-only); a key present as null means no data; with neither, 412. Bad
requests get a 4xx with a message. The service binds to 127.0.0.1 by default, serves only
its host names, answers cross-origin calls only from allow-listed origins (web.py), bounds
request size and time, and verifies JWT bearer tokens when issuers are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import date

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ...api import Api
from ...errors import HttpError
from ...render.vocabulary import vocabulary
from ..fhir_client import FhirClient
from ..web import Guard, Rate, Site, host_names
from .auth import JwtVerifier
from .config import FEEDBACK_BURST, FEEDBACK_PER_SECOND, MAX_CONNECTIONS, MAX_FEEDBACK_BYTES, Config
from .explanations import Explanations
from .feedback import MAX_PAGE, PAGE, FeedbackStore
from .hooks import Hooks
from .prefetch import assemble, templates
from .request import parse_call, read_json
from .services import services
from .smart import Smart
from .smart import routes as smart_routes


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


class Service:
    """One running service: its configuration, prepared Api, FHIR client, feedback store and verifier."""

    def __init__(self, config: Config, api: Api | None, fhir: FhirClient | None):
        if config.jwt_issuers and not config.jwks_file:
            raise ValueError("JWT verification needs a JWKS file (--jwks)")
        self.config = config
        self.base_url = config.base_url()
        self.fhir = fhir or FhirClient.from_urls(config.fhir_servers, allow_private=config.allow_private_fhir)
        self.calls = asyncio.Semaphore(config.max_calls)
        self.feedback_rate = Rate(FEEDBACK_PER_SECOND, FEEDBACK_BURST)
        self.api = api or Api(cache_size=config.cache_size)
        self.vocab = vocabulary(self.api.knowledge)
        self.services = services(self.api.knowledge)
        self.store = FeedbackStore(config.feedback_db)
        self.sync_lock = threading.Lock()
        self.verifier = JwtVerifier.from_files(config.jwt_issuers, config.jwks_file) if config.jwt_issuers else None
        self.explanations = Explanations()
        config.check_smart()
        self.smart = None if config.smart_client_id is None else \
            Smart(config.smart_client_id, config.smart_scope, self.fhir, self.explanations, self.base_url)
        self.hooks = Hooks(self.api, self.vocab, self.links)

    def as_of(self) -> date:
        return self.config.as_of or date.today()

    def authorize(self, request: Request) -> None:
        if self.verifier is not None:
            self.verifier.verify(request.headers.get("authorization"), self.base_url + request.url.path)  # the audience: configuration

    def links(self, assessment) -> list[dict]:
        """A card's links: the explanation page of the assessment behind it, and the same page through
        the SMART app when it runs (smart.py: the EHR launches it, appContext names the page)."""
        token = self.explanations.put(assessment)
        found = [{"label": "Why? The b12kg explanation of this assessment", "url": f"{self.base_url}/explanations/{token}",
                  "type": "absolute"}]
        return found + ([self.smart.link(token)] if self.smart else [])

    def sync_feedback(self) -> None:
        """Copy the feedback into the cohort store (--store), one transactional load. SQLite stays the durable
        record: a store another process holds (a batch loading) is synced by the next feedback or b12kg feedback."""
        import logging

        from ...cohort.feedback import sync

        with self.sync_lock:
            try:
                sync(self.store, self.config.cohort_store)
            except OSError as exc:
                logging.getLogger("b12kg.cds").warning("b12kg: feedback kept in SQLite, not yet in the cohort store %s: %s",
                                                       self.config.cohort_store, exc)

    def service_of(self, request: Request):
        name = request.path_params["service"]
        if name not in self.services:
            raise HttpError(404, f"no CDS service {name[:60]!r}; GET /cds-services lists them")
        return self.services[name]

    async def slot(self):
        try:
            await asyncio.wait_for(self.calls.acquire(), self.config.call_wait)
        except TimeoutError:
            raise HttpError(503, "too many calls at once: try again", {"Retry-After": "2"}) from None

    async def within_time(self, work):
        try:
            return await asyncio.wait_for(work, self.config.request_timeout)
        except TimeoutError:
            raise HttpError(503, f"the assessment took longer than {self.config.request_timeout:g} s") from None


def routes(service: Service) -> list[Route]:
    """The CDS Hooks routes of a running service."""
    usage = ("Prefetch every key." if not service.fhir.servers else
             f"Prefetch every key, or give fhirServer ({', '.join(map(str, service.fhir.servers))}) and fhirAuthorization "
             "so that missing keys can be fetched.")

    async def discovery(request: Request) -> Response:
        prefetch = templates(service.api.knowledge)
        return JSONResponse({"services": [{"hook": s.hook, "title": s.title, "description": s.description, "id": s.id,
                                           "prefetch": prefetch, "usageRequirements": usage} for s in service.services.values()]})

    async def call_service(request: Request) -> Response:
        definition = service.service_of(request)
        service.authorize(request)
        await service.slot()
        try:
            call = parse_call(await read_json(request, service.config.max_request_bytes), definition, service.fhir)

            async def work():
                bundle = await assemble(call.prefetch, call.patient_id, service.api.knowledge, call.source, service.fhir)
                return await run_in_threadpool(service.hooks.run, call, bundle, service.as_of())

            answer = await service.within_time(work())
        finally:
            service.calls.release()
        service.store.issued(definition.id, call.hook_instance, call.patient_id, answer.cards)
        return JSONResponse(answer.body())

    async def post_feedback(request: Request) -> Response:
        definition = service.service_of(request)
        service.authorize(request)
        if not service.feedback_rate.take():
            raise HttpError(429, "too much feedback at once: try again shortly", {"Retry-After": "1"})
        body = await read_json(request, MAX_FEEDBACK_BYTES)
        stored = await run_in_threadpool(service.store.record, definition.id, body)
        if service.config.cohort_store is not None:
            await run_in_threadpool(service.sync_feedback)
        return JSONResponse({"stored": stored})

    async def get_feedback(request: Request) -> Response:
        """Newest first, a page at a time: ?limit=N (at most 500) and ?before=ID (the page's `next`)."""
        definition = service.service_of(request)
        service.authorize(request)
        try:
            limit = int(request.query_params.get("limit", PAGE))
            before = int(request.query_params["before"]) if "before" in request.query_params else None
        except ValueError:
            raise HttpError(400, "limit and before are integers") from None
        items = await run_in_threadpool(service.store.read, definition.id, limit, before)
        page = {"feedback": items}
        if items and len(items) == max(1, min(limit, MAX_PAGE)):
            page["next"] = f"{request.url.path}?limit={limit}&before={items[-1]['id']}"
        return JSONResponse(page)

    async def explanation(request: Request) -> Response:
        assessment = service.explanations.get(request.path_params["token"])
        if assessment is None:
            raise HttpError(404, "no such explanation (they are kept for one hour)")
        page = await run_in_threadpool(explanation_page, assessment, service.api.knowledge)
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    return [
        Route("/cds-services", discovery, methods=["GET"]),
        Route("/cds-services/{service}", call_service, methods=["POST"]),
        Route("/cds-services/{service}/feedback", post_feedback, methods=["POST"]),
        Route("/cds-services/{service}/feedback", get_feedback, methods=["GET"]),
        Route("/explanations/{token}", explanation, methods=["GET"]),
    ]


def explanation_page(assessment, knowledge) -> str:
    """The explanation page of an assessment."""
    from ...render.explain import render

    return render(assessment, knowledge, "html")


def create_app(config: Config | None = None, api: Api | None = None, fhir: FhirClient | None = None) -> Starlette:
    """The ASGI application (one prepared Api, one feedback database, one FHIR client).
    `fhir` replaces the client built from the configuration (tests: a mock transport and resolver)."""
    config = config or Config()
    site = Site(hosts=host_names(config.host, config.allowed_hosts), origins=tuple(config.allowed_origins),
                authenticated=bool(config.jwt_issuers), methods=("GET", "POST", "OPTIONS"),
                expose_headers=("Origin", "Accept", "Content-Location", "Location", "X-Requested-With"))
    service = Service(config, api, fhir)
    from ..fhir.apply import routes as fhir_routes

    async def http_error(request: Request, exc: HttpError) -> Response:
        return error(exc.status, exc.message, exc.headers)

    async def internal_error(request: Request, exc: Exception) -> Response:
        return error(500, f"internal error: {type(exc).__name__}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await service.fhir.aclose()
        service.store.close()

    middleware = [Middleware(Guard, site=site, error=lambda e: error(e.status, e.message, e.headers))]
    app = Starlette(routes=[*routes(service), *smart_routes(service.smart), *fhir_routes(service)], middleware=middleware, lifespan=lifespan,
                    exception_handlers={HttpError: http_error, Exception: internal_error})
    app.state.api, app.state.feedback, app.state.service = service.api, service.store, service
    return app


def serve(config: Config) -> None:
    """Run the service with uvicorn (runner.py: request-head deadline) until interrupted."""
    from ..runner import run

    app = create_app(config)
    run(app, config.host, config.port, max_connections=MAX_CONNECTIONS, head_seconds=config.head_seconds, verbose=True)


__all__ = ["Config", "create_app", "serve"]

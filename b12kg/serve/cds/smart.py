"""A minimal SMART on FHIR app inside the CDS service, so that a card's `smart` link opens the
card's explanation from inside the EHR (SMART App Launch 2.x: EHR launch, public client,
PKCE with S256; CDS Hooks 2.0: the link's `appContext` comes back in the token response).

    GET /smart/launch?iss=...&launch=...    the EHR launches the app. `iss` must be a FHIR server
                                            the operator allow-lists (--fhir-server): nothing else
                                            is ever read. Its .well-known/smart-configuration is
                                            read (bounded), a state and a PKCE verifier are kept
                                            server-side, and the browser is sent to the
                                            authorization endpoint (scope `launch`).
    GET /smart/callback?code=...&state=...  the authorization server sends the browser back. The
                                            state is taken (once, within ten minutes), the code is
                                            exchanged at the token endpoint with the verifier, and
                                            the browser is sent to the explanation page the token
                                            response's `appContext` names (the card's explanation
                                            token), while that explanation is kept.

Off unless the operator gives a client id (--smart-client-id): then no card carries a smart
link and /smart/* answers 404 saying so. Every failure is an HTML page with its status and a
sentence saying what to do; codes, states, verifiers and tokens are never shown or logged,
and the access token is dropped as soon as the response is read (b12kg reads no FHIR data with
it: the explanation is the one the card was made from)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ...errors import InputRejected
from ...load.strict_json import parse_json
from ...net import is_loopback
from ..fhir_client import Budget, FetchFailed, FetchRefused, FetchTimedOut, FhirBase, FhirClient
from ..web import Rate

log = logging.getLogger("b12kg.cds-hooks")

SCOPE = "launch"
"""The scope asked for: the launch context only (b12kg reads no FHIR data in the app)."""

STATE_SECONDS = 600.0
STATES_KEPT = 1024
"""Launches under way: each state lives ten minutes and is used once; the newest 1,024 are kept."""

CONFIGURATION_SECONDS = 300.0
"""A FHIR server's SMART configuration is read again after five minutes."""

ANSWER_BYTES = 64 * 1024
EXCHANGE_SECONDS = 15.0
"""Bytes read from a SMART configuration or a token response, and the longest either may take
(besides the FHIR client's 10 s connect and read timeouts)."""

LAUNCH_PER_SECOND, LAUNCH_BURST = 5.0, 20
"""Launches started (more get 429): each one may read a SMART configuration and keeps a state."""

MAX_PARAMETER_CHARS = 2048

EXPLANATION_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""An appContext b12kg gave (an explanation token, explanations.py)."""

_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")
"""An OAuth error code shown on a page (any other text from the server is not)."""

HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
"""Every /smart answer: never cached, never sent as a Referer (the callback URL holds the code)."""

OFF = ("SMART launch is off on this service: its operator has not registered it with an EHR "
       "(--smart-client-id, docs/cds-developers.md). Use the card's plain explanation link.")

AGAIN = "Open the card's SMART link again, or use the card's plain explanation link."


class SmartError(Exception):
    """A launch or callback b12kg refuses: an HTML page with this status, title and message."""

    def __init__(self, status: int, title: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.title, self.message, self.headers = status, title, message, headers or {}


def page(status: int, title: str, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    body = (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>b12kg: {html.escape(title)}</title></head>\n"
            f"<body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto\"><h1>{html.escape(title)}</h1>\n"
            f"<p>{html.escape(message)}</p>\n<p><small>HTTP {status}</small></p></body></html>\n")
    return HTMLResponse(body, status_code=status, headers={**HEADERS, **(headers or {})})


def challenge_of(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636 section 4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


@dataclass
class Pending:
    """A launch waiting for its callback: what the exchange needs, nothing else."""

    iss: str
    token_base: FhirBase
    token_url: str
    verifier: str
    expires: float = 0.0
    used: bool = False


class States:
    """Launches under way by state (256 random bits), bounded in number and age, each taken once.
    A used or expired state is remembered for one more lifetime, so that its page can say so."""

    def __init__(self, capacity: int = STATES_KEPT, seconds: float = STATE_SECONDS):
        self.capacity, self.seconds = capacity, seconds
        self._items: OrderedDict[str, Pending] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, pending: Pending) -> str:
        state = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            while self._items and next(iter(self._items.values())).expires < now - self.seconds:
                self._items.popitem(last=False)
            pending.expires = now + self.seconds
            self._items[state] = pending
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return state

    def take(self, state: str) -> Pending:
        with self._lock:
            found = self._items.get(state)
            if found is None:
                raise SmartError(400, "Unknown sign-in", "b12kg did not start this sign-in, or has forgotten it (a launch is "
                                                         f"kept for {self.seconds / 60:g} minutes). {AGAIN}")
            if found.used:
                raise SmartError(400, "Sign-in already used", f"This sign-in was already completed: each is used once. {AGAIN}")
            found.used = True
            if found.expires < time.monotonic():
                raise SmartError(400, "Sign-in expired", f"This sign-in took longer than {self.seconds / 60:g} minutes. {AGAIN}")
            return found


@dataclass(frozen=True)
class Endpoints:
    """An allow-listed FHIR server's authorization and token endpoints (its SMART configuration)."""

    authorize: str
    token_url: str
    token_base: FhirBase


class Smart:
    """The SMART app of one running service (see the module)."""

    def __init__(self, client_id: str, scope: str, fhir: FhirClient, explanations, base_url: str):
        self.client_id, self.scope, self.fhir, self.explanations = client_id, scope, fhir, explanations
        self.base_url = base_url
        self.redirect_uri = f"{base_url}/smart/callback"
        self.states = States()
        self.rate = Rate(LAUNCH_PER_SECOND, LAUNCH_BURST)
        self.deadline = EXCHANGE_SECONDS
        self._configurations: dict[FhirBase, tuple[float, Endpoints]] = {}

    def link(self, token: str) -> dict:
        """A card's smart link to the explanation `token` names."""
        return {"label": "Why? The b12kg explanation, opened in the EHR (SMART app)", "url": f"{self.base_url}/smart/launch",
                "type": "smart", "appContext": token}

    # --- outbound requests: allow-listed servers and the endpoints they name, bounded ------------

    async def _json(self, base: FhirBase, url: str, what: str, headers: dict[str, str], method: str = "GET",
                    content: bytes | None = None) -> tuple[int, dict | None]:
        """The status and JSON object (None when the body is not one) of one request."""
        try:
            status, body = await asyncio.wait_for(self.fhir.fetch(base, url, Budget(ANSWER_BYTES), headers, method, content),
                                                  self.deadline)
        except (TimeoutError, FetchTimedOut):
            log.warning("SMART: %s %s did not answer in time", method, url)
            raise SmartError(504, "No answer in time", f"{what} did not answer in time. Try again; if it persists, tell the "
                                                       "service's operator.") from None
        except (FetchRefused, FetchFailed) as exc:  # an address or size rule, or a failure: the reason is logged only
            log.warning("SMART: %s %s: %s", method, url, exc.message)
            raise SmartError(502, "No usable answer", f"{what} gave no usable answer; the reason is in the service's log.") from None
        try:
            found: Any = parse_json(body.decode("utf-8"), url)
        except (UnicodeDecodeError, InputRejected):
            found = None
        return status, found if isinstance(found, dict) else None

    def _endpoint(self, value: Any, iss: FhirBase, name: str) -> str:
        """An endpoint URL of a SMART configuration (a relative one is read against the FHIR base):
        https, or http to a loopback address with --fhir-allow-private; no user, password or fragment."""
        problem = None
        if not isinstance(value, str) or not value or len(value) > MAX_PARAMETER_CHARS:
            problem = "missing"
        else:
            url = urljoin(f"{iss}/", value)
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018 (a bad port raises)
            except ValueError:
                parts = None
            if parts is None or not parts.hostname or parts.fragment or "@" in parts.netloc:
                problem = "not an absolute URL without user, password or fragment"
            elif parts.scheme != "https" and not (parts.scheme == "http" and self.fhir.allow_private and is_loopback(parts.hostname)):
                problem = "not https"
        if problem:
            log.warning("SMART: the configuration of %s: %s is %s", iss, name, problem)
            raise SmartError(502, "Unusable SMART configuration", f"The SMART configuration of {iss} gives no usable {name} "
                                                                  f"({problem}).")
        return url

    async def endpoints(self, iss: FhirBase) -> Endpoints:
        """The endpoints of an allow-listed server, from its .well-known/smart-configuration (cached)."""
        cached = self._configurations.get(iss)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        what = f"The SMART configuration of {iss}"
        status, body = await self._json(iss, iss.join(".well-known/smart-configuration"), what, {"Accept": "application/json"})
        if status != 200 or body is None:
            log.warning("SMART: %s/.well-known/smart-configuration answered HTTP %s%s", iss, status, "" if body else ", not a JSON object")
            raise SmartError(502, "No SMART configuration", f"{what} could not be read (HTTP {status}{'' if body else ', not a JSON object'}).")
        methods = body.get("code_challenge_methods_supported")
        if methods is not None and (not isinstance(methods, list) or "S256" not in methods):
            raise SmartError(502, "No PKCE", f"{what} does not offer PKCE with S256 (code_challenge_methods_supported), "
                                             "which b12kg requires.")
        authorize = self._endpoint(body.get("authorization_endpoint"), iss, "authorization_endpoint")
        token_url = self._endpoint(body.get("token_endpoint"), iss, "token_endpoint")
        try:
            token_base = FhirBase.parse(token_url)
        except ValueError:
            raise SmartError(502, "Unusable SMART configuration", f"{what} gives a token_endpoint with a query or dot-segments.") from None
        found = Endpoints(authorize, token_url, token_base)
        self._configurations[iss] = (time.monotonic() + CONFIGURATION_SECONDS, found)
        return found

    # --- the two steps --------------------------------------------------------------------

    @staticmethod
    def _parameter(request: Request, name: str, where: str) -> str:
        values = request.query_params.getlist(name)
        if len(values) != 1 or not values[0] or len(values[0]) > MAX_PARAMETER_CHARS:
            raise SmartError(400, "Not a SMART launch", f"{where} needs exactly one {name} parameter (at most {MAX_PARAMETER_CHARS} "
                                                        f"characters). {AGAIN}")
        return values[0]

    async def launch(self, request: Request) -> Response:
        """EHR launch: check iss, read its SMART configuration, keep a state, send the browser to authorize."""
        if not self.rate.take():
            raise SmartError(429, "Too many launches", "Too many launches at once: try again in a moment.", {"Retry-After": "1"})
        iss_text = self._parameter(request, "iss", "An EHR launch")
        launch = self._parameter(request, "launch", "An EHR launch")
        try:
            iss = FhirBase.parse(iss_text)
        except ValueError:
            raise SmartError(400, "Not a FHIR server", "The launch's iss is not a FHIR base URL (an absolute http(s) URL without "
                                                       "user, password, query or fragment).") from None
        if iss not in self.fhir.servers:
            raise SmartError(403, "FHIR server not allowed", "b12kg accepts launches only from the FHIR servers its operator "
                                                             "allow-lists (--fhir-server); this launch's iss is not one of them, "
                                                             "so nothing was read from it.")
        endpoints = await self.endpoints(iss)
        verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]: RFC 7636 asks 43 to 128
        state = self.states.put(Pending(iss_text, endpoints.token_base, endpoints.token_url, verifier))
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                           "launch": launch, "scope": self.scope, "state": state, "aud": iss_text,
                           "code_challenge": challenge_of(verifier), "code_challenge_method": "S256"})
        separator = "&" if urlsplit(endpoints.authorize).query else "?"
        return RedirectResponse(f"{endpoints.authorize}{separator}{query}", status_code=302, headers=HEADERS)

    async def callback(self, request: Request) -> Response:
        """The authorization server's answer: take the state, exchange the code, show the explanation."""
        pending = self.states.take(self._parameter(request, "state", "The authorization server's answer"))
        error = request.query_params.get("error")
        if error is not None:
            shown = f" ({error})" if _OAUTH_ERROR.fullmatch(error) else ""
            raise SmartError(403, "Not authorized", f"The EHR's authorization server did not authorize b12kg{shown}. {AGAIN}")
        code = self._parameter(request, "code", "The authorization server's answer")
        form = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                          "code_verifier": pending.verifier, "client_id": self.client_id}).encode("ascii")
        what = "The EHR's token endpoint"
        status, body = await self._json(pending.token_base, pending.token_url, what, {
            "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}, "POST", form)
        if status != 200:
            error = body.get("error") if body else None
            log.warning("SMART: the token endpoint %s answered HTTP %s (%s)", pending.token_url, status,
                        error if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else "no OAuth error code")
            if 400 <= status < 500 and isinstance(error, str):
                shown = f" ({error})" if _OAUTH_ERROR.fullmatch(error) else ""
                raise SmartError(403, "Authorization refused", f"{what} refused the authorization code{shown}. {AGAIN}")
            raise SmartError(502, "No usable answer", f"{what} answered HTTP {status}. {AGAIN}")
        if body is None or not isinstance(body.get("access_token"), str):
            raise SmartError(502, "No usable answer", f"{what} gave no token response (a JSON object with access_token).")
        context, patient = body.get("appContext"), body.get("patient")
        del body  # the access token is not kept: the app reads nothing with it
        if not isinstance(context, str) or not EXPLANATION_TOKEN.fullmatch(context):
            raise SmartError(502, "No appContext", "The EHR's token response does not carry the card link's appContext, which names "
                                                   "the explanation: the EHR must pass it from the card to its authorization server "
                                                   "(CDS Hooks). Use the card's plain explanation link.")
        assessment = self.explanations.get(context)
        if assessment is None:
            raise SmartError(404, "Explanation no longer kept", "This card's explanation is no longer kept (explanations are kept "
                                                                "for one hour after the card): open the patient's chart again for "
                                                                "new cards.")
        expected = (getattr(assessment, "document", None) or {}).get("patient")
        if isinstance(patient, str) and isinstance(expected, str) and patient.removeprefix("Patient/") != expected:
            raise SmartError(409, "Another patient", "The EHR launched b12kg for another patient than the one this card's explanation "
                                                     "is about: it is not shown. Open the card from the patient's chart.")
        return RedirectResponse(f"{self.base_url}/explanations/{context}", status_code=303, headers=HEADERS)


def routes(smart: Smart | None) -> list[Route]:
    """/smart/launch and /smart/callback, and a page for any other /smart path; all 404 when SMART is off."""

    def handler(step):
        async def endpoint(request: Request) -> Response:
            if smart is None or step is None:
                return page(404, "Not found", OFF if smart is None else "No such SMART page: the app has /smart/launch and "
                                                                        "/smart/callback.")
            try:
                return await step(smart, request)
            except SmartError as exc:
                return page(exc.status, exc.title, exc.message, exc.headers)

        return endpoint

    return [Route("/smart/launch", handler(Smart.launch), methods=["GET"]),
            Route("/smart/callback", handler(Smart.callback), methods=["GET"]),
            Route("/smart/{rest:path}", handler(None), methods=["GET"]), Route("/smart", handler(None), methods=["GET"])]
